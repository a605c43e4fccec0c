"""Hot reload and the kill switch, against the real daemon: a tool dropped
into tools.d appears after SIGHUP (and after `toolgate reload`) with no
restart, and connected clients get notifications/tools/list_changed; a
running call finishes under the configuration it started with; a broken
drop-in changes nothing and is reported by file and field (log, audit,
`toolgate reload`); `toolgate admin disable` refuses a tool at once, for
admins only, audited, and holds across reloads and restarts."""
import json
import os
import signal
import subprocess
import time

from tglib import (Broker, TEST_TOOLS, TOOLGATE, contains, eq, run, summary, test, text_of, tool_file,
                   wait_until)

AGENT, ADMIN, OTHER = 41901, 41902, 41903
T = lambda name: os.path.join(TEST_TOOLS, name)
POLICY = {"principals": {"bot": {"uids": [AGENT]}, "ops": {"uids": [ADMIN], "admin": True},
                         "viewer": {"uids": [OTHER]}},
          "rules": [{"id": "bot-all", "effect": "permit", "agents": ["bot"], "tools": ["*"]},
                    {"id": "viewer-echo", "effect": "permit", "agents": ["viewer"], "tools": ["echo"]}]}

b = Broker([tool_file("echo", [T("echo-args")]), tool_file("inspect", [T("inspect")]),
            tool_file("slow", [T("sleeper"), "tg-reload-slow"], limits={"timeout_ms": 1500})], POLICY)
b.start()
PID = b.proc.pid


def as_uid(uid, *argv):
    pre = [] if uid == 0 else ["setpriv", "--reuid", str(uid), "--regid", str(uid), "--clear-groups", "--"]
    return run(pre + [TOOLGATE, "--socket", b.socket] + list(argv))


def names(c):
    return [t["name"] for t in c.request("tools/list")["result"]["tools"]]


def notifications(c, seconds):
    """Every notification that arrives within `seconds` (nothing else is outstanding)."""
    got, deadline = [], time.time() + seconds
    while time.time() < deadline:
        if c.silent_for(min(0.2, max(0.01, deadline - time.time()))):
            continue
        m = c.read_msg(5)
        assert "id" not in m, "unexpected reply %s" % m
        got.append(m["method"])
    return got


