/*
 * cli_token.c: `toolgate token mint` and `toolgate token verify` (see
 * cli_token.h), a thin layer over paseto.c and keys.c for issuers and for
 * whoever debugs a refused token.
 *
 * This is CLI code: it prints and returns exit codes, but never exits.
 * mint writes the claims that token.c will check (SPEC.md, "Delegation
 * tokens"), refusing up front what the broker would refuse later, so that a
 * typo shows at minting and not as a denied call.  verify checks the
 * signature only and says so: deciding whether a token is acceptable (time,
 * audience, agent, scope) is the broker's job alone, in token.c.  Claims
 * and footers come from whoever signed the token, so everything verify
 * prints as text goes through print_safe().
 */
#include "cli_token.h"
#include "cli_util.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "error.h"
#include "keys.h"
#include "paseto.h"
#include "token.h"

#define MAX_TTL_SECONDS (30 * 86400)
#define MAX_KID_LEN 128

static const char mint_usage[] =
	"usage: toolgate token mint --key ISSUER.key --sub USER --agent AGENT --aud BROKER_ID\n"
	"                           --ttl DURATION --tools SCOPE_JSON [--kid KID] [--iss ISSUER]\n"
	"                           [--jti JTI] [--nbf TIME]";
static const char mint_help[] =
	"Mint a PASETO v4.public delegation token signed with the issuer's Ed25519 key.\n"
	"  --sub USER        the user who delegates\n"
	"  --agent AGENT     the agent principal allowed to use the token\n"
	"  --aud BROKER_ID   the broker that must accept it (its --broker-id)\n"
	"  --ttl DURATION    lifetime from now: 90s, 15m, 2h, 1d or seconds (at most 30 days)\n"
	"  --tools JSON      the delegated scope, e.g. '{\"kb.*\": {}, \"refund.issue\":\n"
	"                    {\"args.amount_cents\": {\"<=\": 2000}}}'\n"
	"  --kid KID         put {\"kid\": KID} in the footer (the broker then uses only\n"
	"                    keys/issuers/KID.pem); also the default --iss\n"
	"  --iss ISSUER      the iss claim (default: the kid, else \"toolgate\")\n"
	"  --jti JTI         the token id (default: 128 random bits, hex)\n"
	"  --nbf TIME        not valid before this RFC 3339 time (default: now)\n"
	"The token and a newline go to stdout.";
static const char verify_usage[] = "usage: toolgate token verify TOKEN --key ISSUER.pub [--json]";
static const char verify_help[] =
	"Check a token's signature with an issuer's public key and print its claims and footer.\n"
	"This is a debugging aid: it does NOT check exp, nbf, aud, agent or the scope, which\n"
	"the broker checks on every call.  Exit 0: the signature is valid; 1: it is not.\n"
	"  --json   print the claims as JSON (exactly the signed object) on stdout and the\n"
	"           footer on stderr";

/* ------------------------------------------------------------------ time */

/* RFC 3339 UTC with seconds precision: the form token.c and the audit log use. */
static bool format_rfc3339(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	return gmtime_r(&tt, &tm) && strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) > 0;
}

/* "90s", "15m", "2h", "1d" or plain seconds; false when malformed or too big to add to now. */
static bool parse_duration(const char *s, int64_t *out)
{
	int64_t v = 0;
	const char *p = s;
	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (INT64_C(1) << 40))
			return false;
		v = v * 10 + (*p - '0');
	}
	int64_t unit = 1;
	if (*p != '\0') {
		switch (*p++) {
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		default: return false;
		}
		if (*p != '\0')
			return false;
	}
	*out = v * unit;
	return true;
}

/* ------------------------------------------------------------------- mint */

