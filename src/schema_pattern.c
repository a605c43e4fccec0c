/*
 * schema_pattern.c: JSON Schema patterns (ECMA-262) rewritten as POSIX
 * extended regular expressions for schema.c (see schema_impl.h).
 *
 * JSON Schema patterns are ECMA-262 regular expressions; schema.c runs
 * them with POSIX regcomp/regexec (REG_EXTENDED) under the C.UTF-8 locale, so
 * "." and bracket expressions match code points, not bytes.  Before regcomp a
 * pattern is rewritten from ECMA syntax to ERE, and anything we cannot map
 * exactly is a load error, never a pattern that quietly means something else:
 *   - \d \w \s and \D \W \S become bracket expressions with the ECMA sets
 *     (\s includes the Unicode spaces ECMA lists); inside [...] the positive
 *     ones are spliced in, the negated ones are rejected;
 *   - an escaped punctuation character is that character (ERE's GNU escapes
 *     such as \< \` never get through); other escapes (\b \n \x41 \u00e9 \1
 *     ...) are rejected;
 *   - "." excludes the ECMA line terminators \n \r U+2028 U+2029;
 *   - (?:...) becomes (...); lookaround and named groups are rejected;
 *   - lazy quantifiers (*? +? ?? {m,n}?) become greedy: we only ask whether a
 *     match exists, and that answer is the same;
 *   - a "{" that does not start an ECMA quantifier is a literal;
 *   - inside [...], "]" "[" "^" "-" given literally or escaped become POSIX
 *     collating symbols ([.-.]), so their position no longer matters, and a
 *     range must join two characters (non-ASCII range ends are rejected:
 *     glibc's C.UTF-8 cannot compile them).
 * Patterns are unanchored searches, as in JSON Schema.
 */
#include "schema_impl.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_putn(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *np = realloc(b->p, cap);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

/* The members of ECMA's \s, \d, \w as bracket-expression contents. */
#define ECMA_SPACE "\t\n\v\f\r \xc2\xa0\xe1\x9a\x80" \
	"\xe2\x80\x80\xe2\x80\x81\xe2\x80\x82\xe2\x80\x83\xe2\x80\x84\xe2\x80\x85" \
	"\xe2\x80\x86\xe2\x80\x87\xe2\x80\x88\xe2\x80\x89\xe2\x80\x8a" \
	"\xe2\x80\xa8\xe2\x80\xa9\xe2\x80\xaf\xe2\x81\x9f\xe3\x80\x80\xef\xbb\xbf"
#define ECMA_DIGIT "0-9"
#define ECMA_WORD  "A-Za-z0-9_"
/* ECMA's "." : anything but its line terminators \n \r U+2028 U+2029. */
#define ECMA_DOT   "[^\n\r\xe2\x80\xa8\xe2\x80\xa9]"

static const char *class_members(char e)
{
	switch (e) {
	case 'd': case 'D': return ECMA_DIGIT;
	case 'w': case 'W': return ECMA_WORD;
	case 's': case 'S': return ECMA_SPACE;
	}
	return NULL;
}

static bool is_ascii_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* One element inside [...]: a literal character (1-4 bytes) or a class. */
struct bracket_atom {
	const char *cls;  /* members of \d \w \s, or NULL for a literal */
	char ch[5];
};

static int read_bracket_atom(const char *src, size_t len, size_t *i, struct bracket_atom *a,
                             char *why, size_t whysz)
{
	size_t l;

	a->cls = NULL;
	if (src[*i] == '\\') {
		if (*i + 1 >= len)
			return snprintf(why, whysz, "it ends with a backslash"), -1;
		unsigned char e = (unsigned char)src[*i + 1];
		if (e == 'd' || e == 'w' || e == 's') {
			a->cls = class_members((char)e);
			*i += 2;
			return 0;
		}
		if (e == 'D' || e == 'W' || e == 'S')
			return snprintf(why, whysz, "\\%c inside [...] is not supported", e), -1;
		if (is_ascii_alnum(e))
			return snprintf(why, whysz, "unsupported escape \\%c inside [...]", e), -1;
		(*i)++;  /* an escaped punctuation or other character is itself */
	}
	l = schema_utf8_seq((const unsigned char *)src + *i, len - *i);
	if (l == 0)
		return snprintf(why, whysz, "it is not valid UTF-8"), -1;
	memcpy(a->ch, src + *i, l);
	a->ch[l] = '\0';
	*i += l;
	return 0;
}

/* Emit a literal so that POSIX reads it as that character wherever it stands. */
static void emit_bracket_char(struct sbuf *out, const char *ch)
{
	if (ch[1] == '\0' && strchr("[]^-", ch[0])) {
		char sym[6] = {'[', '.', ch[0], '.', ']', '\0'};
		sb_puts(out, sym);
	} else {
		sb_puts(out, ch);
	}
}

