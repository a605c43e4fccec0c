/*
 * config.c: loads a config dir (sandbox/, tools.d/, policies/) into one
 * immutable, reference-counted snapshot (struct config, see config.h).
 *
 * This is the one place that parses tool files (tools.d/NAME.json).
 * Everything a tool file says is checked here, at load, so that a running
 * call never meets a configuration problem: unknown keys, names, the
 * command binary (exists, executable, optional SHA-256 pin), schemas
 * (compiled by schema.c), the sandbox block (profile, network, paths, user,
 * limits), env and secrets.
 * Seccomp profiles are compiled by seccomp_profile.c and policies loaded by
 * policy.c; this file decides the order and owns the resulting snapshot.
 *
 * Load order: sandbox/ first (tools refer to profiles by name), then tools.d/,
 * then policies/.  Every file is read once through fileio_read_at(): regular
 * files only, never through a symlink, at most CONFIG_FILE_MAX bytes, and the
 * bytes that were parsed are the bytes that go into the snapshot's digest.
 * Error messages name files relative to the config dir ("tools.d/kb.json"),
 * the way an operator sees them in the repository or in /etc/toolgate.
 *
 * Choices made here, where SPEC.md leaves room:
 * - sandbox/, tools.d/ and policies/ must all exist (an empty one is fine):
 *   a missing directory is far more often a wrong --config-dir than intent.
 * - tools.d/NAME.json holds the tool called NAME, exactly (like systemd
 *   units), so a tool is found by its file and two files cannot both
 *   define it.
 * - A tool runs as root only with "run_as" naming a uid-0 user AND
 *   "sandbox.allow_root": true.  TMPDIR and HOME are the broker's (the
 *   call's scratch dir); PATH defaults to DEFAULT_PATH.
 * - input_schema and output_schema must have "type": "object" at the root,
 *   as MCP requires of inputSchema and of structuredContent.
 * - The digest covers every file read, policies included: policy.c parses
 *   its own files, so they are read a second time here for the digest.
 */
#include "config.h"
#include "fileio.h"
#include "policy.h"
#include "schema.h"
#include "seccomp_profile.h"
#include "secrets.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#define CONFIG_FILE_MAX      (1024 * 1024)
/* Far more than any real deployment; bounds memory and load time. */
#define CONFIG_DIR_MAX_FILES 4096
/* jansson's own limit (2048) guards its parser; this one is ours, applied
   before any module walks the tree recursively. */
#define CONFIG_JSON_MAX_DEPTH 64
#define CONFIG_PATHS_MAX     256

#define TOOL_NAME_MAX    64
#define PROFILE_NAME_MAX 64
#define SECRET_NAME_MAX  128

static const char *const default_read_paths[] = {
	"/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin", "/etc/ld.so.cache", NULL,
};

/* Used when a tool's env does not set PATH: the tool still finds /usr/bin. */
#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

static const struct tool_limits default_limits = {
	.timeout_ms = 30000, .cpu_seconds = 10, .memory_mb = 512, .processes = 32,
	.open_files = 64, .file_size_mb = 16, .output_bytes = 1024 * 1024,
};

/* The load in progress: what every step needs, in one place. */
struct loader {
	struct config *c;
	int rootfd;             /* the config dir, O_DIRECTORY */
	EVP_MD_CTX *digest;     /* over every file read, in order */
	size_t tools_cap, profiles_cap;
	struct tg_error *err;
};

/* ---- small helpers ---------------------------------------------------- */

/*
 * Render untrusted text for an error message: quoted, control bytes and
 * quotes escaped, long values cut, so a hostile name cannot forge log lines.
 */
#define QUOTE_MAX 96
static const char *quote(const char *s, char *buf)
{
	size_t o = 0;
	buf[o++] = '"';
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (o > QUOTE_MAX - 9) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (ch == '"' || ch == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)ch;
		} else if (ch < 0x20 || ch == 0x7f) {
			o += (size_t)snprintf(buf + o, 5, "\\x%02x", ch);
		} else {
			buf[o++] = (char)ch;
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

static bool str_has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static bool name_chars_ok(const char *s, size_t max, const char *extra)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      (ch && strchr(extra, ch))))
			return false;
	}
	return true;
}

/* ^[A-Za-z_][A-Za-z0-9_]*$ */
static bool env_name_ok(const char *s)
{
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
		return false;
	return name_chars_ok(s, 1024, "_");
}

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hex_value(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

/* A NULL-terminated string vector that grows; NULL on out of memory. */
static char **strv_push(char **v, size_t *n, char *s)
{
	char **nv = realloc(v, (*n + 2) * sizeof *nv);
	if (!nv)
		return NULL;
	nv[(*n)++] = s;
	nv[*n] = NULL;
	return nv;
}

/* True when containers nest more than `budget` levels deep. */
static int json_depth_exceeds(const json_t *j, int budget)
{
	if ((json_is_object(j) || json_is_array(j)) && budget-- == 0)
		return 1;
	if (json_is_object(j)) {
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)j, k, v)
			if (json_depth_exceeds(v, budget))
				return 1;
	} else if (json_is_array(j)) {
		size_t i;
		json_t *v;
		json_array_foreach(j, i, v)
			if (json_depth_exceeds(v, budget))
				return 1;
	}
	return 0;
}

/* ---- reading files ---------------------------------------------------- */

/*
 * Read dirfd/path whole.  O_NOFOLLOW refuses a symlink as the last component
 * (a planted link to /etc/shadow must not become "config"); O_NONBLOCK keeps
 * a FIFO from hanging the loader before fstat rejects it.
 */

