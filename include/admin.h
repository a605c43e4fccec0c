/*
 * admin.h: the broker's admin methods and the tools/list_changed
 * notifications.
 *
 *   toolgate/admin/disable {"tool", "reason"?}  the kill switch (disabled.h)
 *   toolgate/admin/enable  {"tool"}
 *   toolgate/admin/list    {}                   the disabled tools
 *   toolgate/admin/reload  {}                   what SIGHUP does, with its outcome
 *
 * Only admin peers (policy_is_admin: a principal with "admin": true,
 * or root) may call them (others: JSONRPC_FORBIDDEN); every change is audited (admin_disable,
 * admin_enable; reloads as config_load / config_reload_failed).
 *
 * Whenever what a connection's tools/list would show changes (a reload, a
 * tool disabled or enabled), that connection gets
 * notifications/tools/list_changed, as MCP's listChanged capability says.
 */
#ifndef TOOLGATE_ADMIN_H
#define TOOLGATE_ADMIN_H

#include <jansson.h>

struct conn;
struct server;
struct config;

/* A request whose method begins "toolgate/admin/". */
void admin_handle(struct conn *c, const json_t *id, const char *method, json_t *params);

/* After the configuration changed from old to new (both still alive):
   notify every initialized connection whose visible tools changed. */
void admin_config_changed(struct server *s, const struct config *old_cfg, const struct config *new_cfg);

#endif
