/* fuzz_status_list.c - a Token Status List client's decoding
 * (core/status_list.h) on arbitrary input: as text, an "lst" decoded at
 * each width (status_list_decode); as JSON, the claims of a Status List
 * Token (status_list_token_read). Whatever is accepted stays within the
 * inflation bound, reads back entry by entry within its width, and
 * survives encode -> decode unchanged. */
#include "core/status_list.h"
#include "fuzz_util.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX_LIST 65536 /* bytes a decoded list may take here */
#define FZ_URI FZ_ISSUER "/v1/status-lists/0"

static void check_list(const status_list_t *l)
{
	const char *why = NULL;
	status_list_t back;
	fz_require(l->len >= 1 && l->len <= FZ_MAX_LIST, "decoded size within the bound");
	fz_require(l->size == (uint64_t)l->len * 8 / l->bits, "entries fill the bytes");
	for (uint64_t i = 0; i < l->size; i += 1 + i / 7) {
		int v = status_list_get(l, i);
		fz_require(v >= 0 && v < (1 << l->bits), "entry within its width");
	}
	fz_require(status_list_get(l, l->size) == -1, "past the end is no statement");
	char *lst = status_list_encode(l);
	fz_require(lst != NULL, "encodes");
	fz_require(status_list_decode(lst, strlen(lst), l->bits, FZ_MAX_LIST, &back, &why) == 0, "round trip decodes");
	fz_require(back.len == l->len && memcmp(back.bytes, l->bytes, l->len) == 0, "round trip is identical");
	status_list_free(&back);
	free(lst);
}

static void check_lst(const uint8_t *data, size_t size)
{
	static const unsigned widths[] = {1, 2, 4, 8};
	char *s = fz_cstr(data, size);
	for (size_t w = 0; w < 4; w++) {
		status_list_t l;
		const char *why = NULL;
		if (status_list_decode(s, strlen(s), widths[w], FZ_MAX_LIST, &l, &why) == 0) {
			check_list(&l);
			status_list_free(&l);
		} else {
			fz_require(why != NULL && l.bytes == NULL, "a refusal says why and holds nothing");
		}
	}
	free(s);
}

static void check_token(const json_t *payload)
{
	json_t *h = json_pack("{s:s, s:s}", "alg", "EdDSA", "typ", STATUS_LIST_TYP);
	status_list_check_t c = {.uri = FZ_URI, .now = FZ_NOW, .leeway = 30, .max_bytes = FZ_MAX_LIST};
	status_list_t l;
	const char *why = NULL;
	if (status_list_token_read(h, payload, &c, &l, &why) == 0) {
		fz_require(strcmp(json_string_value(json_object_get(payload, "sub")), FZ_URI) == 0, "sub checked");
		check_list(&l);
		status_list_free(&l);
	}
	json_decref(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *doc = json_loadb((const char *)data, size, JSON_ALLOW_NUL, NULL);
	check_lst(data, size);
	if (doc != NULL)
		check_token(doc);
	json_decref(doc);
	return 0;
}
