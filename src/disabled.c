/*
 * disabled.c: the kill switch's persistent set of disabled tools (see
 * disabled.h).  The server owns one; admin.c changes it, tools/list and
 * decide.c read it.
 */
#include "disabled.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"

struct disabled {
	char path[PATH_MAX];
	char dir[PATH_MAX];
	json_t *tools;   /* NAME -> {"by", "reason", "at"} */
};

static bool valid_tool(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

/* Only what disabled_set writes: anything else means the file is not ours. */
static int check_doc(const char *path, json_t *doc, struct tg_error *err)
{
	const char *k;
	json_t *v;
	json_t *version = json_object_get(doc, "version");
	if (!json_is_object(doc) || !json_is_integer(version) || json_integer_value(version) != 1)
		return tg_err(err, "%s: not a toolgate kill-switch file ({\"version\": 1, \"tools\": {...}})", path);
	json_t *tools = json_object_get(doc, "tools");
	if (!json_is_object(tools) || json_object_size(doc) != 2)
		return tg_err(err, "%s: not a toolgate kill-switch file ({\"version\": 1, \"tools\": {...}})", path);
	json_object_foreach(tools, k, v) {
		if (!valid_tool(k))
			return tg_err(err, "%s: tools: \"%.64s\" is not a tool name", path, k);
		if (!json_is_object(v) || !json_is_string(json_object_get(v, "by")) ||
		    !json_is_string(json_object_get(v, "reason")) || !json_is_string(json_object_get(v, "at")))
			return tg_err(err, "%s: tools.%s: must be {\"by\", \"reason\", \"at\"} strings", path, k);
	}
	return 0;
}

struct disabled *disabled_open(const char *state_dir, struct tg_error *err)
{
	struct disabled *d = calloc(1, sizeof *d);
	if (!d) {
		tg_err(err, "out of memory");
		return NULL;
	}
	if (snprintf(d->dir, sizeof d->dir, "%s", state_dir) >= (int)sizeof d->dir ||
	    snprintf(d->path, sizeof d->path, "%s/disabled.json", state_dir) >= (int)sizeof d->path) {
		tg_err(err, "%s: path too long", state_dir);
		free(d);
		return NULL;
	}
	char *text = NULL;
	size_t len = 0;
	if (fileio_read_at(AT_FDCWD, d->path, d->path, DISABLED_FILE_MAX, &text, &len, err) != 0) {
		if (errno != ENOENT) {
			free(d);
			return NULL;
		}
		d->tools = json_object();
	} else {
		json_error_t jerr;
		json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
		free(text);
		if (!doc) {
			tg_err(err, "%s: line %d: %s", d->path, jerr.line, jerr.text);
			free(d);
			return NULL;
		}
		if (check_doc(d->path, doc, err) != 0) {
			json_decref(doc);
			free(d);
			return NULL;
		}
		d->tools = json_incref(json_object_get(doc, "tools"));
		json_decref(doc);
	}
	if (!d->tools) {
		tg_err(err, "out of memory");
		free(d);
		return NULL;
	}
	return d;
}

void disabled_free(struct disabled *d)
{
	if (!d)
		return;
	json_decref(d->tools);
	free(d);
}

const json_t *disabled_get(const struct disabled *d, const char *tool)
{
	return d && tool ? json_object_get(d->tools, tool) : NULL;
}

const json_t *disabled_all(const struct disabled *d)
{
	return d->tools;
}

/* Write tools as the whole file, atomically and durably. */
static int save(struct disabled *d, json_t *tools, struct tg_error *err)
{
	json_t *doc = json_pack("{s:i, s:O}", "version", 1, "tools", tools);
	char *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	json_decref(doc);
	if (!text)
		return tg_err(err, "%s: out of memory", d->path);
	char tmp[PATH_MAX + 16];
	snprintf(tmp, sizeof tmp, "%s.tmp", d->path);
	int rc = 0;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	size_t len = strlen(text);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1 || fsync(fd) != 0)
		rc = tg_err_errno(err, "%s: cannot write", tmp);
	if (fd >= 0)
		close(fd);
	if (rc == 0 && rename(tmp, d->path) != 0)
		rc = tg_err_errno(err, "%s: cannot put in place", d->path);
	if (rc == 0) {
		int dfd = open(d->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0 || fsync(dfd) != 0)
			rc = tg_err_errno(err, "%s: cannot make the change durable", d->dir);
		if (dfd >= 0)
			close(dfd);
	} else {
		unlink(tmp);
	}
	free(text);
	return rc;
}

static void utc_now(char out[32])
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int disabled_set(struct disabled *d, const char *tool, const char *by, const char *reason,
                 bool *was, struct tg_error *err)
{
	if (!valid_tool(tool)) {
		tg_err(err, "\"%.64s\" is not a tool name (1 to 128 of A-Z a-z 0-9 . _ -)", tool);
		return -2;
	}
	if (strlen(reason) > DISABLED_REASON_MAX) {
		tg_err(err, "the reason is longer than %d bytes", DISABLED_REASON_MAX);
		return -2;
	}
	char at[32];
	utc_now(at);
	json_t *next = json_deep_copy(d->tools);
	if (!next || json_object_set_new(next, tool, json_pack("{s:s, s:s, s:s}", "by", by, "reason",
	                                                        reason, "at", at)) != 0) {
		json_decref(next);
		return tg_err(err, "out of memory");
	}
	*was = json_object_get(d->tools, tool) != NULL;
	if (save(d, next, err) != 0) {
		json_decref(next);
		return -1;
	}
	json_decref(d->tools);
	d->tools = next;
	return 0;
}

int disabled_clear(struct disabled *d, const char *tool, bool *was, struct tg_error *err)
{
	*was = json_object_get(d->tools, tool) != NULL;
	if (!*was)
		return 0;
	json_t *next = json_deep_copy(d->tools);
	if (!next || json_object_del(next, tool) != 0) {
		json_decref(next);
		return tg_err(err, "out of memory");
	}
	if (save(d, next, err) != 0) {
		json_decref(next);
		return -1;
	}
	json_decref(d->tools);
	d->tools = next;
	return 0;
}
