/*
 * cli_admin.h: `toolgate reload` and `toolgate admin disable|enable|list`,
 * thin clients of the broker's toolgate/admin/... methods (admin.h).
 */
#ifndef TOOLGATE_CLI_ADMIN_H
#define TOOLGATE_CLI_ADMIN_H

/* argv[0] is "reload" or "admin".  Exit codes: 0 done, 1 the broker refused
   (not an admin, a reload that failed), 2 usage, connection or protocol. */
int cli_reload(int argc, char **argv, const char *socket_path);
int cli_admin(int argc, char **argv, const char *socket_path);

#endif
