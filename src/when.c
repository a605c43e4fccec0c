/*
 * when.c: the `when` condition language of policy rules and token scopes
 * (see when.h): operand checks when a `when` is parsed, so that evaluation
 * has no error path; three-valued evaluation; and the words that explain a
 * condition that did not hold.
 */
#include "when.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_IN, OP_PREFIX };
static const char *const op_names[] = { "==", "!=", "<", "<=", ">", ">=", "in", "prefix" };

enum attr { ATTR_ARGS, ATTR_USER, ATTR_AGENT };
enum cls { CLS_NULL, CLS_BOOL, CLS_NUMBER, CLS_STRING, CLS_ARRAY, CLS_OBJECT };

/* One operator on one attribute; a rule's `when` is the AND of these. */
struct when_cond {
	enum attr attr;
	const char *attr_name;  /* as written ("args.amount_cents"), for reasons */
	char *path;             /* ATTR_ARGS: the components, NUL-separated */
	size_t npath;
	enum op op;
	const json_t *operand;  /* borrowed from the document */
	char *text;             /* "args.amount_cents <= 5000", for reasons */
};

static enum cls cls_of(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return CLS_OBJECT;
	case JSON_ARRAY: return CLS_ARRAY;
	case JSON_STRING: return CLS_STRING;
	case JSON_INTEGER: case JSON_REAL: return CLS_NUMBER;
	case JSON_TRUE: case JSON_FALSE: return CLS_BOOL;
	default: return CLS_NULL;
	}
}

static const char *cls_name(enum cls c)
{
	static const char *const names[] = { "null", "a boolean", "a number", "a string",
	                                     "an array", "an object" };
	return names[c];
}

static bool is_ordering(enum op op)
{
	return op == OP_LT || op == OP_LE || op == OP_GT || op == OP_GE;
}

/* ---- number and value comparison ---- */

/* Exact comparison of an integer with a real: -1, 0, 1, or 2 when unordered. */
static int cmp_int_real(json_int_t i, double d)
{
	if (d != d)
		return 2;
	if (d >= 9223372036854775808.0)
		return -1;
	if (d < -9223372036854775808.0)
		return 1;
	/* |d| < 2^63: its integer part is exactly representable both ways. */
	json_int_t t = (json_int_t)d;
	if (i != t)
		return i < t ? -1 : 1;
	double frac = d - (double)t;
	return frac > 0 ? -1 : frac < 0 ? 1 : 0;
}

static int cmp_num(const json_t *a, const json_t *b)
{
	if (json_is_integer(a) && json_is_integer(b)) {
		json_int_t x = json_integer_value(a), y = json_integer_value(b);
		return x < y ? -1 : x > y;
	}
	if (json_is_integer(a))
		return cmp_int_real(json_integer_value(a), json_real_value(b));
	if (json_is_integer(b)) {
		int c = cmp_int_real(json_integer_value(b), json_real_value(a));
		return c == 2 ? 2 : -c;
	}
	double x = json_real_value(a), y = json_real_value(b);
	if (x != x || y != y)
		return 2;
	return x < y ? -1 : x > y;
}

static bool str_eq(const char *s, size_t n, const json_t *b)
{
	return json_string_length(b) == n && memcmp(json_string_value(b), s, n) == 0;
}

/* JSON equality in which 1 equals 1.0 (json_equal says they differ). */
static bool values_equal(const json_t *a, const json_t *b)
{
	enum cls c = cls_of(a);
	if (c != cls_of(b))
		return false;
	switch (c) {
	case CLS_NUMBER:
		return cmp_num(a, b) == 0;
	case CLS_STRING:
		return str_eq(json_string_value(a), json_string_length(a), b);
	case CLS_BOOL:
		return json_typeof(a) == json_typeof(b);
	case CLS_NULL:
		return true;
	case CLS_ARRAY:
		if (json_array_size(a) != json_array_size(b))
			return false;
		for (size_t i = 0; i < json_array_size(a); i++)
			if (!values_equal(json_array_get(a, i), json_array_get(b, i)))
				return false;
		return true;
	case CLS_OBJECT: {
		if (json_object_size(a) != json_object_size(b))
			return false;
		const char *k;
		const json_t *v;
		json_object_foreach((json_t *)a, k, v) {
			const json_t *w = json_object_get(b, k);
			if (!w || !values_equal(v, w))
				return false;
		}
		return true;
	}
	}
	return false;
}

