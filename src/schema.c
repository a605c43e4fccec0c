/*
 * schema.c: compiles and applies the JSON Schema subset of tools.d schemas.
 *
 * The configuration loader hands each input_schema/output_schema document to
 * schema_compile once; the request path then calls schema_validate on the
 * untrusted arguments before any policy decision, so the error text written
 * here is what the model reads back.  Compilation is strict: every keyword
 * anywhere in the tree must be one we implement (see schema.h), with a value
 * of the right type, because a keyword we silently ignored would be a
 * constraint the platform team believes in and we do not enforce.
 *
 * Patterns.  JSON Schema patterns are ECMA-262 regular expressions; we run
 * them with POSIX regcomp/regexec (REG_EXTENDED) under the C.UTF-8 locale,
 * after schema_pattern.c has rewritten them as ERE (or refused them: see
 * there).  Patterns are unanchored searches, as in JSON Schema.
 *
 * Numbers.  Integers are compared as json_int_t and reals as doubles; an
 * integer against a real is compared exactly (no rounding of big integers).
 * For enum and const, 1 and 1.0 are equal, as JSON Schema says.
 *
 * Messages.  Validation errors start with the instance path from "arguments"
 * (".name" for members, "[i]" for elements).  Every piece of the instance we
 * echo is cut to 64 bytes on a code point boundary with control characters
 * escaped, and the final message is trimmed to whole UTF-8 sequences, since
 * it travels inside JSON.
 */
#include "schema.h"
#include "schema_impl.h"

#include <locale.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCHEMA_MAX_DEPTH   32    /* nested schemas, the root counting as 1 */
#define SCHEMA_PATTERN_MAX 1024  /* bytes of one pattern's source */
#define ECHO_MAX           64    /* bytes of an instance string we echo */
#define ENUM_ECHO_MAX      200   /* bytes of an enum's rendering in a message */

enum {
	T_OBJECT  = 1 << 0,
	T_ARRAY   = 1 << 1,
	T_STRING  = 1 << 2,
	T_NUMBER  = 1 << 3,
	T_INTEGER = 1 << 4,
	T_BOOLEAN = 1 << 5,
	T_NULL    = 1 << 6,
};

static const struct {
	const char *name;
	unsigned bit;
} type_names[] = {
	{"object", T_OBJECT}, {"array", T_ARRAY}, {"string", T_STRING},
	{"number", T_NUMBER}, {"integer", T_INTEGER}, {"boolean", T_BOOLEAN},
	{"null", T_NULL},
};

struct node;

struct prop {
	char *name;
	struct node *schema;
};

/*
 * One compiled schema object.  Absent keywords are 0/NULL or -1 for the
 * counts; json_t members hold their own reference, so the node outlives any
 * change the caller makes to the document.
 */
struct node {
	unsigned types;              /* T_* bits; 0 = any type */
	struct prop *props;          /* "properties", in document order */
	size_t nprops;
	struct prop **props_sorted;  /* the same, by name, for bsearch */
	char **required;
	size_t nrequired;
	bool additional_forbidden;   /* "additionalProperties": false */
	struct node *additional;     /* "additionalProperties": {schema} */
	json_t *enum_values;
	json_t *const_value;
	json_t *minimum, *maximum, *exclusive_minimum, *exclusive_maximum;
	json_int_t min_length, max_length, min_items, max_items;
	char *pattern;               /* the source, for messages */
	regex_t re;
	struct node *items;
	bool write_only;             /* "writeOnly": true: kept out of audit records */
};

struct schema {
	json_t *doc;
	struct node *root;
	locale_t utf8;  /* patterns compile and run under C.UTF-8; 0 if none */
};

/* ---- UTF-8 and message text ------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (n bytes available), 0 if invalid. */
size_t schema_utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	size_t len;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/* Cut a NUL-terminated string back to its last complete UTF-8 sequence. */
static void utf8_trim_tail(char *s)
{
	size_t len = strlen(s);
	size_t start = len;

	for (int back = 0; back < 4 && start > 0; back++) {
		start--;
		if (((unsigned char)s[start] & 0xc0) != 0x80)
			break;
	}
	if (start < len && schema_utf8_seq((const unsigned char *)s + start, len - start) != len - start &&
	    (unsigned char)s[start] >= 0x80)
		s[start] = '\0';
}

/* Code points in a string; a stray invalid byte counts as one. */
static size_t utf8_count(const char *s, size_t n)
{
	size_t count = 0;

	for (size_t i = 0; i < n; count++) {
		size_t l = schema_utf8_seq((const unsigned char *)s + i, n - i);
		i += l ? l : 1;
	}
	return count;
}

