/* lex.h - the tokens of the Cedar policy language. The lexer works on a
 * byte span already known to be valid UTF-8, keeps line and column
 * (columns count characters, not bytes), skips white space and `//`
 * comments, and leaves string contents raw: the parser unescapes them,
 * because `like` patterns escape differently from strings. */
#ifndef TG_POL_LEX_H
#define TG_POL_LEX_H
#include <stddef.h>
#include <stdint.h>

typedef enum {
	TK_EOF,
	TK_IDENT,    /* [_a-zA-Z][_a-zA-Z0-9]* (keywords included) */
	TK_INT,      /* [0-9]+ */
	TK_STRING,   /* "..." ; p/len cover the raw text between the quotes */
	TK_LPAREN, TK_RPAREN, TK_LBRACE, TK_RBRACE, TK_LBRACKET, TK_RBRACKET,
	TK_COMMA, TK_SEMI, TK_DOT, TK_COLON, TK_PATHSEP, TK_AT,
	TK_EQ, TK_NE, TK_LT, TK_LE, TK_GT, TK_GE, TK_AND, TK_OR, TK_BANG,
	TK_PLUS, TK_MINUS, TK_STAR,
} pol_tok_kind_t;

typedef struct {
	pol_tok_kind_t kind;
	const char *p;
	size_t len;
	uint32_t line, column;
} pol_tok_t;

typedef struct {
	const char *src;
	size_t len, pos;
	uint32_t line, column;
} pol_lex_t;

void pol_lex_init(pol_lex_t *lx, const char *src, size_t len);
/* The next token into *t. On a lexical error returns -1 with *why set and
 * t->line/column at the offending character. */
int pol_lex_next(pol_lex_t *lx, pol_tok_t *t, const char **why);
/* True when the identifier token spells word. */
int pol_tok_is(const pol_tok_t *t, const char *word);
/* A short description of a token for messages ("')'", "identifier `foo`"
 * is the caller's job; this gives "')'", "end of input", "a string"). */
const char *pol_tok_name(pol_tok_kind_t k);

#endif
