/* listener.h - the broker's listening socket, opened before anything else
 * at start-up so that a broker that cannot hold its address writes nothing
 * (no store, no admin token) and says why. */
#ifndef TG_LISTENER_H
#define TG_LISTENER_H
#include <stddef.h>

/* Binds and listens on addr (HOST:PORT); returns the socket, or -1 with a
 * sentence in err that says what to do next. */
int listener_open(const char *addr, char *err, size_t err_len);

#endif
