/* posture_render.c - the posture report (posture.h) for people: text for a
 * terminal, and one self-contained HTML file (inline CSS, inline SVG chart
 * of the shares over time, no scripts, no external references) that opens
 * from an email. Pure: a report document in, a string out; every value
 * taken from the document is escaped. */
#include "core/posture.h"
#include "core/timefmt.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* Closes the memory stream; its buffer, or NULL when writing failed. */
static char *finish(FILE *f, char **buf)
{
	if (fclose(f) != 0) {
		free(*buf);
		return NULL;
	}
	return *buf;
}

/* "n/a" for a share without data, else "count/total  share%". */
static void share_cell(FILE *f, const json_t *v)
{
	if (json_is_null(json_object_get(v, "share")))
		fputs("n/a", f);
	else
		fprintf(f, "%lld/%lld  %.1f%%", (long long)json_integer_value(json_object_get(v, "count")),
			(long long)json_integer_value(json_object_get(v, "total")),
			json_real_value(json_object_get(v, "share")) * 100.0);
}

static void mapping_text(FILE *f, const json_t *finding, const char *sep)
{
	const char *o = json_string_value(json_array_get(json_object_get(finding, "owasp"), 0));
	const char *n = json_string_value(json_array_get(json_object_get(finding, "nist"), 0));
	const char *ot = o ? posture_mapping_title(o) : NULL;
	fprintf(f, "OWASP %s %s%sNIST CSF %s", o ? o : "", ot ? ot : "", sep, n ? n : "");
}

/* ---- text ---- */

static void text_indented(FILE *f, const char *s, const char *indent)
{
	fputs(indent, f);
	for (; *s != '\0'; s++) {
		fputc(*s, f);
		if (*s == '\n' && s[1] != '\0')
			fputs(indent, f);
	}
	if (s[-1] != '\n')
		fputc('\n', f);
}

static void text_findings(FILE *f, const json_t *findings)
{
	size_t i;
	json_t *x;
	fprintf(f, "\nFindings (%zu)\n", json_array_size(findings));
	json_array_foreach(findings, i, x) {
		json_t *subject = json_object_get(x, "subject"), *ev = json_object_get(x, "evidence");
		fprintf(f, "  [%s] %s  %s:%s\n      ", str(x, "severity"), str(x, "kind"), str(subject, "type"),
			str(subject, "id"));
		mapping_text(f, x, "; ");
		json_t *plain = json_deep_copy(ev);
		json_object_del(plain, "suggested_policy");
		char *e = json_dumps(plain, JSON_COMPACT | JSON_SORT_KEYS);
		fprintf(f, "\n      evidence: %s\n      fix: %s\n", e ? e : "{}", str(x, "fix"));
		free(e);
		json_decref(plain);
		const char *sugg = str(ev, "suggested_policy");
		if (*sugg != '\0') {
			fputs("      suggested policy:\n", f);
			text_indented(f, sugg, "        ");
		}
	}
}

static void text_inventory(FILE *f, const json_t *inventory)
{
	size_t i, k;
	json_t *x, *key;
	fprintf(f, "\nInventory (%zu)\n  %-24s %-10s %-16s %-10s %5s %8s %7s  %s\n", json_array_size(inventory), "ID",
		"KIND", "OWNER", "STATUS", "KEYS", "OLDEST", "GRANTS", "LAST USED");
	json_array_foreach(inventory, i, x) {
		long long oldest = -1;
		json_array_foreach(json_object_get(x, "keys"), k, key)
			if (json_is_true(json_object_get(key, "enabled")) &&
			    json_integer_value(json_object_get(key, "age_days")) > oldest)
				oldest = json_integer_value(json_object_get(key, "age_days"));
		char age[24] = "-";
		if (oldest >= 0)
			snprintf(age, sizeof age, "%lldd", oldest);
		const char *owner = str(x, "owner");
		fprintf(f, "  %-24s %-10s %-16s %-10s %5zu %8s %7lld  %s\n", str(x, "id"), str(x, "kind"),
			*owner ? owner : "(none)", str(x, "status"), json_array_size(json_object_get(x, "keys")), age,
			(long long)json_integer_value(json_object_get(x, "active_grants")),
			json_is_string(json_object_get(x, "last_used_at")) ? str(x, "last_used_at") : "never");
	}
}

