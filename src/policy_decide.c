/*
 * policy_decide.c: the questions a loaded policy set answers (see policy.h):
 * who a peer is, which tools it may see, and the decision on one call.
 * policy.c loads the set; both share policy_impl.h.
 */
#include "policy_impl.h"

#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sbuf {
	char *p;
	size_t cap;
	size_t len;
	bool full;
};

static void sb_add(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(struct sbuf *b, const char *fmt, ...)
{
	if (b->full)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len) {
		b->full = true;
		b->len = b->cap - 1;
		memcpy(b->p + b->cap - 4, "...", 4);
		return;
	}
	b->len += (size_t)n;
}

/* ---- queries ---- */

bool policy_tool_pattern_match(const char *pattern, const char *tool)
{
	return fnmatch(pattern, tool, 0) == 0;
}

const char *policy_principal_for_peer(const struct policy_set *ps, uid_t uid, gid_t gid)
{
	if (!ps)
		return NULL;
	char key[24];
	snprintf(key, sizeof key, "%llu", (unsigned long long)uid);
	const json_t *idx = json_object_get(ps->uid_index, key);
	if (!idx) {
		snprintf(key, sizeof key, "%llu", (unsigned long long)gid);
		idx = json_object_get(ps->gid_index, key);
	}
	return idx ? ps->principals[json_integer_value(idx)].name : NULL;
}

bool policy_is_admin(const struct policy_set *ps, uid_t uid, gid_t gid)
{
	/* Root can stop, reconfigure or ptrace the broker anyway (as with sudo
	   and systemctl): refusing it the admin methods would protect nothing. */
	if (uid == 0)
		return true;
	if (!ps)
		return false;
	const char *name = policy_principal_for_peer(ps, uid, gid);
	if (!name)
		return false;
	const json_t *idx = json_object_get(ps->principal_index, name);
	return idx && ps->principals[json_integer_value(idx)].admin;
}

bool policy_has_principal(const struct policy_set *ps, const char *name)
{
	return ps && name && json_object_get(ps->principal_index, name) != NULL;
}

size_t policy_rate_limit_count(const struct policy_set *ps)
{
	return ps ? ps->nrate_limits : 0;
}

const struct policy_rate_limit *policy_rate_limit_at(const struct policy_set *ps, size_t i)
{
	return ps && i < ps->nrate_limits ? &ps->rate_limits[i] : NULL;
}

bool policy_rate_limit_applies(const struct policy_rate_limit *rl, const char *principal,
                               const char *tool)
{
	if (!rl || !principal || !tool)
		return false;
	bool agent = rl->any_agent;
	for (size_t i = 0; !agent && i < rl->nagents; i++)
		agent = strcmp(rl->agents[i], principal) == 0;
	if (!agent)
		return false;
	for (size_t i = 0; i < rl->ntools; i++)
		if (policy_tool_pattern_match(rl->tools[i], tool))
			return true;
	return false;
}

static bool rule_names_agent(const struct rule *r, const char *principal)
{
	if (r->any_agent)
		return true;
	for (size_t i = 0; i < r->nagents; i++)
		if (strcmp(r->agents[i], principal) == 0)
			return true;
	return false;
}

static bool rule_names_tool(const struct rule *r, const char *tool)
{
	for (size_t i = 0; i < r->ntools; i++)
		if (policy_tool_pattern_match(r->tools[i], tool))
			return true;
	return false;
}

/*
 * The rules that name this principal and tool, in load order: a merge of the
 * tool's exact-name bucket with the pattern rules, so that the lists in
 * decisions do not depend on how a rule spelled its tools.
 */
struct candidates {
	const struct policy_set *ps;
	const char *principal;
	const char *tool;
	const json_t *bucket;
	size_t nb, bi, pi;
};

static void cand_init(struct candidates *it, const struct policy_set *ps, const char *principal,
                      const char *tool)
{
	*it = (struct candidates){ .ps = ps, .principal = principal, .tool = tool };
	it->bucket = json_object_get(ps->exact_index, tool);
	it->nb = it->bucket ? json_array_size(it->bucket) : 0;
}