/*
 * Write at most ECHO_MAX bytes of untrusted text s into out as valid UTF-8:
 * control characters (and, when quoted, '"' and '\') escaped JSON-style,
 * invalid bytes as U+FFFD, a cut marked with "...".  out needs
 * ECHO_MAX * 6 + 8 bytes.
 */
#define ECHO_BUF (ECHO_MAX * 6 + 8)
static void echo_text(char *out, const char *s, size_t n, bool quoted)
{
	size_t o = 0, i = 0;

	if (quoted)
		out[o++] = '"';
	while (i < n) {
		const unsigned char c = (unsigned char)s[i];
		size_t l = schema_utf8_seq((const unsigned char *)s + i, n - i);

		if (i + (l ? l : 1) > ECHO_MAX)
			break;
		if (l == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			static const char esc[] = "btnvfr";
			if (c >= '\b' && c <= '\r' && c != '\v')
				o += (size_t)sprintf(out + o, "\\%c", esc[c - '\b']);
			else
				o += (size_t)sprintf(out + o, "\\u%04x", c);
			i++;
		} else if (quoted && (c == '"' || c == '\\')) {
			out[o++] = '\\';
			out[o++] = (char)c;
			i++;
		} else {
			memcpy(out + o, s + i, l);
			o += l;
			i += l;
		}
	}
	if (quoted)
		out[o++] = '"';
	if (i < n) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

/* Shortest "%g" rendering that reads back as the same double. */
static void format_real(char *out, size_t size, double d)
{
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(out, size, "%.*g", prec, d);
		if (strtod(out, NULL) == d)
			return;
	}
}

/* A short rendering of any instance value for messages. */
#define VALUE_BUF ECHO_BUF
static void describe_value(char *out, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		echo_text(out, json_string_value(v), json_string_length(v), true);
		break;
	case JSON_INTEGER:
		snprintf(out, VALUE_BUF, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		format_real(out, VALUE_BUF, json_real_value(v));
		break;
	case JSON_TRUE:
		strcpy(out, "true");
		break;
	case JSON_FALSE:
		strcpy(out, "false");
		break;
	case JSON_NULL:
		strcpy(out, "null");
		break;
	case JSON_OBJECT:
		strcpy(out, "an object");
		break;
	case JSON_ARRAY:
		strcpy(out, "an array");
		break;
	}
}

/* The JSON Schema type name of an instance value ("number" for a real). */
static const char *instance_type(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:  return "object";
	case JSON_ARRAY:   return "array";
	case JSON_STRING:  return "string";
	case JSON_INTEGER: return "integer";
	case JSON_REAL:    return "number";
	case JSON_TRUE:
	case JSON_FALSE:   return "boolean";
	case JSON_NULL:    return "null";
	}
	return "unknown";
}

/* tg_err, then trim a cut multibyte sequence so the message stays UTF-8. */
static int fail(struct tg_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int fail(struct tg_error *err, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
		utf8_trim_tail(err->msg);
	}
	return -1;
}

/*
 * A location or instance path ("arguments.tags[2]"), grown and shrunk as
 * the walk descends.  Anything past the buffer would be cut from the
 * message anyway, so an overlong path is simply truncated.
 */
struct path {
	char buf[TG_ERROR_MAX];
	size_t len;
};

static void path_init(struct path *p, const char *start)
{
	snprintf(p->buf, sizeof p->buf, "%s", start);
	utf8_trim_tail(p->buf);
	p->len = strlen(p->buf);
}

static size_t path_append(struct path *p, const char *text)
{
	size_t old = p->len;

	snprintf(p->buf + p->len, sizeof p->buf - p->len, "%s", text);
	utf8_trim_tail(p->buf + p->len);
	p->len += strlen(p->buf + p->len);
	return old;
}

/* Append ".name" (name echoed safely); returns the length to restore. */
static size_t path_push_name(struct path *p, const char *name)
{
	char seg[ECHO_BUF + 1];

	seg[0] = '.';
	echo_text(seg + 1, name, strlen(name), false);
	return path_append(p, seg);
}

static size_t path_push_index(struct path *p, size_t i)
{
	char seg[32];

	snprintf(seg, sizeof seg, "[%zu]", i);
	return path_append(p, seg);
}

static void path_pop(struct path *p, size_t old)
{
	p->len = old;
	p->buf[old] = '\0';
}

/* ---- numbers and equality --------------------------------------------- */

/* Exact three-way comparison of an integer with a finite double. */
static int cmp_int_real(json_int_t i, double d)
{
	if (d >= 0x1p63)
		return -1;
	if (d < -0x1p63)
		return 1;
	/* d is now within json_int_t's range, so the cast truncates exactly. */
	json_int_t t = (json_int_t)d;
	if (i != t)
		return i < t ? -1 : 1;
	double frac = d - (double)t;  /* exact: t is d without its fraction */
	return frac > 0 ? -1 : frac < 0 ? 1 : 0;
}

