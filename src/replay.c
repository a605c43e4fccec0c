/*
 * replay.c: single-use jtis already used (see replay.h).
 */
#include "replay.h"
#include "audit_files.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRUNE_EVERY 1024

struct replay_cache {
	json_t *seen;       /* "issuer\njti" -> exp (integer) */
	unsigned adds;
};

struct replay_cache *replay_new(void)
{
	struct replay_cache *rc = calloc(1, sizeof *rc);
	if (rc && !(rc->seen = json_object())) {
		free(rc);
		rc = NULL;
	}
	return rc;
}

static char *key_of(const char *issuer, const char *jti)
{
	char *k;
	return asprintf(&k, "%s\n%s", issuer, jti) < 0 ? NULL : k;
}

bool replay_seen(struct replay_cache *rc, const char *issuer, const char *jti, int64_t now)
{
	char *k = key_of(issuer, jti);
	if (!k)
		return true; /* cannot tell: fail closed */
	json_t *v = json_object_get(rc->seen, k);
	free(k);
	return v && json_integer_value(v) > now;
}

static void prune(struct replay_cache *rc, int64_t now)
{
	const char *k;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(rc->seen, tmp, k, v)
		if (json_integer_value(v) <= now)
			json_object_del(rc->seen, k);
}

int replay_add(struct replay_cache *rc, const char *issuer, const char *jti, int64_t exp, int64_t now)
{
	if (++rc->adds % PRUNE_EVERY == 0)
		prune(rc, now);
	char *k = key_of(issuer, jti);
	if (!k)
		return -1;
	int r = json_object_set_new(rc->seen, k, json_integer(exp));
	free(k);
	return r;
}

struct load {
	struct replay_cache *rc;
	int64_t now;
	uint64_t count;
};

static int load_one(json_t *r, void *arg, struct tg_error *err)
{
	struct load *ld = arg;
	const char *iss = json_string_value(json_object_get(r, "issuer"));
	const char *jti = json_string_value(json_object_get(r, "jti"));
	json_t *exp = json_object_get(r, "token_exp");
	if (!iss || !jti || !json_is_integer(exp) || json_integer_value(exp) <= ld->now ||
	    !json_is_true(json_object_get(r, "single_use")))
		return 0;
	if (replay_add(ld->rc, iss, jti, json_integer_value(exp), ld->now) != 0)
		return tg_err(err, "out of memory");
	ld->count++;
	return 0;
}

int replay_load_audit(struct replay_cache *rc, const char *log_path, int64_t now,
                      uint64_t *count, struct tg_error *err)
{
	/* Every segment too: a token spent before a rotation stays spent.  The
	   filter skips the records that carry no single-use token. */
	struct load ld = { rc, now, 0 };
	int r = audit_scan(log_path, "\"single_use\":true", load_one, &ld, err);
	*count = ld.count;
	return r;
}

void replay_free(struct replay_cache *rc)
{
	if (!rc)
		return;
	json_decref(rc->seen);
	free(rc);
}
