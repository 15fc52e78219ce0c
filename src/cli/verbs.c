/* verbs.c - the front of a noun's dispatch over its table of verbs (each
 * entry starting with `const char *name, *help`): help for the noun or a
 * verb, a mistyped verb answered with the nearest one, else the entry. */
#include "cli/cli.h"
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The table's entry i (entries of size bytes, the name first). */
static const char *const *entry(const void *table, size_t size, size_t i)
{
	return (const char *const *)((const char *)table + i * size);
}

static const void *find(const void *table, size_t n, size_t size, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(entry(table, size, i)[0], name) == 0)
			return entry(table, size, i);
	return NULL;
}

#define MAX_VERBS 32

static int unknown(const void *table, size_t n, size_t size, const char *word)
{
	const char *names[MAX_VERBS + 1];
	n = n < MAX_VERBS ? n : MAX_VERBS;
	for (size_t i = 0; i < n; i++)
		names[i] = entry(table, size, i)[0];
	names[n] = NULL;
	return cli_unknown_command(word, names);
}

const void *cli_verb_lookup(int argc, char **argv, const void *table, size_t n, size_t size, const char *usage,
			    int *rc)
{
	const char *sub = argc > 1 ? argv[1] : "";
	bool help = strcmp(sub, "help") == 0;
	if (argc < 2 || help || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
		const char *const *v = argc > 2 && help ? find(table, n, size, argv[2]) : NULL;
		if (argc > 2 && help && v == NULL) {
			*rc = unknown(table, n, size, argv[2]);
			return NULL;
		}
		fputs(v ? v[1] : usage, argc < 2 ? stderr : stdout);
		*rc = argc < 2 ? 2 : 0;
		return NULL;
	}
	const void *v = find(table, n, size, sub);
	if (v == NULL)
		*rc = unknown(table, n, size, sub);
	return v;
}
