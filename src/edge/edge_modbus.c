/* edge_modbus.c - the Modbus/TCP proxy's I/O (edge_modbus.h): listeners,
 * client connections framed with core/modbus.h, one shared upstream
 * connection per device with transaction-id remapping, and the 100 ms tick
 * that closes connections whose grant ended, that sat idle or that an
 * operator killed, answers requests the device did not answer in time
 * (0x0B), and publishes the live sessions for the operator view
 * (edge_sessions.h) when they changed. */
#include "edge/edge_modbus.h"
#include "core/listen_addr.h"
#include "edge/edge_modbus_decide.h"
#include "edge/edge_sessions.h"
#include "shell/log.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define MB_TICK_MS 100

typedef struct mb_client mb_client_t;
typedef struct mb_listener mb_listener_t;

/* A request forwarded to the device and not answered yet. */
typedef struct {
	bool used;
	uint16_t tid;        /* the proxy's, on the upstream connection */
	mb_client_t *client; /* NULL once the client went away */
	int64_t deadline_ms;
	mb_request_t req;    /* req.tid: the client's */
} mb_pending_t;

typedef enum { UP_IDLE, UP_CONNECTING, UP_OPEN, UP_CLOSING } up_state_t;

typedef struct {
	uv_tcp_t tcp;
	uv_connect_t connect;
	up_state_t st;
	uint8_t rx[MB_MAX_ADU * 2];
	size_t rx_len;
	uint16_t next_tid;
	size_t cap;
	mb_pending_t *pending;
} mb_upstream_t;

struct mb_client {
	uv_tcp_t tcp;
	mb_listener_t *l;
	mb_client_t *prev, *next;
	mb_conn_t conn;
	bool admitted, closing, reading;
	uint8_t rx[MB_MAX_ADU * 2];
	size_t rx_len;
	int outstanding;
	int64_t last_ms, rate_second;
	int rate_n;
};

struct mb_listener {
	edge_mb_proxy_t *proxy;
	mb_device_t dev;
	uv_tcp_t server;
	struct sockaddr_storage up_addr;
	mb_upstream_t up;
	mb_client_t *clients;
	int n_clients;
};

struct edge_mb_proxy {
	uv_loop_t loop;
	edge_sessions_t *sessions; /* the edge's (NULL: not published) */
	bool sessions_changed;     /* since the last publication */
	uv_async_t stop;
	uv_timer_t tick;
	pthread_t thread;
	bool running;
	size_t n;
	mb_listener_t *ls;
};

typedef struct {
	uv_write_t req; /* first: the callback gets it */
	uv_buf_t buf;
	uint8_t data[MB_MAX_ADU];
} mb_write_t;

static void client_close(mb_client_t *c, const char *why);
static void client_process(mb_client_t *c);

/* ---- writing ---- */

static void write_done(uv_write_t *w, int status)
{
	(void)status; /* a failed write shows as a read error or EOF */
	free(w);
}

static int send_bytes(uv_tcp_t *tcp, const uint8_t *data, size_t len)
{
	mb_write_t *w = malloc(sizeof *w);
	if (w == NULL)
		return -1;
	memcpy(w->data, data, len);
	w->buf = uv_buf_init((char *)w->data, (unsigned)len);
	if (uv_write(&w->req, (uv_stream_t *)tcp, &w->buf, 1, write_done) != 0) {
		free(w);
		return -1;
	}
	return 0;
}

static void client_send(mb_client_t *c, const uint8_t *adu, size_t len)
{
	if (!c->closing && send_bytes(&c->tcp, adu, len) != 0)
		client_close(c, "cannot write to the client");
}

static void client_exception(mb_client_t *c, const mb_request_t *r, uint8_t code)
{
	uint8_t ex[MB_EXCEPTION_ADU_LEN];
	client_send(c, ex, mb_exception(r, code, ex));
}

/* ---- pending requests ---- */

