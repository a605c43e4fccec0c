/*
 * config.h: the configuration snapshot (tools.d/, policies/, sandbox/).
 *
 * config_load() reads and validates everything under a config dir and returns
 * an immutable, reference-counted snapshot.  The daemon holds one current
 * snapshot; each call takes a reference for its lifetime, so a reload (swap
 * of the current pointer) never changes a running call's view.  Every error
 * names the file and field: "tools.d/kb.json: sandbox.limits.timeout_ms:
 * must be an integer between 1 and 86400000".
 */
#ifndef TOOLGATE_CONFIG_H
#define TOOLGATE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>
#include "error.h"
#include "fsview.h"
#include "token.h"

struct schema;
struct seccomp_program;
struct policy_set;
struct secret_set;

enum tool_effect { TOOL_EFFECT_READ, TOOL_EFFECT_WRITE };
enum tool_network { TOOL_NET_NONE, TOOL_NET_LOOPBACK, TOOL_NET_HOST };

struct tool_limits {
	uint64_t timeout_ms;     /* wall clock; default 30000 */
	uint64_t cpu_seconds;    /* RLIMIT_CPU; default 10 */
	uint64_t memory_mb;      /* RLIMIT_AS; default 512 */
	uint64_t processes;      /* RLIMIT_NPROC; default 32 */
	uint64_t open_files;     /* RLIMIT_NOFILE; default 64 */
	uint64_t file_size_mb;   /* RLIMIT_FSIZE; default 16 */
	uint64_t output_bytes;   /* captured stdout (and, separately, stderr); default 1 MiB */
};

struct tool {
	char *name;              /* ^[A-Za-z0-9_.-]{1,64}$, unique */
	char *file;              /* "tools.d/kb.json" as shown in errors */
	char *title;             /* may be NULL */
	char *description;       /* may be NULL */
	char **argv;             /* NULL-terminated; argv[0] resolved to an absolute path */
	bool script;             /* argv[0] starts with "#!" */
	bool has_sha256;
	unsigned char sha256[32];
	struct schema *input_schema;   /* always set (defaults to {"type":"object"}) */
	struct schema *output_schema;  /* NULL when not declared */
	enum tool_effect effect;
	const struct seccomp_program *profile;  /* owned by the snapshot's profile table */
	char *profile_name;
	enum tool_network network;
	char **read_paths;       /* NULL-terminated; the contract's default set when absent */
	char **write_paths;      /* NULL-terminated, possibly empty */
	struct fsview view;      /* the root the child builds from those paths */
	char *run_as;            /* user name; default "nobody" */
	uid_t uid;               /* resolved at load time */
	gid_t gid;
	bool run_as_root;        /* run_as is "root": only when the tool says so explicitly */
	bool dynamic_uid;        /* run_as "dynamic": uid/gid allocated per call (uid is -1 here) */
	struct tool_limits limits;
	char **env;              /* NULL-terminated "K=V" strings, from `env` */
	json_t *secrets;         /* object env var -> secret name; may be NULL */
	struct secret_set *secret_values;  /* their values, read at load (secrets.h); may be NULL */
	bool enabled;
	json_t *list_entry;      /* the ready-made tools/list entry (name, title, description,
	                            inputSchema, outputSchema?, annotations) */
};

struct config {
	int refs;
	char *dir;               /* absolute config dir */
	struct tool **tools;     /* sorted by name; enabled and disabled */
	size_t ntools;
	struct seccomp_program **profiles;  /* every profile in sandbox/, compiled */
	size_t nprofiles;
	struct policy_set *policy;
	struct issuer_keyring issuers;  /* keys/issuers/: who may sign delegation tokens */
	char digest[65];         /* hex SHA-256 over the files read, for the audit record */
	size_t nfiles;
};

/* Load and validate dir; NULL and err (naming file and field) on any problem. */
struct config *config_load(const char *dir, struct tg_error *err);

/* Find an enabled tool by exact name, or NULL. */
const struct tool *config_find_tool(const struct config *c, const char *name);

struct config *config_ref(struct config *c);
void config_unref(struct config *c);


#endif