/* Three-way comparison of two JSON numbers (integer or real). */
static int cmp_numbers(const json_t *a, const json_t *b)
{
	if (json_is_integer(a) && json_is_integer(b)) {
		json_int_t x = json_integer_value(a), y = json_integer_value(b);
		return x < y ? -1 : x > y;
	}
	if (json_is_integer(a))
		return cmp_int_real(json_integer_value(a), json_real_value(b));
	if (json_is_integer(b))
		return -cmp_int_real(json_integer_value(b), json_real_value(a));
	double x = json_real_value(a), y = json_real_value(b);
	return x < y ? -1 : x > y;
}

static bool real_is_integral(double d)
{
	/* Beyond +-2^63 every double is a whole number. */
	if (d >= 0x1p63 || d < -0x1p63)
		return true;
	return (double)(json_int_t)d == d;
}

/* JSON Schema equality: json_equal, except that 1 and 1.0 are equal. */
static bool values_equal(const json_t *a, const json_t *b)
{
	if (json_is_number(a) && json_is_number(b))
		return cmp_numbers(a, b) == 0;
	if (json_typeof(a) != json_typeof(b))
		return false;
	if (json_is_array(a)) {
		size_t n = json_array_size(a);
		if (n != json_array_size(b))
			return false;
		for (size_t i = 0; i < n; i++)
			if (!values_equal(json_array_get(a, i), json_array_get(b, i)))
				return false;
		return true;
	}
	if (json_is_object(a)) {
		const char *key;
		json_t *va;
		if (json_object_size(a) != json_object_size(b))
			return false;
		json_object_foreach((json_t *)a, key, va) {
			const json_t *vb = json_object_get(b, key);
			if (!vb || !values_equal(va, vb))
				return false;
		}
		return true;
	}
	return json_equal((json_t *)a, (json_t *)b);
}

/* ---- nodes -------------------------------------------------------------- */

static void node_free(struct node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nprops; i++) {
		free(n->props[i].name);
		node_free(n->props[i].schema);
	}
	free(n->props);
	free(n->props_sorted);
	for (size_t i = 0; i < n->nrequired; i++)
		free(n->required[i]);
	free(n->required);
	node_free(n->additional);
	json_decref(n->enum_values);
	json_decref(n->const_value);
	json_decref(n->minimum);
	json_decref(n->maximum);
	json_decref(n->exclusive_minimum);
	json_decref(n->exclusive_maximum);
	if (n->pattern) {
		regfree(&n->re);
		free(n->pattern);
	}
	node_free(n->items);
	free(n);
}

static int prop_cmp(const void *a, const void *b)
{
	const struct prop *pa = *(const struct prop *const *)a;
	const struct prop *pb = *(const struct prop *const *)b;
	return strcmp(pa->name, pb->name);
}

static int prop_key_cmp(const void *key, const void *elem)
{
	return strcmp(key, (*(const struct prop *const *)elem)->name);
}

static const struct prop *node_find_prop(const struct node *n, const char *name)
{
	struct prop **hit;

	if (!n->nprops)
		return NULL;
	hit = bsearch(name, n->props_sorted, n->nprops, sizeof *n->props_sorted, prop_key_cmp);
	return hit ? *hit : NULL;
}

/* ---- compilation -------------------------------------------------------- */

struct compile_ctx {
	struct schema *s;
	struct path loc;  /* where + ".properties.x.items" ... */
	struct tg_error *err;
};

static struct node *compile_node(struct compile_ctx *c, const json_t *doc, int depth);

static int oom(struct compile_ctx *c)
{
	return fail(c->err, "%s: out of memory", c->loc.buf);
}

static int kw_type(struct compile_ctx *c, struct node *n, const char *kw, const json_t *v)
{
	const json_t *one;
	size_t i, count = json_is_array(v) ? json_array_size(v) : 1;

	if (!json_is_string(v) && !json_is_array(v))
		return fail(c->err, "%s: \"%s\" must be a type name or an array of type names",
		            c->loc.buf, kw);
	if (count == 0)
		return fail(c->err, "%s: \"%s\" must not be an empty array", c->loc.buf, kw);
	for (i = 0; i < count; i++) {
		unsigned bit = 0;
		one = json_is_array(v) ? json_array_get(v, i) : v;
		if (!json_is_string(one))
			return fail(c->err, "%s: \"%s\" must be a type name or an array of type names",
			            c->loc.buf, kw);
		for (size_t t = 0; t < sizeof type_names / sizeof *type_names; t++)
			if (strcmp(json_string_value(one), type_names[t].name) == 0)
				bit = type_names[t].bit;
		if (!bit) {
			char shown[ECHO_BUF];
			echo_text(shown, json_string_value(one), json_string_length(one), true);
			return fail(c->err, "%s: unknown type %s (valid types: object, array, string, "
			            "number, integer, boolean, null)", c->loc.buf, shown);
		}
		if (n->types & bit)
			return fail(c->err, "%s: \"%s\" lists \"%s\" twice", c->loc.buf, kw,
			            json_string_value(one));
		n->types |= bit;
	}
	return 0;
}

