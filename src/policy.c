/*
 * policy.c: the policy set (the *.json files of policies/) and the one
 * question it answers: may this agent principal call this tool, for this
 * user, with these arguments?  See policy.h for the contract.
 *
 * Loading reads every file once, checks every key (unknown keys and the
 * features this version lacks are errors, never silently ignored) and builds
 * an immutable struct policy_set.  The parsed documents stay alive inside the
 * set, so names, ids and operands are borrowed from them rather than copied.
 *
 * Choices made here, where SPEC.md leaves room:
 * - A missing policies directory, an empty one, or files without rules give
 *   an empty set: every call is denied.  That fails closed, so it is not an
 *   error.  Files whose names start with "." and entries that are not regular
 *   files (after following symlinks) are skipped.
 * - Files load in strcmp order of their names; rules may name principals that
 *   a later file defines, so agent names are resolved after all files load.
 * - `when` evaluates in three values.  A missing attribute or a type
 *   mismatch (a string where the operand is a number, "!=" included) is
 *   "undecidable": a permit then does not match and a forbid does, because
 *   a forbid that an agent could dodge by leaving out or retyping an argument
 *   would protect nothing.
 * - Numbers compare exactly: integers as json_int_t, an integer against a
 *   real without rounding either one, and 1 == 1.0.
 *   For "in", the attribute mismatches when no list item has its type.
 * - args.PATH walks nested objects only; an array on the way, or a key that
 *   contains a dot, cannot be addressed.
 * - Each file is at most 1 MiB and 32 levels deep; duplicate keys are errors.
 * - rate_limits entries are checked as strictly as rules; their ids are
 *   optional and unique among rate limits (rule ids are another namespace).
 *   Each gets an identity text so that ratelimit.c can keep its counters
 *   across a reload that leaves the definition alone.
 * - Reasons are read by models and people, so they name the rules: the
 *   forbids that matched, else the permits, else (rules = []) what kept each
 *   permit for this agent and tool from matching.
 *
 * Deciding never scans every rule: rules whose tools are all plain names sit
 * in a hash map from tool name to rule indices; only rules with a glob
 * pattern (a rule that mixes both goes there whole) are in the list that
 * every decision walks.
 */
#include "policy_impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define POLICY_FILE_MAX  (1024 * 1024)
#define POLICY_DEPTH_MAX 32
#define POLICY_NAME_MAX  64
#define POLICY_ID_MAX    4294967294LL   /* (uid_t)-1 means "no uid" */
#define RATE_CALLS_MAX   1000000
#define RATE_SECONDS_MAX 31536000       /* a year */
#define NAME_RULE "expected 1 to 64 of A-Z a-z 0-9 . _ -"


/* ---- small helpers ---- */

static bool valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > POLICY_NAME_MAX)
		return false;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* Room for element n of an array whose capacity is implied by n: the array
   (possibly moved), or NULL when out of memory. */
static void *grow(void *arr, size_t n, size_t size)
{
	/* Capacity is 4, then doubles: only n == 0 and n == 4, 8, 16... need more. */
	if (n != 0 && (n < 4 || (n & (n - 1)) != 0))
		return arr;
	return reallocarray(arr, n ? n * 2 : 4, size);
}

#define GROW(arr, n) ({ void *g_ = grow((arr), (n), sizeof *(arr)); if (g_) (arr) = g_; g_ != NULL; })

/* Append to a fixed buffer; on overflow end it with "..." and ignore the rest. */

/* ---- loading ---- */

struct loader {
	struct policy_set *ps;
	const char *file;
	struct tg_error *err;
};

static bool depth_ok(const json_t *v, int depth)
{
	if (depth > POLICY_DEPTH_MAX)
		return false;
	if (json_is_object(v)) {
		const char *k;
		const json_t *m;
		json_object_foreach((json_t *)v, k, m)
			if (!depth_ok(m, depth + 1))
				return false;
	} else if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++)
			if (!depth_ok(json_array_get(v, i), depth + 1))
				return false;
	}
	return true;
}