/* Read, add to the digest, and parse one config file into a JSON object. */
static json_t *load_json_file(struct loader *ld, int dirfd, const char *name, const char *display)
{
	char *buf;
	size_t len;
	if (fileio_read_at(dirfd, name, display, CONFIG_FILE_MAX, &buf, &len, ld->err) < 0)
		return NULL;
	if (EVP_DigestUpdate(ld->digest, display, strlen(display) + 1) != 1 ||
	    EVP_DigestUpdate(ld->digest, buf, len) != 1) {
		free(buf);
		tg_err(ld->err, "%s: SHA-256 digest failed", display);
		return NULL;
	}
	ld->c->nfiles++;

	json_error_t jerr;
	json_t *doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	free(buf);
	if (!doc) {
		tg_err(ld->err, "%s:%d:%d: %s", display, jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		tg_err(ld->err, "%s: must be a JSON object", display);
		return NULL;
	}
	if (json_depth_exceeds(doc, CONFIG_JSON_MAX_DEPTH)) {
		json_decref(doc);
		tg_err(ld->err, "%s: nested deeper than %d levels", display, CONFIG_JSON_MAX_DEPTH);
		return NULL;
	}
	return doc;
}

/* ---- directory listing ------------------------------------------------ */

struct name_list {
	char **names;   /* sorted; NULL-terminated */
	size_t n;
	int dirfd;      /* owned by dir */
	DIR *dir;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void name_list_free(struct name_list *l)
{
	strv_free(l->names);
	if (l->dir)
		closedir(l->dir);
	memset(l, 0, sizeof *l);
}

/*
 * The *.json files of a config subdirectory, sorted by name (so the load
 * order, and therefore the digest and the first error reported, does not
 * depend on the file system).  Hidden files are skipped: editors leave
 * ".kb.json.swp" and friends behind.
 */
static int list_json_files(struct loader *ld, const char *sub, struct name_list *l)
{
	memset(l, 0, sizeof *l);
	l->dirfd = openat(ld->rootfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (l->dirfd < 0)
		return tg_err_errno(ld->err, "%s", sub);
	l->dir = fdopendir(l->dirfd);
	if (!l->dir) {
		tg_err_errno(ld->err, "%s", sub);
		close(l->dirfd);
		return -1;
	}
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(l->dir);
		if (!de) {
			if (errno) {
				tg_err_errno(ld->err, "%s: readdir", sub);
				goto fail;
			}
			break;
		}
		if (de->d_name[0] == '.' || !str_has_suffix(de->d_name, ".json"))
			continue;
		if (l->n == CONFIG_DIR_MAX_FILES) {
			tg_err(ld->err, "%s: more than %d .json files", sub, CONFIG_DIR_MAX_FILES);
			goto fail;
		}
		char *s = strdup(de->d_name);
		char **nv = s ? strv_push(l->names, &l->n, s) : NULL;
		if (!nv) {
			free(s);
			tg_err(ld->err, "%s: out of memory", sub);
			goto fail;
		}
		l->names = nv;
	}
	if (l->n)
		qsort(l->names, l->n, sizeof *l->names, cmp_str);
	return 0;
fail:
	name_list_free(l);
	return -1;
}

/* ---- sandbox/ --------------------------------------------------------- */

static int load_profiles(struct loader *ld)
{
	struct name_list l;
	if (list_json_files(ld, "sandbox", &l) < 0)
		return -1;
	struct config *c = ld->c;
	c->profiles = calloc(l.n + 1, sizeof *c->profiles);
	if (!c->profiles) {
		name_list_free(&l);
		return tg_err(ld->err, "sandbox: out of memory");
	}
	for (size_t i = 0; i < l.n; i++) {
		char display[PATH_MAX], name[NAME_MAX + 1], qb[QUOTE_MAX + 1];
		snprintf(display, sizeof display, "sandbox/%s", l.names[i]);
		snprintf(name, sizeof name, "%.*s", (int)(strlen(l.names[i]) - 5), l.names[i]);
		if (!name_chars_ok(name, PROFILE_NAME_MAX, "_-")) {
			tg_err(ld->err, "%s: profile name %s must be 1 to %d characters of A-Z a-z 0-9 _ -",
			       display, quote(name, qb), PROFILE_NAME_MAX);
			goto fail;
		}
		/* Read here rather than via seccomp_profile_load(): one read, so the
		   digest covers exactly the bytes compiled, and errors name the file
		   as the operator knows it. */
		json_t *doc = load_json_file(ld, l.dirfd, l.names[i], display);
		if (!doc)
			goto fail;
		struct seccomp_program *p = seccomp_profile_compile(doc, name, display, ld->err);
		json_decref(doc);
		if (!p)
			goto fail;
		c->profiles[c->nprofiles++] = p;
	}
	name_list_free(&l);
	return 0;
fail:
	name_list_free(&l);
	return -1;
}

static const struct seccomp_program *find_profile(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->nprofiles; i++)
		if (strcmp(c->profiles[i]->name, name) == 0)
			return c->profiles[i];
	return NULL;
}

/* ---- tools.d/: one tool ----------------------------------------------- */

static void tool_free(struct tool *t)
{
	if (!t)
		return;
	free(t->name);
	free(t->file);
	free(t->title);
	free(t->description);
	strv_free(t->argv);
	if (t->input_schema)
		schema_free(t->input_schema);
	if (t->output_schema)
		schema_free(t->output_schema);
	free(t->profile_name);
	strv_free(t->read_paths);
	strv_free(t->write_paths);
	fsview_free(&t->view);
	free(t->run_as);
	strv_free(t->env);
	json_decref(t->secrets);
	secrets_free(t->secret_values);
	json_decref(t->list_entry);
	free(t);
}

static const char *const tool_keys[] = {
	"name", "title", "description", "command", "sha256", "input_schema", "output_schema",
	"effect", "sandbox", "env", "secrets", "enabled", NULL,
};
static const char *const sandbox_keys[] = {
	"profile", "network", "read_paths", "write_paths", "run_as", "allow_root", "limits", NULL,
};

struct limit_spec {
	const char *key;
	size_t offset;
	uint64_t min, max;
};
static const struct limit_spec limit_specs[] = {
	{ "timeout_ms",   offsetof(struct tool_limits, timeout_ms),   1, 86400000 },
	{ "cpu_seconds",  offsetof(struct tool_limits, cpu_seconds),  1, 86400 },
	{ "memory_mb",    offsetof(struct tool_limits, memory_mb),    8, 1048576 },
	{ "processes",    offsetof(struct tool_limits, processes),    1, 65536 },
	{ "open_files",   offsetof(struct tool_limits, open_files),   4, 1048576 },
	/* 0 is meaningful: RLIMIT_FSIZE 0 forbids the tool to write any file. */
	{ "file_size_mb", offsetof(struct tool_limits, file_size_mb), 0, 1048576 },
	{ "output_bytes", offsetof(struct tool_limits, output_bytes), 1, 268435456 },
	{ NULL, 0, 0, 0 },
};
static const char *const limit_keys[] = {
	"timeout_ms", "cpu_seconds", "memory_mb", "processes", "open_files", "file_size_mb",
	"output_bytes", NULL,
};

/* A typo is an error, not a silently ignored setting: "sandbox.limts". */
static int check_keys(const json_t *obj, const char *const *allowed, const char *file,
                      const char *prefix, struct tg_error *err)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v) {
		bool ok = false;
		for (const char *const *a = allowed; *a; a++)
			if (strcmp(*a, key) == 0)
				ok = true;
		if (!ok) {
			char qb[QUOTE_MAX + 1];
			bool plain = name_chars_ok(key, 64, "_.-");
			return tg_err(err, "%s: %s%s: unknown key", file, prefix,
			              plain ? key : quote(key, qb));
		}
	}
	return 0;
}

