/*
 * common.h: what every demo tool shares -- reading the call's arguments from
 * stdin, a small strict JSON reader for them, JSON string output, and the
 * append-only store the write tools log to.
 *
 * The broker has already validated the arguments against the tool's
 * input_schema, but a tool is a separate program that must not trust that:
 * it may be run by hand or by a broker with a stale schema.  So the tools
 * parse their input again, here, with hard limits (1 MiB of input, 32
 * members, 64-byte keys, no nesting) and refuse anything that is not a flat
 * object of strings and integers.  The demo tools stay dependency-free on
 * purpose: they run under a seccomp allowlist in an empty filesystem view,
 * where only libc is sure to be present.
 *
 * Everything here is static inline so that a tool that does not use a helper
 * does not trip -Wunused-function.  Helpers return -1 and fill a caller's
 * char buffer with one sentence; only main() prints and picks the exit code
 * (2 for malformed arguments, 1 for a failure of the tool's own work).
 */
#ifndef TOOLGATE_DEMO_COMMON_H
#define TOOLGATE_DEMO_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ARGS_MAX_INPUT  (1024 * 1024)
#define ARGS_MAX_FIELDS 32
#define ARGS_MAX_KEY    64
#define ERR_MAX         512

enum arg_kind { ARG_STRING, ARG_INT };

struct arg_field {
	char *key;
	enum arg_kind kind;
	char *str;           /* ARG_STRING: decoded UTF-8, NUL-terminated, no embedded NUL */
	size_t len;          /* bytes in str */
	long long num;       /* ARG_INT */
};

struct args {
	struct arg_field f[ARGS_MAX_FIELDS];
	size_t n;
};

static inline int errf(char *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline int errf(char *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, ERR_MAX, fmt, ap);
	va_end(ap);
	return -1;
}