static int load_ids(struct loader *l, const char *pname, size_t pidx, const char *kind,
                    const json_t *arr, json_t *index, size_t *count)
{
	const char *noun = kind[0] == 'u' ? "uid" : "gid";
	if (!json_is_array(arr))
		return tg_err(l->err, "%s: principals.%s.%s: must be an array of integers",
		              l->file, pname, kind);
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const json_t *v = json_array_get(arr, i);
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > POLICY_ID_MAX)
			return tg_err(l->err, "%s: principals.%s.%s[%zu]: must be an integer from 0 to %lld",
			              l->file, pname, kind, i, POLICY_ID_MAX);
		char key[24];
		snprintf(key, sizeof key, "%lld", (long long)json_integer_value(v));
		const json_t *owner = json_object_get(index, key);
		if (owner) {
			size_t o = (size_t)json_integer_value(owner);
			if (o == pidx)
				return tg_err(l->err, "%s: principals.%s.%s[%zu]: %s %s is listed twice",
				              l->file, pname, kind, i, noun, key);
			return tg_err(l->err, "%s: principals.%s.%s[%zu]: %s %s is already claimed by principal %s (%s)",
			              l->file, pname, kind, i, noun, key,
			              l->ps->principals[o].name, l->ps->principals[o].file);
		}
		if (json_object_set_new(index, key, json_integer((json_int_t)pidx)) != 0)
			return tg_err(l->err, "%s: out of memory", l->file);
		(*count)++;
	}
	return 0;
}

static int load_principal(struct loader *l, const char *name, const json_t *val)
{
	struct policy_set *ps = l->ps;
	if (!valid_name(name))
		return tg_err(l->err, "%s: principals.%s: invalid principal name (" NAME_RULE ")",
		              l->file, name);
	if (!json_is_object(val))
		return tg_err(l->err, "%s: principals.%s: must be an object with uids and/or gids",
		              l->file, name);
	const char *k;
	const json_t *v;
	json_object_foreach((json_t *)val, k, v)
		if (strcmp(k, "uids") != 0 && strcmp(k, "gids") != 0 && strcmp(k, "admin") != 0)
			return tg_err(l->err, "%s: principals.%s.%s: unknown key", l->file, name, k);
	const json_t *admin = json_object_get(val, "admin");
	if (admin && !json_is_boolean(admin))
		return tg_err(l->err, "%s: principals.%s.admin: must be true or false", l->file, name);
	const json_t *prev = json_object_get(ps->principal_index, name);
	if (prev)
		return tg_err(l->err, "%s: principals.%s: already defined in %s", l->file, name,
		              ps->principals[json_integer_value(prev)].file);

	size_t idx = ps->nprincipals;
	if (!GROW(ps->principals, idx) ||
	    json_object_set_new(ps->principal_index, name, json_integer((json_int_t)idx)) != 0)
		return tg_err(l->err, "%s: out of memory", l->file);
	ps->principals[idx] = (struct principal){ .name = name, .file = l->file,
	                                          .admin = admin && json_is_true(admin) };
	ps->nprincipals++;

	size_t count = 0;
	const json_t *uids = json_object_get(val, "uids"), *gids = json_object_get(val, "gids");
	if (uids && load_ids(l, name, idx, "uids", uids, ps->uid_index, &count) != 0)
		return -1;
	if (gids && load_ids(l, name, idx, "gids", gids, ps->gid_index, &count) != 0)
		return -1;
	if (count == 0)
		return tg_err(l->err, "%s: principals.%s: needs at least one uid or gid", l->file, name);
	return 0;
}

/* A non-empty array of non-empty strings, borrowed into *out; section is
   "rules" or "rate_limits", for errors. */
static int load_strings(struct loader *l, const char *section, size_t ri, const char *field,
                        const json_t *arr, const char *what, const char ***out, size_t *n)
{
	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return tg_err(l->err, "%s: %s[%zu].%s: must be a non-empty array of %s",
		              l->file, section, ri, field, what);
	*n = json_array_size(arr);
	*out = calloc(*n, sizeof **out);
	if (!*out)
		return tg_err(l->err, "%s: out of memory", l->file);
	for (size_t i = 0; i < *n; i++) {
		const json_t *v = json_array_get(arr, i);
		if (!json_is_string(v) || json_string_length(v) == 0)
			return tg_err(l->err, "%s: %s[%zu].%s[%zu]: must be a non-empty string",
			              l->file, section, ri, field, i);
		(*out)[i] = json_string_value(v);
	}
	return 0;
}

