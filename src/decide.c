/*
 * decide.c: the decision on one tools/call (see decide.h).
 */
#include "decide.h"
#include "config.h"
#include "policy.h"
#include "ratelimit.h"
#include "replay.h"
#include "schema.h"
#include "token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The audit members of a verified delegation, after the standard ones; the
   replay cache reads "issuer", "jti", "single_use" and "token_exp" back at
   start. */
static json_t *token_fields_of(const struct delegation *d)
{
	return json_pack("{s:s, s:s?, s:s?, s:b, s:I}", "issuer", d->iss, "kid", d->kid, "jti", d->jti,
	                 "single_use", d->single_use, "token_exp", (json_int_t)d->exp);
}

static void set(struct call_decision *out, const char *decision, const char *fmt, const char *arg)
{
	out->decision = decision;
	snprintf(out->reason, sizeof out->reason, fmt, arg);
}

void decide_call(const struct decide_input *in, struct call_decision *out)
{
	memset(out, 0, sizeof *out);
	out->rules = json_array();
	const struct tool *t = in->tool;

	/* 1. Arguments against the input schema, before anything else. */
	struct tg_error err;
	if (schema_validate(t->input_schema, in->args, &err) != 0) {
		set(out, "invalid", "invalid arguments: %.250s", err.msg);
		return;
	}

	/* The kill switch, over every rule: before the token, so that a call
	   refused here spends no single-use token. */
	if (in->disabled) {
		const char *why = json_string_value(json_object_get(in->disabled, "reason"));
		out->decision = "deny";
		snprintf(out->reason, sizeof out->reason, "%s is disabled by an administrator (%s, %s)%s%.150s",
		         t->name, json_string_value(json_object_get(in->disabled, "by")),
		         json_string_value(json_object_get(in->disabled, "at")), why && *why ? ": " : "",
		         why ? why : "");
		return;
	}

	/* 2. The delegation token: verified and bound to this broker and this
	   agent.  A token that does not verify is refused even where no rule
	   needs one: a bad token is a red flag, not an absent one. */
	struct delegation dg;
	memset(&dg, 0, sizeof dg);
	if (in->token) {
		if (token_verify(&in->cfg->issuers, in->token, strlen(in->token), in->broker_id,
		                 in->principal, in->now, in->skew, &dg, &err) != 0) {
			set(out, "deny", "delegation token refused: %.250s", err.msg);
			return;
		}
		out->user = strdup(dg.sub);
		out->token_fields = token_fields_of(&dg);
		if (dg.single_use && in->replay) {
			if (replay_seen(in->replay, dg.iss, dg.jti, in->now)) {
				set(out, "deny", "%s", "delegation token refused: it is single-use and was "
				    "already used (jti replayed)");
				delegation_clear(&dg);
				return;
			}
			/* Spent by this presentation, whatever the decision: the
			   decision record the caller writes makes that durable. */
			if (replay_add(in->replay, dg.iss, dg.jti, dg.exp, in->now) != 0) {
				set(out, "deny", "%s", "delegation token refused: out of memory for the replay cache");
				delegation_clear(&dg);
				return;
			}
		}
	}

	/* 3. The policy, with the token's user; then the token's scope. */
	struct policy_decision d;
	memset(&d, 0, sizeof d);
	policy_decide(in->cfg->policy, in->principal, out->user, t->name, in->args, &d);
	json_decref(out->rules);
	out->rules = d.rules;
	d.rules = NULL;
	snprintf(out->reason, sizeof out->reason, "%s", d.reason);
	out->decision = d.effect == POLICY_PERMIT ? "permit" : d.effect == POLICY_FORBID ? "forbid" :
	                d.effect == POLICY_APPROVE ? "held" : "deny";
	if (d.effect == POLICY_APPROVE) {
		out->approvers = d.approvers;
		d.approvers = NULL;
		out->deadline_s = d.deadline_s;
	}
	if ((d.effect == POLICY_PERMIT || d.effect == POLICY_APPROVE) && out->user) {
		char why[200];
		if (!delegation_covers(&dg, t->name, in->args, why, sizeof why)) {
			out->decision = "deny";
			snprintf(out->reason, sizeof out->reason, "the delegation does not cover this call: %s", why);
			json_array_clear(out->rules);
			json_decref(out->approvers);
			out->approvers = NULL;
		}
	}
	/* A tool that asks for root or the host's network gets it only when the
	   rules that let this call run grant it too. */
	bool runs = d.effect == POLICY_PERMIT || d.effect == POLICY_APPROVE;
	const char *missing = !runs ? NULL :
	                      t->run_as_root && !(d.privileges & POLICY_PRIV_ROOT) ? "root" :
	                      t->network == TOOL_NET_HOST && !(d.privileges & POLICY_PRIV_HOST_NETWORK)
	                      ? "host_network" : NULL;
	if (missing && strcmp(out->decision, "deny") != 0) {
		out->decision = "deny";
		snprintf(out->reason, sizeof out->reason, "%s runs %s, and no rule that lets this call run "
		         "grants \"%s\" in its privileges", t->name,
		         strcmp(missing, "root") == 0 ? "as root" : "on the host's network", missing);
		json_array_clear(out->rules);
		json_decref(out->approvers);
		out->approvers = NULL;
	}
	if (!in->principal)
		snprintf(out->reason, sizeof out->reason, "the caller (uid %u, gid %u) maps to no principal",
		         (unsigned)in->uid, (unsigned)in->gid);

	/* 4. Rate limits count only calls that would run or wait for an approver. */
	bool goes_on = strcmp(out->decision, "permit") == 0 || strcmp(out->decision, "held") == 0;
	char why[300];
	if (goes_on && in->ratelimit &&
	    !ratelimit_take(in->ratelimit, in->cfg->policy, in->principal, out->user, t->name,
	                    in->now_ms, why, sizeof why, &out->retry_after_ms)) {
		out->decision = "rate_limited";
		snprintf(out->reason, sizeof out->reason, "%s", why);
		json_decref(out->approvers);
		out->approvers = NULL;
	}
	policy_decision_clear(&d);
	delegation_clear(&dg);
}

void call_decision_clear(struct call_decision *d)
{
	json_decref(d->rules);
	json_decref(d->token_fields);
	json_decref(d->approvers);
	free(d->user);
	memset(d, 0, sizeof *d);
}