/* Read all of fd into a NUL-terminated buffer; more than max bytes is an error. */
static inline int read_all(int fd, size_t max, char **out, size_t *outlen, char *err)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	if (!buf)
		return errf(err, "out of memory reading the arguments");
	for (;;) {
		if (len == cap - 1) {
			if (cap > max) {
				free(buf);
				return errf(err, "arguments exceed %zu bytes", max);
			}
			size_t ncap = cap * 2 > max + 2 ? max + 2 : cap * 2;
			char *nbuf = realloc(buf, ncap);
			if (!nbuf) {
				free(buf);
				return errf(err, "out of memory reading the arguments");
			}
			buf = nbuf;
			cap = ncap;
		}
		ssize_t r = read(fd, buf + len, cap - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			return errf(err, "cannot read the arguments from stdin: %s", strerror(e));
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > max) {
			free(buf);
			return errf(err, "arguments exceed %zu bytes", max);
		}
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

/* ---- the JSON reader ---------------------------------------------------- */

struct jreader {
	const unsigned char *p, *start, *end;
	char *err;
};

static inline int jr_fail(struct jreader *r, const char *what)
{
	if (r->p >= r->end)
		return errf(r->err, "invalid JSON: %s at end of input", what);
	return errf(r->err, "invalid JSON: %s at byte %zu", what, (size_t)(r->p - r->start));
}

static inline void jr_ws(struct jreader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static inline int jr_hex4(struct jreader *r, unsigned *out)
{
	unsigned v = 0;
	if (r->end - r->p < 4)
		return jr_fail(r, "truncated \\u escape");
	for (int i = 0; i < 4; i++) {
		unsigned char c = r->p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return jr_fail(r, "bad hex digit in \\u escape");
	}
	r->p += 4;
	*out = v;
	return 0;
}

static inline size_t utf8_put(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Length of one well-formed UTF-8 sequence at p (RFC 3629: no overlongs, no
   surrogates, nothing above U+10FFFF), or 0 when it is malformed. */
static inline size_t utf8_seq_len(const unsigned char *p, const unsigned char *end)
{
	size_t avail = (size_t)(end - p);
	unsigned char c = p[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return avail >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF) {
		if (avail < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
			return 0;
		if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] >= 0xA0))
			return 0;
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		if (avail < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 ||
		    (p[3] & 0xC0) != 0x80)
			return 0;
		if ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

/* Number of code points in valid UTF-8 (what JSON Schema's minLength counts). */
static inline size_t utf8_chars(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			n++;
	return n;
}

/* r->p is on the opening quote.  The decoded text is never longer than its
   source, so one allocation of the raw span suffices. */
static inline int jr_string(struct jreader *r, size_t maxbytes, char **out, size_t *outlen)
{
	const unsigned char *q = ++r->p;
	while (q < r->end && *q != '"')
		q += (*q == '\\' && q + 1 < r->end) ? 2 : 1;
	if (q >= r->end)
		return jr_fail(r, "unterminated string");
	size_t span = (size_t)(q - r->p);
	char *buf = malloc(span + 1);
	if (!buf)
		return errf(r->err, "out of memory parsing the arguments");
	size_t n = 0;
	while (*r->p != '"') {
		unsigned char c = *r->p;
		if (c < 0x20) {
			free(buf);
			return jr_fail(r, "unescaped control character in string");
		}
		if (c >= 0x80) {
			size_t l = utf8_seq_len(r->p, r->end);
			if (l == 0) {
				free(buf);
				return jr_fail(r, "malformed UTF-8 in string");
			}
			memcpy(buf + n, r->p, l);
			n += l;
			r->p += l;
			continue;
		}
		if (c != '\\') {
			buf[n++] = (char)c;
			r->p++;
			continue;
		}
		r->p++;
		c = *r->p++;
		switch (c) {
		case '"': buf[n++] = '"'; break;
		case '\\': buf[n++] = '\\'; break;
		case '/': buf[n++] = '/'; break;
		case 'b': buf[n++] = '\b'; break;
		case 'f': buf[n++] = '\f'; break;
		case 'n': buf[n++] = '\n'; break;
		case 'r': buf[n++] = '\r'; break;
		case 't': buf[n++] = '\t'; break;
		case 'u': {
			unsigned cp = 0, lo = 0;
			if (jr_hex4(r, &cp) < 0)
				goto bad;
			if (cp >= 0xDC00 && cp <= 0xDFFF) {
				jr_fail(r, "unpaired low surrogate in \\u escape");
				goto bad;
			}
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u') {
					jr_fail(r, "unpaired high surrogate in \\u escape");
					goto bad;
				}
				r->p += 2;
				if (jr_hex4(r, &lo) < 0)
					goto bad;
				if (lo < 0xDC00 || lo > 0xDFFF) {
					jr_fail(r, "unpaired high surrogate in \\u escape");
					goto bad;
				}
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			}
			if (cp == 0) {
				jr_fail(r, "\\u0000 (NUL) in string");
				goto bad;
			}
			n += utf8_put(buf + n, cp);
			break;
		}
		default:
			r->p--;
			jr_fail(r, "unknown escape in string");
			goto bad;
		}
	}
	r->p++;
	if (n > maxbytes) {
		free(buf);
		return errf(r->err, "invalid arguments: a string exceeds %zu bytes", maxbytes);
	}
	buf[n] = '\0';
	*out = buf;
	*outlen = n;
	return 0;
bad:
	free(buf);
	return -1;
}

/* JSON number that must denote an integer: "-12", also "3.0" (JSON Schema's
   integer type admits it), never an exponent or a non-zero fraction. */
static inline int jr_integer(struct jreader *r, const char *key, long long *out)
{
	bool neg = false;
	unsigned long long v = 0, limit = (unsigned long long)LLONG_MAX;
	if (*r->p == '-') {
		neg = true;
		limit += 1;
		r->p++;
	}
	if (r->p >= r->end || *r->p < '0' || *r->p > '9')
		return jr_fail(r, "bad number");
	if (*r->p == '0' && r->p + 1 < r->end && r->p[1] >= '0' && r->p[1] <= '9')
		return jr_fail(r, "leading zero in number");
	while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
		unsigned d = (unsigned)(*r->p - '0');
		if (v > (limit - d) / 10)
			return errf(r->err, "invalid arguments: \"%s\": integer out of range", key);
		v = v * 10 + d;
		r->p++;
	}
	if (r->p < r->end && *r->p == '.') {
		r->p++;
		if (r->p >= r->end || *r->p < '0' || *r->p > '9')
			return jr_fail(r, "bad number");
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			if (*r->p++ != '0')
				return errf(r->err, "invalid arguments: \"%s\": must be an integer", key);
	}
	if (r->p < r->end && (*r->p == 'e' || *r->p == 'E'))
		return errf(r->err, "invalid arguments: \"%s\": must be an integer, "
		            "written without an exponent", key);
	*out = neg ? (long long)(0 - v) : (long long)v;
	return 0;
}

