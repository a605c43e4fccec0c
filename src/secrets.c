/*
 * secrets.c: reads the secret values a tool names into locked memory (see
 * secrets.h for the rules a file must meet and why they are checked at load).
 *
 * config.c calls secrets_load() for each tool with a "secrets" map, after it
 * has checked the map's shape; the set belongs to the tool, so to the
 * snapshot, and is wiped with it.  sandbox.c puts each "ENV=value" string in
 * that tool's child's environment, and call.c redacts the values from what
 * the tool writes (redact.h).
 */
#include "secrets.h"
#include "schema.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void secrets_free(struct secret_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].env);
		free(s->v[i].name);
		if (s->v[i].kv)
			sodium_free(s->v[i].kv);   /* wipes before unmapping */
	}
	free(s->v);
	free(s->patterns);
	free(s);
}

/* secrets/ itself: a real directory that nobody but its owner (the broker's
   user, or root) can change, or a secret could be swapped under it. */
static int open_secrets_dir(int config_dirfd, const char *where, struct tg_error *err)
{
	int fd = openat(config_dirfd, "secrets", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP || errno == ENOTDIR) {
			struct stat st;
			if (fstatat(config_dirfd, "secrets", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISLNK(st.st_mode))
				return tg_err(err, "secrets: is a symbolic link; it must be a directory (needed by %s)",
				              where);
			return tg_err(err, "secrets: is not a directory (needed by %s)", where);
		}
		return tg_err_errno(err, "secrets (needed by %s)", where);
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		tg_err_errno(err, "secrets: fstat");
		close(fd);
		return -1;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		tg_err(err, "secrets: is owned by uid %u; it must be owned by uid %u (the user the broker "
		       "runs as) or root", (unsigned)st.st_uid, (unsigned)geteuid());
		close(fd);
		return -1;
	}
	if (st.st_mode & 022) {
		tg_err(err, "secrets: has mode %04o; group and others must not be able to write to it "
		       "(chmod 700 secrets)", (unsigned)(st.st_mode & 07777));
		close(fd);
		return -1;
	}
	return fd;
}

