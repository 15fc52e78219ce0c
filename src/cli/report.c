/* report.c - `tollgate report posture`: the NHI hygiene report
 * (docs/report.md). The broker computes it (GET /v1/reports/posture);
 * the CLI renders it here with core/posture_render.c as text, JSON or one
 * self-contained HTML file. */
#include "cli/cli.h"
#include "core/posture.h"
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char report_usage[] =
	"Usage: tollgate report posture [--format text|json|html] [--output FILE] [--unused-days N]\n"
	"\n"
	"  posture   the NHI hygiene report: inventory of identities (kind, owner,\n"
	"            keys and their age, last use, active grants, status), the\n"
	"            shares tracked over time, and findings mapped to OWASP NHI\n"
	"            Top 10 (2025) and NIST CSF 2.0 PR.AA with their evidence:\n"
	"            identities without an owner, unused and not offboarded, keys\n"
	"            older than their rotation policy, static secrets overdue,\n"
	"            standing privilege, unused permissions with a narrower policy.\n"
	"\n"
	"  --format F        text (default), json (schema in docs/report.md) or html\n"
	"                    (one file with inline CSS and SVG charts, no external\n"
	"                    references: it opens from an email)\n"
	"  --output FILE     write the report to FILE instead of stdout\n"
	"  --unused-days N   the usage window: unused for N days is a finding\n"
	"                    (1..3650; default: the broker's posture_unused_days)\n"
	"\n"
	"Each run stores the shares for the trend. Needs TOLLGATE_ADDR and TOLLGATE_TOKEN\n"
	"(admin or auditor).\n";

static int parse_days(const char *s, long *out)
{
	char *end = NULL;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > POSTURE_MAX_UNUSED_DAYS) {
		fprintf(stderr, "tollgate report posture: --unused-days must be an integer from 1 to %d (got '%s')\n",
			POSTURE_MAX_UNUSED_DAYS, s);
		return -1;
	}
	*out = v;
	return 0;
}

static char *render(const json_t *report, const char *format)
{
	if (strcmp(format, "json") == 0) {
		char *s = json_dumps(report, JSON_INDENT(2));
		size_t n = s ? strlen(s) : 0;
		char *t = s ? realloc(s, n + 2) : NULL;
		if (t != NULL)
			memcpy(t + n, "\n", 2);
		else
			free(s);
		return t;
	}
	return strcmp(format, "html") == 0 ? posture_render_html(report) : posture_render_text(report);
}

static int write_out(const char *text, const char *path)
{
	FILE *out = path ? fopen(path, "we") : stdout;
	if (out == NULL) {
		fprintf(stderr, "tollgate report posture: cannot write %s: %s\n", path, strerror(errno));
		return 1;
	}
	bool ok = fputs(text, out) >= 0;
	if (out != stdout)
		ok = fclose(out) == 0 && ok;
	else
		ok = fflush(out) == 0 && ok;
	if (!ok)
		fprintf(stderr, "tollgate report posture: writing %s failed\n", path ? path : "stdout");
	return ok ? 0 : 1;
}

static int posture(const char *format, const char *output, long days)
{
	char path[64] = "/v1/reports/posture";
	if (days > 0)
		snprintf(path, sizeof path, "/v1/reports/posture?unused_days=%ld", days);
	json_t *report = cli_api("GET", path, NULL);
	if (report == NULL)
		return 1;
	char *text = render(report, format);
	json_decref(report);
	if (text == NULL) {
		fprintf(stderr, "tollgate report posture: out of memory\n");
		return 1;
	}
	int rc = write_out(text, output);
	free(text);
	return rc;
}

int cmd_report(int argc, char **argv)
{
	static const struct option longs[] = {{"format", required_argument, NULL, 'f'},
					      {"output", required_argument, NULL, 'o'},
					      {"unused-days", required_argument, NULL, 'd'},
					      {"help", no_argument, NULL, 'h'},
					      {NULL, 0, NULL, 0}};
	const char *sub = argc > 1 ? argv[1] : "", *format = "text", *output = NULL;
	long days = 0;
	int ch;
	if (argc < 2 || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
		fputs(report_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(sub, "posture") != 0)
		return cli_unknown_command(sub, (const char *const[]){"posture", NULL});
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (ch) {
		case 'f': format = optarg; break;
		case 'o': output = optarg; break;
		case 'd':
			if (parse_days(optarg, &days) != 0)
				return 2;
			break;
		case 'h': fputs(report_usage, stdout); return 0;
		default: return cli_bad_option("posture");
		}
	}
	if (optind != argc) {
		fprintf(stderr, "tollgate report posture: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0 && strcmp(format, "html") != 0) {
		fprintf(stderr, "tollgate report posture: --format is text, json or html (got '%s')\n", format);
		return 2;
	}
	return posture(format, output, days);
}
