/* lex.c - tokenizer of the Cedar policy language (see lex.h). One token of
 * work per call, no allocation; every loop advances pos, so the cost is
 * linear in the text. */
#include "core/policy/lex.h"
#include <string.h>

void pol_lex_init(pol_lex_t *lx, const char *src, size_t len)
{
	lx->src = src;
	lx->len = len;
	lx->pos = 0;
	lx->line = 1;
	lx->column = 1;
}

/* Moves one byte on; a UTF-8 continuation byte does not start a column. */
static void advance(pol_lex_t *lx)
{
	unsigned char c = (unsigned char)lx->src[lx->pos++];
	if (c == '\n') {
		lx->line++;
		lx->column = 1;
	} else if ((c & 0xc0) != 0x80) {
		lx->column++;
	}
}

static int peek(const pol_lex_t *lx, size_t ahead)
{
	return lx->pos + ahead < lx->len ? (unsigned char)lx->src[lx->pos + ahead] : -1;
}

static int is_ident_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_ident_char(int c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

static void skip_space_and_comments(pol_lex_t *lx)
{
	for (;;) {
		int c = peek(lx, 0);
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
			advance(lx);
		} else if (c == '/' && peek(lx, 1) == '/') {
			while (lx->pos < lx->len && lx->src[lx->pos] != '\n')
				advance(lx);
		} else {
			return;
		}
	}
}

/* A string body up to the closing quote; a backslash always takes the next
 * character with it, whatever it is (the parser judges the escape). */
static int lex_string(pol_lex_t *lx, pol_tok_t *t, const char **why)
{
	advance(lx);
	size_t start = lx->pos;
	for (;;) {
		int c = peek(lx, 0);
		if (c < 0) {
			*why = "unterminated string: missing closing '\"'";
			return -1;
		}
		if (c == '"')
			break;
		if (c == '\\' && lx->pos + 1 < lx->len)
			advance(lx);
		advance(lx);
	}
	t->kind = TK_STRING;
	t->p = lx->src + start;
	t->len = lx->pos - start;
	advance(lx);
	return 0;
}

typedef struct {
	const char *text;
	pol_tok_kind_t kind;
} punct_t;

/* Longest first where one is a prefix of another. */
static const punct_t puncts[] = {
	{"::", TK_PATHSEP}, {"==", TK_EQ}, {"!=", TK_NE}, {"<=", TK_LE}, {">=", TK_GE},
	{"&&", TK_AND}, {"||", TK_OR}, {"(", TK_LPAREN}, {")", TK_RPAREN},
	{"{", TK_LBRACE}, {"}", TK_RBRACE}, {"[", TK_LBRACKET}, {"]", TK_RBRACKET},
	{",", TK_COMMA}, {";", TK_SEMI}, {".", TK_DOT}, {":", TK_COLON}, {"@", TK_AT},
	{"<", TK_LT}, {">", TK_GT}, {"!", TK_BANG}, {"+", TK_PLUS}, {"-", TK_MINUS},
	{"*", TK_STAR},
};

static const char *unknown_operator(int c, int next)
{
	switch (c) {
	case '=':
		return "unknown operator '=': use '==' to compare";
	case '&':
		return "unknown operator '&': use '&&'";
	case '|':
		return "unknown operator '|': use '||'";
	case '/':
		return next == '*' ? "'/*' comments are not Cedar: use '//'"
				   : "unknown operator '/': Cedar has no division";
	case '%':
		return "unknown operator '%': Cedar has no remainder";
	case '?':
		return "'?' slots belong to policy templates, which are not supported";
	case '\'':
		return "strings are written in double quotes";
	default:
		return "unexpected character";
	}
}

static int lex_punct(pol_lex_t *lx, pol_tok_t *t, const char **why)
{
	for (size_t i = 0; i < sizeof puncts / sizeof puncts[0]; i++) {
		size_t n = strlen(puncts[i].text);
		if (lx->len - lx->pos >= n && memcmp(lx->src + lx->pos, puncts[i].text, n) == 0) {
			t->kind = puncts[i].kind;
			t->len = n;
			for (size_t k = 0; k < n; k++)
				advance(lx);
			return 0;
		}
	}
	*why = unknown_operator(peek(lx, 0), peek(lx, 1));
	return -1;
}

int pol_lex_next(pol_lex_t *lx, pol_tok_t *t, const char **why)
{
	skip_space_and_comments(lx);
	t->line = lx->line;
	t->column = lx->column;
	t->p = lx->src + lx->pos;
	t->len = 0;
	int c = peek(lx, 0);
	if (c < 0) {
		t->kind = TK_EOF;
		return 0;
	}
	if (c == '"')
		return lex_string(lx, t, why);
	if (is_ident_start(c) || (c >= '0' && c <= '9')) {
		int digits = !is_ident_start(c);
		size_t start = lx->pos;
		while (lx->pos < lx->len &&
		       (digits ? (peek(lx, 0) >= '0' && peek(lx, 0) <= '9') : is_ident_char(peek(lx, 0))))
			advance(lx);
		t->kind = digits ? TK_INT : TK_IDENT;
		t->len = lx->pos - start;
		return 0;
	}
	return lex_punct(lx, t, why);
}

int pol_tok_is(const pol_tok_t *t, const char *word)
{
	size_t n = strlen(word);
	return t->kind == TK_IDENT && t->len == n && memcmp(t->p, word, n) == 0;
}

const char *pol_tok_name(pol_tok_kind_t k)
{
	static const char *const names[] = {
		[TK_EOF] = "end of input", [TK_IDENT] = "an identifier", [TK_INT] = "a number",
		[TK_STRING] = "a string", [TK_LPAREN] = "'('", [TK_RPAREN] = "')'",
		[TK_LBRACE] = "'{'", [TK_RBRACE] = "'}'", [TK_LBRACKET] = "'['",
		[TK_RBRACKET] = "']'", [TK_COMMA] = "','", [TK_SEMI] = "';'", [TK_DOT] = "'.'",
		[TK_COLON] = "':'", [TK_PATHSEP] = "'::'", [TK_AT] = "'@'", [TK_EQ] = "'=='",
		[TK_NE] = "'!='", [TK_LT] = "'<'", [TK_LE] = "'<='", [TK_GT] = "'>'",
		[TK_GE] = "'>='", [TK_AND] = "'&&'", [TK_OR] = "'||'", [TK_BANG] = "'!'",
		[TK_PLUS] = "'+'", [TK_MINUS] = "'-'", [TK_STAR] = "'*'",
	};
	return (size_t)k < sizeof names / sizeof names[0] ? names[k] : "a token";
}