static inline void args_free(struct args *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->f[i].key);
		free(a->f[i].str);
	}
	a->n = 0;
}

/* Parse a flat JSON object of strings and integers; duplicates are refused. */
static inline int args_parse(const char *text, size_t len, struct args *a, char *err)
{
	struct jreader r = { (const unsigned char *)text, (const unsigned char *)text,
	                     (const unsigned char *)text + len, err };
	memset(a, 0, sizeof *a);
	jr_ws(&r);
	if (r.p >= r.end || *r.p != '{')
		return jr_fail(&r, "the arguments must be a JSON object");
	r.p++;
	jr_ws(&r);
	if (r.p < r.end && *r.p == '}') {
		r.p++;
		goto done;
	}
	for (;;) {
		struct arg_field *f;
		if (r.p >= r.end || *r.p != '"')
			return args_free(a), jr_fail(&r, "expected a property name");
		if (a->n == ARGS_MAX_FIELDS)
			return args_free(a), errf(err, "invalid arguments: more than %d properties",
			                          ARGS_MAX_FIELDS);
		f = &a->f[a->n];
		if (jr_string(&r, ARGS_MAX_KEY, &f->key, &f->len) < 0)
			return args_free(a), -1;
		a->n++;
		for (size_t i = 0; i + 1 < a->n; i++) {
			if (strcmp(a->f[i].key, f->key) == 0) {
				errf(err, "invalid arguments: duplicate property \"%s\"", f->key);
				return args_free(a), -1;
			}
		}
		jr_ws(&r);
		if (r.p >= r.end || *r.p != ':')
			return args_free(a), jr_fail(&r, "expected ':'");
		r.p++;
		jr_ws(&r);
		if (r.p < r.end && *r.p == '"') {
			f->kind = ARG_STRING;
			if (jr_string(&r, ARGS_MAX_INPUT, &f->str, &f->len) < 0)
				return args_free(a), -1;
		} else if (r.p < r.end && (*r.p == '-' || (*r.p >= '0' && *r.p <= '9'))) {
			f->kind = ARG_INT;
			f->len = 0;
			if (jr_integer(&r, f->key, &f->num) < 0)
				return args_free(a), -1;
		} else if (r.p < r.end && *r.p && strchr("{[tfn", *r.p)) {
			errf(err, "invalid arguments: \"%s\": only strings and integers are accepted",
			     f->key);
			return args_free(a), -1;
		} else {
			return args_free(a), jr_fail(&r, "expected a value");
		}
		jr_ws(&r);
		if (r.p < r.end && *r.p == ',') {
			r.p++;
			jr_ws(&r);
			continue;
		}
		if (r.p < r.end && *r.p == '}') {
			r.p++;
			break;
		}
		return args_free(a), jr_fail(&r, "expected ',' or '}'");
	}
done:
	jr_ws(&r);
	if (r.p != r.end)
		return args_free(a), jr_fail(&r, "trailing data after the object");
	return 0;
}

/* ---- typed access, with the same limits the tool's input_schema states ---- */

static inline const struct arg_field *args_get(const struct args *a, const char *key)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->f[i].key, key) == 0)
			return &a->f[i];
	return NULL;
}

/* additionalProperties: false.  allowed is NULL-terminated. */
static inline int args_only(const struct args *a, const char *const *allowed, char *err)
{
	for (size_t i = 0; i < a->n; i++) {
		size_t j = 0;
		while (allowed[j] && strcmp(allowed[j], a->f[i].key) != 0)
			j++;
		if (!allowed[j])
			return errf(err, "invalid arguments: unknown property \"%s\"", a->f[i].key);
	}
	return 0;
}

/* A string of minc..maxc characters (code points).  Absent: -1 when required,
   else 0 with *out = NULL. */
static inline int args_string(const struct args *a, const char *key, bool required,
                              size_t minc, size_t maxc, const char **out, char *err)
{
	const struct arg_field *f = args_get(a, key);
	*out = NULL;
	if (!f)
		return required ? errf(err, "invalid arguments: missing required property \"%s\"", key)
		                : 0;
	if (f->kind != ARG_STRING)
		return errf(err, "invalid arguments: \"%s\": must be a string", key);
	size_t n = utf8_chars(f->str, f->len);
	if (n < minc || n > maxc)
		return errf(err, "invalid arguments: \"%s\": must be %zu to %zu characters long, "
		            "not %zu", key, minc, maxc, n);
	*out = f->str;
	return 0;
}

