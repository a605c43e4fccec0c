/*
 * micro.c: the in-process rows of `make bench`: what one delegation token
 * check and one policy decision cost, measured through the real library
 * (token_verify, policy_decide) on a realistic configuration that this
 * program writes into a temporary directory and removes again.
 *
 *   micro [--token-runs N] [--policy-runs N] [--max-seconds S]
 *       N timed calls per row (20,000 for the two token rows, 100,000 for
 *       the policy row), each row cut short after S seconds (default 6).
 *
 * Rows (stdout, one per line, laid out for bench/run.sh to print as is):
 *   token verification (full): token_verify + delegation_clear of a
 *     PASETO v4.public token with a realistic claim set, kid "idp", against
 *     a keyring of two issuer keys.  Goal: p50 under 150 us.
 *   Ed25519 verify alone: crypto_sign_verify_detached over exactly the
 *     bytes the token's signature covers (PAE of header, payload, footer),
 *     the floor that the row above cannot go below.
 *   policy decision: policy_decide + policy_decision_clear over a set of
 *     1,000 rules for 1,000 tools (900 exact names, 90 globs, 10 forbids),
 *     for a fixed pseudo-random mix of tools, users and arguments.
 *     Goal: p50 under 20 us, which needs rules indexed by tool.
 *
 * Each sample is one call between two CLOCK_MONOTONIC readings, after a
 * warm-up; the cost of a reading is measured and printed, and included in
 * the samples (it is tens of nanoseconds on a vDSO clock).  Every call's
 * result is checked: a token that fails to verify or a decision that
 * differs from what the configuration says is an error, and the program
 * exits 1 (a missed goal is reported, not an error).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "error.h"
#include "keys.h"
#include "paseto.h"
#include "policy.h"
#include "token.h"

#define BROKER_ID   "bench-broker"
#define PRINCIPAL   "support-bot"
#define ISSUER      "https://idp.example.com"
#define USER_OK     "alice@example.com"
#define USER_BAD    "mallory@example.com"
#define NTOOLS      1000
#define NEXACT      900   /* tool.0000 .. tool.0899 have a rule of their own */
#define NNS_GLOBS   80    /* ns00.* .. ns79.*; ns80 .. ns99 have no rule at all */
#define NTOOL_GLOBS 10    /* tool.090* .. tool.099* cover tool.0900 .. tool.0999 */
#define MIX_SIZE    4096  /* distinct calls, replayed in order */
#define TOKEN_GOAL_US  150.0
#define POLICY_GOAL_US 20.0
#define MAX_REPORTED_ERRORS 5

/* Tools with an exact forbid for USER_BAD; 901 sits under a glob permit. */
static const int forbidden_ids[8] = { 13, 137, 250, 421, 512, 666, 777, 901 };

static char tmpdir[256];
static unsigned long errors;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void report_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report_error(const char *fmt, ...)
{
	if (errors < MAX_REPORTED_ERRORS) {
		va_list ap;
		va_start(ap, fmt);
		fputs("micro: error: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		va_end(ap);
	} else if (errors == MAX_REPORTED_ERRORS) {
		fputs("micro: (further errors counted, not printed)\n", stderr);
	}
	errors++;
}

/* ---------------------------------------------------------------- samples */

struct samples {
	uint64_t *ns;   /* sorted once measured */
	size_t n;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile (per_mille of 1000) of a sorted sample, in microseconds. */
static double percentile_us(const struct samples *s, unsigned per_mille)
{
	size_t rank = (s->n * per_mille + 999) / 1000;
	if (rank < 1)
		rank = 1;
	return (double)s->ns[rank - 1] / 1000.0;
}

/* The cost of one clock reading, which every sample includes once. */
static uint64_t clock_read_ns(void)
{
	enum { N = 100000 };
	uint64_t t0 = now_ns(), t = t0;
	for (int i = 0; i < N; i++)
		t = now_ns();
	return (t - t0) / N;
}

/* ---------------------------------------------------------------- fixture */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static int make_dir(const char *rel, struct tg_error *err)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", tmpdir, rel);
	if (mkdir(path, 0755) < 0)
		return tg_err_errno(err, "mkdir %s", path);
	return 0;
}

static int write_text(const char *rel, const char *text, struct tg_error *err)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", tmpdir, rel);
	FILE *f = fopen(path, "w");
	if (!f)
		return tg_err_errno(err, "create %s", path);
	int bad = fputs(text, f) < 0;
	bad |= fclose(f) != 0;
	if (bad)
		return tg_err_errno(err, "write %s", path);
	return 0;
}

