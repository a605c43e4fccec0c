/*
 * secrets.h: the values a tool's "secrets" map names, read from the config
 * dir's secrets/ when the configuration loads.
 *
 * A tool file says {"secrets": {"PAYMENTS_API_KEY": "payments-api-key"}}:
 * the variable PAYMENTS_API_KEY of that tool's child holds the content of
 * secrets/payments-api-key.  The values are read into the configuration
 * snapshot at load (and so at every reload), never when a call starts: a
 * running broker does not depend on files changing under it, and a bad file
 * is a configuration error, like any other, naming the tool file, the
 * variable and the secret file.
 *
 * A secret file is refused unless it is a regular file (opened without
 * following a symbolic link), owned by the user the broker runs as (its
 * euid), with no permission bits for group or others, at most
 * SECRET_VALUE_MAX bytes, and at least SECRET_VALUE_MIN bytes once one
 * trailing newline ("\n" or "\r\n") is stripped, without NUL bytes.  The
 * secrets/ directory must be a directory (not a link), owned by the broker's
 * user or root, and writable by nobody else.
 *
 * The values live in memory from sodium_malloc: guard pages, locked (never
 * swapped) where RLIMIT_MEMLOCK allows, excluded from core dumps
 * (MADV_DONTDUMP), and wiped when the snapshot is freed.  Nothing here ever
 * prints a value: errors name files and sizes only.
 */
#ifndef TOOLGATE_SECRETS_H
#define TOOLGATE_SECRETS_H

#include <stddef.h>
#include <jansson.h>
#include "error.h"
#include "redact.h"

#define SECRET_VALUE_MAX 4096
/* Shorter values would be redacted out of ordinary text ("[REDACTED:pin]"
   in place of every "1234"), garbling output and hinting at the value. */
#define SECRET_VALUE_MIN 8

struct secret {
	char *env;                    /* the variable, "PAYMENTS_API_KEY" */
	char *name;                   /* the file in secrets/, "payments-api-key" */
	char *kv;                     /* "PAYMENTS_API_KEY=<value>", locked memory */
	const unsigned char *value;   /* inside kv, after the '=' */
	size_t len;                   /* of the value */
};

struct secret_set {
	struct secret *v;
	size_t n;
	struct redact_pattern *patterns;   /* n of them: the values, for redact.h */
};

/*
 * Read the secrets that map (an object env var -> secret name, already
 * checked for shape by config.c) names, from secrets/ under config_dirfd.
 * `where` names the tool file in errors: "tools.d/pay.json: secrets.KEY:
 * secrets/payments-api-key: has mode 0644; ...".  NULL map: *out = NULL.
 */
int secrets_load(int config_dirfd, const char *where, const json_t *map,
                 struct secret_set **out, struct tg_error *err);

/* Wipe and free (NULL is fine). */
void secrets_free(struct secret_set *s);

/* Every string in v (values, at any depth, in place) with the secret
   values of ss replaced by their marker, as in a tool's output; a string
   whose replacement would not be UTF-8 becomes "[REDACTED]" whole. */
void secrets_redact_json(json_t *v, const struct secret_set *ss);

#endif