/* Optional string member: 0 absent (*out NULL), 1 present, -1 error. */
static int get_string(const json_t *obj, const char *key, const char *file, const char *field,
                      const char **out, struct tg_error *err)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v))
		return tg_err(err, "%s: %s: must be a string", file, field);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return tg_err(err, "%s: %s: must not contain NUL", file, field);
	*out = json_string_value(v);
	return 1;
}

static int get_bool(const json_t *obj, const char *key, bool dflt, const char *file,
                    const char *field, bool *out, struct tg_error *err)
{
	json_t *v = json_object_get(obj, key);
	*out = dflt;
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return tg_err(err, "%s: %s: must be true or false", file, field);
	*out = json_is_true(v);
	return 0;
}

static int dup_optional(const char *s, char **out, const char *file, struct tg_error *err)
{
	*out = NULL;
	if (s && !(*out = strdup(s)))
		return tg_err(err, "%s: out of memory", file);
	return 0;
}

static int parse_name(struct tool *t, const json_t *doc, const char *file_stem, struct tg_error *err)
{
	const char *name;
	char qb[QUOTE_MAX + 1];
	int r = get_string(doc, "name", t->file, "name", &name, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return tg_err(err, "%s: name: required", t->file);
	if (!name_chars_ok(name, TOOL_NAME_MAX, "_.-"))
		return tg_err(err, "%s: name: %s must be 1 to %d characters of A-Z a-z 0-9 _ . -",
		              t->file, quote(name, qb), TOOL_NAME_MAX);
	/* One tool per file, found by its name: tools.d/NAME.json. */
	if (strcmp(name, file_stem) != 0)
		return tg_err(err, "%s: name: %s does not match the file name; rename the file to tools.d/%s.json",
		              t->file, quote(name, qb), name);
	return dup_optional(name, &t->name, t->file, err);
}

static int sha256_file(const char *path, unsigned char out[32], struct tg_error *err, const char *file)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return tg_err_errno(err, "%s: command[0]: %s", file, path);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int rc = -1;
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		tg_err(err, "%s: sha256: cannot initialise SHA-256", file);
		goto out;
	}
	unsigned char buf[16384];
	for (;;) {
		ssize_t r = read(fd, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			tg_err_errno(err, "%s: command[0]: %s: read", file, path);
			goto out;
		}
		if (r == 0)
			break;
		if (EVP_DigestUpdate(ctx, buf, (size_t)r) != 1) {
			tg_err(err, "%s: sha256: SHA-256 failed", file);
			goto out;
		}
	}
	unsigned int n = 0;
	if (EVP_DigestFinal_ex(ctx, out, &n) != 1 || n != 32) {
		tg_err(err, "%s: sha256: SHA-256 failed", file);
		goto out;
	}
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	close(fd);
	return rc;
}

/*
 * command: an argv, never a shell line.  argv[0] is made absolute (relative
 * to the config dir) but not symlink-resolved: multi-call binaries look at
 * argv[0], and the sandbox needs the path the operator named.
 */