static const char *const rule_keys[] = { "id", "effect", "agents", "tools", "when",
                                         "description", "delegation", "approvers",
                                         "deadline_seconds", "privileges" };

#define APPROVAL_DEADLINE_DEFAULT 900
#define APPROVAL_DEADLINE_MAX     86400

static int load_rule(struct loader *l, size_t ri, const json_t *val)
{
	struct policy_set *ps = l->ps;
	if (!json_is_object(val))
		return tg_err(l->err, "%s: rules[%zu]: must be an object", l->file, ri);
	const char *k;
	const json_t *v;
	json_object_foreach((json_t *)val, k, v) {
		size_t i = 0;
		while (i < sizeof rule_keys / sizeof rule_keys[0] && strcmp(k, rule_keys[i]) != 0)
			i++;
		if (i == sizeof rule_keys / sizeof rule_keys[0])
			return tg_err(l->err, "%s: rules[%zu].%s: unknown key", l->file, ri, k);
	}

	/* The rule joins the set before it is fully checked so that policy_free
	   releases whatever it already owns when a later check fails. */
	if (!GROW(ps->rules, ps->nrules))
		return tg_err(l->err, "%s: out of memory", l->file);
	struct rule *r = &ps->rules[ps->nrules++];
	*r = (struct rule){ .file = l->file, .index = ri };

	const json_t *id = json_object_get(val, "id");
	if (!id)
		return tg_err(l->err, "%s: rules[%zu]: missing \"id\"", l->file, ri);
	if (!json_is_string(id))
		return tg_err(l->err, "%s: rules[%zu].id: must be a string", l->file, ri);
	r->id = json_string_value(id);
	if (!valid_name(r->id))
		return tg_err(l->err, "%s: rules[%zu].id: invalid rule id \"%s\" (" NAME_RULE ")",
		              l->file, ri, r->id);
	const json_t *prev = json_object_get(ps->rule_index, r->id);
	if (prev) {
		const struct rule *o = &ps->rules[json_integer_value(prev)];
		return tg_err(l->err, "%s: rules[%zu].id: duplicate rule id \"%s\" (also rules[%zu] of %s)",
		              l->file, ri, r->id, o->index, o->file);
	}
	if (json_object_set_new(ps->rule_index, r->id, json_integer((json_int_t)(ps->nrules - 1))) != 0)
		return tg_err(l->err, "%s: out of memory", l->file);

	const json_t *eff = json_object_get(val, "effect");
	if (!eff)
		return tg_err(l->err, "%s: rules[%zu]: missing \"effect\" (permit or forbid)", l->file, ri);
	if (!json_is_string(eff))
		return tg_err(l->err, "%s: rules[%zu].effect: must be \"permit\" or \"forbid\"", l->file, ri);
	if (strcmp(json_string_value(eff), "forbid") == 0)
		r->forbid = true;
	else if (strcmp(json_string_value(eff), "approve") == 0)
		r->approve = true;
	else if (strcmp(json_string_value(eff), "permit") != 0)
		return tg_err(l->err, "%s: rules[%zu].effect: unknown effect \"%s\" (expected permit, approve or forbid)",
		              l->file, ri, json_string_value(eff));

	const json_t *dg = json_object_get(val, "delegation");
	if (dg) {
		if (!json_is_string(dg) || strcmp(json_string_value(dg), "required") != 0)
			return tg_err(l->err, "%s: rules[%zu].delegation: must be \"required\" (or absent)",
			              l->file, ri);
		if (r->forbid)
			return tg_err(l->err, "%s: rules[%zu].delegation: a forbid rule applies with or without a token",
			              l->file, ri);
		r->needs_delegation = true;
	}
	const json_t *approvers = json_object_get(val, "approvers");
	const json_t *deadline = json_object_get(val, "deadline_seconds");
	if (!r->approve && (approvers || deadline))
		return tg_err(l->err, "%s: rules[%zu].%s: only an approve rule has %s", l->file, ri,
		              approvers ? "approvers" : "deadline_seconds",
		              approvers ? "approvers" : "an approval deadline");
	if (r->approve) {
		if (!approvers)
			return tg_err(l->err, "%s: rules[%zu]: an approve rule needs \"approvers\" (the principals who decide)",
			              l->file, ri);
		if (load_strings(l, "rules", ri, "approvers", approvers, "principal names",
		                 &r->approvers, &r->napprovers) != 0)
			return -1;
		r->deadline_s = APPROVAL_DEADLINE_DEFAULT;
		if (deadline) {
			if (!json_is_integer(deadline) || json_integer_value(deadline) < 1 ||
			    json_integer_value(deadline) > APPROVAL_DEADLINE_MAX)
				return tg_err(l->err, "%s: rules[%zu].deadline_seconds: must be an integer from 1 to %d",
				              l->file, ri, APPROVAL_DEADLINE_MAX);
			r->deadline_s = (unsigned)json_integer_value(deadline);
		}
	}

	/* "privileges": what a tool that asks for more than the usual sandbox
	   may have when this rule lets the call run; a tool's own definition
	   alone is never enough. */
	const json_t *privs = json_object_get(val, "privileges");
	if (privs && r->forbid)
		return tg_err(l->err, "%s: rules[%zu].privileges: a forbid rule grants nothing", l->file, ri);
	size_t ip;
	const json_t *pv;
	if (privs && !json_is_array(privs))
		return tg_err(l->err, "%s: rules[%zu].privileges: must be an array of \"root\", \"host_network\"",
		              l->file, ri);
	json_array_foreach((json_t *)privs, ip, pv) {
		const char *name = json_is_string(pv) ? json_string_value(pv) : "";
		if (strcmp(name, "root") == 0)
			r->privileges |= POLICY_PRIV_ROOT;
		else if (strcmp(name, "host_network") == 0)
			r->privileges |= POLICY_PRIV_HOST_NETWORK;
		else
			return tg_err(l->err, "%s: rules[%zu].privileges[%zu]: expected \"root\" or \"host_network\"",
			              l->file, ri, ip);
	}

	const json_t *agents = json_object_get(val, "agents");
	if (!agents)
		return tg_err(l->err, "%s: rules[%zu]: missing \"agents\"", l->file, ri);
	if (load_strings(l, "rules", ri, "agents", agents, "principal names or \"*\"", &r->agents, &r->nagents) != 0)
		return -1;
	const json_t *tools = json_object_get(val, "tools");
	if (!tools)
		return tg_err(l->err, "%s: rules[%zu]: missing \"tools\"", l->file, ri);
	if (load_strings(l, "rules", ri, "tools", tools, "tool names or patterns", &r->tools, &r->ntools) != 0)
		return -1;

	const json_t *when = json_object_get(val, "when");
	char whole[TG_ERROR_MAX];
	snprintf(whole, sizeof whole, "%s: rules[%zu].when", l->file, ri);
	if (when && when_parse(l->err, whole, &r->when, when) != 0)
		return -1;
	const json_t *desc = json_object_get(val, "description");
	if (desc && !json_is_string(desc))
		return tg_err(l->err, "%s: rules[%zu].description: must be a string", l->file, ri);
	return 0;
}

