/* status_list.c - Token Status List bit arrays, their compressed "lst"
 * form, Status List Token claims and Tollgate's list paging. */
#include "core/status_list.h"
#include "core/b64url.h"
#include "core/claims.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#define INFLATE_FIRST_CHUNK (64 * 1024)

static bool bits_valid(unsigned bits)
{
	return bits == 1 || bits == 2 || bits == 4 || bits == 8;
}

int status_list_make(status_list_t *l, unsigned bits, uint64_t size)
{
	memset(l, 0, sizeof *l);
	if (!bits_valid(bits) || size == 0 || size % (8 / bits) != 0 ||
	    size / (8 / bits) > TG_MAX_STATUS_LIST_BYTES)
		return -1;
	l->len = (size_t)(size / (8 / bits));
	if ((l->bytes = calloc(l->len, 1)) == NULL)
		return -1;
	l->bits = bits;
	l->size = size;
	return 0;
}

void status_list_free(status_list_t *l)
{
	free(l->bytes);
	memset(l, 0, sizeof *l);
}

/* Entry idx lives in byte idx / (8 / bits), shifted by its place in that
 * byte counted from the least significant bit (§4.1 step 3). */
static unsigned shift_of(const status_list_t *l, uint64_t idx)
{
	return (unsigned)(idx % (8 / l->bits)) * l->bits;
}

int status_list_set(status_list_t *l, uint64_t idx, unsigned value)
{
	unsigned mask = (1u << l->bits) - 1;
	if (idx >= l->size || value > mask)
		return -1;
	uint8_t *byte = &l->bytes[idx / (8 / l->bits)];
	unsigned shift = shift_of(l, idx);
	*byte = (uint8_t)((*byte & ~(mask << shift)) | (value << shift));
	return 0;
}

int status_list_get(const status_list_t *l, uint64_t idx)
{
	if (idx >= l->size)
		return -1;
	return (l->bytes[idx / (8 / l->bits)] >> shift_of(l, idx)) & ((1u << l->bits) - 1);
}

char *status_list_encode(const status_list_t *l)
{
	uLongf n = compressBound((uLong)l->len);
	uint8_t *z = malloc(n);
	char *lst = NULL;
	if (z != NULL && compress2(z, &n, l->bytes, (uLong)l->len, Z_BEST_COMPRESSION) == Z_OK)
		lst = b64url_encode(z, n);
	free(z);
	return lst;
}

/* Inflates one complete ZLIB stream into at most max bytes, growing the
 * buffer as output arrives (a small input claiming a huge output costs
 * only what it really inflates to, up to max). */
static const char *inflate_capped(const uint8_t *in, size_t in_len, size_t max, uint8_t **out, size_t *out_len)
{
	z_stream z;
	size_t cap = 0, used = 0;
	uint8_t *buf = NULL;
	const char *why = NULL;
	int rc = Z_OK;
	memset(&z, 0, sizeof z);
	if (inflateInit(&z) != Z_OK)
		return "out of memory";
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)in_len;
	while (why == NULL && rc != Z_STREAM_END) {
		if (used == cap) {
			size_t grown = cap == 0 ? INFLATE_FIRST_CHUNK : cap * 2;
			if (cap == max + 1) {
				why = "the status list is larger than allowed";
				break;
			}
			grown = grown > max + 1 ? max + 1 : grown;
			uint8_t *nb = realloc(buf, grown);
			if (nb == NULL) {
				why = "out of memory";
				break;
			}
			buf = nb;
			cap = grown;
		}
		z.next_out = buf + used;
		z.avail_out = (uInt)(cap - used);
		rc = inflate(&z, Z_NO_FLUSH);
		used = cap - z.avail_out;
		if (rc != Z_OK && rc != Z_STREAM_END && !(rc == Z_BUF_ERROR && z.avail_out == 0))
			why = "lst is not a valid ZLIB (RFC 1950) stream";
		else if (rc == Z_OK && z.avail_in == 0 && z.avail_out > 0)
			why = "lst is a truncated ZLIB stream";
	}
	inflateEnd(&z);
	if (why == NULL && z.avail_in != 0)
		why = "lst has bytes after the end of its ZLIB stream";
	else if (why == NULL && used > max)
		why = "the status list is larger than allowed";
	else if (why == NULL && used == 0)
		why = "the status list is empty";
	if (why != NULL) {
		free(buf);
		return why;
	}
	*out = buf;
	*out_len = used;
	return NULL;
}