/* The slot is answered or given up: the client may send more. */
static void pending_release(mb_pending_t *p)
{
	mb_client_t *c = p->client;
	p->used = false;
	p->client = NULL;
	if (c == NULL)
		return;
	c->outstanding--;
	if (!c->closing && !c->reading) {
		client_process(c);
	}
}

static void pending_fail_all(mb_upstream_t *up, uint8_t code)
{
	for (size_t i = 0; i < up->cap; i++) {
		mb_pending_t *p = &up->pending[i];
		if (!p->used)
			continue;
		if (p->client != NULL)
			client_exception(p->client, &p->req, code);
		pending_release(p);
	}
}

static mb_pending_t *pending_find(mb_upstream_t *up, uint16_t tid)
{
	for (size_t i = 0; i < up->cap; i++)
		if (up->pending[i].used && up->pending[i].tid == tid)
			return &up->pending[i];
	return NULL;
}

static mb_pending_t *pending_new(mb_upstream_t *up)
{
	mb_pending_t *free_slot = NULL;
	for (size_t i = 0; i < up->cap && free_slot == NULL; i++)
		if (!up->pending[i].used)
			free_slot = &up->pending[i];
	if (free_slot == NULL)
		return NULL;
	do
		free_slot->tid = up->next_tid++;
	while (pending_find(up, free_slot->tid) != NULL);
	free_slot->used = true;
	return free_slot;
}

/* ---- the upstream connection ---- */

static mb_listener_t *up_listener(uv_handle_t *h)
{
	return h->data;
}

static void up_closed(uv_handle_t *h)
{
	mb_listener_t *l = up_listener(h);
	l->up.st = UP_IDLE;
	l->up.rx_len = 0;
}

static void up_close(mb_listener_t *l, const char *why)
{
	if (l->up.st == UP_IDLE || l->up.st == UP_CLOSING)
		return;
	log_event(LOG_WARN, "modbus: upstream connection closed", "device", l->dev.line->entity, "upstream",
		  l->dev.line->upstream, "why", why, NULL);
	l->up.st = UP_CLOSING;
	uv_close((uv_handle_t *)&l->up.tcp, up_closed);
	pending_fail_all(&l->up, MB_EX_GATEWAY_TARGET_FAILED);
}

/* One response frame from the device: back to the client that asked,
 * under its own transaction id. */
static void up_response(mb_listener_t *l, uint8_t *adu, size_t len)
{
	const char *why = NULL;
	mb_pending_t *p = pending_find(&l->up, mb_tid(adu));
	if (p == NULL)
		return; /* answered already (timed out) or never asked */
	int rc = mb_response_check(adu, len, &p->req, p->tid, &why);
	if (p->client != NULL) {
		if (rc == MB_RESPONSE_BAD) {
			log_event(LOG_WARN, "modbus: the device's response does not answer the request", "device",
				  l->dev.line->entity, "why", why, NULL);
			client_exception(p->client, &p->req, MB_EX_SERVER_DEVICE_FAILURE);
		} else {
			mb_set_tid(adu, p->req.tid);
			client_send(p->client, adu, len);
		}
	}
	pending_release(p);
}

static void up_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	mb_upstream_t *up = &up_listener(h)->up;
	(void)suggested;
	*buf = uv_buf_init((char *)up->rx + up->rx_len, (unsigned)(sizeof up->rx - up->rx_len));
}

static void up_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	mb_listener_t *l = up_listener((uv_handle_t *)s);
	mb_upstream_t *up = &l->up;
	(void)buf;
	if (nread < 0) {
		up_close(l, nread == UV_EOF ? "the device closed the connection" : uv_strerror((int)nread));
		return;
	}
	up->rx_len += (size_t)nread;
	for (;;) {
		size_t flen = 0;
		const char *why = NULL;
		int rc = mb_frame_length(up->rx, up->rx_len, &flen, &why);
		if (rc == MB_FRAME_NEED_MORE)
			return;
		if (rc == MB_FRAME_MALFORMED) {
			up_close(l, why);
			return;
		}
		up_response(l, up->rx, flen);
		if (up->st != UP_OPEN)
			return;
		memmove(up->rx, up->rx + flen, up->rx_len - flen);
		up->rx_len -= flen;
	}
}