static int cmp_names(const void *a, const void *b);

/* names sorted, without repeats, as a JSON array (NULL when out of memory). */
static json_t *canonical_names(const char *const *names, size_t n)
{
	const char **v = calloc(n, sizeof *v);
	json_t *arr = json_array();
	if (!v || !arr) {
		free(v);
		json_decref(arr);
		return NULL;
	}
	memcpy(v, names, n * sizeof *v);
	qsort(v, n, sizeof *v, cmp_names);
	for (size_t i = 0; i < n; i++)
		if ((i == 0 || strcmp(v[i], v[i - 1]) != 0) &&
		    json_array_append_new(arr, json_string(v[i])) != 0) {
			json_decref(arr);
			arr = NULL;
			break;
		}
	free(v);
	return arr;
}

static const char *const per_names[] = { "agent", "user", "tool" };

/* The identity text: compact JSON with sorted keys, so it has no newline. */
static char *rate_limit_identity(const struct policy_rate_limit *rl)
{
	static const char *const star[] = { "*" };
	json_t *agents = rl->any_agent ? canonical_names(star, 1)
	                               : canonical_names(rl->agents, rl->nagents);
	json_t *tools = canonical_names(rl->tools, rl->ntools);
	if (!agents || !tools) {
		json_decref(agents);
		json_decref(tools);
		return NULL;
	}
	json_t *o = json_pack("{s:o, s:o, s:s, s:I, s:I}", "agents", agents, "tools", tools,
	                      "per", per_names[rl->per], "calls", (json_int_t)rl->calls,
	                      "seconds", (json_int_t)rl->seconds);
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	return text;
}

