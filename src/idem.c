/*
 * idem.c: the idempotency store on disk (see idem.h for the format, the
 * durability rules and the bounds).
 *
 * The store keeps no index in memory beyond two counters: the file name is
 * the lookup, and the directory is the index.  call.c knows which entries
 * belong to calls still running (they are live calls); this file only
 * knows what is on disk.
 */
#include "idem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A result holds at most two captured streams of output_bytes each, JSON
   escaped (up to 6 bytes a byte) and maybe also as structuredContent. */
#define IDEM_FILE_MAX (64u << 20)
#define SWEEP_EVERY_MS 60000
#define TMP_PREFIX ".tmp-"

struct idem_store {
	int dirfd;
	struct idem_options opt;
	size_t entries;
	uint64_t bytes;
	uint64_t last_sweep_ms;
};

static bool is_entry_name(const char *n)
{
	if (strlen(n) != 64)
		return false;
	for (const char *p = n; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

static uint64_t mtime_ms(const struct stat *st)
{
	return (uint64_t)st->st_mtim.tv_sec * 1000 + (uint64_t)st->st_mtim.tv_nsec / 1000000;
}

/* Drop expired entries (and, at open, temporary files a crash left); count
   what stays. */
static void sweep(struct idem_store *s, uint64_t now_ms, bool at_open)
{
	int fd = dup(s->dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	rewinddir(d);
	size_t entries = 0;
	uint64_t bytes = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		struct stat st;
		if (at_open && strncmp(e->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0) {
			unlinkat(s->dirfd, e->d_name, 0);
			continue;
		}
		if (!is_entry_name(e->d_name) ||
		    fstatat(s->dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (mtime_ms(&st) + s->opt.window_ms <= now_ms) {
			unlinkat(s->dirfd, e->d_name, 0);
			continue;
		}
		entries++;
		bytes += (uint64_t)st.st_size;
	}
	closedir(d);
	s->entries = entries;
	s->bytes = bytes;
	s->last_sweep_ms = now_ms;
}

int idem_open(const char *state_dir, const struct idem_options *o, uint64_t now_ms,
              struct idem_store **out, struct tg_error *err)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/idempotency", state_dir);
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return tg_err_errno(err, "%s", path);
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return tg_err_errno(err, "%s", path);
	struct stat st;
	if (fstat(fd, &st) != 0 || st.st_uid != geteuid() || (st.st_mode & 077)) {
		close(fd);
		return tg_err(err, "%s: must be a directory of the broker's user with mode 0700", path);
	}
	struct idem_store *s = calloc(1, sizeof *s);
	if (!s) {
		close(fd);
		return tg_err(err, "%s: out of memory", path);
	}
	s->dirfd = fd;
	s->opt = *o;
	sweep(s, now_ms, true);
	*out = s;
	return 0;
}

void idem_close(struct idem_store *s)
{
	if (!s)
		return;
	close(s->dirfd);
	free(s);
}

void idem_usage(const struct idem_store *s, size_t *entries, uint64_t *bytes)
{
	*entries = s->entries;
	*bytes = s->bytes;
}

bool idem_key_valid(const char *key, size_t len, char *why, size_t whylen)
{
	bool ok = len >= 1 && len <= IDEM_KEY_MAX && strlen(key) == len;
	for (size_t i = 0; ok && i < len; i++) {
		char c = key[i];
		ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		     c == '.' || c == '_' || c == ':' || c == '-';
	}
	if (!ok)
		snprintf(why, whylen, "_meta[\"toolgate/idempotencyKey\"] must be 1 to %d characters of "
		         "A-Z a-z 0-9 . _ : -", IDEM_KEY_MAX);
	return ok;
}

void idem_entry_id(const char *agent, const char *key, char out[65])
{
	crypto_hash_sha256_state st;
	unsigned char d[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)agent, strlen(agent));
	crypto_hash_sha256_update(&st, (const unsigned char *)"", 1);
	crypto_hash_sha256_update(&st, (const unsigned char *)key, strlen(key));
	crypto_hash_sha256_final(&st, d);
	sodium_bin2hex(out, 65, d, sizeof d);
}

int idem_fingerprint(const char *tool, const char *user, const json_t *args, char out[65])
{
	json_t *o = json_pack("{s:s, s:s?, s:O}", "tool", tool, "user", user, "args", args);
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII) : NULL;
	json_decref(o);
	if (!text)
		return -1;
	unsigned char d[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(d, (const unsigned char *)text, strlen(text));
	sodium_bin2hex(out, 65, d, sizeof d);
	free(text);
	return 0;
}

static int remove_entry(struct idem_store *s, const char *id)
{
	struct stat st;
	if (fstatat(s->dirfd, id, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? 0 : -1;
	if (unlinkat(s->dirfd, id, 0) != 0)
		return -1;
	if (s->entries)
		s->entries--;
	s->bytes = s->bytes > (uint64_t)st.st_size ? s->bytes - (uint64_t)st.st_size : 0;
	fsync(s->dirfd);
	return 0;
}

enum idem_state idem_lookup(struct idem_store *s, const char *id, uint64_t now_ms,
                            json_t **entry, struct tg_error *err)
{
	*entry = NULL;
	int fd = openat(s->dirfd, id, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return IDEM_ABSENT;
		tg_err_errno(err, "idempotency/%.16s...", id);
		return IDEM_UNREADABLE;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > IDEM_FILE_MAX) {
		close(fd);
		tg_err(err, "idempotency/%.16s...: not a regular file of at most %u bytes", id, IDEM_FILE_MAX);
		return IDEM_UNREADABLE;
	}
	if (mtime_ms(&st) + s->opt.window_ms <= now_ms) {
		close(fd);
		remove_entry(s, id);
		return IDEM_ABSENT;
	}
	json_error_t je;
	json_t *doc = json_loadfd(fd, JSON_REJECT_DUPLICATES, &je);
	close(fd);
	const char *state = json_string_value(json_object_get(doc, "state"));
	if (!doc || !state || (strcmp(state, "started") != 0 && strcmp(state, "done") != 0)) {
		json_decref(doc);
		tg_err(err, "idempotency/%.16s...: not a valid entry (%s)", id, doc ? "no state" : je.text);
		return IDEM_UNREADABLE;
	}
	*entry = doc;
	return strcmp(state, "done") == 0 ? IDEM_DONE : IDEM_STARTED;
}

/* Write id's file whole and durably: temporary file, fdatasync, rename,
   directory fsync.  Its mtime is the entry's creation time. */
static int write_entry(struct idem_store *s, const char *id, json_t *doc, uint64_t created_ms,
                       struct tg_error *err)
{
	char *text = json_dumps(doc, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (!text)
		return tg_err(err, "idempotency store: out of memory");
	size_t len = strlen(text);
	char tmp[80];
	snprintf(tmp, sizeof tmp, TMP_PREFIX "%s", id);
	struct stat old;
	bool had = fstatat(s->dirfd, id, &old, AT_SYMLINK_NOFOLLOW) == 0;
	int fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		free(text);
		return tg_err_errno(err, "idempotency store: creating an entry");
	}
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	free(text);
	struct timespec ts[2] = {
		{ (time_t)(created_ms / 1000), (long)(created_ms % 1000) * 1000000 },
		{ (time_t)(created_ms / 1000), (long)(created_ms % 1000) * 1000000 },
	};
	if (off != len || futimens(fd, ts) != 0 || fdatasync(fd) != 0) {
		tg_err_errno(err, "idempotency store: writing an entry");
		close(fd);
		unlinkat(s->dirfd, tmp, 0);
		return -1;
	}
	close(fd);
	if (renameat(s->dirfd, tmp, s->dirfd, id) != 0 || fsync(s->dirfd) != 0) {
		tg_err_errno(err, "idempotency store: renaming an entry into place");
		unlinkat(s->dirfd, tmp, 0);
		return -1;
	}
	if (had) {
		s->bytes = s->bytes > (uint64_t)old.st_size ? s->bytes - (uint64_t)old.st_size : 0;
	} else {
		s->entries++;
	}
	s->bytes += len;
	return 0;
}

int idem_begin(struct idem_store *s, const char *id, json_t *header, uint64_t now_ms,
               struct tg_error *err)
{
	if (now_ms >= s->last_sweep_ms + SWEEP_EVERY_MS ||
	    s->entries >= s->opt.max_entries || s->bytes >= s->opt.max_bytes)
		sweep(s, now_ms, false);
	if (s->entries >= s->opt.max_entries)
		return tg_err(err, "the idempotency store is full (%zu keys within the window; "
		              "toolgated --idempotency-max-entries)", s->entries);
	if (s->bytes >= s->opt.max_bytes)
		return tg_err(err, "the idempotency store is full (%llu bytes of results within the window; "
		              "toolgated --idempotency-max-mb)", (unsigned long long)s->bytes);
	json_object_set_new(header, "version", json_integer(1));
	json_object_set_new(header, "created_ms", json_integer((json_int_t)now_ms));
	json_object_set_new(header, "state", json_string("started"));
	return write_entry(s, id, header, now_ms, err);
}

int idem_finish(struct idem_store *s, const char *id, json_t *header, uint64_t end_seq,
                const json_t *result, struct tg_error *err)
{
	json_t *doc = json_deep_copy(header);
	if (!doc)
		return tg_err(err, "idempotency store: out of memory");
	json_object_set_new(doc, "state", json_string("done"));
	json_object_set_new(doc, "end_seq", json_integer((json_int_t)end_seq));
	json_object_set_new(doc, "result", json_deep_copy(result));
	uint64_t created = (uint64_t)json_integer_value(json_object_get(header, "created_ms"));
	int rc = write_entry(s, id, doc, created, err);
	json_decref(doc);
	return rc;
}

int idem_forget(struct idem_store *s, const char *id, struct tg_error *err)
{
	if (remove_entry(s, id) != 0)
		return tg_err_errno(err, "idempotency store: removing an entry");
	return 0;
}

int idem_parse_duration(const char *s, uint64_t *ms)
{
	char *end;
	errno = 0;
	if (!s || s[0] < '0' || s[0] > '9')
		return -1;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	unsigned long long mult = 1;
	if (*end == 's')
		end++;
	else if (*end == 'm')
		mult = 60, end++;
	else if (*end == 'h')
		mult = 3600, end++;
	else if (*end == 'd')
		mult = 86400, end++;
	if (*end || v == 0 || v > 365ull * 86400 / mult)
		return -1;
	*ms = v * mult * 1000;
	return 0;
}
