/*
 * policy_impl.h: the insides of a policy set, shared by the two halves of
 * the policy module and by nothing else: policy.c loads and checks the
 * files, policy_decide.c answers questions about the loaded set.
 */
#ifndef TOOLGATE_POLICY_IMPL_H
#define TOOLGATE_POLICY_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "policy.h"
#include "when.h"

struct rule {
	const char *id;
	const char *file;       /* display name, for errors */
	size_t index;           /* position in its file's rules array */
	bool forbid;
	bool any_agent;         /* agents holds "*" */
	const char **agents;
	size_t nagents;
	const char **tools;
	size_t ntools;
	bool has_pattern;       /* some tool is a glob: the rule is in pattern_rules */
	bool needs_delegation;  /* "delegation": "required": only with a verified token */
	bool approve;           /* effect "approve": held until an approver decides */
	const char **approvers; /* principal names (borrowed strings) */
	size_t napprovers;
	unsigned deadline_s;    /* "deadline_seconds", default 900 */
	unsigned privileges;    /* POLICY_PRIV_*: what a tool may get when this rule lets it run */
	struct policy_when when;
};

struct principal {
	const char *name;
	const char *file;
	bool admin;             /* "admin": true: may use the broker's admin methods */
};

struct policy_set {
	json_t *docs;              /* every parsed file; owns the borrowed strings */
	char **files;              /* display names */
	size_t nfiles;
	struct principal *principals;
	size_t nprincipals;
	json_t *principal_index;   /* name -> index into principals */
	json_t *uid_index;         /* "1001" -> index into principals */
	json_t *gid_index;
	struct rule *rules;        /* in load order: file by file, rule by rule */
	size_t nrules;
	json_t *rule_index;        /* id -> index into rules */
	json_t *exact_index;       /* tool name -> array of rule indices, ascending */
	size_t *pattern_rules;     /* rule indices, ascending */
	size_t npattern;
	struct policy_rate_limit *rate_limits;   /* in load order; arrays owned */
	size_t nrate_limits;
	json_t *rate_limit_index;  /* id -> index into rate_limits */
};

#endif
