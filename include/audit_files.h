/*
 * audit_files.h: the files an audit log is made of, and its lines in order.
 *
 * STATE_DIR/audit/ holds the live file audit.log and, once it has been
 * rotated (audit.h, audit_set_segment_bytes), closed segments named
 * audit-<first>-<last>.log, where first and last are the seqs of their
 * first and last record written as 20 digits, so that the shell's sort
 * order (`cat audit-*.log audit.log`) is the log's order.  The chain, the
 * seq and the Merkle tree run on across segments: the first record of a
 * segment has as prev the hash of the last line of the one before.
 *
 * Everyone who reads a whole log (verify, show, prove, the broker's Merkle
 * tree at start) goes through audit_lines, which takes either the
 * directory (every segment in order, then audit.log) or one file.
 */
#ifndef TOOLGATE_AUDIT_FILES_H
#define TOOLGATE_AUDIT_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "error.h"

/* Longest record line, without its newline; longer is an error both ways. */
#define AUDIT_LINE_MAX (4u * 1024 * 1024)
#define AUDIT_SEGMENT_DIGITS 20

struct audit_file {
	char *path;
	const char *name;       /* the last component of path */
	uint64_t first, last;   /* a segment's range from its name; 0, 0 otherwise */
};

struct audit_files {
	struct audit_file *v;
	size_t n;
	bool is_dir;            /* the path given was a directory */
};

/*
 * A directory: its segments sorted by first seq, then audit.log when it
 * exists (other files are ignored).  Two segments whose ranges overlap are
 * an error naming both.  A file: that file alone (first/last from its name
 * when it is a segment's).  An empty directory gives n == 0.
 */
int audit_files_list(const char *path, struct audit_files *out, struct tg_error *err);
void audit_files_free(struct audit_files *f);

/* Is name a segment's name?  Then *first and *last from it. */
bool audit_segment_name(const char *name, uint64_t *first, uint64_t *last);
/* DIR/audit-<first>-<last>.log; -1 when it does not fit. */
int audit_segment_path(char *out, size_t size, const char *dir, uint64_t first, uint64_t last);

/*
 * The lines of every file of audit_files_list(path), in order, each without
 * its newline.  A file's last line without a newline comes back with
 * *complete false (and the next file follows).  Errors name the file.
 */
struct audit_lines;
struct audit_lines *audit_lines_open(const char *path, struct tg_error *err);
/* 1: a line; 0: the end; -1: a read error, or a line over AUDIT_LINE_MAX
   (then errno is EMSGSIZE). */
int audit_lines_next(struct audit_lines *l, char **line, size_t *len, bool *complete,
                     struct tg_error *err);
/* The file of the line last returned, and whether that line was its first. */
const struct audit_file *audit_lines_file(const struct audit_lines *l, bool *first_of_file);
const struct audit_files *audit_lines_files(const struct audit_lines *l);
void audit_lines_close(struct audit_lines *l);

/*
 * Every record of the log at path (directory or file; a missing path is an
 * empty log) whose line contains `needle` (a cheap filter before parsing),
 * parsed and given to fn in log order; fn returns 0 to go on, -1 to stop
 * (with err).  0, or -1 with err.
 */
int audit_scan(const char *path, const char *needle, int (*fn)(json_t *rec, void *arg, struct tg_error *err),
               void *arg, struct tg_error *err);

#endif
