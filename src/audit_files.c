/*
 * audit_files.c: which files make up an audit log, and reading their lines
 * in order (see audit_files.h).  The writer (audit.c) decides when a
 * segment is closed; this file only knows the names and reads.
 */
#include "audit_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool parse_digits(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

bool audit_segment_name(const char *name, uint64_t *first, uint64_t *last)
{
	/* audit-DDDDDDDDDDDDDDDDDDDD-DDDDDDDDDDDDDDDDDDDD.log */
	const size_t d = AUDIT_SEGMENT_DIGITS;
	if (strlen(name) != 6 + d + 1 + d + 4 || strncmp(name, "audit-", 6) != 0 ||
	    name[6 + d] != '-' || strcmp(name + 6 + d + 1 + d, ".log") != 0)
		return false;
	uint64_t f, l;
	if (!parse_digits(name + 6, d, &f) || !parse_digits(name + 6 + d + 1, d, &l) || f < 1 || l < f)
		return false;
	*first = f;
	*last = l;
	return true;
}

int audit_segment_path(char *out, size_t size, const char *dir, uint64_t first, uint64_t last)
{
	int n = snprintf(out, size, "%s/audit-%0*" PRIu64 "-%0*" PRIu64 ".log", dir,
	                 AUDIT_SEGMENT_DIGITS, first, AUDIT_SEGMENT_DIGITS, last);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

static int add_file(struct audit_files *f, size_t *cap, const char *dir, const char *name,
                    uint64_t first, uint64_t last, struct tg_error *err)
{
	if (f->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct audit_file *nv = realloc(f->v, ncap * sizeof *nv);
		if (!nv)
			return tg_err(err, "%s: out of memory", dir);
		f->v = nv;
		*cap = ncap;
	}
	struct audit_file *e = &f->v[f->n];
	if (!dir) {
		e->path = strdup(name);
	} else if (asprintf(&e->path, "%s/%s", dir, name) < 0) {
		e->path = NULL;
	}
	if (!e->path)
		return tg_err(err, "%s: out of memory", dir ? dir : name);
	const char *slash = strrchr(e->path, '/');
	e->name = slash ? slash + 1 : e->path;
	e->first = first;
	e->last = last;
	f->n++;
	return 0;
}

static int by_first(const void *a, const void *b)
{
	const struct audit_file *x = a, *y = b;
	return x->first < y->first ? -1 : x->first > y->first;
}

int audit_files_list(const char *path, struct audit_files *out, struct tg_error *err)
{
	struct stat st;
	size_t cap = 0;
	uint64_t first = 0, last = 0;

	memset(out, 0, sizeof *out);
	if (stat(path, &st) < 0)
		return tg_err_errno(err, "%s: cannot open", path);
	if (!S_ISDIR(st.st_mode)) {
		const char *slash = strrchr(path, '/');
		if (!audit_segment_name(slash ? slash + 1 : path, &first, &last))
			first = last = 0;
		return add_file(out, &cap, NULL, path, first, last, err);
	}
	out->is_dir = true;
	DIR *d = opendir(path);
	if (!d)
		return tg_err_errno(err, "%s: cannot open", path);
	bool live = false;
	struct dirent *de;
	int rc = 0;
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, "audit.log") == 0)
			live = true;
		else if (audit_segment_name(de->d_name, &first, &last) &&
		         add_file(out, &cap, path, de->d_name, first, last, err) < 0) {
			rc = -1;
			break;
		}
		errno = 0;
	}
	if (rc == 0 && errno != 0)
		rc = tg_err_errno(err, "%s: cannot list", path);
	closedir(d);
	if (rc == 0 && out->n > 1) {
		qsort(out->v, out->n, sizeof *out->v, by_first);
		for (size_t i = 1; i < out->n; i++)
			if (out->v[i].first <= out->v[i - 1].last) {
				rc = tg_err(err, "%s: segments %s and %s overlap", path, out->v[i - 1].name,
				            out->v[i].name);
				break;
			}
	}
	if (rc == 0 && live)
		rc = add_file(out, &cap, path, "audit.log", 0, 0, err);
	if (rc < 0)
		audit_files_free(out);
	return rc;
}

void audit_files_free(struct audit_files *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i].path);
	free(f->v);
	memset(f, 0, sizeof *f);
}

/* ------------------------------------------------------------ lines */

/*
 * Not getline(): that would grow its buffer to whatever one hostile line
 * holds; this reader stops at AUDIT_LINE_MAX + 1 bytes.
 */
#define READER_CHUNK (64 * 1024)