char *posture_render_text(const json_t *report)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL)
		return NULL;
	const json_t *params = json_object_get(report, "parameters"), *cov = json_object_get(report, "coverage");
	fprintf(f, "Tollgate NHI posture report, %s\n", str(report, "generated_at"));
	fprintf(f, "identities: %lld (%lld not offboarded); unused window: %lld days; key_max_age: %lld days\n",
		(long long)json_integer_value(json_object_get(cov, "identities")),
		(long long)json_integer_value(json_object_get(cov, "considered")),
		(long long)json_integer_value(json_object_get(params, "unused_days")),
		(long long)json_integer_value(json_object_get(params, "key_max_age")) / 86400);
	fputs("\nShares\n", f);
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)json_object_get(report, "shares"), k, v) {
		fprintf(f, "  %-22s ", k);
		share_cell(f, v);
		fputc('\n', f);
	}
	const json_t *secrets = json_object_get(report, "secrets");
	if (!json_is_true(json_object_get(secrets, "available")))
		fprintf(f, "\nStatic secrets: %s\n", str(secrets, "note"));
	text_findings(f, json_object_get(report, "findings"));
	text_inventory(f, json_object_get(report, "inventory"));
	return finish(f, &buf);
}

/* ---- HTML ---- */

static void esc(FILE *f, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}

static const char css[] =
	("body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1b1f24;max-width:1100px}"
	 "h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #d0d7de}"
	 "table{border-collapse:collapse;width:100%;margin:8px 0}"
	 "th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top;overflow-wrap:anywhere}"
	 "th{background:#f6f8fa}.high{color:#b42318;font-weight:600}.medium{color:#b54708}.low{color:#475467}"
	 "pre{background:#f6f8fa;padding:8px;white-space:pre-wrap;overflow-wrap:anywhere;font-size:12px;margin:4px 0}"
	 "code{font-size:12px}.note{color:#475467}svg{max-width:100%}");

static const char *const colours[] = {"#d92d20", "#f79009", "#7a5af8", "#1570ef", "#12b76a", "#667085"};
#define N_COLOURS (sizeof colours / sizeof colours[0])

static void html_shares(FILE *f, const json_t *shares)
{
	fputs("<h2>Shares</h2>\n<table><tr><th>measure</th><th>identities (or secrets)</th></tr>\n", f);
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)shares, k, v) {
		fputs("<tr><td>", f);
		esc(f, k);
		fputs("</td><td>", f);
		share_cell(f, v);
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
}

#define CW 640
#define CH 240
#define ML 44
#define MR 16
#define MT 12
#define MB 28

static double chart_x(int64_t t, int64_t t0, int64_t t1)
{
	return t1 > t0 ? ML + (double)(t - t0) / (double)(t1 - t0) * (CW - ML - MR) : (ML + CW - MR) / 2.0;
}

/* One share's line and its points; snapshots without a value are skipped. */
static void chart_line(FILE *f, const json_t *history, const char *name, const int64_t *t, int64_t t0, int64_t t1,
		       const char *colour)
{
	size_t i;
	json_t *h;
	fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", colour);
	json_array_foreach(history, i, h) {
		json_t *v = json_object_get(json_object_get(h, "shares"), name);
		if (json_is_number(v))
			fprintf(f, "%.1f,%.1f ", chart_x(t[i], t0, t1), MT + (1.0 - json_number_value(v)) * (CH - MT - MB));
	}
	fputs("\"/>\n", f);
	json_array_foreach(history, i, h) {
		json_t *v = json_object_get(json_object_get(h, "shares"), name);
		if (json_is_number(v))
			fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", chart_x(t[i], t0, t1),
				MT + (1.0 - json_number_value(v)) * (CH - MT - MB), colour);
	}
}