static int parse_command(struct tool *t, const json_t *doc, const char *dir, struct tg_error *err)
{
	json_t *cmd = json_object_get(doc, "command");
	if (!cmd)
		return tg_err(err, "%s: command: required", t->file);
	if (!json_is_array(cmd) || json_array_size(cmd) == 0)
		return tg_err(err, "%s: command: must be a non-empty array of strings (an argv, not a shell line)",
		              t->file);
	size_t n = 0, i;
	json_t *v;
	json_array_foreach(cmd, i, v) {
		if (!json_is_string(v))
			return tg_err(err, "%s: command[%zu]: must be a string", t->file, i);
		const char *s = json_string_value(v);
		if (strlen(s) != json_string_length(v))
			return tg_err(err, "%s: command[%zu]: must not contain NUL", t->file, i);
		if (!*s)
			return tg_err(err, "%s: command[%zu]: must not be empty", t->file, i);
		char *copy = NULL;
		if (i == 0 && s[0] != '/') {
			if (asprintf(&copy, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", s) < 0)
				copy = NULL;
		} else {
			copy = strdup(s);
		}
		char **nv = copy ? strv_push(t->argv, &n, copy) : NULL;
		if (!nv) {
			free(copy);
			return tg_err(err, "%s: out of memory", t->file);
		}
		t->argv = nv;
	}

	const char *path = t->argv[0];
	struct stat st;
	if (stat(path, &st) < 0)
		return tg_err_errno(err, "%s: command[0]: %s", t->file, path);
	if (!S_ISREG(st.st_mode))
		return tg_err(err, "%s: command[0]: %s: not a regular file", t->file, path);
	if (access(path, X_OK) < 0) {
		if (errno == EACCES)
			return tg_err(err, "%s: command[0]: %s: not executable", t->file, path);
		return tg_err_errno(err, "%s: command[0]: %s", t->file, path);
	}
	/* A "#!" script must be exec'd by path (see sandbox.c); note which. */
	char magic[2] = { 0, 0 };
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd >= 0) {
		if (read(fd, magic, 2) < 0)
			magic[0] = 0;
		close(fd);
	}
	t->script = magic[0] == '#' && magic[1] == '!';
	return 0;
}

static int parse_sha256(struct tool *t, const json_t *doc, struct tg_error *err)
{
	const char *hex;
	int r = get_string(doc, "sha256", t->file, "sha256", &hex, err);
	if (r <= 0)
		return r;
	if (strlen(hex) != 64)
		return tg_err(err, "%s: sha256: must be 64 hexadecimal digits", t->file);
	for (size_t i = 0; i < 32; i++) {
		int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return tg_err(err, "%s: sha256: must be 64 hexadecimal digits", t->file);
		t->sha256[i] = (unsigned char)(hi << 4 | lo);
	}
	t->has_sha256 = true;

	unsigned char actual[32];
	if (sha256_file(t->argv[0], actual, err, t->file) < 0)
		return -1;
	if (memcmp(actual, t->sha256, 32) != 0) {
		char want[65], got[65];
		hex_encode(t->sha256, 32, want);
		hex_encode(actual, 32, got);
		return tg_err(err, "%s: sha256: %s has SHA-256 %s, but the tool file pins %s",
		              t->file, t->argv[0], got, want);
	}
	return 0;
}

/*
 * MCP requires inputSchema (and outputSchema, whose instance is the result's
 * structuredContent) to describe a JSON object at the root.
 */
static int parse_schema(struct tool *t, const json_t *doc, const char *key, bool required_default,
                        struct schema **out, json_t **copy, struct tg_error *err)
{
	json_t *s = json_object_get(doc, key);
	json_t *owned = NULL;
	*out = NULL;
	*copy = NULL;
	if (!s) {
		if (!required_default)
			return 0;
		s = owned = json_pack("{s:s}", "type", "object");
		if (!s)
			return tg_err(err, "%s: out of memory", t->file);
	}
	json_t *type = json_is_object(s) ? json_object_get(s, "type") : NULL;
	if (!json_is_string(type) || strcmp(json_string_value(type), "object") != 0) {
		json_decref(owned);
		if (!json_is_object(s))
			return tg_err(err, "%s: %s: must be a JSON Schema object with \"type\": \"object\"",
			              t->file, key);
		return tg_err(err, "%s: %s.type: must be \"object\" (MCP tools take and return JSON objects)",
		              t->file, key);
	}
	char where[PATH_MAX + 32];
	snprintf(where, sizeof where, "%s: %s", t->file, key);
	*out = schema_compile(s, where, err);
	if (!*out) {
		json_decref(owned);
		return -1;
	}
	/* tools/list gets its own copy: the snapshot never shares mutable JSON. */
	*copy = json_deep_copy(s);
	json_decref(owned);
	if (!*copy)
		return tg_err(err, "%s: out of memory", t->file);
	return 0;
}

/* Absolute, no "..", "." and "//" folded away, no trailing slash. */
static char *normalize_abs_path(const char *in, const char **why)
{
	size_t n = strlen(in);
	if (in[0] != '/') {
		*why = "must be an absolute path";
		return NULL;
	}
	if (n >= PATH_MAX) {
		*why = "is longer than PATH_MAX";
		return NULL;
	}
	char *out = malloc(n + 2);
	if (!out) {
		*why = "out of memory";
		return NULL;
	}
	size_t o = 0;
	const char *p = in;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *seg = p;
		while (*p && *p != '/')
			p++;
		size_t len = (size_t)(p - seg);
		if (len == 1 && seg[0] == '.')
			continue;
		if (len == 2 && seg[0] == '.' && seg[1] == '.') {
			free(out);
			*why = "must not contain \"..\"";
			return NULL;
		}
		out[o++] = '/';
		memcpy(out + o, seg, len);
		o += len;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return out;
}

static int parse_paths(struct tool *t, const json_t *sb, const char *key, bool use_default,
                       char ***out, struct tg_error *err)
{
	json_t *arr = sb ? json_object_get(sb, key) : NULL;
	size_t n = 0;
	char **v = calloc(1, sizeof *v);
	if (!v)
		return tg_err(err, "%s: out of memory", t->file);
	*out = v;
	if (!arr) {
		if (!use_default)
			return 0;
		/* What a dynamically linked program needs to start, as present here. */
		for (const char *const *d = default_read_paths; *d; d++) {
			struct stat st;
			if (stat(*d, &st) < 0)
				continue;
			char *s = strdup(*d);
			char **nv = s ? strv_push(*out, &n, s) : NULL;
			if (!nv) {
				free(s);
				return tg_err(err, "%s: out of memory", t->file);
			}
			*out = nv;
		}
		return 0;
	}
	if (!json_is_array(arr))
		return tg_err(err, "%s: sandbox.%s: must be an array of absolute paths", t->file, key);
	if (json_array_size(arr) > CONFIG_PATHS_MAX)
		return tg_err(err, "%s: sandbox.%s: more than %d paths", t->file, key, CONFIG_PATHS_MAX);
	size_t i;
	json_t *e;
	json_array_foreach(arr, i, e) {
		char qb[QUOTE_MAX + 1];
		if (!json_is_string(e))
			return tg_err(err, "%s: sandbox.%s[%zu]: must be a string", t->file, key, i);
		const char *s = json_string_value(e);
		if (strlen(s) != json_string_length(e))
			return tg_err(err, "%s: sandbox.%s[%zu]: must not contain NUL", t->file, key, i);
		const char *why = NULL;
		char *norm = normalize_abs_path(s, &why);
		if (!norm)
			return tg_err(err, "%s: sandbox.%s[%zu]: %s %s", t->file, key, i, quote(s, qb), why);
		char **nv = strv_push(*out, &n, norm);
		if (!nv) {
			free(norm);
			return tg_err(err, "%s: out of memory", t->file);
		}
		*out = nv;
	}
	return 0;
}

static int resolve_user(struct tool *t, const char *user, struct tg_error *err)
{
	char qb[QUOTE_MAX + 1];
	long sz = sysconf(_SC_GETPW_R_SIZE_MAX);
	size_t bufsz = sz > 0 ? (size_t)sz : 4096;
	for (;;) {
		char *buf = malloc(bufsz);
		if (!buf)
			return tg_err(err, "%s: out of memory", t->file);
		struct passwd pw, *res = NULL;
		int r = getpwnam_r(user, &pw, buf, bufsz, &res);
		if (r == ERANGE && bufsz < 1024 * 1024) {
			free(buf);
			bufsz *= 2;
			continue;
		}
		if (r == 0 && res) {
			t->uid = pw.pw_uid;
			t->gid = pw.pw_gid;
			free(buf);
			return 0;
		}
		free(buf);
		if (r != 0) {
			errno = r;
			return tg_err_errno(err, "%s: sandbox.run_as: looking up user %s", t->file,
			                    quote(user, qb));
		}
		return tg_err(err, "%s: sandbox.run_as: no such user %s", t->file, quote(user, qb));
	}
}

static int parse_limits(struct tool *t, const json_t *sb, struct tg_error *err)
{
	t->limits = default_limits;
	json_t *lim = sb ? json_object_get(sb, "limits") : NULL;
	if (!lim)
		return 0;
	if (!json_is_object(lim))
		return tg_err(err, "%s: sandbox.limits: must be an object", t->file);
	if (check_keys(lim, limit_keys, t->file, "sandbox.limits.", err) < 0)
		return -1;
	for (const struct limit_spec *ls = limit_specs; ls->key; ls++) {
		json_t *v = json_object_get(lim, ls->key);
		if (!v)
			continue;
		json_int_t x = json_is_integer(v) ? json_integer_value(v) : -1;
		if (x < 0 || (uint64_t)x < ls->min || (uint64_t)x > ls->max)
			return tg_err(err, "%s: sandbox.limits.%s: must be an integer between %llu and %llu",
			              t->file, ls->key, (unsigned long long)ls->min,
			              (unsigned long long)ls->max);
		*(uint64_t *)((char *)&t->limits + ls->offset) = (uint64_t)x;
	}
	return 0;
}

static int parse_sandbox(struct tool *t, const json_t *doc, const struct config *c,
                         struct tg_error *err)
{
	char qb[QUOTE_MAX + 1];
	json_t *sb = json_object_get(doc, "sandbox");
	if (sb && !json_is_object(sb))
		return tg_err(err, "%s: sandbox: must be an object", t->file);
	if (sb && check_keys(sb, sandbox_keys, t->file, "sandbox.", err) < 0)
		return -1;

	const char *s;
	if (get_string(sb, "profile", t->file, "sandbox.profile", &s, err) < 0)
		return -1;
	if (!s)
		s = "default";
	t->profile = find_profile(c, s);
	if (!t->profile) {
		bool plain = name_chars_ok(s, PROFILE_NAME_MAX, "_-");
		return tg_err(err, "%s: sandbox.profile: no profile %s (expected sandbox/%s.json)",
		              t->file, quote(s, qb), plain ? s : "NAME");
	}
	if (dup_optional(s, &t->profile_name, t->file, err) < 0)
		return -1;

	if (get_string(sb, "network", t->file, "sandbox.network", &s, err) < 0)
		return -1;
	if (!s || strcmp(s, "none") == 0)
		t->network = TOOL_NET_NONE;
	else if (strcmp(s, "loopback") == 0)
		t->network = TOOL_NET_LOOPBACK;
	else if (strcmp(s, "host") == 0)
		t->network = TOOL_NET_HOST;
	else
		return tg_err(err, "%s: sandbox.network: %s is not one of \"none\", \"loopback\", \"host\"",
		              t->file, quote(s, qb));

	if (parse_paths(t, sb, "read_paths", true, &t->read_paths, err) < 0 ||
	    parse_paths(t, sb, "write_paths", false, &t->write_paths, err) < 0)
		return -1;
	char where[PATH_MAX + 16];
	snprintf(where, sizeof where, "%s: sandbox", t->file);
	if (fsview_plan(&t->view, (const char *const *)t->read_paths,
	                (const char *const *)t->write_paths, !json_object_get(sb, "read_paths"),
	                t->argv[0], t->script, where, err) < 0)
		return -1;

	bool allow_root;
	if (get_string(sb, "run_as", t->file, "sandbox.run_as", &s, err) < 0 ||
	    get_bool(sb, "allow_root", false, t->file, "sandbox.allow_root", &allow_root, err) < 0)
		return -1;
	if (!s)
		s = "nobody";
	if (!*s)
		return tg_err(err, "%s: sandbox.run_as: must be a user name", t->file);
	/* "dynamic": a uid of its own per call, from the broker's range (like
	   systemd's DynamicUser); no two concurrent calls share one. */
	t->dynamic_uid = strcmp(s, "dynamic") == 0;
	if (t->dynamic_uid) {
		t->uid = t->gid = (uid_t)-1;
	} else if (resolve_user(t, s, err) < 0) {
		return -1;
	}
	/* Never root by accident: a tool runs as root only when its file says so twice. */
	if (t->uid == 0 && !allow_root)
		return tg_err(err, "%s: sandbox.run_as: %s runs the tool as root; set sandbox.allow_root to true to mean it",
		              t->file, quote(s, qb));
	t->run_as_root = t->uid == 0;
	if (dup_optional(s, &t->run_as, t->file, err) < 0)
		return -1;

	return parse_limits(t, sb, err);
}

struct env_pair {
	const char *key, *value;
};

static int cmp_env_pair(const void *a, const void *b)
{
	return strcmp(((const struct env_pair *)a)->key, ((const struct env_pair *)b)->key);
}

/* The broker points both at the call's private scratch directory. */
static bool env_reserved(const char *k)
{
	return strcmp(k, "TMPDIR") == 0 || strcmp(k, "HOME") == 0;
}

static int check_env_name(const struct tool *t, const char *field, const char *k, struct tg_error *err)
{
	char qb[QUOTE_MAX + 1];
	if (!env_name_ok(k))
		return tg_err(err, "%s: %s: %s is not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*)",
		              t->file, field, quote(k, qb));
	if (env_reserved(k))
		return tg_err(err, "%s: %s.%s: set by the broker to the call's scratch directory; remove it",
		              t->file, field, k);
	return 0;
}

static int parse_env(struct tool *t, const json_t *doc, struct tg_error *err)
{
	json_t *env = json_object_get(doc, "env");
	if (env && !json_is_object(env))
		return tg_err(err, "%s: env: must be an object of strings", t->file);
	size_t n = env ? json_object_size(env) : 0, np = 0;
	struct env_pair *pairs = calloc(n + 1, sizeof *pairs);
	if (!pairs)
		return tg_err(err, "%s: out of memory", t->file);
	bool have_path = false;
	const char *k;
	json_t *v;
	if (env) {
		json_object_foreach(env, k, v) {
			if (check_env_name(t, "env", k, err) < 0)
				goto fail;
			if (!json_is_string(v)) {
				tg_err(err, "%s: env.%s: must be a string", t->file, k);
				goto fail;
			}
			if (strlen(json_string_value(v)) != json_string_length(v)) {
				tg_err(err, "%s: env.%s: must not contain NUL", t->file, k);
				goto fail;
			}
			if (strcmp(k, "PATH") == 0)
				have_path = true;
			pairs[np++] = (struct env_pair){ k, json_string_value(v) };
		}
	}
	if (!have_path)
		pairs[np++] = (struct env_pair){ "PATH", DEFAULT_PATH };
	/* Sorted: the child's environment does not depend on key order in the file. */
	qsort(pairs, np, sizeof *pairs, cmp_env_pair);
	size_t ne = 0;
	t->env = calloc(1, sizeof *t->env);
	if (!t->env)
		goto oom;
	for (size_t i = 0; i < np; i++) {
		char *kv;
		if (asprintf(&kv, "%s=%s", pairs[i].key, pairs[i].value) < 0)
			goto oom;
		char **nv = strv_push(t->env, &ne, kv);
		if (!nv) {
			free(kv);
			goto oom;
		}
		t->env = nv;
	}
	free(pairs);
	return 0;
oom:
	tg_err(err, "%s: out of memory", t->file);
fail:
	free(pairs);
	return -1;
}

/* Shape here; the values are read by secrets.c (parse_tool). */
static int parse_secrets(struct tool *t, const json_t *doc, struct tg_error *err)
{
	json_t *sec = json_object_get(doc, "secrets");
	if (!sec)
		return 0;
	if (!json_is_object(sec))
		return tg_err(err, "%s: secrets: must be an object from environment variable to secret name",
		              t->file);
	const char *k;
	json_t *v;
	json_object_foreach(sec, k, v) {
		char qb[QUOTE_MAX + 1];
		if (check_env_name(t, "secrets", k, err) < 0)
			return -1;
		json_t *dup = json_object_get(json_object_get(doc, "env"), k);
		if (dup)
			return tg_err(err, "%s: secrets.%s: also set in env; a variable comes from one or the other",
			              t->file, k);
		if (!json_is_string(v))
			return tg_err(err, "%s: secrets.%s: must be a string (a file name in secrets/)", t->file, k);
		const char *s = json_string_value(v);
		if (strlen(s) != json_string_length(v) || s[0] == '.' ||
		    !name_chars_ok(s, SECRET_NAME_MAX, "_.-"))
			return tg_err(err, "%s: secrets.%s: %s must be a file name in secrets/ (1 to %d characters of A-Z a-z 0-9 _ . -, not starting with \".\")",
			              t->file, k, quote(s, qb), SECRET_NAME_MAX);
	}
	t->secrets = json_deep_copy(sec);
	if (!t->secrets)
		return tg_err(err, "%s: out of memory", t->file);
	return 0;
}

static int build_list_entry(struct tool *t, json_t *input_doc, json_t *output_doc,
                            struct tg_error *err)
{
	json_t *ann = json_object();
	json_t *e = json_object();
	if (!ann || !e)
		goto oom;
	if (t->title && json_object_set_new(ann, "title", json_string(t->title)) < 0)
		goto oom;
	if (json_object_set_new(ann, "readOnlyHint", json_boolean(t->effect == TOOL_EFFECT_READ)) < 0 ||
	    json_object_set_new(ann, "destructiveHint", json_boolean(t->effect == TOOL_EFFECT_WRITE)) < 0 ||
	    json_object_set_new(ann, "idempotentHint", json_false()) < 0 ||
	    json_object_set_new(ann, "openWorldHint", json_boolean(t->network == TOOL_NET_HOST)) < 0)
		goto oom;
	if (json_object_set_new(e, "name", json_string(t->name)) < 0 ||
	    (t->title && json_object_set_new(e, "title", json_string(t->title)) < 0) ||
	    json_object_set_new(e, "description", json_string(t->description ? t->description : "")) < 0 ||
	    json_object_set(e, "inputSchema", input_doc) < 0 ||
	    (output_doc && json_object_set(e, "outputSchema", output_doc) < 0))
		goto oom;
	int r = json_object_set_new(e, "annotations", ann);
	ann = NULL;  /* set_new consumes it, even on failure */
	if (r < 0)
		goto oom;
	t->list_entry = e;
	return 0;
oom:
	json_decref(ann);
	json_decref(e);
	return tg_err(err, "%s: out of memory", t->file);
}

static struct tool *parse_tool(struct loader *ld, const json_t *doc, const char *display,
                               const char *file_stem)
{
	struct tg_error *err = ld->err;
	struct tool *t = calloc(1, sizeof *t);
	json_t *input_doc = NULL, *output_doc = NULL;
	if (!t || !(t->file = strdup(display))) {
		free(t);
		tg_err(err, "%s: out of memory", display);
		return NULL;
	}
	if (check_keys(doc, tool_keys, t->file, "", err) < 0 || parse_name(t, doc, file_stem, err) < 0)
		goto fail;

	const char *s;
	if (get_string(doc, "title", t->file, "title", &s, err) < 0 ||
	    dup_optional(s, &t->title, t->file, err) < 0 ||
	    get_string(doc, "description", t->file, "description", &s, err) < 0 ||
	    dup_optional(s, &t->description, t->file, err) < 0)
		goto fail;

	if (parse_command(t, doc, ld->c->dir, err) < 0 || parse_sha256(t, doc, err) < 0)
		goto fail;
	if (parse_schema(t, doc, "input_schema", true, &t->input_schema, &input_doc, err) < 0 ||
	    parse_schema(t, doc, "output_schema", false, &t->output_schema, &output_doc, err) < 0)
		goto fail;

	int r = get_string(doc, "effect", t->file, "effect", &s, err);
	if (r < 0)
		goto fail;
	if (r == 0) {
		tg_err(err, "%s: effect: required (\"read\" or \"write\")", t->file);
		goto fail;
	}
	if (strcmp(s, "read") == 0) {
		t->effect = TOOL_EFFECT_READ;
	} else if (strcmp(s, "write") == 0) {
		t->effect = TOOL_EFFECT_WRITE;
	} else {
		char qb[QUOTE_MAX + 1];
		tg_err(err, "%s: effect: %s is not one of \"read\", \"write\"", t->file, quote(s, qb));
		goto fail;
	}

	if (parse_sandbox(t, doc, ld->c, err) < 0 || parse_env(t, doc, err) < 0 ||
	    parse_secrets(t, doc, err) < 0 ||
	    secrets_load(ld->rootfd, t->file, t->secrets, &t->secret_values, err) < 0 ||
	    get_bool(doc, "enabled", true, t->file, "enabled", &t->enabled, err) < 0)
		goto fail;
	if (build_list_entry(t, input_doc, output_doc, err) < 0)
		goto fail;
	json_decref(input_doc);
	json_decref(output_doc);
	return t;
fail:
	json_decref(input_doc);
	json_decref(output_doc);
	tool_free(t);
	return NULL;
}

/* ---- tools.d/ --------------------------------------------------------- */

static int cmp_tool(const void *a, const void *b)
{
	return strcmp((*(struct tool *const *)a)->name, (*(struct tool *const *)b)->name);
}

static int load_tools(struct loader *ld)
{
	struct name_list l;
	if (list_json_files(ld, "tools.d", &l) < 0)
		return -1;
	struct config *c = ld->c;
	c->tools = calloc(l.n + 1, sizeof *c->tools);
	if (!c->tools) {
		name_list_free(&l);
		return tg_err(ld->err, "tools.d: out of memory");
	}
	for (size_t i = 0; i < l.n; i++) {
		char display[PATH_MAX], stem[NAME_MAX + 1];
		snprintf(display, sizeof display, "tools.d/%s", l.names[i]);
		snprintf(stem, sizeof stem, "%.*s", (int)(strlen(l.names[i]) - 5), l.names[i]);
		json_t *doc = load_json_file(ld, l.dirfd, l.names[i], display);
		if (!doc)
			goto fail;
		struct tool *t = parse_tool(ld, doc, display, stem);
		json_decref(doc);
		if (!t)
			goto fail;
		c->tools[c->ntools++] = t;
	}
	name_list_free(&l);
	if (c->ntools)
		qsort(c->tools, c->ntools, sizeof *c->tools, cmp_tool);
	/* NAME.json makes duplicates impossible today; config_find_tool's binary
	   search depends on uniqueness, so it is checked, not assumed. */
	for (size_t i = 1; i < c->ntools; i++)
		if (strcmp(c->tools[i - 1]->name, c->tools[i]->name) == 0)
			return tg_err(ld->err, "%s: name: \"%s\" is already defined by %s",
			              c->tools[i]->file, c->tools[i]->name, c->tools[i - 1]->file);
	return 0;
fail:
	name_list_free(&l);
	return -1;
}

/* ---- policies/ -------------------------------------------------------- */

static bool tool_has_argument(void *ctx, size_t i, const char *path)
{
	const struct config *c = ctx;
	return schema_has_property(c->tools[i]->input_schema, path);
}

static int load_policies(struct loader *ld)
{
	struct name_list l;
	if (list_json_files(ld, "policies", &l) < 0)
		return -1;
	/* policy.c parses the files; they are read here too, under the same
	   rules, so that the digest names the policy that was in force. */
	for (size_t i = 0; i < l.n; i++) {
		char display[PATH_MAX];
		snprintf(display, sizeof display, "policies/%s", l.names[i]);
		json_t *doc = load_json_file(ld, l.dirfd, l.names[i], display);
		if (!doc) {
			name_list_free(&l);
			return -1;
		}
		json_decref(doc);
	}
	name_list_free(&l);

	char *path;
	if (asprintf(&path, "%s/policies", ld->c->dir) < 0)
		return tg_err(ld->err, "policies: out of memory");
	ld->c->policy = policy_load_dir(path, "policies", ld->err);
	free(path);
	if (!ld->c->policy)
		return -1;
	/* Rules may only test arguments the tools they name declare. */
	const char **names = calloc(ld->c->ntools + 1, sizeof *names);
	if (!names)
		return tg_err(ld->err, "policies: out of memory");
	for (size_t i = 0; i < ld->c->ntools; i++)
		names[i] = ld->c->tools[i]->name;
	int rc = policy_check_arguments(ld->c->policy, names, ld->c->ntools, tool_has_argument,
	                                ld->c, ld->err);
	free(names);
	if (rc != 0)
		return -1;
	return issuers_load(ld->c->dir, &ld->c->issuers, ld->err);
}

/* ---- the snapshot ----------------------------------------------------- */

static void config_free(struct config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->ntools; i++)
		tool_free(c->tools[i]);
	free(c->tools);
	for (size_t i = 0; i < c->nprofiles; i++)
		seccomp_program_free(c->profiles[i]);
	free(c->profiles);
	if (c->policy)
		policy_free(c->policy);
	issuers_free(&c->issuers);
	free(c->dir);
	free(c);
}