struct audit_lines {
	struct audit_files files;
	size_t cur;            /* index of the file being read */
	int fd;                /* -1 between files */
	char *buf;
	size_t cap, start, end;
	bool eof, first_of_file, at_file_start;
};

struct audit_lines *audit_lines_open(const char *path, struct tg_error *err)
{
	struct audit_lines *l = calloc(1, sizeof *l);
	if (!l) {
		tg_err(err, "%s: out of memory", path);
		return NULL;
	}
	l->fd = -1;
	if (audit_files_list(path, &l->files, err) < 0) {
		free(l);
		return NULL;
	}
	return l;
}

/* Open the next file; 0 when there is none. */
static int open_next(struct audit_lines *l, struct tg_error *err)
{
	if (l->fd >= 0) {
		close(l->fd);
		l->fd = -1;
		l->cur++;
	}
	if (l->cur >= l->files.n)
		return 0;
	const char *p = l->files.v[l->cur].path;
	l->fd = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (l->fd < 0)
		return tg_err_errno(err, "%s: cannot open", p);
	l->start = l->end = 0;
	l->eof = false;
	l->at_file_start = true;
	return 1;
}

int audit_lines_next(struct audit_lines *l, char **line, size_t *len, bool *complete,
                     struct tg_error *err)
{
	if (l->fd < 0 && l->cur == 0 && !l->at_file_start) {
		int o = open_next(l, err);
		if (o <= 0)
			return o;
	}
	for (;;) {
		if (l->fd < 0)
			return 0;
		const char *p = l->files.v[l->cur].path;
		char *nl = l->end > l->start ? memchr(l->buf + l->start, '\n', l->end - l->start) : NULL;
		if (nl || (l->eof && l->start < l->end)) {
			*line = l->buf + l->start;
			*len = nl ? (size_t)(nl - *line) : l->end - l->start;
			*complete = nl != NULL;
			l->start = nl ? (size_t)(nl - l->buf) + 1 : l->end;
			l->first_of_file = l->at_file_start;
			l->at_file_start = false;
			return 1;
		}
		if (l->end - l->start > AUDIT_LINE_MAX) {
			tg_err(err, "%s: a line is longer than %u bytes", p, AUDIT_LINE_MAX);
			errno = EMSGSIZE;
			return -1;
		}
		if (l->eof) {
			int o = open_next(l, err);
			if (o <= 0)
				return o;
			continue;
		}
		if (l->start > 0) {
			memmove(l->buf, l->buf + l->start, l->end - l->start);
			l->end -= l->start;
			l->start = 0;
		}
		if (l->end == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : READER_CHUNK;
			if (cap > AUDIT_LINE_MAX + 1)
				cap = AUDIT_LINE_MAX + 1;
			char *buf = realloc(l->buf, cap);
			if (!buf)
				return tg_err(err, "%s: out of memory", p);
			l->buf = buf;
			l->cap = cap;
		}
		ssize_t n = read(l->fd, l->buf + l->end, l->cap - l->end);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return tg_err_errno(err, "%s: read failed", p);
		if (n == 0)
			l->eof = true;
		l->end += (size_t)n;
	}
}

const struct audit_file *audit_lines_file(const struct audit_lines *l, bool *first_of_file)
{
	if (first_of_file)
		*first_of_file = l->first_of_file;
	return l->cur < l->files.n ? &l->files.v[l->cur] : NULL;
}

const struct audit_files *audit_lines_files(const struct audit_lines *l)
{
	return &l->files;
}

void audit_lines_close(struct audit_lines *l)
{
	if (!l)
		return;
	if (l->fd >= 0)
		close(l->fd);
	free(l->buf);
	audit_files_free(&l->files);
	free(l);
}

int audit_scan(const char *path, const char *needle, int (*fn)(json_t *rec, void *arg, struct tg_error *err),
               void *arg, struct tg_error *err)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return errno == ENOENT ? 0 : tg_err_errno(err, "%s", path);
	struct audit_lines *l = audit_lines_open(path, err);
	if (!l)
		return -1;
	size_t nlen = strlen(needle);
	int rc = 0;
	while (rc == 0) {
		char *line;
		size_t n;
		bool complete;
		int got = audit_lines_next(l, &line, &n, &complete, err);
		if (got <= 0) {
			rc = got;
			break;
		}
		if (!memmem(line, n, needle, nlen))
			continue;
		json_t *rec = json_loadb(line, n, 0, NULL);
		if (json_is_object(rec))
			rc = fn(rec, arg, err);
		json_decref(rec);
	}
	audit_lines_close(l);
	return rc;
}
