/* broker.h - the broker's shared state, handed to every handler. */
#ifndef TG_BROKER_H
#define TG_BROKER_H
#include "broker/http.h"
#include "broker/signer.h"
#include "core/config.h"
#include "store/store.h"
#include <stdatomic.h>
#include <stdbool.h>

struct broker {
	tg_config_t cfg;
	bool dev;
	store_t *store;
	signer_t *signer;       /* access tokens */
	signer_t *audit_signer; /* audit checkpoints; never rotated automatically */
	struct policy_state *policy; /* live Cedar policies and entities (policy_state.h) */
	struct window_set *windows;  /* change windows in force (change_windows.h) */
	struct secret_keys *secret_keys; /* master keys of the secret store (secret_keys.h) */
	char issuer[300];
	char token_endpoint[340];
	atomic_int_least64_t status_next; /* the next Token Status List index (status_lists.h) */
};

int64_t broker_now(void);
/* Logs a failed store write with the store's reason (clients only get
 * 503: the details are for the operator). */
void broker_store_failed(broker_t *b, const char *what);
/* How long a retired signing key stays published: the longest token life
 * plus clock leeway, so every token it signed still verifies. */
int64_t broker_key_retention(const broker_t *b);
/* The routes every handler file contributes (routes.c). */
extern const route_t broker_routes[];

#endif