int status_list_decode(const char *lst, size_t len, unsigned bits, size_t max_bytes, status_list_t *out,
		       const char **why)
{
	size_t zlen = 0, max = max_bytes < TG_MAX_STATUS_LIST_BYTES ? max_bytes : TG_MAX_STATUS_LIST_BYTES;
	uint8_t *z = NULL;
	memset(out, 0, sizeof *out);
	*why = NULL;
	if (!bits_valid(bits))
		*why = "bits is not 1, 2, 4 or 8";
	else if (len == 0 || len > TG_MAX_STATUS_LIST_LST)
		*why = "lst is empty or too long";
	else if ((z = malloc(len)) == NULL)
		*why = "out of memory";
	else if (b64url_decode(lst, len, z, len, &zlen) != 0)
		*why = "lst is not base64url";
	else
		*why = inflate_capped(z, zlen, max, &out->bytes, &out->len);
	free(z);
	if (*why != NULL)
		return -1;
	out->bits = bits;
	out->size = (uint64_t)out->len * 8 / bits;
	return 0;
}

/* ---- the Status List Token ---- */

json_t *status_list_token_claims(const status_list_token_t *t, const status_list_t *l)
{
	char *lst = status_list_encode(l);
	json_t *sl = lst ? json_pack("{s:i, s:s}", "bits", (int)l->bits, "lst", lst) : NULL;
	json_t *p = sl ? json_pack("{s:s, s:s, s:I, s:I, s:I, s:o}", "iss", t->issuer, "sub", t->uri, "iat",
				  (json_int_t)t->iat, "exp", (json_int_t)t->exp, "ttl", (json_int_t)t->ttl,
				  "status_list", sl)
		       : NULL;
	if (p != NULL && t->aggregation_uri != NULL)
		json_object_set_new(sl, "aggregation_uri", json_string(t->aggregation_uri));
	free(lst);
	return p;
}

static bool typ_is_statuslist(const json_t *header)
{
	const char *typ = json_string_value(json_object_get(header, "typ"));
	return typ != NULL && (strcasecmp(typ, STATUS_LIST_TYP) == 0 || strcasecmp(typ, STATUS_LIST_MEDIA_TYPE) == 0);
}

static const char *check_claims(const json_t *payload, const status_list_check_t *c)
{
	claim_times_t t = {.now = c->now, .leeway = c->leeway, .require_exp = false, .require_iat = true};
	const char *sub = claim_str(payload, "sub", TG_MAX_STATUS_LIST_URI), *why = claim_check_times(payload, &t);
	const json_t *ttl = json_object_get(payload, "ttl");
	if (why != NULL)
		return why;
	if (sub == NULL || c->uri == NULL || strcmp(sub, c->uri) != 0)
		return "sub is not the uri the token references";
	if (ttl != NULL && !(json_is_number(ttl) && json_number_value(ttl) > 0))
		return "ttl is not a positive number";
	return NULL;
}

int status_list_token_read(const json_t *header, const json_t *payload, const status_list_check_t *c,
			   status_list_t *out, const char **why)
{
	const json_t *sl = json_object_get(payload, "status_list");
	const json_t *bits = json_object_get(sl, "bits"), *lst = json_object_get(sl, "lst");
	memset(out, 0, sizeof *out);
	if (!typ_is_statuslist(header))
		*why = "typ is not " STATUS_LIST_TYP;
	else if ((*why = check_claims(payload, c)) != NULL)
		;
	else if (!json_is_object(sl))
		*why = "status_list is not an object";
	else if (!json_is_integer(bits) || json_integer_value(bits) < 1 || json_integer_value(bits) > 8 ||
		 !bits_valid((unsigned)json_integer_value(bits)))
		*why = "status_list.bits is not 1, 2, 4 or 8";
	else if (!json_is_string(lst))
		*why = "status_list.lst is not a string";
	else
		return status_list_decode(json_string_value(lst), json_string_length(lst),
					  (unsigned)json_integer_value(bits), c->max_bytes, out, why);
	return -1;
}

/* ---- paging ---- */

#define LAST_LIST (INT64_MAX / TG_STATUS_LIST_SIZE - 1)

status_ref_t status_ref_of(int64_t g)
{
	status_ref_t r = {g / TG_STATUS_LIST_SIZE, g % TG_STATUS_LIST_SIZE};
	return r;
}

int64_t status_list_first(int64_t k)
{
	return k * TG_STATUS_LIST_SIZE;
}

bool status_list_allocated(int64_t k, int64_t next)
{
	return k >= 0 && k <= LAST_LIST && status_list_first(k) < next;
}

int status_list_uri(const char *issuer, int64_t k, char *out, size_t len)
{
	int n = snprintf(out, len, "%s%s/%lld", issuer, STATUS_LIST_PATH, (long long)k);
	return n < 0 || (size_t)n >= len || n > TG_MAX_STATUS_LIST_URI ? -1 : 0;
}

int status_list_number_parse(const char *s, int64_t *out)
{
	int64_t k = 0;
	size_t n = strlen(s);
	if (n == 0 || (n > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || k > (LAST_LIST - (s[i] - '0')) / 10)
			return -1;
		k = k * 10 + (s[i] - '0');
	}
	*out = k;
	return 0;
}