static bool has_control_char(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* A kid names keys/issuers/KID.pem, so it must be a plain file name. */
static bool kid_valid(const char *kid)
{
	size_t n = strlen(kid);
	if (n == 0 || n > MAX_KID_LEN || kid[0] == '.')
		return false;
	return strspn(kid, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/*
 * SCOPE_JSON as the `tools` claim: an object from tool name or pattern to
 * {} or an object of `when` conditions.  The conditions' grammar is the
 * broker's (policy.c); here only the shape is checked.
 */
static json_t *parse_scope(const char *text, char *why, size_t whylen)
{
	json_error_t jerr;
	json_t *scope = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (!scope) {
		snprintf(why, whylen, "not valid JSON: %s", jerr.text);
		return NULL;
	}
	if (!json_is_object(scope)) {
		snprintf(why, whylen, "must be a JSON object from tool name or pattern to {} or "
		         "conditions");
		json_decref(scope);
		return NULL;
	}
	if (json_object_size(scope) == 0) {
		snprintf(why, whylen, "the scope is empty: name at least one tool");
		json_decref(scope);
		return NULL;
	}
	const char *name;
	json_t *v;
	json_object_foreach(scope, name, v) {
		if (name[0] == '\0') {
			snprintf(why, whylen, "a tool name or pattern is empty");
			json_decref(scope);
			return NULL;
		}
		if (!json_is_object(v)) {
			snprintf(why, whylen, "\"%.64s\" must map to {} or an object of conditions", name);
			json_decref(scope);
			return NULL;
		}
	}
	return scope;
}

/* The options of mint, all strings, as the usage errors name them. */
struct mint_opt {
	const char *name;
	const char *metavar;
	const char **value;
	bool required;
	bool is_json;  /* JSON text may span lines; its parser judges it */
};

/* Claims are JSON strings, so an option that is not UTF-8 is a usage error. */
static bool utf8_text(const char *s)
{
	json_t *j = json_string(s);
	json_decref(j);
	return j != NULL;
}

int cli_token_mint(int argc, char **argv)
{
	static const char cmd[] = "toolgate token mint";
	struct {
		const char *key, *sub, *agent, *aud, *ttl, *tools, *kid, *iss, *jti, *nbf;
	} o = { 0 };
	const struct mint_opt table[] = {
		{ "--key",   "ISSUER.key", &o.key,   true,  false },
		{ "--sub",   "USER",       &o.sub,   true,  false },
		{ "--agent", "AGENT",      &o.agent, true,  false },
		{ "--aud",   "BROKER_ID",  &o.aud,   true,  false },
		{ "--ttl",   "DURATION",   &o.ttl,   true,  false },
		{ "--tools", "SCOPE_JSON", &o.tools, true,  true },
		{ "--kid",   "KID",        &o.kid,   false, false },
		{ "--iss",   "ISSUER",     &o.iss,   false, false },
		{ "--jti",   "JTI",        &o.jti,   false, false },
		{ "--nbf",   "TIME",       &o.nbf,   false, false },
	};
	const size_t ntable = sizeof table / sizeof *table;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *v = NULL;
		if (cli_is_help(arg)) {
			printf("%s\n%s\n", mint_usage, mint_help);
			return 0;
		}
		const struct mint_opt *e = NULL;
		int m = 0;
		for (size_t k = 0; k < ntable && m == 0; k++) {
			e = &table[k];
			m = cli_opt_value(argc, argv, &i, e->name, &v);
		}
		if (m == 0)
			return cli_usage_error(cmd, mint_usage, "%s %s", arg[0] == '-' ?
			                   "unknown option" : "unexpected argument", arg);
		if (m < 0)
			return cli_usage_error(cmd, mint_usage, "%s needs a value (%s)", e->name, e->metavar);
		if (*e->value)
			return cli_usage_error(cmd, mint_usage, "%s is given twice", e->name);
		if (v[0] == '\0')
			return cli_usage_error(cmd, mint_usage, "%s must not be empty", e->name);
		if (!e->is_json && has_control_char(v))
			return cli_usage_error(cmd, mint_usage, "%s must not contain control characters",
			                   e->name);
		if (!utf8_text(v))
			return cli_usage_error(cmd, mint_usage, "%s is not valid UTF-8", e->name);
		*e->value = v;
	}
	for (size_t k = 0; k < ntable; k++) {
		const struct mint_opt *e = &table[k];
		if (e->required && !*e->value)
			return cli_usage_error(cmd, mint_usage, "missing %s %s", e->name, e->metavar);
	}

	int64_t ttl;
	if (!parse_duration(o.ttl, &ttl))
		return cli_usage_error(cmd, mint_usage, "--ttl: \"%s\" is not a duration (90s, 15m, 2h, "
		                   "1d or seconds)", o.ttl);
	if (ttl <= 0)
		return cli_usage_error(cmd, mint_usage, "--ttl must be more than zero");
	if (ttl > MAX_TTL_SECONDS)
		return cli_usage_error(cmd, mint_usage, "--ttl: at most 30 days (%d seconds)",
		                   MAX_TTL_SECONDS);
	if (o.kid && !kid_valid(o.kid))
		return cli_usage_error(cmd, mint_usage, "--kid: \"%s\" is not a key file name (letters, "
		                   "digits, '.', '_', '-'; not starting with '.')", o.kid);

	int64_t now = (int64_t)time(NULL), nbf = now, exp = now + ttl;
	if (o.nbf) {
		if (rfc3339_parse(o.nbf, &nbf) != 0)
			return cli_usage_error(cmd, mint_usage, "--nbf: \"%s\" is not an RFC 3339 time "
			                   "(e.g. 2026-11-24T10:00:00Z)", o.nbf);
		if (nbf >= exp)
			return cli_usage_error(cmd, mint_usage, "--nbf is not before the expiry (now + "
			                   "--ttl): the token would never be valid");
	}
	char why[256];
	json_t *scope = parse_scope(o.tools, why, sizeof why);
	if (!scope)
		return cli_usage_error(cmd, mint_usage, "--tools: %s", why);

	char iat_s[32], nbf_s[32], exp_s[32], jti_hex[33];
	if (sodium_init() < 0) {
		json_decref(scope);
		fprintf(stderr, "%s: libsodium failed to initialise\n", cmd);
		return 1;
	}
	if (!o.jti) {
		unsigned char rnd[16];
		randombytes_buf(rnd, sizeof rnd);
		sodium_bin2hex(jti_hex, sizeof jti_hex, rnd, sizeof rnd);
		o.jti = jti_hex;
	}
	if (!format_rfc3339(now, iat_s) || !format_rfc3339(nbf, nbf_s) ||
	    !format_rfc3339(exp, exp_s)) {
		json_decref(scope);
		return cli_usage_error(cmd, mint_usage, "--nbf: the time is out of range");
	}

	const char *iss = o.iss ? o.iss : o.kid ? o.kid : "toolgate";
	/* The order a reader expects: who, for whom, what, when, which. */
	json_t *claims = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:s}", "iss", iss,
	                           "sub", o.sub, "aud", o.aud, "agent", o.agent, "tools", scope,
	                           "iat", iat_s, "nbf", nbf_s, "exp", exp_s, "jti", o.jti);
	char *payload = claims ? json_dumps(claims, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(claims);
	json_t *footer_obj = o.kid ? json_pack("{s:s}", "kid", o.kid) : NULL;
	char *footer = footer_obj ? json_dumps(footer_obj, JSON_COMPACT) : NULL;
	json_decref(footer_obj);
	if (!payload || (o.kid && !footer)) {
		free(payload);
		free(footer);
		fprintf(stderr, "%s: out of memory\n", cmd);
		return 1;
	}

	struct tg_error err;
	struct ed25519_key key;
	char *token = NULL;
	if (keys_load_private(o.key, &key, &err) == 0) {
		token = paseto_v4_sign(key.sk, payload, strlen(payload), footer,
		                       footer ? strlen(footer) : 0, NULL, 0, &err);
		keys_wipe(&key);
	}
	free(payload);
	free(footer);
	if (!token) {
		fprintf(stderr, "%s: %s\n", cmd, err.msg);
		return 1;
	}
	printf("%s\n", token);
	free(token);
	return 0;
}

/* ----------------------------------------------------------------- verify */

/*
 * Print signer-chosen text without letting it drive the terminal: C0, DEL
 * and C1 controls (and thus escape sequences) become \xNN.
 */
static void print_safe(FILE *f, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 &&
		    (unsigned char)s[i + 1] <= 0x9f) {
			fprintf(f, "\\xc2\\x%02x", (unsigned char)s[++i]);
		} else if (c < 0x20 || c == 0x7f || c == '\\') {
			fprintf(f, "\\x%02x", c);
		} else {
			fputc(c, f);
		}
	}
}