static int kw_properties(struct compile_ctx *c, struct node *n, const char *kw, const json_t *v,
                         int depth)
{
	const char *name;
	json_t *sub;

	if (!json_is_object(v))
		return fail(c->err, "%s: \"%s\" must be an object of schemas", c->loc.buf, kw);
	n->props = calloc(json_object_size(v) + 1, sizeof *n->props);
	n->props_sorted = calloc(json_object_size(v) + 1, sizeof *n->props_sorted);
	if (!n->props || !n->props_sorted)
		return oom(c);
	json_object_foreach((json_t *)v, name, sub) {
		struct prop *p = &n->props[n->nprops];
		size_t old = path_append(&c->loc, ".properties");
		path_push_name(&c->loc, name);
		p->schema = compile_node(c, sub, depth + 1);
		path_pop(&c->loc, old);
		if (!p->schema)
			return -1;
		p->name = strdup(name);
		n->nprops++;  /* counted now so node_free releases p->schema */
		if (!p->name)
			return oom(c);
		n->props_sorted[n->nprops - 1] = p;
	}
	qsort(n->props_sorted, n->nprops, sizeof *n->props_sorted, prop_cmp);
	return 0;
}

static int kw_required(struct compile_ctx *c, struct node *n, const char *kw, const json_t *v)
{
	size_t i, count;

	if (!json_is_array(v))
		return fail(c->err, "%s: \"%s\" must be an array of property names", c->loc.buf, kw);
	count = json_array_size(v);
	n->required = calloc(count + 1, sizeof *n->required);
	if (!n->required)
		return oom(c);
	for (i = 0; i < count; i++) {
		const json_t *name = json_array_get(v, i);
		if (!json_is_string(name))
			return fail(c->err, "%s: \"%s\" must be an array of property names",
			            c->loc.buf, kw);
		for (size_t j = 0; j < n->nrequired; j++) {
			if (strcmp(n->required[j], json_string_value(name)) == 0) {
				char shown[ECHO_BUF];
				echo_text(shown, json_string_value(name), json_string_length(name), true);
				return fail(c->err, "%s: \"%s\" lists %s twice", c->loc.buf, kw, shown);
			}
		}
		n->required[n->nrequired] = strdup(json_string_value(name));
		if (!n->required[n->nrequired])
			return oom(c);
		n->nrequired++;
	}
	return 0;
}

static int kw_additional(struct compile_ctx *c, struct node *n, const char *kw, const json_t *v,
                         int depth)
{
	size_t old;

	if (json_is_boolean(v)) {
		n->additional_forbidden = json_is_false(v);
		return 0;
	}
	if (!json_is_object(v))
		return fail(c->err, "%s: \"%s\" must be a boolean or a schema object", c->loc.buf, kw);
	old = path_append(&c->loc, ".additionalProperties");
	n->additional = compile_node(c, v, depth + 1);
	path_pop(&c->loc, old);
	return n->additional ? 0 : -1;
}

static int kw_items(struct compile_ctx *c, struct node *n, const char *kw, const json_t *v,
                    int depth)
{
	size_t old;

	if (!json_is_object(v))
		return fail(c->err, "%s: \"%s\" must be a schema object (the array form is not supported)",
		            c->loc.buf, kw);
	old = path_append(&c->loc, ".items");
	n->items = compile_node(c, v, depth + 1);
	path_pop(&c->loc, old);
	return n->items ? 0 : -1;
}

static int kw_number(struct compile_ctx *c, json_t **slot, const char *kw, const json_t *v)
{
	if (!json_is_number(v))
		return fail(c->err, "%s: \"%s\" must be a number", c->loc.buf, kw);
	*slot = json_incref((json_t *)v);
	return 0;
}

static int kw_count(struct compile_ctx *c, json_int_t *slot, const char *kw, const json_t *v)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return fail(c->err, "%s: \"%s\" must be a non-negative integer", c->loc.buf, kw);
	*slot = json_integer_value(v);
	return 0;
}