static void html_chart(FILE *f, const json_t *history, const json_t *shares)
{
	size_t n = json_array_size(history), i;
	int64_t *t = calloc(n ? n : 1, sizeof *t), t0 = 0, t1 = 0;
	if (t == NULL)
		return;
	json_t *h;
	json_array_foreach(history, i, h) {
		if (rfc3339_parse(str(h, "time"), &t[i]) != 0)
			t[i] = i ? t[i - 1] : 0;
		t0 = i == 0 || t[i] < t0 ? t[i] : t0;
		t1 = i == 0 || t[i] > t1 ? t[i] : t1;
	}
	fputs("<h2>Trend</h2>\n", f);
	fprintf(f, "<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		   "role=\"img\" aria-label=\"shares over time\">\n", CW, CH, CW, CH);
	for (int g = 0; g <= 4; g++) {
		double y = MT + (double)g / 4.0 * (CH - MT - MB);
		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#d0d7de\"/>"
			   "<text x=\"4\" y=\"%.1f\" font-size=\"11\" fill=\"#475467\">%d%%</text>\n",
			ML, y, CW - MR, y, y + 4, 100 - g * 25);
	}
	char a[RFC3339_LEN], b[RFC3339_LEN];
	rfc3339(t0, a);
	rfc3339(t1, b);
	fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#475467\">%.10s</text>"
		   "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#475467\" text-anchor=\"end\">%.10s</text>\n",
		ML, CH - 8, a, CW - MR, CH - 8, b);
	const char *k;
	json_t *v;
	size_t c = 0;
	json_object_foreach((json_t *)shares, k, v)
		chart_line(f, history, k, t, t0, t1, colours[c++ % N_COLOURS]);
	fputs("</svg>\n<p>", f);
	c = 0;
	json_object_foreach((json_t *)shares, k, v) {
		fprintf(f, "<span style=\"color:%s\">&#9632;</span> ", colours[c++ % N_COLOURS]);
		esc(f, k);
		fputs(" &nbsp; ", f);
	}
	fprintf(f, "</p>\n<p class=\"note\">%zu snapshot(s): each report run and the broker's daily snapshot.</p>\n", n);
	free(t);
}