static void up_connected(uv_connect_t *req, int status)
{
	mb_listener_t *l = req->data;
	if (l->up.st != UP_CONNECTING)
		return;
	if (status != 0 || uv_read_start((uv_stream_t *)&l->up.tcp, up_alloc, up_read) != 0) {
		up_close(l, status != 0 ? uv_strerror(status) : "cannot read");
		return;
	}
	l->up.st = UP_OPEN;
}

/* Connects when there is no connection; false when it cannot now. */
static bool up_ensure(mb_listener_t *l, uv_loop_t *loop)
{
	mb_upstream_t *up = &l->up;
	if (up->st == UP_OPEN || up->st == UP_CONNECTING)
		return true;
	if (up->st == UP_CLOSING || uv_tcp_init(loop, &up->tcp) != 0)
		return false;
	up->tcp.data = l;
	up->connect.data = l;
	up->rx_len = 0;
	up->st = UP_CONNECTING;
	uv_tcp_nodelay(&up->tcp, 1);
	if (uv_tcp_connect(&up->connect, &up->tcp, (const struct sockaddr *)&l->up_addr, up_connected) != 0) {
		up_close(l, "cannot connect");
		return false;
	}
	return true;
}

/* Forwards an allowed request under a transaction id of the proxy's. */
static void forward(mb_client_t *c, const mb_request_t *r, const uint8_t *adu, size_t len)
{
	mb_listener_t *l = c->l;
	uint8_t out[MB_MAX_ADU];
	mb_pending_t *p = up_ensure(l, c->tcp.loop) ? pending_new(&l->up) : NULL;
	if (p == NULL) {
		client_exception(c, r, MB_EX_GATEWAY_TARGET_FAILED);
		return;
	}
	p->req = *r;
	p->client = c;
	p->deadline_ms = edge_now_ms() + l->dev.opt.upstream_timeout_ms;
	c->outstanding++;
	memcpy(out, adu, len);
	mb_set_tid(out, p->tid);
	if (send_bytes(&l->up.tcp, out, len) != 0) {
		up_close(l, "cannot write to the device");
		return;
	}
	if (r->no_response) /* Force Listen Only Mode: the device never answers */
		pending_release(p);
}

/* ---- client connections ---- */

/* Over the per-second rate: refused with SERVER DEVICE BUSY. */
static bool over_rate(mb_client_t *c, int64_t now_ms)
{
	if (c->l->dev.opt.rate == 0)
		return false;
	if (now_ms / 1000 != c->rate_second) {
		c->rate_second = now_ms / 1000;
		c->rate_n = 0;
	}
	return ++c->rate_n > c->l->dev.opt.rate;
}

static void client_frame(mb_client_t *c, const uint8_t *adu, size_t len)
{
	mb_request_t r;
	const char *why = NULL;
	int64_t now = edge_now_ms();
	const mb_device_t *d = &c->l->dev;
	c->last_ms = now;
	c->l->proxy->sessions_changed = true;
	int rc = mb_request_decode(adu, len, &r, &why);
	if (rc == MB_DECODE_MALFORMED) {
		mb_record_malformed(d, &c->conn, why);
		client_close(c, "malformed frame");
		return;
	}
	if (rc == MB_DECODE_EXCEPTION) {
		mb_record_refusal(d, &c->conn, &r, r.exception, why ? why : "the request does not decode");
		client_exception(c, &r, r.exception);
		return;
	}
	if (over_rate(c, now)) {
		mb_record_refusal(d, &c->conn, &r, MB_EX_SERVER_DEVICE_BUSY, "over the connection's rate");
		client_exception(c, &r, MB_EX_SERVER_DEVICE_BUSY);
		return;
	}
	uint8_t code = mb_decide(d, &c->conn, &r, now);
	if (code != 0)
		client_exception(c, &r, code);
	else
		forward(c, &r, adu, len);
}