static const struct rule *cand_next(struct candidates *it)
{
	const struct policy_set *ps = it->ps;
	while (it->bi < it->nb || it->pi < ps->npattern) {
		size_t b = it->bi < it->nb ? (size_t)json_integer_value(json_array_get(it->bucket, it->bi))
		                           : SIZE_MAX;
		size_t p = it->pi < ps->npattern ? ps->pattern_rules[it->pi] : SIZE_MAX;
		const struct rule *r;
		if (b < p) {
			it->bi++;
			r = &ps->rules[b];
		} else {
			it->pi++;
			r = &ps->rules[p];
			if (!rule_names_agent(r, it->principal) || !rule_names_tool(r, it->tool))
				continue;
			return r;
		}
		if (rule_names_agent(r, it->principal))
			return r;
	}
	return NULL;
}

bool policy_tool_visible(const struct policy_set *ps, const char *principal, const char *tool)
{
	if (!ps || !principal || !tool)
		return false;
	struct candidates it;
	cand_init(&it, ps, principal, tool);
	bool permitted = false;
	const struct rule *r;
	while ((r = cand_next(&it)) != NULL) {
		if (r->forbid && r->when.nconds == 0)
			return false;
		if (!r->forbid)
			permitted = true;
	}
	return permitted;
}

static void sb_explain(struct sbuf *b, const struct when_outcome *oc, enum when_tri t)
{
	char why[200];
	when_explain(oc, t, why, sizeof why);
	sb_add(b, "%s", why);
}

static void add_id_list(struct sbuf *b, const json_t *ids)
{
	for (size_t i = 0; i < json_array_size(ids); i++)
		sb_add(b, "%s%s", i ? ", " : "", json_string_value(json_array_get(ids, i)));
}

