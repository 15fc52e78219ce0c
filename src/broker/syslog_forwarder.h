/* syslog_forwarder.h - ships audit records to a SIEM as RFC 5424 syslog
 * messages over TCP (RFC 6587 octet counting) or UDP. It never blocks the
 * broker: it runs in its own thread and reads the audit table as its queue,
 * from a cursor that survives restarts, so records written while the sink
 * is slow or down are delivered later. The local chain stays the source of
 * truth. */
#ifndef TG_SYSLOG_FORWARDER_H
#define TG_SYSLOG_FORWARDER_H
#include "store/store.h"

typedef struct forwarder forwarder_t;

/* url: "tcp://HOST:PORT" or "udp://HOST:PORT" (numeric host). NULL on a bad
 * URL (err says why) or when no thread can be started. */
forwarder_t *forwarder_start(store_t *st, const char *url, char *err, size_t err_len);
void forwarder_stop(forwarder_t *f);

/* Formats one audit record as an RFC 5424 message (no framing); pure. */
char *syslog_format(const json_t *record, const char *hostname);

#endif