/* An integer member from 1 to max, into *out. */
static int load_count(struct loader *l, size_t ri, const json_t *val, const char *field,
                      json_int_t max, uint64_t *out)
{
	const json_t *v = json_object_get(val, field);
	if (!v)
		return tg_err(l->err, "%s: rate_limits[%zu]: missing \"%s\"", l->file, ri, field);
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > max)
		return tg_err(l->err, "%s: rate_limits[%zu].%s: must be an integer from 1 to %lld",
		              l->file, ri, field, (long long)max);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static const char *const rate_limit_keys[] = { "id", "agents", "tools", "per", "calls",
                                               "seconds", "description" };

static int load_rate_limit(struct loader *l, size_t ri, const json_t *val)
{
	struct policy_set *ps = l->ps;
	if (!json_is_object(val))
		return tg_err(l->err, "%s: rate_limits[%zu]: must be an object", l->file, ri);
	const char *k;
	const json_t *v;
	json_object_foreach((json_t *)val, k, v) {
		size_t i = 0;
		while (i < sizeof rate_limit_keys / sizeof rate_limit_keys[0] &&
		       strcmp(k, rate_limit_keys[i]) != 0)
			i++;
		if (i == sizeof rate_limit_keys / sizeof rate_limit_keys[0])
			return tg_err(l->err, "%s: rate_limits[%zu].%s: unknown key", l->file, ri, k);
	}

	/* Joins the set first, like a rule, so that policy_free releases it. */
	if (!GROW(ps->rate_limits, ps->nrate_limits))
		return tg_err(l->err, "%s: out of memory", l->file);
	struct policy_rate_limit *rl = &ps->rate_limits[ps->nrate_limits++];
	*rl = (struct policy_rate_limit){ .file = l->file, .index = ri };

	const json_t *id = json_object_get(val, "id");
	if (id) {
		if (!json_is_string(id))
			return tg_err(l->err, "%s: rate_limits[%zu].id: must be a string", l->file, ri);
		rl->id = json_string_value(id);
		if (!valid_name(rl->id))
			return tg_err(l->err, "%s: rate_limits[%zu].id: invalid rate limit id \"%s\" (" NAME_RULE ")",
			              l->file, ri, rl->id);
		const json_t *prev = json_object_get(ps->rate_limit_index, rl->id);
		if (prev) {
			const struct policy_rate_limit *o = &ps->rate_limits[json_integer_value(prev)];
			return tg_err(l->err, "%s: rate_limits[%zu].id: duplicate rate limit id \"%s\" (also rate_limits[%zu] of %s)",
			              l->file, ri, rl->id, o->index, o->file);
		}
		if (json_object_set_new(ps->rate_limit_index, rl->id,
		                        json_integer((json_int_t)(ps->nrate_limits - 1))) != 0)
			return tg_err(l->err, "%s: out of memory", l->file);
	}

	/* load_strings fills a mutable array; it is owned (and freed) as rl's. */
	const char **names = NULL;
	const json_t *agents = json_object_get(val, "agents");
	if (!agents)
		return tg_err(l->err, "%s: rate_limits[%zu]: missing \"agents\"", l->file, ri);
	if (load_strings(l, "rate_limits", ri, "agents", agents, "principal names or \"*\"",
	                 &names, &rl->nagents) != 0) {
		free(names);
		return -1;
	}
	rl->agents = names;
	names = NULL;
	for (size_t i = 0; i < rl->nagents; i++)
		if (strcmp(rl->agents[i], "*") == 0)
			rl->any_agent = true;
	const json_t *tools = json_object_get(val, "tools");
	if (!tools)
		return tg_err(l->err, "%s: rate_limits[%zu]: missing \"tools\"", l->file, ri);
	if (load_strings(l, "rate_limits", ri, "tools", tools, "tool names or patterns",
	                 &names, &rl->ntools) != 0) {
		free(names);
		return -1;
	}
	rl->tools = names;

	const json_t *per = json_object_get(val, "per");
	if (!per)
		return tg_err(l->err, "%s: rate_limits[%zu]: missing \"per\"", l->file, ri);
	size_t p = 0;
	while (p < 3 && !(json_is_string(per) && strcmp(json_string_value(per), per_names[p]) == 0))
		p++;
	if (p == 3)
		return tg_err(l->err, "%s: rate_limits[%zu].per: must be \"agent\", \"user\" or \"tool\"",
		              l->file, ri);
	rl->per = (enum policy_rate_per)p;
	if (load_count(l, ri, val, "calls", RATE_CALLS_MAX, &rl->calls) != 0 ||
	    load_count(l, ri, val, "seconds", RATE_SECONDS_MAX, &rl->seconds) != 0)
		return -1;
	const json_t *desc = json_object_get(val, "description");
	if (desc && !json_is_string(desc))
		return tg_err(l->err, "%s: rate_limits[%zu].description: must be a string", l->file, ri);

	rl->identity = rate_limit_identity(rl);
	if (!rl->identity)
		return tg_err(l->err, "%s: out of memory", l->file);
	return 0;
}

