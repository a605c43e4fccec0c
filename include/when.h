/*
 * when.h: the `when` condition language, shared by policy rules (policy.c)
 * and delegation token scopes (through policy_when_compile).
 *
 * A `when` is an object from attribute (args.PATH, user, agent) to an object
 * of operator -> operand (==, !=, <, <=, >, >=, in, prefix); it holds when
 * every condition does.  Evaluation is three-valued: a missing attribute or a
 * type mismatch is WHEN_UNKNOWN, which each caller resolves its own way (a
 * permit does not match, a forbid matches).
 */
#ifndef TOOLGATE_WHEN_H
#define TOOLGATE_WHEN_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "error.h"

enum when_tri { WHEN_FALSE, WHEN_TRUE, WHEN_UNKNOWN };

struct when_cond;

/* A `when`: the AND of its conditions (a rule's, or a token scope's). */
struct policy_when {
	struct when_cond *conds;
	size_t nconds;
	json_t *doc;            /* standalone ones: keeps the borrowed operands alive */
};

/* What decided a `when`: the first false condition, else the first
   undecidable one. */
struct when_outcome {
	const struct when_cond *cond;
	bool present;   /* the attribute was there */
	int cls;        /* its JSON class */
};

/* Parse `when` into w (operands are borrowed from it: keep it alive).  whole
   names it in errors ("policies/x.json: rules[2].when"); a condition is
   named whole + "." + its attribute.  0, or -1 with err. */
int when_parse(struct tg_error *err, const char *whole, struct policy_when *w, const json_t *when);

/* Kleene AND of the conditions: false wins, then unknown. */
enum when_tri when_eval(const struct policy_when *w, const char *principal, const char *user,
                        const json_t *args, struct when_outcome *oc);

/* Why it did not simply hold: "args.amount_cents <= 5000 does not hold",
   "args.region is missing", ... */
void when_explain(const struct when_outcome *oc, enum when_tri t, char *out, size_t cap);

/* Condition i's attribute when it is args.PATH ("args.amount_cents"), else NULL. */
const char *when_args_attr(const struct policy_when *w, size_t i);

void when_clear(struct policy_when *w);

#endif