static int kw_pattern(struct compile_ctx *c, struct node *n, const char *kw, const json_t *v)
{
	char why[192];
	char *ere;
	int rc;
	locale_t old;

	if (!json_is_string(v))
		return fail(c->err, "%s: \"%s\" must be a string", c->loc.buf, kw);
	if (json_string_length(v) > SCHEMA_PATTERN_MAX)
		return fail(c->err, "%s: \"%s\" is longer than %d bytes", c->loc.buf, kw,
		            SCHEMA_PATTERN_MAX);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return fail(c->err, "%s: \"%s\" contains a NUL character", c->loc.buf, kw);
	if (!c->s->utf8) {
		c->s->utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
		if (!c->s->utf8)
			return fail(c->err, "%s: \"%s\" needs the C.UTF-8 locale, which is not available",
			            c->loc.buf, kw);
	}
	ere = pattern_to_ere(json_string_value(v), json_string_length(v), why, sizeof why);
	if (!ere)
		return fail(c->err, "%s: bad \"%s\": %s", c->loc.buf, kw, why);
	old = uselocale(c->s->utf8);
	rc = regcomp(&n->re, ere, REG_EXTENDED | REG_NOSUB);
	uselocale(old);
	free(ere);
	if (rc != 0) {
		regerror(rc, &n->re, why, sizeof why);
		return fail(c->err, "%s: bad \"%s\": %s", c->loc.buf, kw, why);
	}
	n->pattern = strdup(json_string_value(v));
	if (!n->pattern) {
		regfree(&n->re);
		return oom(c);
	}
	return 0;
}

static int kw_annotation(struct compile_ctx *c, const char *kw, const json_t *v)
{
	if (strcmp(kw, "default") == 0)
		return 0;
	if (strcmp(kw, "examples") == 0) {
		if (!json_is_array(v))
			return fail(c->err, "%s: \"%s\" must be an array", c->loc.buf, kw);
		return 0;
	}
	if (strcmp(kw, "readOnly") == 0 || strcmp(kw, "writeOnly") == 0) {
		if (!json_is_boolean(v))
			return fail(c->err, "%s: \"%s\" must be a boolean", c->loc.buf, kw);
		return 0;
	}
	/* title, description, $schema, $comment */
	if (!json_is_string(v))
		return fail(c->err, "%s: \"%s\" must be a string", c->loc.buf, kw);
	return 0;
}

static int compile_keyword(struct compile_ctx *c, struct node *n, const char *kw, const json_t *v,
                           int depth)
{
	static const char *const annotations[] = {
		"title", "description", "default", "examples", "readOnly", "writeOnly",
		"$schema", "$comment",
	};

	if (strcmp(kw, "type") == 0)
		return kw_type(c, n, kw, v);
	if (strcmp(kw, "properties") == 0)
		return kw_properties(c, n, kw, v, depth);
	if (strcmp(kw, "required") == 0)
		return kw_required(c, n, kw, v);
	if (strcmp(kw, "additionalProperties") == 0)
		return kw_additional(c, n, kw, v, depth);
	if (strcmp(kw, "items") == 0)
		return kw_items(c, n, kw, v, depth);
	if (strcmp(kw, "enum") == 0) {
		if (!json_is_array(v) || json_array_size(v) == 0)
			return fail(c->err, "%s: \"%s\" must be a non-empty array", c->loc.buf, kw);
		n->enum_values = json_incref((json_t *)v);
		return 0;
	}
	if (strcmp(kw, "const") == 0) {
		n->const_value = json_incref((json_t *)v);
		return 0;
	}
	if (strcmp(kw, "minimum") == 0)
		return kw_number(c, &n->minimum, kw, v);
	if (strcmp(kw, "maximum") == 0)
		return kw_number(c, &n->maximum, kw, v);
	if (strcmp(kw, "exclusiveMinimum") == 0)
		return kw_number(c, &n->exclusive_minimum, kw, v);
	if (strcmp(kw, "exclusiveMaximum") == 0)
		return kw_number(c, &n->exclusive_maximum, kw, v);
	if (strcmp(kw, "minLength") == 0)
		return kw_count(c, &n->min_length, kw, v);
	if (strcmp(kw, "maxLength") == 0)
		return kw_count(c, &n->max_length, kw, v);
	if (strcmp(kw, "minItems") == 0)
		return kw_count(c, &n->min_items, kw, v);
	if (strcmp(kw, "maxItems") == 0)
		return kw_count(c, &n->max_items, kw, v);
	if (strcmp(kw, "pattern") == 0)
		return kw_pattern(c, n, kw, v);
	if (strcmp(kw, "writeOnly") == 0 && json_is_true(v))
		n->write_only = true;
	for (size_t i = 0; i < sizeof annotations / sizeof *annotations; i++)
		if (strcmp(kw, annotations[i]) == 0)
			return kw_annotation(c, kw, v);

	char shown[ECHO_BUF];
	echo_text(shown, kw, strlen(kw), true);
	return fail(c->err, "%s: unsupported keyword %s", c->loc.buf, shown);
}

