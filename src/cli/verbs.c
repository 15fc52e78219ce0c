/* verbs.c - the front of a noun's dispatch over its table of verbs (each
 * entry starting with `const char *name, *help`): help for the noun or a
 * verb, a mistyped verb answered with the nearest one, else the entry; and
 * the loop over a verb's options (help, options the verb does not take). */
#include "cli/cli.h"
#include <getopt.h>
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

/* The long name of option code ("json"), "" when none has it. */
static const char *long_name(const struct option *longs, int code)
{
	for (const struct option *l = longs; l->name != NULL; l++)
		if (l->val == code)
			return l->name;
	return "";
}

/* getopt's answer ch as an option code: a short letter by its code. */
static int option_code(const cli_verb_opts_t *spec, int ch)
{
	const char *s = ch > 0 && ch != ':' ? strchr(spec->shorts, ch) : NULL;
	return s != NULL ? spec->short_codes[s - spec->shorts] : ch;
}

int cli_verb_options(int argc, char **argv, const cli_verb_opts_t *spec, int (*take)(int code, void *ctx),
		     void *ctx)
{
	int ch;
	optind = 2;
	opterr = 1;
	while ((ch = getopt_long(argc, argv, spec->shorts, spec->longs, NULL)) != -1) {
		int code = option_code(spec, ch);
		if (code == spec->help_code) {
			fputs(spec->help, stdout);
			return 1;
		}
		if (code <= 0 || code >= spec->count || !(spec->takes & (1u << code))) {
			if (code > 0 && code < spec->count)
				fprintf(stderr, "%s %s: option --%s does not apply here\n", cli_prefix(), spec->verb,
					long_name(spec->longs, code));
			return cli_bad_option(spec->verb);
		}
		int rc = take(code, ctx);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int cli_verb_arg(int argc, char **argv, const char *verb, bool want, const cli_arg_text_t *text, const char **arg)
{
	const char *pre = cli_prefix();
	*arg = NULL;
	if (argc - optind == (want ? 1 : 0)) {
		*arg = want ? argv[optind] : NULL;
		return 0;
	}
	if (!want)
		fprintf(stderr, "%s %s: takes options only, not '%.64s'\n", pre, verb, argv[optind]);
	else if (optind == argc)
		fprintf(stderr, "%s %s: %s is required%s\n", pre, verb, text->need, text->need_hint);
	else
		fprintf(stderr, "%s %s: one %s only, not also '%.64s'%s\n", pre, verb, text->one, argv[optind + 1],
			text->one_hint);
	return 2;
}