static int parse_op(const char *s, enum op *op)
{
	for (size_t i = 0; i < sizeof op_names / sizeof op_names[0]; i++)
		if (strcmp(s, op_names[i]) == 0) {
			*op = (enum op)i;
			return 0;
		}
	return -1;
}

/* Operand rules: checked once here so that evaluation has no error path.
   prefix + attr_name names the place: "policies/x.json: rules[2].when." */
static int check_operand(struct tg_error *err, const char *prefix, const char *attr_name,
                         enum attr attr, enum op op, const json_t *operand)
{
	const char *on = op_names[op];
	bool str_attr = attr != ATTR_ARGS;
	if (is_ordering(op)) {
		if (str_attr)
			return tg_err(err, "%s%s: \"%s\" compares numbers, and %s is a string",
			              prefix, attr_name, on, attr_name);
		if (!json_is_number(operand))
			return tg_err(err, "%s%s: \"%s\" needs a number, not %s",
			              prefix, attr_name, on, cls_name(cls_of(operand)));
	} else if (op == OP_IN) {
		if (!json_is_array(operand) || json_array_size(operand) == 0)
			return tg_err(err, "%s%s: \"in\" needs a non-empty array, not %s", prefix, attr_name,
			              json_is_array(operand) ? "an empty one" : cls_name(cls_of(operand)));
		if (str_attr)
			for (size_t i = 0; i < json_array_size(operand); i++)
				if (!json_is_string(json_array_get(operand, i)))
					return tg_err(err, "%s%s: \"in\" item %zu is %s, but %s is a string",
					              prefix, attr_name, i,
					              cls_name(cls_of(json_array_get(operand, i))), attr_name);
	} else if (op == OP_PREFIX) {
		if (!json_is_string(operand))
			return tg_err(err, "%s%s: \"prefix\" needs a string, not %s",
			              prefix, attr_name, cls_name(cls_of(operand)));
	} else if (str_attr && !json_is_string(operand)) {
		return tg_err(err, "%s%s: \"%s\" needs a string, since %s is a string, not %s",
		              prefix, attr_name, on, attr_name, cls_name(cls_of(operand)));
	}
	return 0;
}

static int add_cond(struct tg_error *err, const char *where, struct policy_when *w,
                    const char *attr_name, enum attr attr, enum op op, const json_t *operand)
{
	struct when_cond *grown = realloc(w->conds, (w->nconds + 1) * sizeof *grown);
	if (!grown)
		return tg_err(err, "%s: out of memory", where);
	w->conds = grown;
	struct when_cond *c = &w->conds[w->nconds];
	*c = (struct when_cond){ .attr = attr, .attr_name = attr_name, .op = op, .operand = operand };
	w->nconds++;

	if (attr == ATTR_ARGS) {
		c->path = strdup(attr_name + strlen("args."));
		if (!c->path)
			return tg_err(err, "%s: out of memory", where);
		c->npath = 1;
		for (char *p = c->path; *p; p++)
			if (*p == '.') {
				*p = '\0';
				c->npath++;
			}
	}

	/* Reasons quote the condition; a long operand is cut so the reason stays short. */
	char *dump = json_dumps(operand, JSON_ENCODE_ANY | JSON_COMPACT);
	if (!dump)
		return tg_err(err, "%s: out of memory", where);
	if (strlen(dump) > 60)
		memcpy(dump + 57, "...", 4);
	int n = asprintf(&c->text, "%s %s %s", attr_name, op_names[op], dump);
	free(dump);
	if (n < 0) {
		c->text = NULL;
		return tg_err(err, "%s: out of memory", where);
	}
	return 0;
}