struct config *config_load(const char *dir, struct tg_error *err)
{
	struct loader ld = { .rootfd = -1, .err = err };
	struct config *c = ld.c = calloc(1, sizeof *c);
	if (!c) {
		tg_err(err, "%s: out of memory", dir);
		return NULL;
	}
	c->refs = 1;
	c->dir = realpath(dir, NULL);
	if (!c->dir) {
		tg_err_errno(err, "%s", dir);
		goto fail;
	}
	ld.rootfd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ld.rootfd < 0) {
		tg_err_errno(err, "%s", dir);
		goto fail;
	}
	ld.digest = EVP_MD_CTX_new();
	if (!ld.digest || EVP_DigestInit_ex(ld.digest, EVP_sha256(), NULL) != 1) {
		tg_err(err, "%s: cannot initialise SHA-256", dir);
		goto fail;
	}
	if (load_profiles(&ld) < 0 || load_tools(&ld) < 0 || load_policies(&ld) < 0)
		goto fail;

	unsigned char md[32];
	unsigned int mdlen = 0;
	if (EVP_DigestFinal_ex(ld.digest, md, &mdlen) != 1 || mdlen != 32) {
		tg_err(err, "%s: SHA-256 digest failed", dir);
		goto fail;
	}
	hex_encode(md, 32, c->digest);
	EVP_MD_CTX_free(ld.digest);
	close(ld.rootfd);
	return c;
fail:
	EVP_MD_CTX_free(ld.digest);
	if (ld.rootfd >= 0)
		close(ld.rootfd);
	config_free(c);
	return NULL;
}

static int cmp_name_tool(const void *key, const void *elem)
{
	return strcmp(key, (*(struct tool *const *)elem)->name);
}

const struct tool *config_find_tool(const struct config *c, const char *name)
{
	if (!c || !name || !c->ntools)
		return NULL;
	struct tool **t = bsearch(name, c->tools, c->ntools, sizeof *c->tools, cmp_name_tool);
	return t && (*t)->enabled ? *t : NULL;
}

/* Calls on several threads take and drop references: atomics, no lock. */
struct config *config_ref(struct config *c)
{
	if (c)
		__atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
	return c;
}

void config_unref(struct config *c)
{
	if (c && __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0)
		config_free(c);
}