/* Bounds that no value can satisfy are a mistake in the file, not a rule. */
static int check_contradictions(struct compile_ctx *c, const struct node *n)
{
	if (n->min_length >= 0 && n->max_length >= 0 && n->min_length > n->max_length)
		return fail(c->err, "%s: \"minLength\" %" JSON_INTEGER_FORMAT " is greater than "
		            "\"maxLength\" %" JSON_INTEGER_FORMAT, c->loc.buf, n->min_length, n->max_length);
	if (n->min_items >= 0 && n->max_items >= 0 && n->min_items > n->max_items)
		return fail(c->err, "%s: \"minItems\" %" JSON_INTEGER_FORMAT " is greater than "
		            "\"maxItems\" %" JSON_INTEGER_FORMAT, c->loc.buf, n->min_items, n->max_items);
	if (n->minimum && n->maximum && cmp_numbers(n->minimum, n->maximum) > 0) {
		char lo[VALUE_BUF], hi[VALUE_BUF];
		describe_value(lo, n->minimum);
		describe_value(hi, n->maximum);
		return fail(c->err, "%s: \"minimum\" %s is greater than \"maximum\" %s",
		            c->loc.buf, lo, hi);
	}
	return 0;
}

static struct node *compile_node(struct compile_ctx *c, const json_t *doc, int depth)
{
	struct node *n;
	const char *kw;
	json_t *v;

	if (depth > SCHEMA_MAX_DEPTH) {
		fail(c->err, "%s: schemas are nested more than %d levels deep", c->loc.buf,
		     SCHEMA_MAX_DEPTH);
		return NULL;
	}
	if (!json_is_object(doc)) {
		fail(c->err, "%s: a schema must be a JSON object, not %s", c->loc.buf,
		     instance_type(doc));
		return NULL;
	}
	n = calloc(1, sizeof *n);
	if (!n) {
		oom(c);
		return NULL;
	}
	n->min_length = n->max_length = n->min_items = n->max_items = -1;
	json_object_foreach((json_t *)doc, kw, v) {
		if (compile_keyword(c, n, kw, v, depth) < 0)
			goto fail;
	}
	if (check_contradictions(c, n) < 0)
		goto fail;
	return n;
fail:
	node_free(n);
	return NULL;
}

struct schema *schema_compile(json_t *doc, const char *where, struct tg_error *err)
{
	struct compile_ctx c = {.err = err};

	c.s = calloc(1, sizeof *c.s);
	path_init(&c.loc, where && *where ? where : "schema");
	if (!c.s) {
		fail(err, "%s: out of memory", c.loc.buf);
		return NULL;
	}
	if (!doc) {
		fail(err, "%s: no schema given", c.loc.buf);
		goto fail;
	}
	c.s->root = compile_node(&c, doc, 1);
	if (!c.s->root)
		goto fail;
	c.s->doc = json_incref(doc);
	return c.s;
fail:
	schema_free(c.s);
	return NULL;
}

/* ---- validation --------------------------------------------------------- */

struct validate_ctx {
	const struct schema *s;
	struct path path;
	struct tg_error *err;
};

static int validate_node(struct validate_ctx *v, const struct node *n, const json_t *inst);

static bool type_matches(unsigned types, const json_t *inst)
{
	switch (json_typeof(inst)) {
	case JSON_OBJECT:  return types & T_OBJECT;
	case JSON_ARRAY:   return types & T_ARRAY;
	case JSON_STRING:  return types & T_STRING;
	case JSON_INTEGER: return types & (T_INTEGER | T_NUMBER);
	case JSON_REAL:
		return (types & T_NUMBER) ||
		       ((types & T_INTEGER) && real_is_integral(json_real_value(inst)));
	case JSON_TRUE:
	case JSON_FALSE:   return types & T_BOOLEAN;
	case JSON_NULL:    return types & T_NULL;
	}
	return false;
}

static int check_type(struct validate_ctx *v, const struct node *n, const json_t *inst)
{
	char expected[96] = "";

	if (!n->types || type_matches(n->types, inst))
		return 0;
	for (size_t t = 0; t < sizeof type_names / sizeof *type_names; t++) {
		if (!(n->types & type_names[t].bit))
			continue;
		if (expected[0])
			strcat(expected, " or ");
		strcat(expected, type_names[t].name);
	}
	return fail(v->err, "%s: expected %s, got %s", v->path.buf, expected, instance_type(inst));
}

