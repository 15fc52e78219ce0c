/* log.h - structured JSON log lines on stderr: {"time","level","msg",...}.
 * Only the boundary (broker, CLI) logs; the core never does. Callers pass
 * fields as key/value string pairs and never pass a token, key, password or
 * seed: tokens are referred to by jti or SHA-256. */
#ifndef TG_LOG_H
#define TG_LOG_H

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level_t;

void log_set_level(log_level_t l);
int log_level_parse(const char *s, log_level_t *out);
/* Fields: NULL-terminated list of key, value, key, value, ... */
void log_event(log_level_t l, const char *msg, ...) __attribute__((sentinel));

#endif