static void client_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	mb_client_t *c = h->data;
	(void)suggested;
	*buf = uv_buf_init((char *)c->rx + c->rx_len, (unsigned)(sizeof c->rx - c->rx_len));
}

static void client_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	mb_client_t *c = s->data;
	(void)buf;
	if (nread < 0) {
		client_close(c, nread == UV_EOF ? "the client closed the connection" : uv_strerror((int)nread));
		return;
	}
	c->rx_len += (size_t)nread;
	client_process(c);
}

/* Handles the complete frames buffered, as far as max_outstanding lets;
 * reads on only while it lets. */
static void client_process(mb_client_t *c)
{
	while (!c->closing && c->outstanding < c->l->dev.opt.max_outstanding) {
		size_t flen = 0;
		const char *why = NULL;
		int rc = mb_frame_length(c->rx, c->rx_len, &flen, &why);
		if (rc == MB_FRAME_NEED_MORE)
			break;
		if (rc == MB_FRAME_MALFORMED) {
			mb_record_malformed(&c->l->dev, &c->conn, why);
			client_close(c, "malformed frame");
			return;
		}
		client_frame(c, c->rx, flen);
		memmove(c->rx, c->rx + flen, c->rx_len - flen);
		c->rx_len -= flen;
	}
	if (c->closing)
		return;
	bool want = c->outstanding < c->l->dev.opt.max_outstanding;
	if (want && !c->reading && uv_read_start((uv_stream_t *)&c->tcp, client_alloc, client_read) == 0)
		c->reading = true;
	else if (!want && c->reading && uv_read_stop((uv_stream_t *)&c->tcp) == 0)
		c->reading = false;
}

static void client_freed(uv_handle_t *h)
{
	free(h->data);
}

static void client_close(mb_client_t *c, const char *why)
{
	if (c->closing)
		return;
	mb_listener_t *l = c->l;
	c->closing = true;
	if (c->admitted) {
		for (size_t i = 0; i < l->up.cap; i++)
			if (l->up.pending[i].client == c)
				l->up.pending[i].client = NULL; /* its answer is dropped */
		if (c->prev != NULL)
			c->prev->next = c->next;
		else
			l->clients = c->next;
		if (c->next != NULL)
			c->next->prev = c->prev;
		l->n_clients--;
		l->proxy->sessions_changed = true;
		mb_conn_end(&l->dev, &c->conn, why);
	}
	uv_close((uv_handle_t *)&c->tcp, client_freed);
}