/* An issuer key pair: the public half as config/keys/issuers/KID.pem, the
   private one outside the config dir, as an issuer would keep it. */
static int put_issuer_key(const char *kid, struct ed25519_key *key, struct tg_error *err)
{
	char priv[512], pub[512];
	snprintf(priv, sizeof priv, "%s/%s.key", tmpdir, kid);
	snprintf(pub, sizeof pub, "%s/config/keys/issuers/%s.pem", tmpdir, kid);
	if (keys_generate(priv, pub, err) < 0 || keys_load_private(priv, key, err) < 0)
		return tg_err_prefix(err, "issuer key %s", kid);
	return 0;
}

static void rfc3339(int64_t t, char out[32])
{
	struct tm tm;
	time_t tt = (time_t)t;
	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---------------------------------------------------------------- tokens */

struct token_fixture {
	struct issuer_keyring kr;
	struct ed25519_key idp;
	char *token;
	int64_t now;
	/* What the signature covers, for the Ed25519-alone row. */
	unsigned char *signed_msg;
	size_t signed_len;
	unsigned char sig[crypto_sign_BYTES];
};

/* The claims an identity provider would put in a delegation for one support session. */
static char *token_payload(int64_t now)
{
	char iat[32], exp[32], jti[33];
	unsigned char rnd[16];
	rfc3339(now - 60, iat);
	rfc3339(now + 3600, exp);
	randombytes_buf(rnd, sizeof rnd);
	sodium_bin2hex(jti, sizeof jti, rnd, sizeof rnd);
	json_t *c = json_pack("{s:s, s:s, s:s, s:s, s:{s:{}, s:{}, s:{s:{s:i}}}, s:s, s:s, s:s, s:s}",
	                      "iss", ISSUER, "sub", USER_OK, "aud", BROKER_ID, "agent", PRINCIPAL,
	                      "tools", "kb.search", "ticket.*", "refund.issue", "args.amount_cents",
	                      "<=", 2000, "iat", iat, "nbf", iat, "exp", exp, "jti", jti);
	char *text = c ? json_dumps(c, JSON_COMPACT) : NULL;
	json_decref(c);
	return text;
}

static int token_setup(struct token_fixture *f, struct tg_error *err)
{
	static const char footer[] = "{\"kid\":\"idp\"}";
	struct ed25519_key ops;
	memset(f, 0, sizeof *f);
	f->now = (int64_t)time(NULL);
	if (make_dir("config/keys", err) < 0 || make_dir("config/keys/issuers", err) < 0 ||
	    put_issuer_key("idp", &f->idp, err) < 0 || put_issuer_key("ops", &ops, err) < 0 ||
	    write_text("config/keys/issuers/idp.json",
	               "{\"issuer\": \"" ISSUER "\", \"single_use\": true}\n", err) < 0)
		return -1;
	keys_wipe(&ops);
	char config[300];
	snprintf(config, sizeof config, "%s/config", tmpdir);
	if (issuers_load(config, &f->kr, err) < 0)
		return -1;
	if (f->kr.n != 2)
		return tg_err(err, "issuers_load found %zu keys, expected idp and ops", f->kr.n);

	char *payload = token_payload(f->now);
	if (!payload)
		return tg_err(err, "building the token's claims failed");
	f->token = paseto_v4_sign(f->idp.sk, payload, strlen(payload), footer, strlen(footer),
	                          NULL, 0, err);
	/* The exact bytes that paseto.h says the signature covers. */
	static const char header[] = "v4.public.";
	const void *pieces[4] = { header, payload, footer, "" };
	const size_t lens[4] = { strlen(header), strlen(payload), strlen(footer), 0 };
	f->signed_msg = paseto_pae(pieces, lens, 4, &f->signed_len);
	free(payload);
	if (!f->token)
		return -1;
	if (!f->signed_msg)
		return tg_err(err, "paseto_pae failed");
	crypto_sign_detached(f->sig, NULL, f->signed_msg, f->signed_len, f->idp.sk);
	return 0;
}

static void token_teardown(struct token_fixture *f)
{
	issuers_free(&f->kr);
	keys_wipe(&f->idp);
	free(f->token);
	free(f->signed_msg);
}

/* One verification as the broker does it; checks what it must have read. */
static bool token_one(void *arg)
{
	const struct token_fixture *f = arg;
	struct delegation d;
	struct tg_error err;
	if (token_verify(&f->kr, f->token, strlen(f->token), BROKER_ID, PRINCIPAL, f->now, 60, &d,
	                 &err) < 0) {
		report_error("token_verify refused the benchmark token: %s", err.msg);
		return false;
	}
	bool ok = d.nscope == 3 && strcmp(d.sub, USER_OK) == 0 && strcmp(d.kid, "idp") == 0;
	delegation_clear(&d);
	if (!ok)
		report_error("token_verify accepted the token but filled the wrong delegation");
	return ok;
}

static bool ed25519_one(void *arg)
{
	const struct token_fixture *f = arg;
	if (crypto_sign_verify_detached(f->sig, f->signed_msg, f->signed_len, f->idp.pk) != 0) {
		report_error("crypto_sign_verify_detached refused a signature it should accept");
		return false;
	}
	return true;
}

/*
 * Run one() warmup times untimed, then up to runs timed samples (fewer when
 * max_seconds pass first); failed calls are counted by one() and not timed.
 */
static int measure(bool (*one)(void *), void *arg, size_t warmup, size_t runs,
                   double max_seconds, struct samples *s)
{
	s->ns = calloc(runs, sizeof *s->ns);
	s->n = 0;
	if (!s->ns)
		return -1;
	for (size_t i = 0; i < warmup; i++)
		one(arg);
	uint64_t deadline = now_ns() + (uint64_t)(max_seconds * 1e9);
	for (size_t i = 0; i < runs; i++) {
		uint64_t t0 = now_ns();
		bool ok = one(arg);
		uint64_t t1 = now_ns();
		if (ok)
			s->ns[s->n++] = t1 - t0;
		if (t1 > deadline)
			break;
	}
	qsort(s->ns, s->n, sizeof *s->ns, cmp_u64);
	return 0;
}

/* ---------------------------------------------------------------- policy */

/* The rules, as a policy author with 1,000 tools would write them. */
static json_t *policy_document(void)
{
	json_t *rules = json_array(), *doc = NULL;
	char id[32], tool[32];
	if (!rules)
		return NULL;
	int bad = 0;
	for (int i = 0; i < NEXACT; i++) {
		snprintf(id, sizeof id, "p.%04d", i);
		snprintf(tool, sizeof tool, "tool.%04d", i);
		json_t *r = json_pack("{s:s, s:s, s:[s], s:[s]}", "id", id, "effect", "permit",
		                      "agents", PRINCIPAL, "tools", tool);
		/* A third unconditional, a third capped by amount, a third confined to /srv/. */
		if (r && i % 3 == 1)
			bad |= json_object_set_new(r, "when", json_pack("{s:{s:i}}", "args.amount", "<=", 5000));
		else if (r && i % 3 == 2)
			bad |= json_object_set_new(r, "when", json_pack("{s:{s:s}}", "args.path", "prefix", "/srv/"));
		bad |= json_array_append_new(rules, r);
	}
	for (int i = 0; i < NNS_GLOBS; i++) {
		snprintf(id, sizeof id, "g.ns%02d", i);
		snprintf(tool, sizeof tool, "ns%02d.*", i);
		bad |= json_array_append_new(rules, json_pack("{s:s, s:s, s:[s], s:[s]}", "id", id,
		                                              "effect", "permit", "agents", PRINCIPAL,
		                                              "tools", tool));
	}
	for (int i = 0; i < NTOOL_GLOBS; i++) {
		snprintf(id, sizeof id, "g.tool.09%d", i);
		snprintf(tool, sizeof tool, "tool.09%d*", i);
		bad |= json_array_append_new(rules, json_pack("{s:s, s:s, s:[s], s:[s]}", "id", id,
		                                              "effect", "permit", "agents", PRINCIPAL,
		                                              "tools", tool));
	}
	bad |= json_array_append_new(rules, json_pack("{s:s, s:s, s:[s], s:[s]}", "id", "f.delete",
	                                              "effect", "forbid", "agents", "*",
	                                              "tools", "*.delete"));
	bad |= json_array_append_new(rules, json_pack("{s:s, s:s, s:[s], s:[s]}", "id", "f.admin",
	                                              "effect", "forbid", "agents", "*",
	                                              "tools", "ns*.admin"));
	for (size_t i = 0; i < sizeof forbidden_ids / sizeof forbidden_ids[0]; i++) {
		snprintf(id, sizeof id, "f.tool.%04d", forbidden_ids[i]);
		snprintf(tool, sizeof tool, "tool.%04d", forbidden_ids[i]);
		bad |= json_array_append_new(rules, json_pack("{s:s, s:s, s:[s], s:[s], s:{s:{s:[s]}}}",
		                                              "id", id, "effect", "forbid", "agents", "*",
		                                              "tools", tool, "when", "user", "in", USER_BAD));
	}
	if (!bad && json_array_size(rules) == NEXACT + NNS_GLOBS + NTOOL_GLOBS + 10)
		doc = json_pack("{s:{s:{s:[i]}}, s:o}", "principals", PRINCIPAL, "uids", 4242,
		                "rules", rules);
	else
		json_decref(rules);
	return doc;
}

/* One call of the mix, with what the rules above must decide for it. */
struct call {
	char tool[32];
	const char *user;
	json_t *args;
	enum policy_effect expect;
	char rule[32];          /* the first id of the decision's rules, "" for a deny */
};

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t rnd(uint32_t n)
{
	/* xorshift64*: the mix is the same on every run and every machine. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1du) >> 32) % n;
}

static bool is_forbidden_id(int id)
{
	for (size_t i = 0; i < sizeof forbidden_ids / sizeof forbidden_ids[0]; i++)
		if (forbidden_ids[i] == id)
			return true;
	return false;
}

/* The expected outcome of a tool.NNNN call, worked out from the rules independently of policy.c. */
static void expect_tool_call(struct call *c, int id, json_int_t amount, const char *path)
{
	if (is_forbidden_id(id) && strcmp(c->user, USER_BAD) == 0) {
		c->expect = POLICY_FORBID;
		snprintf(c->rule, sizeof c->rule, "f.tool.%04d", id);
	} else if (id >= NEXACT) {
		c->expect = POLICY_PERMIT;
		snprintf(c->rule, sizeof c->rule, "g.tool.09%d", (id / 10) % 10);
	} else if (id % 3 == 0 || (id % 3 == 1 && amount <= 5000) ||
	           (id % 3 == 2 && strncmp(path, "/srv/", 5) == 0)) {
		c->expect = POLICY_PERMIT;
		snprintf(c->rule, sizeof c->rule, "p.%04d", id);
	} else {
		c->expect = POLICY_DENY;
	}
}

static int make_call(struct call *c)
{
	static const char *const verbs[] = { "read", "list", "write", "search" };
	uint32_t kind = rnd(100);
	memset(c, 0, sizeof *c);
	c->user = rnd(20) == 0 ? USER_BAD : USER_OK;
	if (kind < 80) {
		int id = (int)rnd(NTOOLS);
		json_int_t amount = 1 + rnd(8000);
		char path[64];
		snprintf(path, sizeof path, rnd(4) ? "/srv/data/%u.json" : "/tmp/%u.json", rnd(100000));
		snprintf(c->tool, sizeof c->tool, "tool.%04d", id);
		c->args = json_pack("{s:I, s:s, s:b}", "amount", amount, "path", path, "dry_run", (int)rnd(2));
		expect_tool_call(c, id, amount, path);
	} else {
		int ns = (int)rnd(100);
		bool forbidden = kind >= 95;
		const char *verb = forbidden ? (rnd(2) ? "delete" : "admin") : verbs[rnd(4)];
		snprintf(c->tool, sizeof c->tool, "ns%02d.%s", ns, verb);
		c->args = json_pack("{s:s, s:i}", "q", "refund status", "limit", 20);
		if (forbidden) {
			c->expect = POLICY_FORBID;
			snprintf(c->rule, sizeof c->rule, "%s", verb[0] == 'd' ? "f.delete" : "f.admin");
		} else if (ns < NNS_GLOBS) {
			c->expect = POLICY_PERMIT;
			snprintf(c->rule, sizeof c->rule, "g.ns%02d", ns);
		} else {
			c->expect = POLICY_DENY;
		}
	}
	return c->args ? 0 : -1;
}

struct policy_fixture {
	struct policy_set *ps;
	struct call *mix;
	size_t next;
};

static int policy_setup(struct policy_fixture *f, struct tg_error *err)
{
	memset(f, 0, sizeof *f);
	char dir[300], path[340];
	if (make_dir("config/policies", err) < 0)
		return -1;
	snprintf(dir, sizeof dir, "%s/config/policies", tmpdir);
	snprintf(path, sizeof path, "%s/bench.json", dir);
	json_t *doc = policy_document();
	if (!doc)
		return tg_err(err, "building the policy document failed");
	int rc = json_dump_file(doc, path, JSON_INDENT(1));
	json_decref(doc);
	if (rc != 0)
		return tg_err(err, "writing %s failed", path);
	if (!(f->ps = policy_load_dir(dir, "policies", err)))
		return -1;
	if (!(f->mix = calloc(MIX_SIZE, sizeof *f->mix)))
		return tg_err(err, "out of memory for the call mix");
	for (size_t i = 0; i < MIX_SIZE; i++)
		if (make_call(&f->mix[i]) < 0)
			return tg_err(err, "building call %zu of the mix failed", i);
	return 0;
}

static void policy_teardown(struct policy_fixture *f)
{
	for (size_t i = 0; f->mix && i < MIX_SIZE; i++)
		json_decref(f->mix[i].args);
	free(f->mix);
	policy_free(f->ps);
}

static bool decision_matches(const struct call *c, const struct policy_decision *d)
{
	const char *first = json_string_value(json_array_get(d->rules, 0));
	if (d->effect != c->expect)
		return false;
	return c->rule[0] ? first && strcmp(first, c->rule) == 0 : json_array_size(d->rules) == 0;
}

static const char *effect_name(enum policy_effect e)
{
	return e == POLICY_PERMIT ? "permit" : e == POLICY_FORBID ? "forbid" : "deny";
}

static bool policy_one(void *arg)
{
	struct policy_fixture *f = arg;
	const struct call *c = &f->mix[f->next++ % MIX_SIZE];
	struct policy_decision d;
	policy_decide(f->ps, PRINCIPAL, c->user, c->tool, c->args, &d);
	bool ok = decision_matches(c, &d);
	if (!ok)
		report_error("%s for %s: expected %s%s%s, got %s (%s)", c->tool, c->user,
		             effect_name(c->expect), c->rule[0] ? " by rule " : "", c->rule,
		             effect_name(d.effect), d.reason);
	policy_decision_clear(&d);
	return ok;
}

/* ---------------------------------------------------------------- main */

static int parse_count(const char *s, const char *what, size_t *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < 1 || v > 10000000) {
		fprintf(stderr, "micro: %s must be an integer from 1 to 10000000, got \"%s\"\n", what, s);
		return -1;
	}
	*out = v;
	return 0;
}

static void print_row(const char *label, const struct samples *s, const char *tail)
{
	if (s->n == 0) {
		printf("  %-32s no successful sample\n", label);
		return;
	}
	printf("  %-32s %7zu  p50 %8.2f us  p99 %8.2f us  %s\n", label, s->n,
	       percentile_us(s, 500), percentile_us(s, 990), tail);
}

static const char *verdict(const struct samples *s, double goal_us)
{
	if (s->n == 0)
		return "not measured";
	return percentile_us(s, 500) < goal_us ? "met" : "NOT met";
}

int main(int argc, char **argv)
{
	size_t token_runs = 20000, policy_runs = 100000;
	double max_seconds = 6;
	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc) {
			fprintf(stderr, "usage: micro [--token-runs N] [--policy-runs N] [--max-seconds S]\n");
			return 2;
		}
		const char *a = argv[i], *v = argv[++i];
		if (strcmp(a, "--token-runs") == 0) {
			if (parse_count(v, a, &token_runs) < 0)
				return 2;
		} else if (strcmp(a, "--policy-runs") == 0) {
			if (parse_count(v, a, &policy_runs) < 0)
				return 2;
		} else if (strcmp(a, "--max-seconds") == 0) {
			char *end;
			max_seconds = strtod(v, &end);
			if (end == v || *end || !(max_seconds > 0 && max_seconds <= 3600)) {
				fprintf(stderr, "micro: --max-seconds must be above 0 and at most 3600, got \"%s\"\n", v);
				return 2;
			}
		} else {
			fprintf(stderr, "usage: micro [--token-runs N] [--policy-runs N] [--max-seconds S]\n");
			return 2;
		}
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "micro: sodium_init failed\n");
		return 1;
	}
	const char *base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/toolgate-micro.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		fprintf(stderr, "micro: mkdtemp %s: %s\n", tmpdir, strerror(errno));
		return 1;
	}

	struct tg_error err;
	struct token_fixture tf = { 0 };
	struct policy_fixture pf = { 0 };
	struct samples tok = { 0 }, ed = { 0 }, pol = { 0 };
	int rc = 1;
	if (make_dir("config", &err) < 0 || token_setup(&tf, &err) < 0 ||
	    policy_setup(&pf, &err) < 0) {
		fprintf(stderr, "micro: setting up in %s: %s\n", tmpdir, err.msg);
		goto out;
	}
	/* Every call of the mix once, untimed: a wrong decision fails the row
	   even if a deadline cuts the timed part short. */
	for (size_t i = 0; i < MIX_SIZE; i++)
		policy_one(&pf);
	if (errors) {
		fprintf(stderr, "micro: the policy set decided %lu of %d calls wrongly\n", errors, MIX_SIZE);
		goto out;
	}

	uint64_t clock_ns = clock_read_ns();
	if (measure(token_one, &tf, 500, token_runs, max_seconds, &tok) < 0 ||
	    measure(ed25519_one, &tf, 500, token_runs, max_seconds, &ed) < 0 ||
	    measure(policy_one, &pf, 10000, policy_runs, max_seconds, &pol) < 0) {
		fprintf(stderr, "micro: out of memory for the samples\n");
		goto out;
	}

	unsigned long by_effect[3] = { 0 };
	for (size_t i = 0; i < MIX_SIZE; i++)
		by_effect[pf.mix[i].expect]++;
	char tail[160];
	printf("  %-32s %7s  (in process, one core; every sample includes one %llu ns clock reading)\n",
	       "micro-benchmarks", "runs", (unsigned long long)clock_ns);
	snprintf(tail, sizeof tail, "goal p50 < %.0f us: %s", TOKEN_GOAL_US, verdict(&tok, TOKEN_GOAL_US));
	print_row("token verification (full)", &tok, tail);
	snprintf(tail, sizeof tail, "the signature check within it (%zu-byte message)", tf.signed_len);
	print_row("Ed25519 verify alone", &ed, tail);
	snprintf(tail, sizeof tail, "goal p50 < %.0f us: %s", POLICY_GOAL_US, verdict(&pol, POLICY_GOAL_US));
	print_row("policy decision, 1,000 rules", &pol, tail);
	printf("  %-32s %.0f%% permit, %.0f%% forbid, %.0f%% deny; %d distinct calls, %d tools\n",
	       "  (the decisions' mix)", 100.0 * (double)by_effect[POLICY_PERMIT] / MIX_SIZE,
	       100.0 * (double)by_effect[POLICY_FORBID] / MIX_SIZE,
	       100.0 * (double)by_effect[POLICY_DENY] / MIX_SIZE, MIX_SIZE, NTOOLS);
	rc = errors ? 1 : 0;
out:
	policy_teardown(&pf);
	token_teardown(&tf);
	free(tok.ns);
	free(ed.ns);
	free(pol.ns);
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}