/* Translate the bracket expression whose "[" is at src[*i]. */
static int translate_bracket(const char *src, size_t len, size_t *i, struct sbuf *out,
                             char *why, size_t whysz)
{
	bool negate = false, empty = true;

	(*i)++;
	if (*i < len && src[*i] == '^') {
		negate = true;
		(*i)++;
	}
	sb_puts(out, negate ? "[^" : "[");
	for (;;) {
		struct bracket_atom lo, hi;

		if (*i >= len)
			return snprintf(why, whysz, "a [ is not closed"), -1;
		if (src[*i] == ']') {
			(*i)++;
			break;
		}
		if (read_bracket_atom(src, len, i, &lo, why, whysz) < 0)
			return -1;
		empty = false;
		if (lo.cls) {
			sb_puts(out, lo.cls);
			continue;
		}
		if (*i + 1 < len && src[*i] == '-' && src[*i + 1] != ']') {
			(*i)++;
			if (read_bracket_atom(src, len, i, &hi, why, whysz) < 0)
				return -1;
			if (hi.cls)
				return snprintf(why, whysz, "a range in [...] must end with a character, not a class"), -1;
			if ((unsigned char)lo.ch[0] >= 0x80 || (unsigned char)hi.ch[0] >= 0x80)
				return snprintf(why, whysz, "ranges of non-ASCII characters are not supported"), -1;
			if ((unsigned char)lo.ch[0] > (unsigned char)hi.ch[0])
				return snprintf(why, whysz, "the range %s-%s is out of order", lo.ch, hi.ch), -1;
			emit_bracket_char(out, lo.ch);
			sb_puts(out, "-");
			emit_bracket_char(out, hi.ch);
			continue;
		}
		emit_bracket_char(out, lo.ch);
	}
	if (empty)
		return snprintf(why, whysz, "an empty [] or [^] is not supported"), -1;
	sb_puts(out, "]");
	return 0;
}

/* Length of an ECMA quantifier {m}, {m,} or {m,n} at src[i], else 0. */
static size_t quantifier_len(const char *src, size_t len, size_t i)
{
	size_t j = i + 1, digits = 0;

	while (j < len && src[j] >= '0' && src[j] <= '9')
		j++, digits++;
	if (!digits)
		return 0;
	if (j < len && src[j] == ',') {
		j++;
		while (j < len && src[j] >= '0' && src[j] <= '9')
			j++;
	}
	return j < len && src[j] == '}' ? j + 1 - i : 0;
}

/* Rewrite an ECMA-262 pattern as POSIX ERE; NULL with why filled on failure. */
char *pattern_to_ere(const char *src, size_t len, char *why, size_t whysz)
{
	struct sbuf out = {0};
	bool after_quantifier = false;
	size_t i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)src[i];
		bool quantifier = false;
		size_t q;

		switch (c) {
		case '\\': {
			if (i + 1 >= len) {
				snprintf(why, whysz, "it ends with a backslash");
				goto fail;
			}
			unsigned char e = (unsigned char)src[i + 1];
			const char *cls = class_members((char)e);
			if (cls) {
				sb_puts(&out, e >= 'a' ? "[" : "[^");
				sb_puts(&out, cls);
				sb_puts(&out, "]");
				i += 2;
			} else if (is_ascii_alnum(e)) {
				snprintf(why, whysz, "unsupported escape \\%c (supported: \\d \\D \\w \\W \\s \\S "
				         "and escaped punctuation)", e);
				goto fail;
			} else if (strchr(".[]()*+?{}|^$\\", e) && e != '\0') {
				sb_putn(&out, src + i, 2);
				i += 2;
			} else {
				i++;  /* identity escape: the character itself, no GNU meaning */
			}
			break;
		}
		case '.':
			sb_puts(&out, ECMA_DOT);
			i++;
			break;
		case '[':
			if (translate_bracket(src, len, &i, &out, why, whysz) < 0)
				goto fail;
			break;
		case '(':
			if (i + 1 < len && src[i + 1] == '?') {
				if (i + 2 < len && src[i + 2] == ':') {
					sb_puts(&out, "(");
					i += 3;
					break;
				}
				snprintf(why, whysz, "lookaround and named groups are not supported");
				goto fail;
			}
			sb_puts(&out, "(");
			i++;
			break;
		case '*':
		case '+':
		case '?':
			if (c == '?' && after_quantifier) {
				i++;  /* lazy: same yes/no answer as greedy */
				break;
			}
			sb_putn(&out, src + i, 1);
			i++;
			quantifier = true;
			break;
		case '{':
			q = quantifier_len(src, len, i);
			if (q) {
				sb_putn(&out, src + i, q);
				i += q;
				quantifier = true;
			} else {
				sb_puts(&out, "\\{");
				i++;
			}
			break;
		case '}':
			sb_puts(&out, "\\}");
			i++;
			break;
		default: {
			size_t l = schema_utf8_seq((const unsigned char *)src + i, len - i);
			if (l == 0) {
				snprintf(why, whysz, "it is not valid UTF-8");
				goto fail;
			}
			sb_putn(&out, src + i, l);
			i += l;
			break;
		}
		}
		after_quantifier = quantifier;
	}
	sb_puts(&out, "");  /* an empty pattern still needs its terminator */
	if (out.oom) {
		snprintf(why, whysz, "out of memory");
		goto fail;
	}
	return out.p;
fail:
	free(out.p);
	return NULL;
}
