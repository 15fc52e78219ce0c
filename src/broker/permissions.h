/* permissions.h - the one question issuance asks: may this identity hold
 * this scope token? Today the answer comes from the identity's allow-list;
 * the Cedar policy engine replaces the body of permission_allows() and
 * nothing else. */
#ifndef TG_PERMISSIONS_H
#define TG_PERMISSIONS_H
#include "broker/broker.h"
#include "store/store.h"
#include <stdbool.h>

bool permission_allows(const broker_t *b, const identity_t *id, const char *scope_token)
    __attribute__((warn_unused_result));

#endif