static int load_doc(struct loader *l, const json_t *doc)
{
	if (!json_is_object(doc))
		return tg_err(l->err, "%s: must be a JSON object (with principals, rules)", l->file);
	const char *k;
	const json_t *v;
	json_object_foreach((json_t *)doc, k, v)
		if (strcmp(k, "principals") != 0 && strcmp(k, "rules") != 0 && strcmp(k, "rate_limits") != 0)
			return tg_err(l->err, "%s: %s: unknown key", l->file, k);

	const json_t *principals = json_object_get(doc, "principals");
	if (principals) {
		if (!json_is_object(principals))
			return tg_err(l->err, "%s: principals: must be an object of name to {\"uids\", \"gids\"}",
			              l->file);
		json_object_foreach((json_t *)principals, k, v)
			if (load_principal(l, k, v) != 0)
				return -1;
	}
	const json_t *rules = json_object_get(doc, "rules");
	if (rules) {
		if (!json_is_array(rules))
			return tg_err(l->err, "%s: rules: must be an array", l->file);
		for (size_t i = 0; i < json_array_size(rules); i++)
			if (load_rule(l, i, json_array_get(rules, i)) != 0)
				return -1;
	}
	const json_t *rl = json_object_get(doc, "rate_limits");
	if (rl) {
		if (!json_is_array(rl))
			return tg_err(l->err, "%s: rate_limits: must be an array", l->file);
		for (size_t i = 0; i < json_array_size(rl); i++)
			if (load_rate_limit(l, i, json_array_get(rl, i)) != 0)
				return -1;
	}
	return 0;
}

/* Read and parse one file; *doc stays NULL for entries that are skipped. */
static int read_doc(int dfd, const char *name, const char *shown, json_t **doc,
                    struct tg_error *err)
{
	*doc = NULL;
	/* O_NONBLOCK: a FIFO named x.json must not hang the load. */
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return tg_err_errno(err, "%s: cannot open", shown);
	struct stat st;
	if (fstat(fd, &st) != 0) {
		tg_err_errno(err, "%s: cannot stat", shown);
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return 0;
	}
	char *buf = malloc(POLICY_FILE_MAX + 1);
	if (!buf) {
		close(fd);
		return tg_err(err, "%s: out of memory", shown);
	}
	size_t len = 0;
	while (len <= POLICY_FILE_MAX) {
		ssize_t n = read(fd, buf + len, POLICY_FILE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			tg_err_errno(err, "%s: cannot read", shown);
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > POLICY_FILE_MAX) {
		tg_err(err, "%s: larger than the 1 MiB limit", shown);
		goto fail;
	}
	json_error_t jerr;
	*doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!*doc) {
		tg_err(err, "%s: line %d column %d: %s", shown, jerr.line, jerr.column, jerr.text);
		goto fail;
	}
	if (!depth_ok(*doc, 1)) {
		json_decref(*doc);
		*doc = NULL;
		tg_err(err, "%s: nested deeper than %d levels", shown, POLICY_DEPTH_MAX);
		goto fail;
	}
	free(buf);
	close(fd);
	return 0;
fail:
	free(buf);
	close(fd);
	return -1;
}

