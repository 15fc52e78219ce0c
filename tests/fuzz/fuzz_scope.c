/* fuzz_scope.c - scope_parse() on arbitrary strings; an accepted scope
 * joins back into a string that parses to the same set. */
#include "core/scope.h"
#include "fuzz_util.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const scope_set_t *s)
{
	scope_set_t again;
	const char *why = NULL;
	char *joined = scope_join(s);
	fz_require(joined != NULL, "join");
	fz_require(scope_parse(joined, &again, &why) == 0, "joined scope parses");
	fz_require(again.n == s->n, "same token count after round trip");
	for (size_t i = 0; i < s->n; i++) {
		fz_require(strcmp(again.tok[i], s->tok[i]) == 0, "same tokens after round trip");
		fz_require(scope_token_valid(s->tok[i], strlen(s->tok[i])), "tokens are valid");
	}
	scope_free(&again);
	free(joined);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	scope_set_t s;
	const char *why = NULL;
	char *text = fz_cstr(data, size);
	(void)scope_token_valid(text, strlen(text));
	if (scope_parse(text, &s, &why) == 0) {
		fz_require(s.n >= 1 && s.n <= TG_MAX_SCOPE_TOKENS, "token count bounded");
		check_round_trip(&s);
		scope_free(&s);
	} else {
		fz_require(why != NULL && s.buf == NULL, "refusal explains and frees");
	}
	free(text);
	return 0;
}
