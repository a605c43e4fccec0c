/*
 * prespawn.c: sandboxes prepared ahead of time (see prespawn.h).
 */
#include "prespawn.h"
#include "config.h"
#include "log.h"
#include "server.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

struct prespawned {
	struct server *srv;
	const struct tool *tool;
	struct sandbox_child child;
	struct watch w_pid;
	struct prespawned *next;
};

/* Forget entries and wants that belong to another snapshot. */
static void follow_config(struct server *s, const struct config *cfg)
{
	if (s->prespawn.cfg != cfg) {
		prespawn_discard_all(s, "the configuration changed");
		s->prespawn.cfg = cfg;
	}
}

static void unlink_entry(struct server *s, struct prespawned *e)
{
	for (struct prespawned **p = &s->prespawn.ready; *p; p = &(*p)->next) {
		if (*p == e) {
			*p = e->next;
			s->prespawn.nready--;
			return;
		}
	}
}

/* Kill, reap (a gated child dies at once, and no zombie is left) and free. */
static void destroy(struct server *s, struct prespawned *e)
{
	server_unwatch(s, &e->w_pid);
	sandbox_kill(&e->child);
	waitid(P_PIDFD, (id_t)e->child.pidfd, &(siginfo_t){ 0 }, WEXITED);
	sandbox_close(&e->child);
	free(e);
}

static struct prespawned *find(struct server *s, const struct tool *t)
{
	for (struct prespawned *e = s->prespawn.ready; e; e = e->next)
		if (e->tool == t)
			return e;
	return NULL;
}

int prespawn_take(struct server *s, const struct config *cfg, const struct tool *t,
                  struct sandbox_child *child)
{
	follow_config(s, cfg);
	struct prespawned *e = find(s, t);
	if (!e)
		return -1;
	unlink_entry(s, e);
	server_unwatch(s, &e->w_pid);
	*child = e->child;
	free(e);
	s->prespawn.taken++;
	return 0;
}

static void unwant(struct server *s, const struct tool *t)
{
	struct prespawn *p = &s->prespawn;
	for (unsigned i = 0; i < p->nwanted; i++) {
		if (p->wanted[i] == t) {
			memmove(&p->wanted[i], &p->wanted[i + 1], (p->nwanted - i - 1) * sizeof p->wanted[0]);
			p->nwanted--;
			return;
		}
	}
}

void prespawn_want(struct server *s, const struct config *cfg, const struct tool *t)
{
	struct prespawn *p = &s->prespawn;
	follow_config(s, cfg);
	unwant(s, t);
	if (p->nwanted == PRESPAWN_TOOLS) {
		/* The least recently called tool leaves; its sandbox goes too. */
		const struct tool *old = p->wanted[PRESPAWN_TOOLS - 1];
		p->nwanted--;
		struct prespawned *e = find(s, old);
		if (e) {
			unlink_entry(s, e);
			destroy(s, e);
		}
	}
	memmove(&p->wanted[1], &p->wanted[0], p->nwanted * sizeof p->wanted[0]);
	p->wanted[0] = t;
	p->nwanted++;
}

static const struct tool *next_needed(const struct server *s)
{
	const struct prespawn *p = &s->prespawn;
	if (s->draining || p->cfg != s->config)
		return NULL;
	for (unsigned i = 0; i < p->nwanted; i++) {
		bool have = false;
		for (const struct prespawned *e = p->ready; e; e = e->next)
			have |= e->tool == p->wanted[i];
		if (!have && p->wanted[i]->enabled)
			return p->wanted[i];
	}
	return NULL;
}

bool prespawn_has_work(const struct server *s)
{
	return next_needed(s) != NULL;
}

void prespawn_work(struct server *s)
{
	const struct tool *t = next_needed(s);
	if (!t)
		return;
	struct prespawned *e = calloc(1, sizeof *e);
	if (!e)
		return;
	struct tg_error err;
	int netns = t->network == TOOL_NET_HOST ? -1 : netns_pool_take(&s->netns);
	if (sandbox_spawn(t, netns, &e->child, &err) != 0) {
		log_warn("sandbox", "preparing a sandbox for %s: %s", t->name, err.msg);
		unwant(s, t);
		free(e);
		s->prespawn.failed++;
		return;
	}
	e->srv = s;
	e->tool = t;
	e->w_pid = (struct watch){ WATCH_PRESPAWN_PIDFD, e->child.pidfd, e };
	if (server_watch(s, &e->w_pid, EPOLLIN) != 0) {
		e->w_pid.fd = -1;
		destroy(s, e);
		unwant(s, t);
		return;
	}
	e->next = s->prespawn.ready;
	s->prespawn.ready = e;
	s->prespawn.nready++;
	s->prespawn.made++;
}

void prespawn_on_event(struct watch *w)
{
	struct prespawned *e = w->owner;
	struct server *s = e->srv;
	int ws;
	if (sandbox_reap(&e->child, &ws) != 0)
		return;
	char why[256] = "";
	ssize_t n = read(e->child.status_fd, why, sizeof why - 1);
	why[n > 0 ? n : 0] = '\0';
	log_warn("sandbox", "the prepared sandbox of %s ended before use%s%s; it is not prepared "
	         "again until its next call", e->tool->name, why[0] ? ": " : "", why);
	unlink_entry(s, e);
	server_unwatch(s, &e->w_pid);
	unwant(s, e->tool);
	sandbox_close(&e->child);
	free(e);
	s->prespawn.failed++;
}

void prespawn_discard_all(struct server *s, const char *why)
{
	struct prespawn *p = &s->prespawn;
	if (p->nready)
		log_info("sandbox", "discarding %u prepared sandboxes: %s", p->nready, why);
	while (p->ready) {
		struct prespawned *e = p->ready;
		p->ready = e->next;
		destroy(s, e);
	}
	p->nready = 0;
	p->nwanted = 0;
}
