/*
 * replay.c: single-use jtis already used (see replay.h).
 */
#include "replay.h"
#include "audit_files.h"

#include <sys/stat.h>

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPLAY_LINE_MAX (4u * 1024 * 1024)
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

int replay_load_audit(struct replay_cache *rc, const char *log_path, int64_t now,
                      uint64_t *count, struct tg_error *err)
{
	*count = 0;
	struct stat st;
	if (stat(log_path, &st) != 0)
		return errno == ENOENT ? 0 : tg_err_errno(err, "%s", log_path);
	/* Every segment too: a token spent before a rotation stays spent. */
	struct audit_lines *l = audit_lines_open(log_path, err);
	if (!l)
		return -1;
	int rc_ = 0;
	for (;;) {
		char *line;
		size_t n;
		bool complete;
		int got = audit_lines_next(l, &line, &n, &complete, err);
		if (got < 0)
			rc_ = -1;
		if (got <= 0)
			break;
		/* Cheap filter first: most records carry no single-use token. */
		if (!memmem(line, n, "\"single_use\":true", sizeof "\"single_use\":true" - 1))
			continue;
		json_t *r = json_loadb(line, n, 0, NULL);
		const char *iss = json_string_value(json_object_get(r, "issuer"));
		const char *jti = json_string_value(json_object_get(r, "jti"));
		json_t *exp = json_object_get(r, "token_exp");
		if (iss && jti && json_is_integer(exp) && json_integer_value(exp) > now &&
		    json_is_true(json_object_get(r, "single_use"))) {
			if (replay_add(rc, iss, jti, json_integer_value(exp), now) != 0)
				rc_ = tg_err(err, "%s: out of memory", log_path);
			else
				(*count)++;
		}
		json_decref(r);
		if (rc_)
			break;
	}
	audit_lines_close(l);
	return rc_;
}

void replay_free(struct replay_cache *rc)
{
	if (!rc)
		return;
	json_decref(rc->seen);
	free(rc);
}