void when_clear(struct policy_when *w)
{
	for (size_t j = 0; j < w->nconds; j++) {
		free(w->conds[j].path);
		free(w->conds[j].text);
	}
	free(w->conds);
	json_decref(w->doc);
	memset(w, 0, sizeof *w);
}

static bool valid_args_path(const char *attr_name)
{
	if (strncmp(attr_name, "args.", 5) != 0)
		return false;
	const char *p = attr_name + 5;
	if (*p == '\0' || *p == '.')
		return false;
	for (; *p; p++)
		if (*p == '.' && (p[1] == '.' || p[1] == '\0'))
			return false;
	return true;
}

/* Parse a `when` object into w.  whole names it in errors ("policies/x.json:
   rules[2].when"); its conditions are named whole + "." + attribute. */
int when_parse(struct tg_error *err, const char *whole, struct policy_when *w,
                      const json_t *when)
{
	char prefix[TG_ERROR_MAX];
	snprintf(prefix, sizeof prefix, "%s.", whole);
	if (!json_is_object(when))
		return tg_err(err, "%s: must be an object of attribute to conditions", whole);
	const char *an;
	const json_t *ops;
	json_object_foreach((json_t *)when, an, ops) {
		enum attr attr;
		if (strcmp(an, "user") == 0)
			attr = ATTR_USER;
		else if (strcmp(an, "agent") == 0)
			attr = ATTR_AGENT;
		else if (valid_args_path(an))
			attr = ATTR_ARGS;
		else if (strncmp(an, "args", 4) == 0 && (an[4] == '\0' || an[4] == '.'))
			return tg_err(err, "%s%s: invalid argument path (expected args.NAME or args.NAME.NAME...)",
			              prefix, an);
		else
			return tg_err(err, "%s%s: unknown attribute (expected args.PATH, user or agent)",
			              prefix, an);
		if (!json_is_object(ops))
			return tg_err(err, "%s%s: must be an object of operator to operand, e.g. {\"<=\": 5000}",
			              prefix, an);
		if (json_object_size(ops) == 0)
			return tg_err(err, "%s%s: needs at least one operator", prefix, an);
		const char *on;
		const json_t *operand;
		json_object_foreach((json_t *)ops, on, operand) {
			enum op op;
			if (parse_op(on, &op) != 0)
				return tg_err(err, "%s%s: unknown operator \"%s\" (expected ==, !=, <, <=, >, >=, in or prefix)",
				              prefix, an, on);
			if (check_operand(err, prefix, an, attr, op, operand) != 0 ||
			    add_cond(err, whole, w, an, attr, op, operand) != 0)
				return -1;
		}
	}
	return 0;
}

/* The value an attribute has in this call. */
struct attr_val {
	bool present;
	enum cls cls;
	const json_t *json;   /* NULL for user and agent */
	const char *str;      /* when cls is CLS_STRING */
	size_t len;
};

static struct attr_val lookup(const struct when_cond *c, const char *principal, const char *user,
                              const json_t *args)
{
	struct attr_val v = { 0 };
	if (c->attr != ATTR_ARGS) {
		const char *s = c->attr == ATTR_USER ? user : principal;
		if (s)
			v = (struct attr_val){ .present = true, .cls = CLS_STRING, .str = s, .len = strlen(s) };
		return v;
	}
	const json_t *cur = args;
	const char *comp = c->path;
	for (size_t i = 0; i < c->npath; i++) {
		if (!json_is_object(cur))
			return v;
		cur = json_object_get(cur, comp);
		comp += strlen(comp) + 1;
	}
	if (!cur)
		return v;
	v.present = true;
	v.json = cur;
	v.cls = cls_of(cur);
	if (v.cls == CLS_STRING) {
		v.str = json_string_value(cur);
		v.len = json_string_length(cur);
	}
	return v;
}

static bool val_equals(const struct attr_val *v, const json_t *b)
{
	if (v->json)
		return values_equal(v->json, b);
	return json_is_string(b) && str_eq(v->str, v->len, b);
}