/* The schema's own value (enum or const) as compact JSON, cut to a size. */
#define ALLOWED_BUF (ENUM_ECHO_MAX + 4)
static void describe_allowed(char *out, const json_t *value)
{
	char *dump = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);

	snprintf(out, ENUM_ECHO_MAX + 1, "%s", dump ? dump : "...");
	utf8_trim_tail(out);
	if (dump && strlen(dump) > ENUM_ECHO_MAX)
		strcat(out, "...");
	free(dump);
}

static int check_enum_const(struct validate_ctx *v, const struct node *n, const json_t *inst)
{
	char shown[VALUE_BUF], allowed[ALLOWED_BUF];

	if (n->const_value && !values_equal(inst, n->const_value)) {
		describe_value(shown, inst);
		describe_allowed(allowed, n->const_value);
		return fail(v->err, "%s: %s is not the required value %s", v->path.buf, shown, allowed);
	}
	if (n->enum_values) {
		for (size_t i = 0; i < json_array_size(n->enum_values); i++)
			if (values_equal(inst, json_array_get(n->enum_values, i)))
				return 0;
		describe_value(shown, inst);
		describe_allowed(allowed, n->enum_values);
		return fail(v->err, "%s: %s is not one of %s", v->path.buf, shown, allowed);
	}
	return 0;
}

static int check_bound(struct validate_ctx *v, const json_t *inst, const json_t *bound,
                       int bad_sign, bool bad_if_equal, const char *text)
{
	int cmp;
	char shown[VALUE_BUF], limit[VALUE_BUF];

	if (!bound)
		return 0;
	cmp = cmp_numbers(inst, bound);
	if (cmp != bad_sign && !(bad_if_equal && cmp == 0))
		return 0;
	describe_value(shown, inst);
	describe_value(limit, bound);
	return fail(v->err, "%s: %s %s %s", v->path.buf, shown, text, limit);
}

static int check_number(struct validate_ctx *v, const struct node *n, const json_t *inst)
{
	if (check_bound(v, inst, n->minimum, -1, false, "is less than the minimum") < 0 ||
	    check_bound(v, inst, n->maximum, 1, false, "is greater than the maximum") < 0 ||
	    check_bound(v, inst, n->exclusive_minimum, -1, true,
	                "is not greater than the exclusiveMinimum") < 0 ||
	    check_bound(v, inst, n->exclusive_maximum, 1, true,
	                "is not less than the exclusiveMaximum") < 0)
		return -1;
	return 0;
}

static int check_string(struct validate_ctx *v, const struct node *n, const json_t *inst)
{
	const char *s = json_string_value(inst);
	size_t len = json_string_length(inst);

	if (n->min_length >= 0 || n->max_length >= 0) {
		size_t count = utf8_count(s, len);
		if (n->min_length >= 0 && count < (size_t)n->min_length)
			return fail(v->err, "%s: string is shorter than the minLength %" JSON_INTEGER_FORMAT,
			            v->path.buf, n->min_length);
		if (n->max_length >= 0 && count > (size_t)n->max_length)
			return fail(v->err, "%s: string is longer than the maxLength %" JSON_INTEGER_FORMAT,
			            v->path.buf, n->max_length);
	}
	if (n->pattern) {
		/* REG_STARTEND: the whole string, even past an embedded NUL. */
		regmatch_t range = {.rm_so = 0, .rm_eo = (regoff_t)len};
		locale_t old = uselocale(v->s->utf8);
		int rc = regexec(&n->re, s, 1, &range, REG_STARTEND);
		uselocale(old);
		if (rc != 0) {
			char shown[VALUE_BUF];
			describe_value(shown, inst);
			return fail(v->err, "%s: %s does not match the pattern %s", v->path.buf, shown,
			            n->pattern);
		}
	}
	return 0;
}

static int check_array(struct validate_ctx *v, const struct node *n, const json_t *inst)
{
	size_t count = json_array_size(inst);

	if (n->min_items >= 0 && count < (size_t)n->min_items)
		return fail(v->err, "%s: array has fewer items than the minItems %" JSON_INTEGER_FORMAT,
		            v->path.buf, n->min_items);
	if (n->max_items >= 0 && count > (size_t)n->max_items)
		return fail(v->err, "%s: array has more items than the maxItems %" JSON_INTEGER_FORMAT,
		            v->path.buf, n->max_items);
	if (n->items) {
		for (size_t i = 0; i < count; i++) {
			size_t old = path_push_index(&v->path, i);
			int rc = validate_node(v, n->items, json_array_get(inst, i));
			path_pop(&v->path, old);
			if (rc < 0)
				return -1;
		}
	}
	return 0;
}