static void html_findings(FILE *f, const json_t *findings)
{
	fprintf(f, "<h2>Findings (%zu)</h2>\n<table><tr><th>severity</th><th>finding</th><th>subject</th>"
		   "<th>mapping</th><th>evidence</th><th>fix</th></tr>\n", json_array_size(findings));
	size_t i;
	json_t *x;
	json_array_foreach(findings, i, x) {
		json_t *subject = json_object_get(x, "subject"), *ev = json_object_get(x, "evidence");
		const char *sev = str(x, "severity");
		bool known = strcmp(sev, "high") == 0 || strcmp(sev, "medium") == 0 || strcmp(sev, "low") == 0;
		fprintf(f, "<tr><td class=\"%s\">", known ? sev : ""); /* never the document's text in an attribute */
		esc(f, str(x, "severity"));
		fputs("</td><td><b>", f);
		esc(f, str(x, "kind"));
		fputs("</b><br>", f);
		esc(f, str(x, "title"));
		fputs("</td><td>", f);
		esc(f, str(subject, "type"));
		fputs(" <code>", f);
		esc(f, str(subject, "id"));
		fputs("</code></td><td>", f);
		char *m = NULL;
		size_t ml = 0;
		FILE *mf = open_memstream(&m, &ml);
		if (mf != NULL) {
			mapping_text(mf, x, "\n");
			fclose(mf);
			esc(f, m);
			free(m);
		}
		json_t *plain = json_deep_copy(ev);
		json_object_del(plain, "suggested_policy");
		char *e = json_dumps(plain, JSON_INDENT(1) | JSON_SORT_KEYS);
		fputs("</td><td><pre>", f);
		esc(f, e);
		free(e);
		json_decref(plain);
		fputs("</pre>", f);
		const char *sugg = str(ev, "suggested_policy");
		if (*sugg != '\0') {
			fputs("suggested policy:<pre>", f);
			esc(f, sugg);
			fputs("</pre>", f);
		}
		fputs("</td><td>", f);
		esc(f, str(x, "fix"));
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
}

static void html_inventory(FILE *f, const json_t *inventory)
{
	fprintf(f, "<h2>Inventory (%zu)</h2>\n<table><tr><th>id</th><th>kind</th><th>owner</th><th>status</th>"
		   "<th>keys (age in days)</th><th>last used</th><th>active grants</th></tr>\n",
		json_array_size(inventory));
	size_t i, k;
	json_t *x, *key;
	json_array_foreach(inventory, i, x) {
		fputs("<tr><td><code>", f);
		esc(f, str(x, "id"));
		fputs("</code></td><td>", f);
		esc(f, str(x, "kind"));
		fputs("</td><td>", f);
		esc(f, *str(x, "owner") ? str(x, "owner") : "(none)");
		fputs("</td><td>", f);
		esc(f, str(x, "status"));
		fputs("</td><td>", f);
		json_array_foreach(json_object_get(x, "keys"), k, key) {
			fputs(k ? "<br>" : "", f);
			esc(f, str(key, "kid"));
			fprintf(f, " (%lld%s%s)", (long long)json_integer_value(json_object_get(key, "age_days")),
				json_is_true(json_object_get(key, "enabled")) ? "" : ", disabled",
				json_is_true(json_object_get(key, "rotation_overdue")) ? ", overdue" : "");
		}
		fputs("</td><td>", f);
		esc(f, json_is_string(json_object_get(x, "last_used_at")) ? str(x, "last_used_at") : "never");
		fprintf(f, "</td><td>%lld</td></tr>\n", (long long)json_integer_value(json_object_get(x, "active_grants")));
	}
	fputs("</table>\n", f);
}

static void html_legend(FILE *f)
{
	fputs("<h2>Mappings</h2>\n<table><tr><th>code</th><th>title</th></tr>\n", f);
	static const char *const codes[] = {"NHI1", "NHI2", "NHI3", "NHI4", "NHI5", "NHI6", "NHI7", "NHI8",
					    "NHI9", "NHI10", "PR.AA-01", "PR.AA-02", "PR.AA-03", "PR.AA-04", "PR.AA-05"};
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		fprintf(f, "<tr><td>%s</td><td>", codes[i]);
		esc(f, posture_mapping_title(codes[i]));
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n<p class=\"note\">OWASP Top 10 Non-Human Identities Risks 2025; NIST Cybersecurity "
	      "Framework 2.0, PR.AA (Identity Management, Authentication, and Access Control).</p>\n", f);
}

char *posture_render_html(const json_t *report)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL)
		return NULL;
	const json_t *cov = json_object_get(report, "coverage"), *params = json_object_get(report, "parameters");
	const json_t *shares = json_object_get(report, "shares"), *secrets = json_object_get(report, "secrets");
	fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		   "<title>Tollgate NHI posture report</title>\n<style>%s</style></head><body>\n", css);
	fputs("<h1>Tollgate NHI posture report</h1>\n<p>Generated ", f);
	esc(f, str(report, "generated_at"));
	fprintf(f, ". %lld identities (%lld not offboarded); unused window %lld days; key rotation policy %lld days "
		   "unless an identity's entity sets key_max_age.</p>\n",
		(long long)json_integer_value(json_object_get(cov, "identities")),
		(long long)json_integer_value(json_object_get(cov, "considered")),
		(long long)json_integer_value(json_object_get(params, "unused_days")),
		(long long)json_integer_value(json_object_get(params, "key_max_age")) / 86400);
	html_shares(f, shares);
	html_chart(f, json_object_get(report, "history"), shares);
	if (!json_is_true(json_object_get(secrets, "available"))) {
		fputs("<h2>Static secrets</h2>\n<p class=\"note\">", f);
		esc(f, str(secrets, "note"));
		fputs("</p>\n", f);
	}
	html_findings(f, json_object_get(report, "findings"));
	html_inventory(f, json_object_get(report, "inventory"));
	html_legend(f);
	fputs("</body></html>\n", f);
	return finish(f, &buf);
}