static enum when_tri eval_cond(const struct when_cond *c, const struct attr_val *v)
{
	if (!v->present)
		return WHEN_UNKNOWN;
	const json_t *x = c->operand;
	switch (c->op) {
	case OP_EQ:
	case OP_NE:
		if (v->cls != cls_of(x))
			return WHEN_UNKNOWN;
		return val_equals(v, x) == (c->op == OP_EQ) ? WHEN_TRUE : WHEN_FALSE;
	case OP_LT:
	case OP_LE:
	case OP_GT:
	case OP_GE: {
		if (v->cls != CLS_NUMBER)
			return WHEN_UNKNOWN;
		int k = cmp_num(v->json, x);
		if (k == 2)
			return WHEN_UNKNOWN;
		bool ok = c->op == OP_LT ? k < 0 : c->op == OP_LE ? k <= 0 : c->op == OP_GT ? k > 0 : k >= 0;
		return ok ? WHEN_TRUE : WHEN_FALSE;
	}
	case OP_IN: {
		bool comparable = false;
		for (size_t i = 0; i < json_array_size(x); i++) {
			const json_t *item = json_array_get(x, i);
			if (cls_of(item) != v->cls)
				continue;
			comparable = true;
			if (val_equals(v, item))
				return WHEN_TRUE;
		}
		return comparable ? WHEN_FALSE : WHEN_UNKNOWN;
	}
	case OP_PREFIX: {
		if (v->cls != CLS_STRING)
			return WHEN_UNKNOWN;
		size_t n = json_string_length(x);
		return v->len >= n && memcmp(v->str, json_string_value(x), n) == 0 ? WHEN_TRUE : WHEN_FALSE;
	}
	}
	return WHEN_UNKNOWN;
}

/* Kleene AND of the rule's conditions: false wins, then undecidable. */
enum when_tri when_eval(const struct policy_when *w, const char *principal, const char *user,
                        const json_t *args, struct when_outcome *oc)
{
	enum when_tri result = WHEN_TRUE;
	for (size_t i = 0; i < w->nconds; i++) {
		const struct when_cond *c = &w->conds[i];
		struct attr_val v = lookup(c, principal, user, args);
		enum when_tri t = eval_cond(c, &v);
		if (t == WHEN_FALSE) {
			*oc = (struct when_outcome){ .cond = c, .present = v.present, .cls = (int)v.cls };
			return WHEN_FALSE;
		}
		if (t == WHEN_UNKNOWN && result == WHEN_TRUE) {
			*oc = (struct when_outcome){ .cond = c, .present = v.present, .cls = (int)v.cls };
			result = WHEN_UNKNOWN;
		}
	}
	return result;
}

/* Why a condition did not simply hold, e.g. "args.amount_cents <= 5000 does not hold". */
void when_explain(const struct when_outcome *oc, enum when_tri t, char *out, size_t cap)
{
	const struct when_cond *c = oc->cond;
	if (t == WHEN_FALSE) {
		snprintf(out, cap, "%s does not hold", c->text);
		return;
	}
	if (!oc->present) {
		snprintf(out, cap, "%s is missing", c->attr_name);
		return;
	}
	const char *actual = cls_name((enum cls)oc->cls);
	if (c->op == OP_IN)
		snprintf(out, cap, "%s is %s, unlike every item of its \"in\" list", c->attr_name, actual);
	else if (is_ordering(c->op) && (enum cls)oc->cls == CLS_NUMBER)
		snprintf(out, cap, "%s is not a comparable number", c->attr_name);
	else if (is_ordering(c->op))
		snprintf(out, cap, "%s is %s, not a number", c->attr_name, actual);
	else if (c->op == OP_PREFIX)
		snprintf(out, cap, "%s is %s, not a string", c->attr_name, actual);
	else
		snprintf(out, cap, "%s is %s, not %s", c->attr_name, actual, cls_name(cls_of(c->operand)));
}

const char *when_args_attr(const struct policy_when *w, size_t i)
{
	return i < w->nconds && w->conds[i].attr == ATTR_ARGS ? w->conds[i].attr_name : NULL;
}
