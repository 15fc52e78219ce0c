/* conn_limit.h - admission of new connections by source address, as a
 * reverse proxy's connection limits do: it counts the open connections of
 * each address and in total, and decides whether one more may open:
 *   - at most max in total;
 *   - at most per_addr from one address (0 = no per-address limit);
 *   - once the total reaches max - reserve (the headroom kept for new
 *     clients, max / 10), only an address holding less than its fair share,
 *     (max - reserve) / the number of addresses connected (at least 1), gets
 *     another: a flood from a few addresses cannot take the last places.
 * Pure: the caller serialises access. */
#ifndef TG_CONN_LIMIT_H
#define TG_CONN_LIMIT_H
#include <stddef.h>
#include <stdint.h>

/* An IPv4 (len 4) or IPv6 (len 16) address. */
typedef struct {
	uint8_t b[16];
	uint8_t len;
} conn_addr_t;

typedef enum {
	CONN_ADMIT = 0,
	CONN_REFUSE_FULL,  /* max connections open */
	CONN_REFUSE_ADDR,  /* this address holds per_addr */
	CONN_REFUSE_SHARE, /* in the headroom, and this address holds its share */
} conn_verdict_t;

typedef struct conn_limit conn_limit_t;

conn_limit_t *conn_limit_new(unsigned max, unsigned per_addr);
void conn_limit_free(conn_limit_t *l);
/* Whether a new connection from a may open now. */
conn_verdict_t conn_limit_check(const conn_limit_t *l, const conn_addr_t *a);
/* Counts an opened connection (whatever the verdict was: the caller may
 * have let it in); -1 when out of memory (then it is not counted). */
int conn_limit_add(conn_limit_t *l, const conn_addr_t *a);
/* Uncounts a closed connection that conn_limit_add counted. */
void conn_limit_remove(conn_limit_t *l, const conn_addr_t *a);
unsigned conn_limit_total(const conn_limit_t *l);
unsigned conn_limit_of(const conn_limit_t *l, const conn_addr_t *a);
unsigned conn_limit_addresses(const conn_limit_t *l);
const char *conn_verdict_name(conn_verdict_t v);

#endif