static void peer_text(uv_tcp_t *tcp, char *out, size_t cap)
{
	struct sockaddr_storage ss;
	int len = sizeof ss;
	out[0] = '\0';
	if (uv_tcp_getpeername(tcp, (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET)
		uv_ip4_name((const struct sockaddr_in *)&ss, out, cap);
	else if (ss.ss_family == AF_INET6)
		uv_ip6_name((const struct sockaddr_in6 *)&ss, out, cap);
}

static void on_connection(uv_stream_t *server, int status)
{
	mb_listener_t *l = server->data;
	char src[64];
	mb_client_t *c = status == 0 ? calloc(1, sizeof *c) : NULL;
	if (c == NULL)
		return;
	c->l = l;
	c->tcp.data = c;
	if (uv_tcp_init(server->loop, &c->tcp) != 0) {
		free(c);
		return;
	}
	if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
		client_close(c, "accept failed");
		return;
	}
	peer_text(&c->tcp, src, sizeof src);
	if (l->n_clients >= l->dev.opt.max_conn) {
		mb_record_refused(&l->dev, src, "max_conn connections are open already");
		client_close(c, "max_conn");
		return;
	}
	int64_t now = edge_now_ms();
	if (!mb_admit(&l->dev, src, now, &c->conn)) {
		client_close(c, "not admitted");
		return;
	}
	c->admitted = true;
	c->last_ms = now;
	c->next = l->clients;
	if (l->clients != NULL)
		l->clients->prev = c;
	l->clients = c;
	l->n_clients++;
	l->proxy->sessions_changed = true;
	uv_tcp_nodelay(&c->tcp, 1);
	client_process(c);
}

/* ---- the tick ---- */

static void listener_tick(mb_listener_t *l, int64_t now)
{
	for (size_t i = 0; i < l->up.cap; i++) {
		mb_pending_t *p = &l->up.pending[i];
		if (p->used && now >= p->deadline_ms) {
			if (p->client != NULL)
				client_exception(p->client, &p->req, MB_EX_GATEWAY_TARGET_FAILED);
			pending_release(p);
		}
	}
	for (mb_client_t *c = l->clients, *next; c != NULL; c = next) {
		const char *why = NULL;
		next = c->next;
		if (!mb_still_admitted(&l->dev, &c->conn, now, &why))
			client_close(c, why);
		else if (now - c->last_ms > l->dev.opt.idle_timeout_ms)
			client_close(c, "idle_timeout");
		else
			mb_reads_tick(&l->dev, &c->conn, now);
	}
}

/* ---- the operator view ---- */

static void session_row(const mb_client_t *c, edge_session_t *row)
{
	const edge_modbus_t *line = c->l->dev.line;
	memset(row, 0, sizeof *row);
	snprintf(row->id, sizeof row->id, "%s", c->conn.session);
	snprintf(row->listener, sizeof row->listener, "%s", line->listen);
	snprintf(row->device, sizeof row->device, "%s", line->entity);
	snprintf(row->src, sizeof row->src, "%s", c->conn.src);
	snprintf(row->identity, sizeof row->identity, "%s", c->conn.identity);
	snprintf(row->grant, sizeof row->grant, "%s", c->conn.grant);
	row->since_ms = c->conn.since_ms;
	row->last_ms = c->last_ms;
	row->allowed = c->conn.allowed;
	row->denied = c->conn.denied;
}

static void publish_sessions(edge_mb_proxy_t *p)
{
	size_t n = 0, k = 0;
	for (size_t i = 0; i < p->n; i++)
		n += (size_t)p->ls[i].n_clients;
	edge_session_t *rows = malloc((n ? n : 1) * sizeof *rows);
	if (rows == NULL)
		return; /* still changed: the next tick tries again */
	for (size_t i = 0; i < p->n; i++)
		for (const mb_client_t *c = p->ls[i].clients; c != NULL && k < n; c = c->next)
			session_row(c, &rows[k++]);
	edge_sessions_publish(p->sessions, rows, k);
	free(rows);
	p->sessions_changed = false;
}

/* An operator's kill from the feed: the session's connection closes, its
 * requests in flight are dropped; an unknown session is ignored. */
static void kill_session(const char *sid, const char *reason, void *ctx)
{
	edge_mb_proxy_t *p = ctx;
	for (size_t i = 0; i < p->n; i++)
		for (mb_client_t *c = p->ls[i].clients; c != NULL; c = c->next)
			if (strcmp(c->conn.session, sid) == 0) {
				mb_record_killed(&p->ls[i].dev, &c->conn, reason);
				client_close(c, "killed by an operator");
				return;
			}
}

static void on_tick(uv_timer_t *t)
{
	edge_mb_proxy_t *p = t->data;
	int64_t now = edge_now_ms();
	if (p->sessions != NULL)
		edge_sessions_take_kills(p->sessions, kill_session, p);
	for (size_t i = 0; i < p->n; i++)
		listener_tick(&p->ls[i], now);
	if (p->sessions != NULL && p->sessions_changed)
		publish_sessions(p);
}

/* ---- start and stop ---- */

static void on_stop(uv_async_t *a)
{
	edge_mb_proxy_t *p = a->data;
	for (size_t i = 0; i < p->n; i++) {
		mb_listener_t *l = &p->ls[i];
		while (l->clients != NULL)
			client_close(l->clients, "the edge is shutting down");
		up_close(l, "the edge is shutting down");
		uv_close((uv_handle_t *)&l->server, NULL);
	}
	uv_close((uv_handle_t *)&p->tick, NULL);
	uv_close((uv_handle_t *)&p->stop, NULL);
}

static void *loop_main(void *arg)
{
	edge_mb_proxy_t *p = arg;
	uv_run(&p->loop, UV_RUN_DEFAULT);
	return NULL;
}

static int listener_open(edge_mb_proxy_t *p, mb_listener_t *l, edge_t *e, const edge_modbus_t *line, char *why,
			 size_t why_len)
{
	struct sockaddr_storage ss;
	char err[200];
	l->proxy = p;
	if (mb_device_init(&l->dev, e, line, why, why_len) != 0)
		return -1;
	if (listen_addr_parse(line->listen, &ss, err, sizeof err) != 0 ||
	    listen_addr_parse(line->upstream, &l->up_addr, err, sizeof err) != 0) {
		snprintf(why, why_len, "modbus line %d: %s", line->line, err);
		return -1;
	}
	l->up.cap = (size_t)l->dev.opt.max_conn * (size_t)l->dev.opt.max_outstanding;
	l->up.pending = calloc(l->up.cap, sizeof *l->up.pending);
	if (l->up.pending == NULL || uv_tcp_init(&p->loop, &l->server) != 0) {
		snprintf(why, why_len, "out of memory");
		return -1;
	}
	l->server.data = l;
	int rc = uv_tcp_bind(&l->server, (const struct sockaddr *)&ss, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&l->server, 128, on_connection);
	if (rc != 0) {
		snprintf(why, why_len, "modbus line %d: cannot listen on %s: %s", line->line, line->listen, uv_strerror(rc));
		return -1;
	}
	log_event(LOG_INFO, "modbus proxy listening", "listen", line->listen, "upstream", line->upstream, "device",
		  line->entity, NULL);
	return 0;
}

static void proxy_free(edge_mb_proxy_t *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->ls[i].up.pending);
	free(p->ls);
	free(p);
}