static bool is_pattern(const char *s)
{
	return strpbrk(s, "*?[\\") != NULL;
}

/* After every file: resolve agent names and build the tool index. */
static int finish(struct policy_set *ps, struct tg_error *err)
{
	for (size_t i = 0; i < ps->nrate_limits; i++) {
		const struct policy_rate_limit *rl = &ps->rate_limits[i];
		for (size_t j = 0; j < rl->nagents; j++)
			if (strcmp(rl->agents[j], "*") != 0 &&
			    !json_object_get(ps->principal_index, rl->agents[j]))
				return tg_err(err, "%s: rate_limits[%zu].agents[%zu]: unknown principal \"%s\"",
				              rl->file, rl->index, j, rl->agents[j]);
	}
	for (size_t i = 0; i < ps->nrules; i++) {
		struct rule *r = &ps->rules[i];
		for (size_t j = 0; j < r->nagents; j++) {
			if (strcmp(r->agents[j], "*") == 0)
				r->any_agent = true;
			else if (!json_object_get(ps->principal_index, r->agents[j]))
				return tg_err(err, "%s: rules[%zu].agents[%zu]: unknown principal \"%s\"",
				              r->file, r->index, j, r->agents[j]);
		}
		for (size_t j = 0; j < r->napprovers; j++)
			if (!json_object_get(ps->principal_index, r->approvers[j]))
				return tg_err(err, "%s: rules[%zu].approvers[%zu]: unknown principal \"%s\"",
				              r->file, r->index, j, r->approvers[j]);
		for (size_t j = 0; j < r->ntools; j++)
			if (is_pattern(r->tools[j]))
				r->has_pattern = true;
		if (r->has_pattern) {
			if (!GROW(ps->pattern_rules, ps->npattern))
				return tg_err(err, "out of memory while indexing policies");
			ps->pattern_rules[ps->npattern++] = i;
			continue;
		}
		for (size_t j = 0; j < r->ntools; j++) {
			json_t *bucket = json_object_get(ps->exact_index, r->tools[j]);
			if (!bucket) {
				bucket = json_array();
				if (!bucket || json_object_set_new(ps->exact_index, r->tools[j], bucket) != 0)
					return tg_err(err, "out of memory while indexing policies");
			}
			size_t nb = json_array_size(bucket);
			/* A rule that lists one tool twice is indexed once. */
			if (nb && (size_t)json_integer_value(json_array_get(bucket, nb - 1)) == i)
				continue;
			if (json_array_append_new(bucket, json_integer((json_int_t)i)) != 0)
				return tg_err(err, "out of memory while indexing policies");
		}
	}
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool wanted_file(const char *name)
{
	size_t n = strlen(name);
	return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".json") == 0;
}

/* The *.json names in dir, sorted; *names is NULL and *n 0 when dir is missing. */
static int list_dir(const char *dir, const char *shown, int *dfd, char ***names, size_t *n,
                    struct tg_error *err)
{
	*dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*dfd < 0) {
		if (errno == ENOENT)
			return 0;
		return tg_err_errno(err, "%s: cannot open directory", shown);
	}
	int lfd = dup(*dfd);
	DIR *d = lfd < 0 ? NULL : fdopendir(lfd);
	if (!d) {
		tg_err_errno(err, "%s: cannot read directory", shown);
		if (lfd >= 0)
			close(lfd);
		return -1;
	}
	struct dirent *de;
	int rc = 0;
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (!wanted_file(de->d_name))
			continue;
		char *copy = strdup(de->d_name);
		if (!copy || !GROW(*names, *n)) {
			free(copy);
			rc = tg_err(err, "%s: out of memory", shown);
			break;
		}
		(*names)[(*n)++] = copy;
		errno = 0;
	}
	if (rc == 0 && errno != 0)
		rc = tg_err_errno(err, "%s: cannot read directory", shown);
	closedir(d);
	if (rc == 0 && *n)
		qsort(*names, *n, sizeof **names, cmp_names);
	return rc;
}

