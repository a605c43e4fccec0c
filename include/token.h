/*
 * token.h: delegation tokens, verified and bound to one call.
 *
 * A token says: user `sub`, through agent `agent`, delegates the tools in
 * `tools` (names or patterns, each with optional extra `when` conditions) to
 * broker `aud`, from `nbf` to `exp`.  Issuers' public keys are PEM files in
 * the config dir's keys/issuers/; a key's kid is its file name without .pem.
 * An optional KID.json beside it says {"issuer": "<the iss claim it signs
 * for>" (default: the kid), "single_use": true|false (default false: when
 * true, each jti is accepted once within its lifetime)}.
 *
 * token_verify() is the one place a token is parsed: size limits first, then
 * the footer's kid (unverified, only to choose the key), the signature, and
 * then the claims, each refusal naming its cause for the audit log and the
 * agent: "the token has expired (exp 2026-11-24T10:00:00Z)", "the token is
 * for broker other-broker, not this one", "the token was issued to agent X,
 * not support-bot", "unknown key id \"k9\"", "the signature does not
 * verify", "the token's jti was already used" (the replay check is the
 * caller's, see replay.h), ...
 */
#ifndef TOOLGATE_TOKEN_H
#define TOOLGATE_TOKEN_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include "error.h"

struct policy_when;

struct issuer_key {
	char *kid;
	char *issuer;            /* the iss claim this key signs for */
	bool single_use;
	unsigned char pk[32];
};

struct issuer_keyring {
	struct issuer_key *keys; /* sorted by kid */
	size_t n;
};

/* Load keys/issuers/ of a config dir (a missing directory is an empty
   keyring).  Errors name the file: "keys/issuers/idp.pem: not an Ed25519
   public key". */
int issuers_load(const char *config_dir, struct issuer_keyring *kr, struct tg_error *err);
void issuers_free(struct issuer_keyring *kr);

/* One scope entry of the token's `tools`. */
struct scope_entry {
	char *pattern;              /* tool name or glob */
	struct policy_when *when;   /* NULL when {} */
};

struct delegation {
	char *sub, *iss, *jti, *kid, *agent, *aud;
	int64_t iat, nbf, exp;      /* seconds since the epoch */
	bool single_use;
	struct scope_entry *scope;
	size_t nscope;
};

/*
 * Verify token for a call by principal to broker broker_id at time now
 * (seconds), allowing skew seconds of clock difference on nbf and exp.
 * A token without a kid is tried against every key (at most 16; more is an
 * error asking for a kid).  0 and *out filled, or -1 and err.
 */
int token_verify(const struct issuer_keyring *kr, const char *token, size_t len,
                 const char *broker_id, const char *principal, int64_t now, int64_t skew,
                 struct delegation *out, struct tg_error *err);

/*
 * Does the delegation cover this call?  True when some scope entry's
 * pattern matches the tool and its conditions hold (a missing attribute or
 * a type mismatch does not hold: a scope only narrows).  When false, why
 * says so: "the user delegated refund.issue only where args.amount_cents <=
 * 2000" or "the user did not delegate ticket.create".
 */
bool delegation_covers(const struct delegation *d, const char *tool, const json_t *args,
                       char *why, size_t whylen);

void delegation_clear(struct delegation *d);

/* RFC 3339 (UTC "Z" or a numeric offset, optional fraction) to epoch
   seconds; 0 or -1. */
int rfc3339_parse(const char *s, int64_t *out);

#endif
