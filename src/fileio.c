/*
 * fileio.c: reading configuration and key material safely (see fileio.h).
 */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int fileio_read_at(int dirfd, const char *path, const char *display, size_t max,
                        char **out, size_t *len, struct tg_error *err)
{
	int fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		if (errno == ELOOP)
			return tg_err(err, "%s: is a symbolic link; config files must be regular files", display);
		return tg_err_errno(err, "%s", display);
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		tg_err_errno(err, "%s: fstat", display);
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return tg_err(err, "%s: not a regular file", display);
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return tg_err(err, "%s: larger than %zu bytes", display, max);
	}
	/* The size may change under us: read until EOF, but never past max. */
	size_t cap = (size_t)st.st_size + 1, n = 0;
	char *buf = malloc(cap + 1);
	if (!buf) {
		close(fd);
		return tg_err(err, "%s: out of memory", display);
	}
	for (;;) {
		if (n == cap) {
			if (n > max)
				break;
			size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			char *nb = realloc(buf, ncap + 1);
			if (!nb) {
				free(buf);
				close(fd);
				return tg_err(err, "%s: out of memory", display);
			}
			buf = nb;
			cap = ncap;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			tg_err_errno(err, "%s: read", display);
			free(buf);
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n > max) {
		free(buf);
		return tg_err(err, "%s: larger than %zu bytes", display, max);
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

