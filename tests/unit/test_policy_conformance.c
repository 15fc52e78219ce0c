/* test_policy_conformance.c - the Cedar conformance suite run against the
 * native engine: for every test, parse its policies (pol_parse), build an
 * engine, load its entities (pol_json_entities_from), and for every request
 * (pol_json_request) decide with plain Cedar semantics (pol_authorize, no
 * obligation facts) and compare the decision, the set of determining
 * policies and the set of erroring policies with what the reference
 * produced.
 *
 * A mismatch is printed (test file, request, expected and got, the
 * messages of the policies that errored) and counted; the run goes on and
 * fails at the end when any request mismatched. TG_CONFORMANCE_VERBOSE=1
 * prints every mismatch instead of the first 100 of each suite;
 * TG_CONFORMANCE_NO_HINTS=1 loads the data without the schema hints below
 * (to see what depends on them).
 *
 * Data: the 22 hand-written tests sit in ../shared/cedar-conformance beside
 * the checkout (or wherever TG_CEDAR_CONFORMANCE points); skipped with a
 * message when absent. The ~4,000 generated tests come from its
 * corpus.tar.gz: from TG_CEDAR_CORPUS when set (a directory where it was
 * extracted), else extracted with tar into a temporary directory for the
 * run.
 *
 * Schemas: the reference harness reads entities and contexts with the
 * test's schema, which lets data leave out the __entity and __extn escapes
 * where the schema says an attribute is an entity or an extension value.
 * Tollgate has no schemas (its data must use the escapes), so the "schema
 * hints" below read the part of a test's .cedarschema that says which
 * attributes are entity references or extension values, and add the
 * escapes the schema would have implied before loading: {"type", "id"}
 * where an entity is expected becomes {"__entity": ...}, a string where an
 * extension type is expected becomes {"__extn": ...}. Nothing else changes.
 * It is test scaffolding, not part of the engine. */
#include "test_util.h"
#include "core/policy/cedar_json.h"
#include "core/policy/engine.h"
#include "core/policy/policy.h"
#include "core/policy/text.h"
#include <ctype.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- NUL in object keys -------------------------------------------------- */

/* Cedar record keys are any string, and 365 tests of the generated corpus
 * have keys holding U+0000 (written \u0000) in their entities or in their
 * requests' contexts. jansson's decoder cannot hold NUL in a key ("NUL
 * byte in object key not supported"), so pol_json_parse refuses such text,
 * as Tollgate's API does. jansson's objects can hold such keys, though
 * (json_object_setn, 2.14), and the engine's loaders take every key with
 * its length. So the runner decodes such a file with every \u0000 escape
 * inside a key written as the escape of a private-use code point the file
 * does not contain (the placeholder), and then rebuilds every object key
 * and string of the decoded tree with the placeholder turned back into a
 * NUL byte: the engine sees exactly the reference's data. This is test
 * scaffolding; the engine's decoder is jansson's, unchanged. */

static bool is_json_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Whether text holds code point cp, raw (UTF-8) or as a \u escape in
 * either case. Errs towards yes (an escaped backslash before "u" counts),
 * which only makes the caller try another code point. */
static bool text_has_cp(const char *text, size_t len, unsigned cp)
{
	char utf8[3] = {(char)(0xe0 | (cp >> 12)), (char)(0x80 | ((cp >> 6) & 0x3f)),
			(char)(0x80 | (cp & 0x3f))};
	if (memmem(text, len, utf8, sizeof utf8) != NULL)
		return true;
	for (size_t i = 0; i + 6 <= len; i++) {
		if (text[i] != '\\' || text[i + 1] != 'u')
			continue;
		char hex[5] = {0};
		memcpy(hex, text + i + 2, 4);
		if (strspn(hex, "0123456789abcdefABCDEF") == 4 && strtoul(hex, NULL, 16) == cp)
			return true;
	}
	return false;
}

/* Rewrites in place every \u0000 escape inside an object key (a string
 * followed by ':') as esc (six characters, the same length); returns how
 * many. Text that is not JSON is left for the decoder to refuse. */
static size_t mark_nul_keys(char *text, size_t len, const char esc[6])
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		if (text[i] != '"')
			continue;
		size_t start = i + 1, end = start;
		while (end < len && text[end] != '"')
			end += text[end] == '\\' ? 2 : 1;
		if (end >= len)
			return n;
		size_t after = end + 1;
		while (after < len && is_json_ws(text[after]))
			after++;
		if (after < len && text[after] == ':') {
			for (size_t p = start; p < end;) {
				if (text[p] != '\\') {
					p++;
				} else if (end - p >= 6 && memcmp(text + p, "\\u0000", 6) == 0) {
					memcpy(text + p, esc, 6);
					n++;
					p += 6;
				} else {
					p += 2;
				}
			}
		}
		i = end;
	}
	return n;
}

/* s[0..len) with every placeholder (its three UTF-8 bytes) replaced by a
 * NUL byte, into a new buffer; *outlen its length. */
static char *unmark(const char *s, size_t len, const char ph[3], size_t *outlen)
{
	char *o = malloc(len + 1);
	size_t n = 0;
	assert_non_null(o);
	for (size_t i = 0; i < len;) {
		if (len - i >= 3 && memcmp(s + i, ph, 3) == 0) {
			o[n++] = '\0';
			i += 3;
		} else {
			o[n++] = s[i++];
		}
	}
	o[n] = '\0';
	*outlen = n;
	return o;
}