/* An integer in min..max.  Absent: -1 when required, else 0 with *out = dflt. */
static inline int args_int(const struct args *a, const char *key, bool required,
                           long long min, long long max, long long dflt, long long *out,
                           char *err)
{
	const struct arg_field *f = args_get(a, key);
	*out = dflt;
	if (!f)
		return required ? errf(err, "invalid arguments: missing required property \"%s\"", key)
		                : 0;
	if (f->kind != ARG_INT)
		return errf(err, "invalid arguments: \"%s\": must be an integer", key);
	if (f->num < min || f->num > max)
		return errf(err, "invalid arguments: \"%s\": %lld is outside %lld..%lld",
		            key, f->num, min, max);
	*out = f->num;
	return 0;
}

/* Read stdin and parse it: the usual first step of every tool's main(). */
static inline int args_from_stdin(struct args *a, char *err)
{
	char *text = NULL;
	size_t len = 0;
	if (read_all(STDIN_FILENO, ARGS_MAX_INPUT, &text, &len, err) < 0)
		return -1;
	int rc = args_parse(text, len, a, err);
	free(text);
	return rc;
}

/* ^C[0-9]{4}$ */
static inline bool is_customer_id(const char *s)
{
	if (s[0] != 'C')
		return false;
	for (int i = 1; i <= 4; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return s[5] == '\0';
}

/* The required "customer_id" property that three of the tools take. */
static inline int args_customer_id(const struct args *a, const char **out, char *err)
{
	if (args_string(a, "customer_id", true, 1, 64, out, err) < 0)
		return -1;
	if (!is_customer_id(*out))
		return errf(err, "invalid arguments: \"customer_id\": must match ^C[0-9]{4}$, "
		            "like C1001");
	return 0;
}

/* ---- output ------------------------------------------------------------- */

/* s as a JSON string literal.  s is valid UTF-8 (the reader guarantees it),
   so only quotes, backslashes and control characters need escaping. */
static inline void json_put_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		case '\b': fputs("\\b", f); break;
		case '\f': fputs("\\f", f); break;
		default:
			if (*p < 0x20 || *p == 0x7F)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

/* ---- ids, time and the append-only stores -------------------------------- */

/* "<prefix>-<unix seconds>-<4 hex digits from getrandom>" */
static inline int make_record_id(const char *prefix, time_t now, char *out, size_t outlen,
                                 char *err)
{
	unsigned char rnd[2];
	ssize_t r;
	do
		r = getrandom(rnd, sizeof rnd, 0);
	while (r < 0 && errno == EINTR);
	if (r != (ssize_t)sizeof rnd)
		return errf(err, "cannot get random bytes for the record id: %s",
		            r < 0 ? strerror(errno) : "short read");
	snprintf(out, outlen, "%s-%lld-%02x%02x", prefix, (long long)now, rnd[0], rnd[1]);
	return 0;
}

/* RFC 3339 UTC; gmtime_r needs no time zone files, which the sandbox lacks. */
static inline void format_time_utc(time_t now, char *out, size_t outlen)
{
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/*
 * Append one line to the store at path with a single write(2), so concurrent
 * writers never interleave within a record, then fsync: a refund the tool
 * reported must still be in the ledger after a crash.  O_NOFOLLOW and the
 * regular-file check keep a planted symlink or FIFO from redirecting or
 * blocking the write; O_NONBLOCK only matters for that FIFO case.
 */
static inline int store_append(const char *what, const char *path, const char *line,
                               size_t len, char *err)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK,
	              0640);
	if (fd < 0 && errno == ELOOP)
		return errf(err, "cannot open the %s %s: it is a symbolic link, which is refused",
		            what, path);
	if (fd < 0 && errno == ENXIO)
		return errf(err, "cannot use the %s %s: not a regular file", what, path);
	if (fd < 0)
		return errf(err, "cannot open the %s %s: %s", what, path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return errf(err, "cannot use the %s %s: not a regular file", what, path);
	}
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, line + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = errno;
			close(fd);
			return errf(err, "cannot write to the %s %s: %s", what, path, strerror(e));
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0) {
		int e = errno;
		close(fd);
		return errf(err, "cannot sync the %s %s: %s", what, path, strerror(e));
	}
	if (close(fd) < 0)
		return errf(err, "cannot close the %s %s: %s", what, path, strerror(errno));
	return 0;
}

#endif