def wait_notified(c, what, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = c.read_msg(max(0.01, deadline - time.time()))
        if m.get("method") == "notifications/tools/list_changed":
            return
    raise AssertionError("no list_changed after " + what)


@test
def no_network_namespace_kept_under_one_configuration_serves_a_call_under_the_next():
    bot = b.client(AGENT)
    pool = lambda: bot.request("toolgate/status", {})["result"]["netns_pool"]
    cookies = lambda: [json.loads(text_of(bot.call("inspect", {})))["netns_cookie"] for _ in range(6)]
    old = cookies()
    eq(len(set(old)) < len(old) and pool()["kept"] > 0, True, "kept and reused: %r %r" % (old, pool()))
    p = as_uid(0, "reload")
    eq(p.returncode, 0, p.stderr)
    eq(pool()["kept"], 0, "a reload forgets the kept namespaces")
    new = cookies()
    eq(set(old) & set(new), set(), "the namespaces of the replaced configuration's calls")
    bot.close()


@test
def a_tool_dropped_into_tools_d_appears_after_sighup_and_clients_are_told():
    bot, viewer = b.client(AGENT), b.client(OTHER)
    eq(names(bot), ["echo", "inspect", "slow"])
    b.write_tool(tool_file("added", [T("echo-args")]))
    os.kill(PID, signal.SIGHUP)
    wait_notified(bot, "SIGHUP")
    eq(names(bot), ["added", "echo", "inspect", "slow"])
    eq(bot.call("added", {"x": 1})["isError"], False)
    # viewer sees only echo: its list did not change, so it is not told.
    eq(notifications(viewer, 1.0), [])
    eq(names(viewer), ["echo"])
    eq(b.proc.pid, PID, "no restart")
    eq(b.proc.poll(), None)


@test
def toolgate_reload_does_what_sighup_does_and_says_so():
    bot = b.client(AGENT)
    names(bot)
    b.write_tool(tool_file("added2", [T("echo-args")]))
    p = as_uid(0, "reload")
    eq(p.returncode, 0, p.stderr)
    contains(p.stdout, "reloaded: 5 tools, configuration digest ")
    wait_notified(bot, "toolgate reload")
    eq(names(bot), ["added", "added2", "echo", "inspect", "slow"])
    p = as_uid(AGENT, "reload")
    eq((p.returncode, p.stderr.strip()), (1, "toolgate reload: Not permitted: toolgate/admin/reload "
                                             "is for admin principals (\"admin\": true in the policies) and "
                                             "root; the caller is bot (uid %d)" % AGENT))


@test
def a_running_call_finishes_under_the_configuration_it_started_with():
    bot = b.client(AGENT)
    rid = bot.call_async("tools/call", {"name": "slow", "arguments": {}})
    time.sleep(0.3)
    # The new configuration gives slow a long timeout and another command.
    b.write_tool(tool_file("slow", [T("echo-args")], limits={"timeout_ms": 9000}))
    os.kill(PID, signal.SIGHUP)
    t0 = time.time()
    r = bot.wait(rid, 20)["result"]
    eq(r["isError"], True)
    contains(text_of(r), "1500 ms")
    assert time.time() - t0 < 5, "the old timeout ended it"
    r = bot.call("slow", {"now": 1})
    eq((r["isError"], text_of(r)), (False, '{"now":1}'))


@test
def a_broken_drop_in_changes_nothing_and_is_named_by_file_and_field():
    bot = b.client(AGENT)
    before = names(bot)
    bad = tool_file("broken", [T("echo-args")])
    bad["colour"] = "red"
    b.write_tool(bad)
    os.kill(PID, signal.SIGHUP)
    eq(notifications(bot, 1.0), [], "no list_changed for a failed reload")
    eq(names(bot), before)
    eq(bot.call("echo", {"still": "works"})["isError"], False)
    contains(b.log(), "reload failed, the previous configuration stays in force: ")
    contains(b.log(), "broken.json: colour: unknown key")
    rec = [r for r in b.records() if r["event"] == "config_reload_failed"][-1]
    contains(rec["reason"], "broken.json: colour: unknown key")
    p = as_uid(0, "reload")
    eq(p.returncode, 1)
    contains(p.stderr, "toolgate reload: the configuration was not reloaded, the previous one stays in force: ")
    contains(p.stderr, "broken.json: colour: unknown key")
    os.unlink(os.path.join(b.config, "tools.d", "broken.json"))


def zombies_of(pid):
    """Children of pid that died and were not reaped."""
    found = []
    for p in os.listdir("/proc"):
        try:
            with open("/proc/%s/stat" % p) as f:
                st = f.read()
        except OSError:
            continue
        state, ppid = st[st.rindex(")") + 2:].split()[:2]
        if state == "Z" and int(ppid) == pid:
            found.append(int(p))
    return found


def spares(c):
    return c.request("toolgate/status")["result"]["spares"]


@test
def the_spares_of_a_replaced_configuration_are_killed_and_reaped():
    bot = b.client(AGENT)
    eq(bot.call("echo", {"x": 1})["isError"], False)
    wait_until(lambda: spares(bot)["ready"] >= 2, 5, "spares of echo")
    n = len(b.records())
    b.write_tool(tool_file("echo", [T("echo-args")], description="echo, redeployed"))
    os.kill(PID, signal.SIGHUP)
    wait_until(lambda: any(r["event"] == "config_load" for r in b.records()[n:]), 5, "the reload")
    wait_until(lambda: spares(bot)["ready"] == 0, 5, "the old spares discarded")
    wait_until(lambda: zombies_of(PID) == [], 2, "the killed spares to be reaped")


@test
def an_admin_disables_a_tool_and_it_is_refused_at_once():
    bot = b.client(AGENT)
    names(bot)
    p = as_uid(AGENT, "admin", "disable", "echo")
    eq(p.returncode, 1, "an agent may not use the kill switch")
    contains(p.stderr, "Not permitted: toolgate/admin/disable is for admin principals")
    p = as_uid(ADMIN, "admin", "disable", "echo", "--reason", "incident 42")
    eq(p.returncode, 0, p.stderr)
    contains(p.stdout, "echo: disabled (audit seq ")
    wait_notified(bot, "disable")
    r = bot.call("echo", {"x": 1})
    eq(r["isError"], True)
    d = r["_meta"]["toolgate/decision"]
    eq(d["decision"], "deny")
    contains(d["reason"], "echo is disabled by an administrator (ops (uid %d), " % ADMIN)
    contains(d["reason"], "): incident 42")
    assert "echo" not in names(bot)
    rec = [x for x in b.records() if x["event"] == "admin_disable"][-1]
    eq((rec["agent"], rec["tool"], rec["peer"]["uid"]), ("ops", "echo", ADMIN))
    eq(rec["reason"], "echo disabled by ops (uid %d): incident 42" % ADMIN)
    p = as_uid(ADMIN, "admin", "list")
    eq(p.returncode, 0, p.stderr)
    contains(p.stdout, "echo\tdisabled ")
    contains(p.stdout, " by ops (uid %d): incident 42" % ADMIN)


@test
def the_disable_holds_across_a_reload_and_a_restart_until_enabled():
    global PID
    os.kill(PID, signal.SIGHUP)
    time.sleep(0.5)
    bot = b.client(AGENT)
    eq(bot.call("echo", {})["isError"], True)
    b.stop()
    b.start()
    PID = b.proc.pid
    bot = b.client(AGENT)
    r = bot.call("echo", {})
    eq(r["isError"], True)
    contains(r["_meta"]["toolgate/decision"]["reason"], "echo is disabled by an administrator")
    p = as_uid(0, "admin", "enable", "echo")
    eq(p.returncode, 0, p.stderr)
    contains(p.stdout, "echo: enabled (audit seq ")
    wait_notified(bot, "enable")
    eq(bot.call("echo", {"back": True})["isError"], False)
    p = as_uid(0, "admin", "enable", "echo")
    contains(p.stdout, "echo: was not disabled; nothing changed")
    eq([x["event"] for x in b.records() if x["event"].startswith("admin_")],
       ["admin_disable", "admin_enable", "admin_enable"])
    p = run([TOOLGATE, "audit", "verify", b.audit_log, "--key", b.audit_pub])
    eq(p.returncode, 0, p.stderr)


@test
def a_corrupt_kill_switch_file_stops_the_broker_from_starting():
    b.stop()
    path = os.path.join(b.state, "disabled.json")
    with open(path, "w") as f:
        f.write('{"version": 1, "tools": {"echo": "off"}}\n')
    p = subprocess.run([os.environ.get("TOOLGATED", "bin/toolgated"), "--config-dir", b.config,
                        "--state-dir", b.state, "--socket", b.socket, "--foreground"],
                       capture_output=True, text=True, timeout=30)
    eq(p.returncode, 1)
    contains(p.stderr, "kill switch: %s: tools.echo: must be {\"by\", \"reason\", \"at\"} strings" % path)
    os.unlink(path)


b.close()
summary()