static int verify_fail(const char *cmd, const char *msg)
{
	fprintf(stderr, "%s: %s\n", cmd, msg);
	return 1;
}

static void print_footer(FILE *f, const char *footer, size_t len)
{
	fputs("footer: ", f);
	if (len == 0)
		fputs("(none)", f);
	else
		print_safe(f, footer, len);
	fputc('\n', f);
}

/*
 * --json: stdout is exactly the signed claims object, so that `jq` and
 * other PASETO tools can compare it; the footer, which is not a claim, goes
 * to stderr.  Otherwise one "claim: value" line each, then the footer.
 */
static int verify_print(bool json, const char *cmd, json_t *claims, const char *footer,
                        size_t footer_len)
{
	if (json) {
		char *text = json_dumps(claims, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (!text) {
			fprintf(stderr, "%s: out of memory\n", cmd);
			return 1;
		}
		printf("%s\n", text);
		free(text);
		print_footer(stderr, footer, footer_len);
		return 0;
	}
	const char *name;
	json_t *v;
	json_object_foreach(claims, name, v) {
		print_safe(stdout, name, strlen(name));
		fputs(": ", stdout);
		if (json_is_string(v)) {
			print_safe(stdout, json_string_value(v), json_string_length(v));
		} else {
			char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
			if (text)
				print_safe(stdout, text, strlen(text));
			free(text);
		}
		fputc('\n', stdout);
	}
	print_footer(stdout, footer, footer_len);
	return 0;
}

int cli_token_verify(int argc, char **argv)
{
	static const char cmd[] = "toolgate token verify";
	const char *token = NULL, *key = NULL;
	bool json = false, options_done = false;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		int m;
		if (!options_done && arg[0] == '-' && arg[1] != '\0') {
			if (strcmp(arg, "--") == 0) {
				options_done = true;
			} else if (cli_is_help(arg)) {
				printf("%s\n%s\n", verify_usage, verify_help);
				return 0;
			} else if (strcmp(arg, "--json") == 0) {
				json = true;
			} else if ((m = cli_opt_value(argc, argv, &i, "--key", &key)) != 0) {
				if (m < 0)
					return cli_usage_error(cmd, verify_usage, "--key needs a public key file");
			} else {
				return cli_usage_error(cmd, verify_usage, "unknown option %s", arg);
			}
			continue;
		}
		if (token)
			return cli_usage_error(cmd, verify_usage, "unexpected argument %s", arg);
		token = arg;
	}
	if (!token)
		return cli_usage_error(cmd, verify_usage, "missing TOKEN");
	if (!key)
		return cli_usage_error(cmd, verify_usage, "missing --key ISSUER.pub");

	struct tg_error err;
	unsigned char pk[KEYS_PUBLIC_BYTES];
	if (keys_load_public(key, pk, &err) < 0)
		return verify_fail(cmd, err.msg);

	char *payload, *footer;
	size_t payload_len, footer_len;
	if (paseto_v4_verify(token, strlen(token), pk, NULL, 0, &payload, &payload_len, &footer,
	                     &footer_len, &err) < 0)
		return verify_fail(cmd, err.msg);

	json_t *claims = json_loadb(payload, payload_len, JSON_REJECT_DUPLICATES, NULL);
	int rc;
	if (!json_is_object(claims))
		rc = verify_fail(cmd, "the signature is valid but the payload is not a JSON "
		                 "object of claims");
	else
		rc = verify_print(json, cmd, claims, footer, footer_len);
	json_decref(claims);
	free(payload);
	free(footer);
	return rc;
}
