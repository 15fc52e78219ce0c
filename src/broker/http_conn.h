/* http_conn.h - the HTTP server's connections, below the requests:
 * admission by source address (core/conn_limit: max_connections,
 * max_connections_per_ip, headroom for new clients), the two inactivity
 * timeouts (header_timeout while a request is incomplete, idle_timeout
 * between requests of a kept-alive connection), the open-files limit, and
 * the raw length of the request line's URI (for http.c's 414). The
 * callbacks are libmicrohttpd's accept policy, connection notifier and URI
 * logger. One server per process. */
#ifndef TG_HTTP_CONN_H
#define TG_HTTP_CONN_H
#include "core/config.h"
#include <microhttpd.h>
#include <stddef.h>
#include <sys/socket.h>

/* Sets the limits from cfg; raises RLIMIT_NOFILE's soft limit to the hard
 * limit and lowers the connection limit to fit it. Returns the connection
 * limit in force, 0 on failure (message in err). */
unsigned http_conn_init(const tg_config_t *cfg, char *err, size_t err_len);
void http_conn_fini(void);

enum MHD_Result http_conn_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen);
/* From now on every new connection is refused (closed as it is accepted):
 * the graceful stop, instead of MHD_quiesce_daemon, whose epoll variant
 * races with the worker threads in libmicrohttpd 0.9.75 and can abort the
 * process ("Failed to remove listen FD from epoll set"). */
void http_conn_stop_accepting(void);
void http_conn_notify(void *cls, struct MHD_Connection *c, void **socket_context,
		      enum MHD_ConnectionNotificationCode code);
void *http_conn_uri(void *cls, const char *uri, struct MHD_Connection *c);

/* The request on c has completed: c waits for the next with idle_timeout. */
void http_conn_request_done(struct MHD_Connection *c);
/* Length of the raw URI (path and query) of c's current request. */
size_t http_conn_uri_len(struct MHD_Connection *c);

#endif
