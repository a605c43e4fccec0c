/*
 * sdlisten.h: socket activation, systemd's way of handing a daemon its
 * listening socket (sd_listen_fds(3)), without libsystemd.
 *
 * systemd (or systemd-socket-activate, or any manager that follows the same
 * protocol) creates the socket of toolgated.socket, starts the broker with
 * it as fd 3 and sets LISTEN_PID (the broker's pid), LISTEN_FDS (how many
 * fds follow fd 2) and LISTEN_FDNAMES.  The socket then belongs to the
 * manager: the broker neither creates nor removes the path, and the
 * socket's owner and mode are the unit's (SocketMode=, SocketGroup=).
 */
#ifndef TOOLGATE_SDLISTEN_H
#define TOOLGATE_SDLISTEN_H

#include <stddef.h>
#include "error.h"

#define SDLISTEN_FIRST_FD 3

/*
 * The listening socket the manager passed, checked to be what the broker
 * serves on: one AF_UNIX stream socket, already listening.  It is made
 * non-blocking and close-on-exec (no tool inherits it), and the three
 * variables are removed from the environment whether or not they were for
 * this process.  Returns the fd; -2 when no socket was passed to this
 * process (the variables are absent, or LISTEN_PID names another process);
 * -1 with err when one was passed but cannot be used.  path receives the
 * socket's address for the log ("@name" for an abstract one).
 */
int sdlisten_socket(char *path, size_t path_size, struct tg_error *err);

#endif
