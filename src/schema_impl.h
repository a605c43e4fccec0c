/*
 * schema_impl.h: what schema.c takes from schema_pattern.c.  Private to
 * those two files.
 */
#ifndef TOOLGATE_SCHEMA_IMPL_H
#define TOOLGATE_SCHEMA_IMPL_H

#include <stddef.h>

/*
 * The ECMA-262 pattern src[0..len) as a POSIX ERE (malloc'd), or NULL with
 * why saying what cannot be mapped exactly ("lookahead is not supported").
 */
char *pattern_to_ere(const char *src, size_t len, char *why, size_t whysz);

/* Length of the valid UTF-8 sequence at p (of n bytes left), 0 if invalid. */
size_t schema_utf8_seq(const unsigned char *p, size_t n);

#endif