struct policy_set *policy_load_dir(const char *dir, const char *display_prefix,
                                   struct tg_error *err)
{
	const char *shown_dir = display_prefix && *display_prefix ? display_prefix : dir;
	struct policy_set *ps = calloc(1, sizeof *ps);
	if (!ps) {
		tg_err(err, "%s: out of memory", shown_dir);
		return NULL;
	}
	ps->docs = json_array();
	ps->principal_index = json_object();
	ps->uid_index = json_object();
	ps->gid_index = json_object();
	ps->rule_index = json_object();
	ps->exact_index = json_object();
	ps->rate_limit_index = json_object();
	if (!ps->docs || !ps->principal_index || !ps->uid_index || !ps->gid_index ||
	    !ps->rule_index || !ps->exact_index || !ps->rate_limit_index) {
		tg_err(err, "%s: out of memory", shown_dir);
		policy_free(ps);
		return NULL;
	}

	int dfd = -1;
	char **names = NULL;
	size_t nnames = 0;
	int rc = list_dir(dir, shown_dir, &dfd, &names, &nnames, err);
	for (size_t i = 0; rc == 0 && i < nnames; i++) {
		char *shown;
		if (asprintf(&shown, "%s/%s", shown_dir, names[i]) < 0) {
			rc = tg_err(err, "%s: out of memory", shown_dir);
			break;
		}
		if (!GROW(ps->files, ps->nfiles)) {
			free(shown);
			rc = tg_err(err, "%s: out of memory", shown_dir);
			break;
		}
		ps->files[ps->nfiles++] = shown;
		json_t *doc;
		rc = read_doc(dfd, names[i], shown, &doc, err);
		if (rc != 0 || !doc)
			continue;
		if (json_array_append_new(ps->docs, doc) != 0) {
			rc = tg_err(err, "%s: out of memory", shown);
			break;
		}
		struct loader l = { .ps = ps, .file = shown, .err = err };
		rc = load_doc(&l, doc);
	}
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	if (dfd >= 0)
		close(dfd);
	if (rc == 0)
		rc = finish(ps, err);
	if (rc != 0) {
		policy_free(ps);
		return NULL;
	}
	return ps;
}

void policy_free(struct policy_set *ps)
{
	if (!ps)
		return;
	for (size_t i = 0; i < ps->nrules; i++) {
		struct rule *r = &ps->rules[i];
		when_clear(&r->when);
		free(r->agents);
		free(r->tools);
		free(r->approvers);
	}
	free(ps->rules);
	free(ps->pattern_rules);
	for (size_t i = 0; i < ps->nrate_limits; i++) {
		struct policy_rate_limit *rl = &ps->rate_limits[i];
		free((void *)rl->agents);
		free((void *)rl->tools);
		free((void *)rl->identity);
	}
	free(ps->rate_limits);
	json_decref(ps->rate_limit_index);
	free(ps->principals);
	for (size_t i = 0; i < ps->nfiles; i++)
		free(ps->files[i]);
	free(ps->files);
	json_decref(ps->principal_index);
	json_decref(ps->uid_index);
	json_decref(ps->gid_index);
	json_decref(ps->rule_index);
	json_decref(ps->exact_index);
	json_decref(ps->docs);
	free(ps);
}

/* ---- standalone `when` objects (token scopes) ---- */

struct policy_when *policy_when_compile(const json_t *when, const char *where,
                                        struct tg_error *err)
{
	struct policy_when *w = calloc(1, sizeof *w);
	if (!w) {
		tg_err(err, "%s: out of memory", where);
		return NULL;
	}
	if (!depth_ok(when, 0)) {
		tg_err(err, "%s: nested deeper than %d levels", where, POLICY_DEPTH_MAX);
		free(w);
		return NULL;
	}
	w->doc = json_incref((json_t *)when);
	if (when_parse(err, where, w, when) != 0) {
		when_clear(w);
		free(w);
		return NULL;
	}
	return w;
}

void policy_when_free(struct policy_when *w)
{
	if (!w)
		return;
	when_clear(w);
	free(w);
}