/* v rebuilt with the placeholder turned back into NUL in every object key
 * and every string. New reference. Recursion is bounded by pol_json_parse's
 * nesting bound. */
static json_t *restore_nul(json_t *v, const char ph[3])
{
	json_t *out = NULL, *x;
	size_t i, n;
	const char *k;
	char *fixed;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		out = json_object();
		assert_non_null(out);
		json_object_keylen_foreach(v, k, i, x) {
			fixed = unmark(k, i, ph, &n);
			json_t *nv = restore_nul(x, ph);
			assert_int_equal(json_object_setn_new(out, fixed, n, nv), 0);
			free(fixed);
		}
		return out;
	case JSON_ARRAY:
		out = json_array();
		assert_non_null(out);
		json_array_foreach(v, i, x) {
			assert_int_equal(json_array_append_new(out, restore_nul(x, ph)), 0);
		}
		return out;
	case JSON_STRING:
		fixed = unmark(json_string_value(v), json_string_length(v), ph, &n);
		out = json_stringn(fixed, n);
		assert_non_null(out);
		free(fixed);
		return out;
	default:
		return json_incref(v);
	}
}

static json_t *read_json(const char *path, char *err, size_t errsize)
{
	size_t len = 0;
	char *text = tu_read_file(path, &len);
	if (text == NULL) {
		snprintf(err, errsize, "cannot read %s", path);
		return NULL;
	}
	/* The placeholder: the first private-use code point the file does not
	 * hold (U+E000 in the whole corpus). Only files with a \u0000 escape
	 * need one. */
	size_t marked = 0;
	unsigned cp = 0xe000;
	char esc[7], ph[3] = {0};
	if (memmem(text, len, "\\u0000", 6) != NULL) {
		while (cp <= 0xf8ff && text_has_cp(text, len, cp))
			cp++;
		assert_true(cp <= 0xf8ff);
		ph[0] = (char)(0xe0 | (cp >> 12));
		ph[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		ph[2] = (char)(0x80 | (cp & 0x3f));
		snprintf(esc, sizeof esc, "\\u%04X", cp);
		marked = mark_nul_keys(text, len, esc);
	}
	json_t *j = pol_json_parse(text, len, err, errsize);
	free(text);
	if (j != NULL && marked > 0) {
		json_t *restored = restore_nul(j, ph);
		json_decref(j);
		j = restored;
	}
	return j;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ---- schema hints ------------------------------------------------------- */

/* Just enough of Cedar's schema syntax (natural form) to know, for every
 * entity type, action context and common type, where entity references
 * and extension values sit:
 *   [namespace Path {] decl* [}]
 *   entity Names [in ...] [[=] Record] [tags Type] ;  | entity Names enum [...] ;
 *   action Names [in ...] [appliesTo { principal: ..., resource: ..., context: Type }] ;
 *   type Name = Type ;
 * Types: Path (builtin, common or entity type), Set<Type>, { [name[?]: Type],... }.
 * Annotations (@a("b")) and comments are skipped. */

typedef enum { H_OTHER, H_ENTITY, H_EXT, H_SET, H_RECORD, H_NAME } hkind_t;

typedef struct htype htype_t;
struct htype {
	hkind_t kind;
	const char *ext;  /* H_EXT: the constructor, "ip" ... */
	char *name, *ns;  /* H_NAME: path as written and the namespace it was written in */
	htype_t *elem;    /* H_SET */
	size_t n;         /* H_RECORD */
	pol_str_t *keys;
	htype_t **vals;
	htype_t *next_alloc;
};

typedef struct hdecl {
	int what;       /* 0 entity type, 1 action, 2 common type */
	char *name;     /* entity/common: full path; action: the id */
	char *atype;    /* action: "Ns::Action" */
	size_t namelen; /* action ids may hold NUL */
	htype_t *type;  /* entity: attrs; action: context; common: the type */
	htype_t *tags;  /* entity */
	struct hdecl *next;
} hdecl_t;

typedef struct hints {
	hdecl_t *decls;
	htype_t *types; /* every allocated type, for freeing */
	pol_arena_t *a;
} hints_t;

typedef struct {
	const char *s;
	size_t len, pos;
	int bad;
	hints_t *h;
	char ns[512];
} sp_t;

static void sp_ws(sp_t *p)
{
	for (;;) {
		while (p->pos < p->len && isspace((unsigned char)p->s[p->pos]))
			p->pos++;
		if (p->pos + 1 < p->len && p->s[p->pos] == '/' && p->s[p->pos + 1] == '/') {
			while (p->pos < p->len && p->s[p->pos] != '\n')
				p->pos++;
			continue;
		}
		return;
	}
}

static bool sp_punct(sp_t *p, const char *t)
{
	sp_ws(p);
	size_t n = strlen(t);
	if (p->len - p->pos >= n && memcmp(p->s + p->pos, t, n) == 0) {
		p->pos += n;
		return true;
	}
	return false;
}

static size_t sp_ident(sp_t *p, const char **at)
{
	sp_ws(p);
	size_t i = p->pos;
	if (i < p->len && (isalpha((unsigned char)p->s[i]) || p->s[i] == '_')) {
		while (i < p->len && (isalnum((unsigned char)p->s[i]) || p->s[i] == '_'))
			i++;
	}
	*at = p->s + p->pos;
	size_t n = i - p->pos;
	p->pos = i;
	return n;
}

static bool sp_word(sp_t *p, const char *w)
{
	size_t save = p->pos;
	const char *at;
	size_t n = sp_ident(p, &at);
	if (n == strlen(w) && memcmp(at, w, n) == 0)
		return true;
	p->pos = save;
	return false;
}

/* A string literal, unescaped into the arena. */
static bool sp_string(sp_t *p, pol_str_t *out)
{
	sp_ws(p);
	if (p->pos >= p->len || p->s[p->pos] != '"')
		return false;
	size_t start = ++p->pos;
	while (p->pos < p->len && p->s[p->pos] != '"') {
		if (p->s[p->pos] == '\\')
			p->pos++;
		p->pos++;
	}
	if (p->pos >= p->len) {
		p->bad = 1;
		return false;
	}
	size_t bad;
	const char *why;
	if (pol_unescape(p->h->a, p->s + start, p->pos - start, out, &bad, &why) < 0)
		p->bad = 1;
	p->pos++;
	return !p->bad;
}

/* Ident(::Ident)* into a malloc'd string (the arena). */
static char *sp_path(sp_t *p)
{
	char buf[1024];
	size_t o = 0;
	for (;;) {
		const char *at;
		size_t n = sp_ident(p, &at);
		if (n == 0 || o + n + 2 >= sizeof buf) {
			p->bad = 1;
			return NULL;
		}
		memcpy(buf + o, at, n);
		o += n;
		size_t save = p->pos;
		if (sp_punct(p, "::")) {
			sp_ws(p);
			if (p->pos < p->len && p->s[p->pos] == '"') {
				p->pos = save;
				break;
			}
			memcpy(buf + o, "::", 2);
			o += 2;
			continue;
		}
		break;
	}
	return pol_arena_strndup(p->h->a, buf, o);
}

static void sp_annotations(sp_t *p)
{
	pol_str_t s;
	while (sp_punct(p, "@")) {
		const char *at;
		sp_ident(p, &at);
		if (sp_punct(p, "(")) {
			sp_string(p, &s);
			sp_punct(p, ")");
		}
	}
}

static htype_t *new_type(sp_t *p, hkind_t k)
{
	htype_t *t = calloc(1, sizeof *t);
	assert_non_null(t);
	t->kind = k;
	t->next_alloc = p->h->types;
	p->h->types = t;
	return t;
}

static htype_t *sp_type(sp_t *p);

static htype_t *sp_record(sp_t *p)
{
	htype_t *t = new_type(p, H_RECORD);
	size_t cap = 0;
	while (!p->bad && !sp_punct(p, "}")) {
		pol_str_t key;
		const char *at;
		sp_annotations(p);
		sp_ws(p);
		if (p->pos < p->len && p->s[p->pos] == '"') {
			if (!sp_string(p, &key))
				return t;
		} else {
			size_t n = sp_ident(p, &at);
			if (n == 0) {
				p->bad = 1;
				return t;
			}
			key.p = pol_arena_strndup(p->h->a, at, n);
			key.len = n;
		}
		sp_punct(p, "?");
		if (!sp_punct(p, ":")) {
			p->bad = 1;
			return t;
		}
		htype_t *v = sp_type(p);
		if (t->n == cap) {
			cap = cap ? cap * 2 : 8;
			t->keys = realloc(t->keys, cap * sizeof *t->keys);
			t->vals = realloc(t->vals, cap * sizeof *t->vals);
			assert_true(t->keys != NULL && t->vals != NULL);
		}
		t->keys[t->n] = key;
		t->vals[t->n++] = v;
		sp_punct(p, ",");
	}
	return t;
}

static htype_t *sp_type(sp_t *p)
{
	if (p->bad)
		return new_type(p, H_OTHER);
	if (sp_punct(p, "{"))
		return sp_record(p);
	size_t save = p->pos;
	if (sp_word(p, "Set") && sp_punct(p, "<")) {
		htype_t *t = new_type(p, H_SET);
		t->elem = sp_type(p);
		if (!sp_punct(p, ">"))
			p->bad = 1;
		return t;
	}
	p->pos = save;
	htype_t *t = new_type(p, H_NAME);
	t->name = sp_path(p);
	t->ns = pol_arena_strndup(p->h->a, p->ns, strlen(p->ns));
	return t;
}

/* Skips balanced brackets from an opening one already consumed. */
static void sp_skip_balanced(sp_t *p)
{
	int depth = 1;
	while (p->pos < p->len && depth > 0) {
		char c = p->s[p->pos];
		if (c == '"') {
			pol_str_t s;
			sp_string(p, &s);
			continue;
		}
		if (c == '[' || c == '{' || c == '(' || c == '<')
			depth++;
		else if (c == ']' || c == '}' || c == ')' || c == '>')
			depth--;
		p->pos++;
	}
}

static void add_decl(sp_t *p, int what, char *name, size_t namelen, char *atype, htype_t *type,
		     htype_t *tags)
{
	hdecl_t *d = pol_arena_alloc(p->h->a, sizeof *d);
	assert_non_null(d);
	d->what = what;
	d->name = name;
	d->namelen = namelen;
	d->atype = atype;
	d->type = type;
	d->tags = tags;
	d->next = p->h->decls;
	p->h->decls = d;
}

static char *qualify(sp_t *p, const char *at, size_t n)
{
	char buf[1200];
	int k = p->ns[0] ? snprintf(buf, sizeof buf, "%s::%.*s", p->ns, (int)n, at)
			 : snprintf(buf, sizeof buf, "%.*s", (int)n, at);
	return pol_arena_strndup(p->h->a, buf, (size_t)k);
}

/* "in X" or "in [X, Y]" after an entity or action name list. */
static void sp_skip_in(sp_t *p)
{
	if (!sp_word(p, "in"))
		return;
	if (sp_punct(p, "[")) {
		sp_skip_balanced(p);
		return;
	}
	pol_str_t s;
	sp_path(p);
	if (sp_punct(p, "::"))
		sp_string(p, &s);
}

static void sp_entity(sp_t *p)
{
	const char *names[256];
	size_t lens[256], n = 0;
	do {
		const char *at;
		size_t k = sp_ident(p, &at);
		if (k == 0 || n == 256) {
			p->bad = 1;
			return;
		}
		names[n] = at;
		lens[n++] = k;
	} while (sp_punct(p, ","));
	htype_t *attrs = NULL, *tags = NULL;
	if (sp_word(p, "enum")) {
		if (sp_punct(p, "["))
			sp_skip_balanced(p);
	} else {
		sp_skip_in(p);
		sp_punct(p, "=");
		if (sp_punct(p, "{"))
			attrs = sp_record(p);
		if (sp_word(p, "tags"))
			tags = sp_type(p);
	}
	if (!sp_punct(p, ";"))
		p->bad = 1;
	for (size_t i = 0; i < n; i++)
		add_decl(p, 0, qualify(p, names[i], lens[i]), 0, NULL, attrs, tags);
}

static void sp_action(sp_t *p)
{
	pol_str_t names[256];
	size_t n = 0;
	do {
		pol_str_t s;
		sp_ws(p);
		if (p->pos < p->len && p->s[p->pos] == '"') {
			if (!sp_string(p, &s))
				return;
		} else {
			const char *at;
			s.len = sp_ident(p, &at);
			s.p = pol_arena_strndup(p->h->a, at, s.len);
			if (s.len == 0) {
				p->bad = 1;
				return;
			}
		}
		if (n == 256) {
			p->bad = 1;
			return;
		}
		names[n++] = s;
	} while (sp_punct(p, ","));
	sp_skip_in(p);
	htype_t *ctx = NULL;
	if (sp_word(p, "appliesTo")) {
		if (!sp_punct(p, "{")) {
			p->bad = 1;
			return;
		}
		while (!p->bad && !sp_punct(p, "}")) {
			const char *at;
			size_t k = sp_ident(p, &at);
			if (k == 0 || !sp_punct(p, ":")) {
				p->bad = 1;
				return;
			}
			if (k == 7 && memcmp(at, "context", 7) == 0) {
				ctx = sp_type(p);
			} else if (sp_punct(p, "[")) {
				sp_skip_balanced(p);
			} else {
				sp_path(p);
			}
			sp_punct(p, ",");
		}
	}
	if (sp_word(p, "attributes") && sp_punct(p, "{"))
		sp_skip_balanced(p);
	if (!sp_punct(p, ";"))
		p->bad = 1;
	char *atype = qualify(p, "Action", 6);
	for (size_t i = 0; i < n; i++)
		add_decl(p, 1, (char *)names[i].p, names[i].len, atype, ctx, NULL);
}

static void sp_decls(sp_t *p, bool in_ns)
{
	while (!p->bad) {
		sp_annotations(p);
		sp_ws(p);
		if (p->pos >= p->len)
			return;
		if (in_ns && sp_punct(p, "}"))
			return;
		if (sp_word(p, "entity")) {
			sp_entity(p);
		} else if (sp_word(p, "action")) {
			sp_action(p);
		} else if (sp_word(p, "type")) {
			const char *at;
			size_t k = sp_ident(p, &at);
			char *name = qualify(p, at, k);
			if (k == 0 || !sp_punct(p, "=")) {
				p->bad = 1;
				return;
			}
			htype_t *t = sp_type(p);
			if (!sp_punct(p, ";"))
				p->bad = 1;
			add_decl(p, 2, name, 0, NULL, t, NULL);
		} else if (!in_ns && sp_word(p, "namespace")) {
			char *ns = sp_path(p);
			if (ns == NULL || !sp_punct(p, "{")) {
				p->bad = 1;
				return;
			}
			snprintf(p->ns, sizeof p->ns, "%s", ns);
			sp_decls(p, true);
			p->ns[0] = '\0';
		} else {
			p->bad = 1;
		}
	}
}

static void hints_free(hints_t *h)
{
	if (h == NULL)
		return;
	for (htype_t *t = h->types, *next; t != NULL; t = next) {
		next = t->next_alloc;
		free(t->keys);
		free(t->vals);
		free(t);
	}
	pol_arena_free(h->a);
	free(h);
}

/* NULL when the file is missing or uses syntax this reader does not know
 * (then the data is loaded as it is). */
static hints_t *hints_load(const char *path)
{
	size_t len = 0;
	char *text = tu_read_file(path, &len);
	if (text == NULL)
		return NULL;
	hints_t *h = calloc(1, sizeof *h);
	assert_non_null(h);
	h->a = pol_arena_new();
	sp_t p = {.s = text, .len = len, .h = h};
	sp_decls(&p, false);
	free(text);
	if (p.bad) {
		hints_free(h);
		return NULL;
	}
	return h;
}

static const hdecl_t *find_decl(const hints_t *h, int what, const char *name)
{
	for (const hdecl_t *d = h->decls; d != NULL; d = d->next)
		if (d->what == what && strcmp(d->name, name) == 0)
			return d;
	return NULL;
}

static const char *builtin_ext(const char *name)
{
	static const char *const map[][2] = {
		{"ipaddr", "ip"}, {"decimal", "decimal"}, {"datetime", "datetime"}, {"duration", "duration"}};
	for (size_t i = 0; i < 4; i++)
		if (strcmp(name, map[i][0]) == 0)
			return map[i][1];
	return NULL;
}

static bool builtin_prim(const char *name)
{
	return strcmp(name, "Long") == 0 || strcmp(name, "String") == 0 || strcmp(name, "Bool") == 0 ||
	       strcmp(name, "Boolean") == 0;
}

/* What a named type is, following Cedar's resolution order: a common type
 * of the namespace, an entity type of the namespace, then the same
 * without the namespace, then the builtins. kind H_ENTITY or H_EXT (with
 * *ext) or the resolved common type. */
static const htype_t *resolve(const hints_t *h, const htype_t *t, const char **ext, int depth)
{
	static const htype_t entity = {.kind = H_ENTITY}, other = {.kind = H_OTHER};
	char q[1200];
	const hdecl_t *d;
	if (t == NULL || depth > 16)
		return &other;
	if (t->kind != H_NAME)
		return t;
	if (t->name == NULL)
		return &other;
	if (strncmp(t->name, "__cedar::", 9) == 0) {
		*ext = builtin_ext(t->name + 9);
		return *ext != NULL ? t : &other;
	}
	const char *cands[2] = {NULL, t->name};
	if (t->ns != NULL && t->ns[0] != '\0' && strstr(t->name, "::") == NULL) {
		snprintf(q, sizeof q, "%s::%s", t->ns, t->name);
		cands[0] = q;
	}
	for (int i = 0; i < 2; i++) {
		if (cands[i] == NULL)
			continue;
		if ((d = find_decl(h, 2, cands[i])) != NULL)
			return resolve(h, d->type, ext, depth + 1);
		if (find_decl(h, 0, cands[i]) != NULL)
			return &entity;
	}
	if (builtin_prim(t->name))
		return &other;
	if ((*ext = builtin_ext(t->name)) != NULL)
		return t;
	/* An entity type this file does not declare (Action, or a type of
	 * another file): treat a {type, id} there as an entity. */
	return &entity;
}

static void replace(json_t *parent, const char *key, size_t keylen, size_t index, json_t *nv)
{
	if (json_is_object(parent))
		json_object_setn_new_nocheck(parent, key, keylen, nv);
	else
		json_array_set_new(parent, index, nv);
}

/* Applies t to v in place (v sits in parent under key or at index);
 * returns how many values were rewritten. */
static int hint_fix(const hints_t *h, const htype_t *t, json_t *parent, const char *key,
		    size_t keylen, size_t index, json_t *v, int depth)
{
	const char *ext = NULL;
	int n = 0;
	if (depth > 64)
		return 0;
	const htype_t *r = resolve(h, t, &ext, 0);
	if (ext != NULL) {
		if (json_is_string(v)) {
			replace(parent, key, keylen, index,
				json_pack("{s:{s:s,s:O}}", "__extn", "fn", ext, "arg", v));
			return 1;
		}
		if (json_is_object(v) && json_object_get(v, "fn") != NULL &&
		    json_object_get(v, "__extn") == NULL) {
			replace(parent, key, keylen, index, json_pack("{s:O}", "__extn", v));
			return 1;
		}
		return 0;
	}
	switch (r->kind) {
	case H_ENTITY:
		if (json_is_object(v) && json_object_size(v) == 2 && json_object_get(v, "type") != NULL &&
		    json_object_get(v, "id") != NULL) {
			replace(parent, key, keylen, index, json_pack("{s:O}", "__entity", v));
			return 1;
		}
		return 0;
	case H_SET:
		if (json_is_array(v))
			for (size_t i = 0; i < json_array_size(v); i++)
				n += hint_fix(h, r->elem, v, NULL, 0, i, json_array_get(v, i), depth + 1);
		return n;
	case H_RECORD:
		if (json_is_object(v) && json_object_get(v, "__extn") == NULL &&
		    json_object_get(v, "__entity") == NULL)
			for (size_t i = 0; i < r->n; i++) {
				json_t *x = json_object_getn(v, r->keys[i].p, r->keys[i].len);
				if (x != NULL)
					n += hint_fix(h, r->vals[i], v, r->keys[i].p, r->keys[i].len, 0,
							x, depth + 1);
			}
		return n;
	default:
		return 0;
	}
}

/* Rewrites an entities document in place; returns how many values. */
static int hints_entities(const hints_t *h, json_t *doc)
{
	size_t i;
	json_t *e;
	int n = 0;
	json_array_foreach(doc, i, e) {
		json_t *uid = json_object_get(e, "uid");
		if (json_object_get(uid, "__entity") != NULL)
			uid = json_object_get(uid, "__entity");
		const char *type = json_string_value(json_object_get(uid, "type"));
		const hdecl_t *d = type != NULL ? find_decl(h, 0, type) : NULL;
		if (d == NULL)
			continue;
		json_t *attrs = json_object_get(e, "attrs"), *tags = json_object_get(e, "tags");
		if (d->type != NULL && attrs != NULL)
			n += hint_fix(h, d->type, e, "attrs", 5, 0, attrs, 0);
		if (d->tags != NULL && json_is_object(tags)) {
			const char *k;
			size_t kl;
			json_t *v;
			json_object_keylen_foreach(tags, k, kl, v) {
				n += hint_fix(h, d->tags, tags, k, kl, 0, v, 1);
			}
		}
	}
	return n;
}

/* Rewrites a request's context in place; returns how many values. */
static int hints_context(const hints_t *h, json_t *req)
{
	json_t *act = json_object_get(req, "action"), *ctx = json_object_get(req, "context");
	if (json_object_get(act, "__entity") != NULL)
		act = json_object_get(act, "__entity");
	const char *type = json_string_value(json_object_get(act, "type"));
	json_t *id = json_object_get(act, "id");
	if (type == NULL || !json_is_string(id) || ctx == NULL)
		return 0;
	for (const hdecl_t *d = h->decls; d != NULL; d = d->next)
		if (d->what == 1 && strcmp(d->atype, type) == 0 &&
		    d->namelen == json_string_length(id) &&
		    memcmp(d->name, json_string_value(id), d->namelen) == 0)
			return d->type != NULL ? hint_fix(h, d->type, req, "context", 7, 0, ctx, 0) : 0;
	return 0;
}

/* ---- one run ------------------------------------------------------------ */

typedef struct {
	const char *name;  /* "hand-written" or "corpus" */
	const char *root;  /* the folder test paths are relative to */
	bool verbose;
	int tests, requests, mismatches, printed, hinted;
	int allows, reasons, errors; /* what the engine decided, for the summary */
	int schemas, schemas_read, hinted_entities;
	bool no_hints;
	pol_scratch_t *scratch;
} run_t;

static bool should_print(run_t *r)
{
	return r->verbose || r->printed < 100;
}

/* Sorted, deduplicated copy of the strings of a JSON array into ids. */
static size_t expected_ids(const json_t *arr, const char **ids, size_t max)
{
	size_t n = 0, i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		if (n < max && json_is_string(v))
			ids[n++] = json_string_value(v);
	}
	qsort(ids, n, sizeof *ids, cmp_str);
	size_t m = 0;
	for (i = 0; i < n; i++)
		if (m == 0 || strcmp(ids[m - 1], ids[i]) != 0)
			ids[m++] = ids[i];
	return m;
}

static size_t sort_unique(const char **ids, size_t n)
{
	qsort(ids, n, sizeof *ids, cmp_str);
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (m == 0 || strcmp(ids[m - 1], ids[i]) != 0)
			ids[m++] = ids[i];
	return m;
}

static bool same_ids(const char **a, size_t na, const char **b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

static void print_ids(const char *label, const char **ids, size_t n)
{
	print_message(" %s {", label);
	for (size_t i = 0; i < n; i++)
		print_message("%s%s", i ? ", " : "", ids[i]);
	print_message("}");
}

/* A load failure of a whole test counts as a mismatch of each request. */
static void test_failed(run_t *r, const char *path, const json_t *t, const char *what,
			const char *msg)
{
	size_t n = json_array_size(json_object_get(t, "requests"));
	r->mismatches += n ? (int)n : 1;
	r->requests += (int)n;
	if (should_print(r)) {
		r->printed++;
		print_message("MISMATCH %s: %s: %s (%zu requests not run)\n", path, what, msg, n);
	}
}

#define MAX_IDS 256

static void run_request(run_t *r, const char *path, const pol_engine_t *eng,
			const pol_entities_t *es, const json_t *req, const hints_t *hints)
{
	const pol_set_t *set = pol_engine_set(eng);
	const char *desc = json_string_value(json_object_get(req, "description"));
	const char *want_dec = json_string_value(json_object_get(req, "decision"));
	const char *want_r[MAX_IDS], *want_e[MAX_IDS], *got_r[MAX_IDS], *got_e[MAX_IDS];
	size_t nwr = expected_ids(json_object_get(req, "reason"), want_r, MAX_IDS);
	size_t nwe = expected_ids(json_object_get(req, "errors"), want_e, MAX_IDS);
	char err[512];
	pol_arena_t *a = pol_arena_new();
	json_t *rq = json_object();
	pol_request_t preq;
	pol_decision_t d;
	assert_non_null(a);
	assert_non_null(rq);
	r->requests++;
	static const char *const keys[] = {"principal", "action", "resource", "context"};
	for (size_t k = 0; k < 4; k++) {
		json_t *v = json_object_get(req, keys[k]);
		if (v != NULL)
			json_object_set(rq, keys[k], v);
	}
	if (hints != NULL && !r->no_hints && hints_context(hints, rq) > 0)
		r->hinted++;
	if (pol_json_request(a, rq, &preq, err, sizeof err) != 0) {
		r->mismatches++;
		if (should_print(r)) {
			r->printed++;
			print_message("MISMATCH %s: request \"%s\": not loaded: %s\n", path, desc, err);
		}
		goto out;
	}
	if (pol_authorize(eng, es, &preq, NULL, r->scratch, &d) != 0) {
		r->mismatches++;
		if (should_print(r)) {
			r->printed++;
			print_message("MISMATCH %s: request \"%s\": pol_authorize failed\n", path, desc);
		}
		goto out;
	}
	size_t ngr = 0, nge = 0;
	for (size_t i = 0; i < d.nreasons && ngr < MAX_IDS; i++)
		got_r[ngr++] = set->policy[d.reasons[i]].id.p;
	for (size_t i = 0; i < d.nerrors && nge < MAX_IDS; i++)
		got_e[nge++] = set->policy[d.errors[i].policy].id.p;
	ngr = sort_unique(got_r, ngr);
	nge = sort_unique(got_e, nge);
	const char *got_dec = d.allow ? "allow" : "deny";
	r->allows += d.allow;
	r->reasons += (int)d.nreasons;
	r->errors += (int)d.nerrors;
	if (want_dec != NULL && strcmp(want_dec, got_dec) == 0 && same_ids(want_r, nwr, got_r, ngr) &&
	    same_ids(want_e, nwe, got_e, nge))
		goto out;
	r->mismatches++;
	if (!should_print(r))
		goto out;
	r->printed++;
	print_message("MISMATCH %s: request \"%s\"\n  expected %s", path, desc ? desc : "?",
		      want_dec ? want_dec : "?");
	print_ids("reasons", want_r, nwr);
	print_ids("errors", want_e, nwe);
	print_message("\n  got      %s", got_dec);
	print_ids("reasons", got_r, ngr);
	print_ids("errors", got_e, nge);
	print_message("\n");
	for (size_t i = 0; i < d.nerrors; i++)
		print_message("    %s: %s\n", set->policy[d.errors[i].policy].id.p,
			      d.errors[i].message ? d.errors[i].message : "(no message)");
out:
	json_decref(rq);
	pol_arena_free(a);
}

static void run_one_test(run_t *r, const char *path)
{
	char err[512], sub[4096];
	json_t *t = read_json(path, err, sizeof err);
	const char *rel;
	if (t == NULL) {
		r->mismatches++;
		print_message("MISMATCH %s: test file not read: %s\n", path, err);
		return;
	}
	r->tests++;
	/* Policies. */
	rel = json_string_value(json_object_get(t, "policies"));
	snprintf(sub, sizeof sub, "%s/%s", r->root, rel ? rel : "?");
	size_t len = 0;
	char *text = tu_read_file(sub, &len);
	pol_set_t *set = NULL;
	pol_engine_t *eng = NULL;
	pol_entities_t *es = NULL;
	pol_error_t perr;
	hints_t *hints = NULL;
	json_t *ej = NULL;
	if (text == NULL) {
		test_failed(r, path, t, "policies", "cannot be read");
		goto out;
	}
	if (pol_parse(text, len, &set, &perr) != 0) {
		test_failed(r, path, t, "policies", perr.message);
		goto out;
	}
	if (pol_engine_new(set, &eng, &perr) != 0) {
		test_failed(r, path, t, "engine", perr.message);
		goto out;
	}
	/* The schema's implied escapes, when it can be read. */
	rel = json_string_value(json_object_get(t, "schema"));
	if (rel != NULL && !r->no_hints) {
		snprintf(sub, sizeof sub, "%s/%s", r->root, rel);
		hints = hints_load(sub);
		r->schemas++;
		r->schemas_read += hints != NULL;
	}
	/* Entities. */
	rel = json_string_value(json_object_get(t, "entities"));
	snprintf(sub, sizeof sub, "%s/%s", r->root, rel ? rel : "?");
	ej = read_json(sub, err, sizeof err);
	if (ej == NULL) {
		test_failed(r, path, t, "entities not read", err);
		goto out;
	}
	if (hints != NULL)
		r->hinted_entities += hints_entities(hints, ej);
	if (pol_json_entities_from(ej, &es, err, sizeof err) != 0) {
		test_failed(r, path, t, "entities not loaded", err);
		goto out;
	}
	size_t i;
	json_t *req;
	json_array_foreach(json_object_get(t, "requests"), i, req) {
		run_request(r, path, eng, es, req, hints);
	}
out:
	pol_entities_free(es);
	pol_engine_free(eng);
	hints_free(hints);
	json_decref(ej);
	free(text);
	json_decref(t);
}

static int walk(run_t *r, const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *ent;
	int n = 0;
	if (d == NULL)
		return 0;
	/* Sorted, so that runs print mismatches in a stable order. */
	char **names = NULL;
	size_t nn = 0, cap = 0;
	while ((ent = readdir(d)) != NULL) {
		if (ent->d_name[0] == '.')
			continue;
		if (nn == cap) {
			cap = cap ? cap * 2 : 256;
			names = realloc(names, cap * sizeof *names);
			assert_non_null(names);
		}
		names[nn++] = strdup(ent->d_name);
	}
	closedir(d);
	qsort(names, nn, sizeof *names, cmp_str);
	for (size_t i = 0; i < nn; i++) {
		char path[4096];
		struct stat st;
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		free(names[i]);
		if (stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (depth < 2)
				n += walk(r, path, depth + 1);
		} else if (has_suffix(path, ".json") && !has_suffix(path, "entities.json")) {
			run_one_test(r, path);
			n++;
		}
	}
	free(names);
	return n;
}

static void report(const run_t *r)
{
	print_message("%s: %d tests, %d requests, %d mismatches%s\n"
		      "  decided %d allow, %d deny; %d determining and %d erroring policies in all; "
		      "schema hints %s: %d of %d schemas read, %d entity values and %d requests' "
		      "contexts rewritten\n",
		      r->name, r->tests, r->requests, r->mismatches,
		      r->printed < r->mismatches ? " (not all printed; TG_CONFORMANCE_VERBOSE=1)" : "",
		      r->allows, r->requests - r->allows, r->reasons, r->errors,
		      r->no_hints ? "off" : "on", r->schemas_read, r->schemas, r->hinted_entities,
		      r->hinted);
}

/* ---- where the data is ------------------------------------------------------ */

static bool env_flag(const char *name)
{
	const char *v = getenv(name);
	return v != NULL && strcmp(v, "0") != 0 && v[0] != '\0';
}

static void test_hand_written(void **state)
{
	(void)state;
	const char *root = tu_cedar_conformance_dir();
	char sub[4096];
	struct stat st;
	snprintf(sub, sizeof sub, "%s/tests", root);
	if (stat(sub, &st) != 0) {
		print_message("SKIPPED: Cedar conformance data not found at %s "
			      "(set TG_CEDAR_CONFORMANCE)\n",
			      root);
		skip();
	}
	run_t r = {.name = "hand-written", .root = root, .verbose = env_flag("TG_CONFORMANCE_VERBOSE"),
		    .no_hints = env_flag("TG_CONFORMANCE_NO_HINTS")};
	r.scratch = pol_scratch_new();
	assert_non_null(r.scratch);
	walk(&r, sub, 0);
	pol_scratch_free(r.scratch);
	report(&r);
	assert_int_equal(r.tests, 22);
	assert_int_equal(r.requests, 74);
	if (r.mismatches > 0)
		fail_msg("%d of %d hand-written conformance requests mismatched", r.mismatches,
			 r.requests);
}

static void test_corpus(void **state)
{
	(void)state;
	const char *dir = getenv("TG_CEDAR_CORPUS");
	char tmp[] = "/tmp/tg-cedar-corpus-XXXXXX", sub[4096], cmd[8192];
	struct stat st;
	bool extracted = false;
	if (dir == NULL) {
		snprintf(sub, sizeof sub, "%s/corpus.tar.gz", tu_cedar_conformance_dir());
		if (stat(sub, &st) != 0) {
			fail_msg("%s not found beside the hand-written tests (set "
				 "TG_CEDAR_CORPUS to where it was extracted)",
				 sub);
		}
		if (strchr(sub, '\'') != NULL || mkdtemp(tmp) == NULL) {
			fail_msg("cannot make a directory to extract %s into", sub);
		}
		snprintf(cmd, sizeof cmd, "tar -xzf '%s' -C '%s'", sub, tmp);
		if (system(cmd) != 0) {
			snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
			(void)!system(cmd);
			fail_msg("`tar -xzf %s` failed", sub);
		}
		dir = tmp;
		extracted = true;
	}
	snprintf(sub, sizeof sub, "%s/corpus-tests", dir);
	if (stat(sub, &st) != 0)
		fail_msg("%s has no corpus-tests/", dir);
	run_t r = {.name = "corpus", .root = dir, .verbose = env_flag("TG_CONFORMANCE_VERBOSE"),
		    .no_hints = env_flag("TG_CONFORMANCE_NO_HINTS")};
	r.scratch = pol_scratch_new();
	assert_non_null(r.scratch);
	walk(&r, sub, 1);
	pol_scratch_free(r.scratch);
	if (extracted) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
		(void)!system(cmd);
	}
	report(&r);
	assert_true(r.tests > 3900);
	if (r.mismatches > 0)
		fail_msg("%d of %d generated conformance requests mismatched", r.mismatches,
			 r.requests);
}

/* ctest's SKIP_RETURN_CODE for this program (tests/unit/CMakeLists.txt). */
#define EXIT_SKIPPED 77

/* True when the conformance data (or an extracted corpus) is there; else
 * says why on stdout, where `make test` collects skip reasons. */
static bool conformance_data_present(void)
{
	char tests_dir[4096];
	struct stat st;
	if (getenv("TG_CEDAR_CORPUS") != NULL)
		return true;
	snprintf(tests_dir, sizeof tests_dir, "%s/tests", tu_cedar_conformance_dir());
	if (stat(tests_dir, &st) == 0)
		return true;
	printf("SKIPPED: Cedar conformance data not found at %s (it lives in shared/ beside the "
	       "checkout; set TG_CEDAR_CONFORMANCE to its path)\n",
	       tu_cedar_conformance_dir());
	return false;
}

int main(void)
{
	if (!conformance_data_present())
		return EXIT_SKIPPED;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hand_written),
		cmocka_unit_test(test_corpus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