void policy_decide(const struct policy_set *ps, const char *principal, const char *user,
                   const char *tool, const json_t *args, struct policy_decision *out)
{
	struct sbuf reason = { .p = out->reason, .cap = sizeof out->reason };
	out->effect = POLICY_DENY;
	out->reason[0] = '\0';
	out->approvers = NULL;
	out->deadline_s = 0;
	out->privileges = 0;
	out->rules = json_array();
	json_t *permits = json_array();
	if (!out->rules || !permits) {
		sb_add(&reason, "out of memory while deciding");
		json_decref(permits);
		return;
	}
	if (!ps || !principal) {
		sb_add(&reason, "caller maps to no principal");
		json_decref(permits);
		return;
	}
	if (!tool)
		tool = "";

	json_t *forbids = out->rules;
	json_t *approves = json_array();
	const struct rule *first_approve = NULL;
	const struct rule *undecided_forbid = NULL;
	unsigned permit_privs = 0, approve_privs = 0;
	struct when_outcome forbid_oc = { 0 };
	char failed_buf[sizeof out->reason];
	struct sbuf failed = { .p = failed_buf, .cap = sizeof failed_buf };
	failed_buf[0] = '\0';
	bool oom = false;

	struct candidates it;
	cand_init(&it, ps, principal, tool);
	const struct rule *r;
	while ((r = cand_next(&it)) != NULL) {
		struct when_outcome oc = { 0 };
		if (r->needs_delegation && !user) {
			sb_add(&failed, "%srule %s requires a delegation token, and the call has none",
			       failed.len ? "; " : "", r->id);
			continue;
		}
		enum when_tri t = when_eval(&r->when, principal, user, args, &oc);
		if (r->forbid && t != WHEN_FALSE) {
			oom |= json_array_append_new(forbids, json_string(r->id)) != 0;
			if (t == WHEN_UNKNOWN && !undecided_forbid) {
				undecided_forbid = r;
				forbid_oc = oc;
			}
		} else if (r->approve && t == WHEN_TRUE) {
			oom |= !approves || json_array_append_new(approves, json_string(r->id)) != 0;
			if (!first_approve)
				first_approve = r;
			approve_privs |= r->privileges;
		} else if (!r->forbid && t == WHEN_TRUE) {
			oom |= json_array_append_new(permits, json_string(r->id)) != 0;
			permit_privs |= r->privileges;
		} else if (!r->forbid) {
			sb_add(&failed, "%srule %s: ", failed.len ? "; " : "", r->id);
			sb_explain(&failed, &oc, t);
		}
	}

	if (oom) {
		/* A lost forbid id could turn into a permit: fail closed. */
		json_array_clear(out->rules);
		sb_add(&reason, "out of memory while deciding");
	} else if (json_array_size(forbids)) {
		out->effect = POLICY_FORBID;
		sb_add(&reason, "forbidden by rule%s ", json_array_size(forbids) > 1 ? "s" : "");
		add_id_list(&reason, forbids);
		if (undecided_forbid) {
			sb_add(&reason, " (");
			if (json_array_size(forbids) > 1)
				sb_add(&reason, "rule %s: ", undecided_forbid->id);
			sb_explain(&reason, &forbid_oc, WHEN_UNKNOWN);
			sb_add(&reason, ", which a forbid rule treats as a match)");
		}
	} else if (json_array_size(permits)) {
		out->effect = POLICY_PERMIT;
		out->privileges = permit_privs;
		json_decref(out->rules);
		out->rules = permits;
		permits = NULL;
		sb_add(&reason, "permitted by rule%s ", json_array_size(out->rules) > 1 ? "s" : "");
		add_id_list(&reason, out->rules);
	} else if (first_approve) {
		/* No permit, but an approve rule: the call waits for a human. */
		out->effect = POLICY_APPROVE;
		out->privileges = approve_privs;
		json_decref(out->rules);
		out->rules = approves;
		approves = NULL;
		out->approvers = json_array();
		for (size_t j = 0; out->approvers && j < first_approve->napprovers; j++)
			json_array_append_new(out->approvers, json_string(first_approve->approvers[j]));
		out->deadline_s = first_approve->deadline_s;
		sb_add(&reason, "held for approval by ");
		for (size_t j = 0; j < first_approve->napprovers; j++)
			sb_add(&reason, "%s%s", j ? ", " : "", first_approve->approvers[j]);
		sb_add(&reason, " (rule %s)", first_approve->id);
	} else if (failed.len) {
		sb_add(&reason, "no rule permits %s to call %s with these arguments (%s)",
		       principal, tool, failed_buf);
	} else {
		sb_add(&reason, "no rule permits %s to call %s", principal, tool);
	}
	json_decref(permits);
	json_decref(approves);
}

void policy_decision_clear(struct policy_decision *d)
{
	if (!d)
		return;
	json_decref(d->rules);
	d->rules = NULL;
	json_decref(d->approvers);
	d->approvers = NULL;
	d->effect = POLICY_DENY;
	d->reason[0] = '\0';
}

bool policy_when_holds(const struct policy_when *w, const char *principal, const char *user,
                       const json_t *args, char *why, size_t whylen)
{
	struct when_outcome oc = { 0 };
	enum when_tri t = when_eval(w, principal, user, args, &oc);
	if (t == WHEN_TRUE)
		return true;
	if (why && whylen) {
		struct sbuf b = { .p = why, .cap = whylen, .len = 0, .full = false };
		why[0] = '\0';
		sb_explain(&b, &oc, t);
	}
	return false;
}

int policy_check_arguments(const struct policy_set *ps, const char *const *tools, size_t ntools,
                           bool (*has_arg)(void *ctx, size_t tool_index, const char *path),
                           void *ctx, struct tg_error *err)
{
	for (size_t i = 0; ps && i < ps->nrules; i++) {
		const struct rule *r = &ps->rules[i];
		for (size_t c = 0; c < r->when.nconds; c++) {
			const char *attr = when_args_attr(&r->when, c);
			if (!attr)
				continue;
			const char *path = attr + strlen("args.");
			for (size_t t = 0; t < ntools; t++) {
				if (!rule_names_tool(r, tools[t]) || has_arg(ctx, t, path))
					continue;
				return tg_err(err, "%s: rules[%zu].when.%s: tool %s has no argument \"%s\"",
				              r->file, r->index, attr, tools[t], path);
			}
		}
	}
	return 0;
}