static int check_object(struct validate_ctx *v, const struct node *n, const json_t *inst)
{
	const char *key;
	json_t *member;

	for (size_t i = 0; i < n->nrequired; i++) {
		if (!json_object_get(inst, n->required[i])) {
			char shown[ECHO_BUF];
			echo_text(shown, n->required[i], strlen(n->required[i]), true);
			return fail(v->err, "%s: missing required property %s", v->path.buf, shown);
		}
	}
	for (size_t i = 0; i < n->nprops; i++) {
		const json_t *m = json_object_get(inst, n->props[i].name);
		if (!m)
			continue;
		size_t old = path_push_name(&v->path, n->props[i].name);
		int rc = validate_node(v, n->props[i].schema, m);
		path_pop(&v->path, old);
		if (rc < 0)
			return -1;
	}
	if (!n->additional_forbidden && !n->additional)
		return 0;
	json_object_foreach((json_t *)inst, key, member) {
		if (node_find_prop(n, key))
			continue;
		if (n->additional_forbidden) {
			char shown[ECHO_BUF];
			echo_text(shown, key, strlen(key), true);
			return fail(v->err, "%s: unexpected property %s", v->path.buf, shown);
		}
		size_t old = path_push_name(&v->path, key);
		int rc = validate_node(v, n->additional, member);
		path_pop(&v->path, old);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* Recursion is bounded by the schema's depth (at most SCHEMA_MAX_DEPTH). */
static int validate_node(struct validate_ctx *v, const struct node *n, const json_t *inst)
{
	if (check_type(v, n, inst) < 0 || check_enum_const(v, n, inst) < 0)
		return -1;
	switch (json_typeof(inst)) {
	case JSON_INTEGER:
	case JSON_REAL:
		return check_number(v, n, inst);
	case JSON_STRING:
		return check_string(v, n, inst);
	case JSON_ARRAY:
		return check_array(v, n, inst);
	case JSON_OBJECT:
		return check_object(v, n, inst);
	default:
		return 0;
	}
}

int schema_validate(const struct schema *s, const json_t *instance, struct tg_error *err)
{
	struct validate_ctx v = {.s = s, .err = err};

	path_init(&v.path, "arguments");
	if (!instance)
		return fail(err, "arguments: missing");
	return validate_node(&v, s->root, instance);
}

/* ---- accessors ---------------------------------------------------------- */

json_t *schema_document(const struct schema *s)
{
	return s->doc;
}

bool schema_has_property(const struct schema *s, const char *dotted_path)
{
	const struct node *n = s->root;
	const char *seg = dotted_path;

	if (!dotted_path || !*dotted_path)
		return false;
	for (;;) {
		const char *dot = strchr(seg, '.');
		size_t len = dot ? (size_t)(dot - seg) : strlen(seg);
		const struct prop *hit = NULL;

		for (size_t i = 0; i < n->nprops && !hit; i++)
			if (strlen(n->props[i].name) == len && memcmp(n->props[i].name, seg, len) == 0)
				hit = &n->props[i];
		if (!hit)
			return false;
		if (!dot)
			return true;
		n = hit->schema;
		seg = dot + 1;
	}
}

/* The instance as the schema sees it, with every value a writeOnly schema
   governs replaced.  Properties, additionalProperties and items are
   followed, whatever the instance's types: a value in a writeOnly place is
   hidden even when it is of the wrong type. */
static json_t *redact_node(const struct node *n, const json_t *inst, int depth)
{
	if (n && n->write_only)
		return json_string(SCHEMA_REDACTED);
	if (!n || depth > SCHEMA_MAX_DEPTH)
		return json_deep_copy(inst);
	if (json_is_object(inst)) {
		json_t *out = json_object();
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)inst, k, v) {
			const struct prop *p = node_find_prop(n, k);
			const struct node *sub = p ? p->schema : n->additional;
			json_t *r = redact_node(sub, v, depth + 1);
			if (!out || !r || json_object_set_new(out, k, r) != 0) {
				json_decref(out);
				return NULL;
			}
		}
		return out;
	}
	if (json_is_array(inst) && n->items) {
		json_t *out = json_array();
		size_t i;
		json_t *v;
		json_array_foreach(inst, i, v) {
			json_t *r = redact_node(n->items, v, depth + 1);
			if (!out || !r || json_array_append_new(out, r) != 0) {
				json_decref(out);
				return NULL;
			}
		}
		return out;
	}
	return json_deep_copy(inst);
}

json_t *schema_redact_write_only(const struct schema *s, const json_t *instance)
{
	return redact_node(s ? s->root : NULL, instance, 0);
}

void schema_free(struct schema *s)
{
	if (!s)
		return;
	node_free(s->root);
	json_decref(s->doc);
	if (s->utf8)
		freelocale(s->utf8);
	free(s);
}