static void close_handle(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* Closes what a failed start opened and frees. */
static void proxy_abandon(edge_mb_proxy_t *p)
{
	uv_walk(&p->loop, close_handle, NULL);
	uv_run(&p->loop, UV_RUN_DEFAULT);
	uv_loop_close(&p->loop);
	proxy_free(p);
}

edge_mb_proxy_t *edge_modbus_start(edge_t *e, char *why, size_t why_len)
{
	edge_mb_proxy_t *p = calloc(1, sizeof *p);
	if (p == NULL || (p->ls = calloc(e->cfg.n_modbus + 1, sizeof *p->ls)) == NULL) {
		free(p);
		snprintf(why, why_len, "out of memory");
		return NULL;
	}
	if (e->cfg.n_modbus == 0)
		return p;
	p->sessions = e->sessions;
	if (uv_loop_init(&p->loop) != 0) {
		proxy_free(p);
		snprintf(why, why_len, "cannot start the modbus event loop");
		return NULL;
	}
	for (; p->n < e->cfg.n_modbus; p->n++)
		if (listener_open(p, &p->ls[p->n], e, &e->cfg.modbus[p->n], why, why_len) != 0) {
			p->n++;
			proxy_abandon(p);
			return NULL;
		}
	p->stop.data = p;
	p->tick.data = p;
	if (uv_async_init(&p->loop, &p->stop, on_stop) != 0 || uv_timer_init(&p->loop, &p->tick) != 0 ||
	    uv_timer_start(&p->tick, on_tick, MB_TICK_MS, MB_TICK_MS) != 0 ||
	    pthread_create(&p->thread, NULL, loop_main, p) != 0) {
		snprintf(why, why_len, "cannot start the modbus event loop");
		proxy_abandon(p);
		return NULL;
	}
	p->running = true;
	return p;
}

void edge_modbus_stop(edge_mb_proxy_t *p)
{
	if (p == NULL)
		return;
	if (p->running) {
		uv_async_send(&p->stop);
		pthread_join(p->thread, NULL);
		uv_loop_close(&p->loop);
	}
	proxy_free(p);
}
