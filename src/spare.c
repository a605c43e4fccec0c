/*
 * spare.c: confined children made ready before a call needs them (see
 * spare.h).
 */
#include "spare.h"
#include "config.h"
#include "log.h"
#include "server.h"

#include <errno.h>
#include <string.h>
#include <sys/wait.h>

/* cpu.max of a call's cgroup: one CPU's worth, so that no tool's tree can
   take every core from the broker and the other calls. */
#define CALL_CPU_PERCENT 100

int spare_spawn(struct server *s, const struct tool *t, const struct netns_owner *owner,
                uid_t uid, gid_t gid, struct cgroup_call *cg, struct sandbox_child *child,
                bool *netns_kept, struct tg_error *err)
{
	*netns_kept = false;
	const struct tool_limits *tl = &t->limits;
	struct cgroup_limits cl = { .memory_bytes = tl->memory_mb << 20, .pids = tl->processes,
	                            .cpu_percent = CALL_CPU_PERCENT };
	if (cgroup_pool_take(&s->cgpool, &cl, cg, err) != 0)
		return -1;
	bool reused = false;
	int netns_fd = -1;
	if (t->network != TOOL_NET_HOST)
		netns_fd = netns_pool_take_for(&s->netns, owner && sandbox_netns_keepable(t) ? owner : NULL,
		                               &reused);
	if (sandbox_spawn(t, netns_fd, uid, gid, cg, child, err) != 0) {
		cgroup_pool_retire(&s->cgpool, cg);
		return -1;
	}
	*netns_kept = reused;
	return 0;
}

static bool current(const struct server *s, const struct spare *sp)
{
	return sp->cfg == s->config;
}

/* May a call of owner (NULL: of no one) adopt sp?  One that joined a kept
   namespace is its owner's alone. */
static bool adoptable(const struct spare *sp, const struct netns_owner *owner)
{
	return !sp->netns_kept || (owner && memcmp(&sp->owner, owner, sizeof *owner) == 0);
}

bool spares_take(struct server *s, const struct tool *t, const struct netns_owner *owner,
                 struct spare *out)
{
	if (s->spares.ngraves)
		spares_reap(s);
	for (unsigned i = 0; i < s->spares.n; i++) {
		struct spare *sp = &s->spares.v[i];
		if (sp->tool != t || !current(s, sp) || !adoptable(sp, owner))
			continue;
		*out = *sp;
		s->spares.v[i] = s->spares.v[--s->spares.n];
		s->spares.used++;
		return true;
	}
	return false;
}

void spares_want(struct server *s, const struct config *cfg, const struct tool *t,
                 const struct netns_owner *owner)
{
	if (cfg != s->config)
		return;
	s->spares.want_owned = owner != NULL;
	if (owner)
		s->spares.want_owner = *owner;
	if (s->spares.want == t && s->spares.want_cfg == s->config)
		return;
	if (s->spares.want_cfg)
		config_unref(s->spares.want_cfg);
	s->spares.want_cfg = config_ref(s->config);
	s->spares.want = t;
}

static const struct netns_owner *wanted_owner(const struct server *s)
{
	return s->spares.want_owned ? &s->spares.want_owner : NULL;
}

/* Enough spares for t that its next call (of the wanted owner) may adopt?
   The default of two per tool lets the one a call adopts have had the
   time of two calls to get ready (preparing one takes about as long as a
   whole call). */
static bool have_spare_for(const struct server *s, const struct tool *t)
{
	unsigned n = 0;
	for (unsigned i = 0; i < s->spares.n; i++)
		if (s->spares.v[i].tool == t && current(s, &s->spares.v[i]) &&
		    adoptable(&s->spares.v[i], wanted_owner(s)))
			n++;
	return n >= s->spares.per_tool;
}

bool spares_have_work(const struct server *s)
{
	if (s->spares.per_tool == 0)
		return false;
	for (unsigned i = 0; i < s->spares.n; i++)
		if (!current(s, &s->spares.v[i]))
			return true;
	return s->spares.want && s->spares.want_cfg == s->config && !have_spare_for(s, s->spares.want);
}

/* The killed child is gone: give back what it held. */
static void release(struct server *s, struct spare *sp)
{
	sandbox_close(&sp->child);
	if (sp->cg.n)
		cgroup_pool_retire(&s->cgpool, &sp->cg);
	if (sp->dynamic_uid)
		uid_pool_give(&s->uids, sp->uid);
	if (sp->cfg)
		config_unref(sp->cfg);
	memset(sp, 0, sizeof *sp);
}

