/*
 * forward_impl.h: shared by the forwarder's two files (forward.c, the
 * thread and connection; forward_msg.c, messages and the cursor) and by
 * nothing else; the API is forward.h.
 */
#ifndef TOOLGATE_FORWARD_IMPL_H
#define TOOLGATE_FORWARD_IMPL_H

#include <stdbool.h>

/* 1 to 255 printable US-ASCII characters (an RFC 5424 HOSTNAME). */
bool forward_valid_hostname(const char *h);
/* A broker id that fits a structured-data PARAM-VALUE. */
bool forward_valid_broker_id(const char *id);

#endif