/* One file, checked and read into locked memory as "ENV=value". */
static int load_one(int dirfd, const char *where, const char *env, const char *name,
                    struct secret *out, struct tg_error *err)
{
	char what[300];
	snprintf(what, sizeof what, "%s: secrets.%s: secrets/%s", where, env, name);
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP)
			return tg_err(err, "%s: is a symbolic link; a secret must be a regular file", what);
		return tg_err_errno(err, "%s", what);
	}
	struct stat st;
	int rc = -1;
	char *kv = NULL;
	if (fstat(fd, &st) != 0) {
		tg_err_errno(err, "%s: fstat", what);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		tg_err(err, "%s: is not a regular file", what);
		goto out;
	}
	if (st.st_uid != geteuid()) {
		tg_err(err, "%s: is owned by uid %u; it must be owned by uid %u, the user the broker runs as",
		       what, (unsigned)st.st_uid, (unsigned)geteuid());
		goto out;
	}
	if (st.st_mode & 077) {
		tg_err(err, "%s: has mode %04o; group and others must have no access (chmod 600)",
		       what, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_size > SECRET_VALUE_MAX + 2) {
		tg_err(err, "%s: is %lld bytes; a secret may be at most %d", what, (long long)st.st_size,
		       SECRET_VALUE_MAX);
		goto out;
	}
	/* Read straight into the locked buffer: the value never sits in
	   ordinary heap memory.  One byte of room beyond the limit tells a
	   file that grew since fstat. */
	size_t envlen = strlen(env);
	size_t room = SECRET_VALUE_MAX + 3;
	kv = sodium_malloc(envlen + 1 + room + 1);
	if (!kv) {
		tg_err(err, "%s: out of memory", what);
		goto out;
	}
	memcpy(kv, env, envlen);
	kv[envlen] = '=';
	char *val = kv + envlen + 1;
	size_t n = 0;
	while (n < room) {
		ssize_t r = read(fd, val + n, room - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			tg_err_errno(err, "%s: read", what);
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n >= 2 && val[n - 2] == '\r' && val[n - 1] == '\n')
		n -= 2;
	else if (n >= 1 && val[n - 1] == '\n')
		n -= 1;
	if (n > SECRET_VALUE_MAX) {
		tg_err(err, "%s: is more than %d bytes; a secret may be at most %d", what, SECRET_VALUE_MAX,
		       SECRET_VALUE_MAX);
		goto out;
	}
	if (n < SECRET_VALUE_MIN) {
		tg_err(err, "%s: holds %zu bytes (without its trailing newline); a secret needs at least %d, "
		       "so that redacting it cannot garble ordinary output", what, n, SECRET_VALUE_MIN);
		goto out;
	}
	if (memchr(val, '\0', n)) {
		tg_err(err, "%s: contains a NUL byte, which no environment variable can hold", what);
		goto out;
	}
	sodium_memzero(val + n, room + 1 - n);
	out->env = strdup(env);
	out->name = strdup(name);
	if (!out->env || !out->name) {
		tg_err(err, "%s: out of memory", what);
		goto out;
	}
	out->kv = kv;
	out->value = (const unsigned char *)val;
	out->len = n;
	kv = NULL;
	rc = 0;
out:
	if (kv)
		sodium_free(kv);
	close(fd);
	return rc;
}

int secrets_load(int config_dirfd, const char *where, const json_t *map,
                 struct secret_set **out, struct tg_error *err)
{
	*out = NULL;
	if (!map || json_object_size(map) == 0)
		return 0;
	if (sodium_init() < 0)
		return tg_err(err, "%s: secrets: libsodium cannot be initialised", where);
	int dirfd = open_secrets_dir(config_dirfd, where, err);
	if (dirfd < 0)
		return -1;
	struct secret_set *s = calloc(1, sizeof *s);
	if (s) {
		s->v = calloc(json_object_size(map), sizeof *s->v);
		s->patterns = calloc(json_object_size(map), sizeof *s->patterns);
	}
	if (!s || !s->v || !s->patterns) {
		if (s) {
			free(s->v);
			free(s->patterns);
		}
		free(s);
		close(dirfd);
		return tg_err(err, "%s: secrets: out of memory", where);
	}
	const char *env;
	json_t *v;
	json_object_foreach((json_t *)map, env, v) {
		if (load_one(dirfd, where, env, json_string_value(v), &s->v[s->n], err) != 0) {
			/* load_one leaves nothing allocated in a slot it fails on, but
			   it may have set env or name before failing on the other. */
			free(s->v[s->n].env);
			free(s->v[s->n].name);
			s->v[s->n].env = s->v[s->n].name = NULL;
			secrets_free(s);
			close(dirfd);
			return -1;
		}
		s->patterns[s->n] = (struct redact_pattern){ s->v[s->n].value, s->v[s->n].len, s->v[s->n].name };
		s->n++;
	}
	close(dirfd);
	*out = s;
	return 0;
}

/* ---- redacting JSON (secrets.h) ---- */

/* A secret that is not itself UTF-8 could have cut a character: then the
   whole string goes. */
static json_t *redacted_string(const char *r, size_t n)
{
	json_t *j = json_stringn(r, n);
	return j ? j : json_string(SCHEMA_REDACTED);
}

/* The string m with the tool's secret values replaced, or NULL when it
   holds none. */
static json_t *redacted_copy(const json_t *m, const struct secret_set *ss)
{
	size_t n;
	json_t *out = NULL;
	char *r = redact_buffer(ss->patterns, ss->n, json_string_value(m), json_string_length(m), &n);
	if (r && (n != json_string_length(m) || memcmp(r, json_string_value(m), n) != 0))
		out = redacted_string(r, n);
	free(r);
	return out;
}

void secrets_redact_json(json_t *v, const struct secret_set *ss)
{
	const char *key;
	size_t i;
	json_t *m, *r;
	if (json_is_object(v)) {
		json_object_foreach(v, key, m) {
			if (!json_is_string(m))
				secrets_redact_json(m, ss);
			else if ((r = redacted_copy(m, ss)) != NULL)
				json_object_set_new(v, key, r);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, m) {
			if (!json_is_string(m))
				secrets_redact_json(m, ss);
			else if ((r = redacted_copy(m, ss)) != NULL)
				json_array_set_new(v, i, r);
		}
	}
}