static bool reaped(struct spare *sp)
{
	siginfo_t si;
	memset(&si, 0, sizeof si);
	if (sp->child.pidfd < 0)
		return true;
	if (waitid(P_PIDFD, (id_t)sp->child.pidfd, &si, WEXITED | WNOHANG) != 0)
		return errno != EINTR && errno != EAGAIN;   /* ECHILD: nothing left to wait for */
	return si.si_pid != 0;
}

/* Reap the killed spares that have died by now. */
void spares_reap(struct server *s)
{
	for (unsigned i = 0; i < s->spares.ngraves;) {
		if (reaped(&s->spares.graves[i])) {
			release(s, &s->spares.graves[i]);
			s->spares.graves[i] = s->spares.graves[--s->spares.ngraves];
		} else {
			i++;
		}
	}
}

void spare_discard(struct server *s, struct spare *sp)
{
	/* It never exec'd: the kill ends its whole (empty) pid namespace.  Its
	   uid may go to another call only once it is dead: reaped now if it
	   already is, else later (a uid in use is never handed out twice). */
	sandbox_kill(&sp->child);
	s->spares.discarded++;
	if (reaped(sp)) {
		release(s, sp);
		return;
	}
	if (s->spares.ngraves == sizeof s->spares.graves / sizeof s->spares.graves[0]) {
		siginfo_t si;
		while (waitid(P_PIDFD, (id_t)sp->child.pidfd, &si, WEXITED) != 0 && errno == EINTR)
			;
		release(s, sp);
		return;
	}
	s->spares.graves[s->spares.ngraves++] = *sp;
	memset(sp, 0, sizeof *sp);
}

void spares_work_one(struct server *s)
{
	spares_reap(s);
	for (unsigned i = 0; i < s->spares.n; i++)
		if (!current(s, &s->spares.v[i])) {
			struct spare dead = s->spares.v[i];
			s->spares.v[i] = s->spares.v[--s->spares.n];
			spare_discard(s, &dead);
			return;
		}
	const struct tool *t = s->spares.want;
	if (!t || s->spares.want_cfg != s->config || have_spare_for(s, t))
		return;
	if (s->spares.n == SPARES_MAX) {
		/* Make room: the oldest spare goes. */
		struct spare old = s->spares.v[0];
		s->spares.v[0] = s->spares.v[--s->spares.n];
		spare_discard(s, &old);
	}
	struct spare sp;
	memset(&sp, 0, sizeof sp);
	sp.tool = t;
	sp.uid = t->uid;
	sp.gid = t->gid;
	if (t->dynamic_uid) {
		if (uid_pool_take(&s->uids, &sp.uid) != 0)
			return;
		sp.gid = (gid_t)sp.uid;
		sp.dynamic_uid = true;
	}
	struct tg_error err;
	if (spare_spawn(s, t, wanted_owner(s), sp.uid, sp.gid, &sp.cg, &sp.child, &sp.netns_kept,
	                &err) != 0) {
		log_warn("sandbox", "%s: preparing a spare sandbox: %s", t->name, err.msg);
		if (sp.dynamic_uid)
			uid_pool_give(&s->uids, sp.uid);
		/* Do not try again for this tool until it is called again. */
		config_unref(s->spares.want_cfg);
		s->spares.want_cfg = NULL;
		s->spares.want = NULL;
		return;
	}
	if (sp.netns_kept)
		sp.owner = s->spares.want_owner;
	sp.cfg = config_ref(s->config);
	s->spares.v[s->spares.n++] = sp;
	s->spares.made++;
}

void spares_fini(struct server *s)
{
	while (s->spares.n) {
		struct spare sp = s->spares.v[--s->spares.n];
		spare_discard(s, &sp);
	}
	while (s->spares.ngraves) {
		struct spare *sp = &s->spares.graves[--s->spares.ngraves];
		siginfo_t si;
		while (waitid(P_PIDFD, (id_t)sp->child.pidfd, &si, WEXITED) != 0 && errno == EINTR)
			;
		release(s, sp);
	}
	if (s->spares.want_cfg)
		config_unref(s->spares.want_cfg);
	s->spares.want_cfg = NULL;
	s->spares.want = NULL;
}
