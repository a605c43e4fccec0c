/*
 * fileio.h: the one way toolgate reads a whole configuration file.
 *
 * The file is opened without following a final symlink, must be a regular
 * file (a FIFO or device never blocks the loader), and is read to EOF but
 * never past max bytes, even if it grows while being read.  The buffer gets a
 * terminating NUL (not counted in *len).
 */
#ifndef TOOLGATE_FILEIO_H
#define TOOLGATE_FILEIO_H

#include <fcntl.h>
#include <stddef.h>
#include "error.h"

/* path is relative to dirfd (or AT_FDCWD); display names the file in errors. */
int fileio_read_at(int dirfd, const char *path, const char *display, size_t max,
                   char **out, size_t *len, struct tg_error *err);

#endif
