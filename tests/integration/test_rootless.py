"""Rootless mode: toolgated run by an ordinary user (uid 41500 here) confines
each tool in a user namespace of its own, with the same filesystem view,
Landlock, seccomp (refusals named), namespaces, rlimits and timeouts as when
run by root.  What differs (README, "Rootless mode"): the tool's uid and gid
inside are mapped onto the broker's own user outside, so the filesystem view
and Landlock are what keep it from the broker's files; no cgroup unless one
is delegated; no network namespace pool; Landlock refusals are not named
(the kernel's audit log needs root)."""
import json
import os
import subprocess
import tempfile
import time

from tglib import (REPO, Broker, TEST_TOOLS, contains, eq, summary, test, text_of, tool_file,
                   wait_until)

BROKER_UID = 41500
AGENT_UID = 41501
T = lambda name: os.path.join(TEST_TOOLS, name)
MARK = "tg-rl-%d" % os.getpid()
OUT = os.path.join(REPO, "build", "hostile")


def hostile(name):
    """A program of tests/hostile/, built here if the containment suite has
    not built it yet."""
    src, exe = os.path.join(REPO, "tests", "hostile", name + ".c"), os.path.join(OUT, name)
    if not os.path.exists(exe) or os.path.getmtime(exe) < os.path.getmtime(src):
        os.makedirs(OUT, exist_ok=True)
        tmp = exe + ".tmp%d" % os.getpid()
        subprocess.run(["gcc", "-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", "-o", tmp, src],
                       check=True)
        os.chmod(tmp, 0o755)
        os.rename(tmp, exe)
    return exe


LIMITS = {"timeout_ms": 3000, "processes": 32, "memory_mb": 128}
TOOLS = [
    tool_file("inspect", [T("inspect")]),
    tool_file("inspect.root", [T("inspect")]),
    tool_file("badsys", [T("badsys"), "ptrace"]),
    tool_file("sleeper", [T("sleeper"), MARK + "-s"], limits={"timeout_ms": 700}),
    tool_file("fork_bomb", [hostile("fork_bomb"), "32", MARK + "-fork"], limits=LIMITS),
    tool_file("read_key", [hostile("read_file"), "KEYPATH"], limits=LIMITS),
    tool_file("write_usr", [hostile("write_file"), "/usr/bin/PWNED-" + MARK], limits=LIMITS),
    tool_file("tcp", [hostile("tcp_connect"), "9"], limits=LIMITS),
]
for _t in TOOLS:
    if _t["name"] == "inspect.root":
        _t["sandbox"].update(run_as="root", allow_root=True)

POLICY = {
    "principals": {"agent": {"uids": [AGENT_UID]}},
    "rules": [{"id": "all", "effect": "permit", "agents": ["agent"], "tools": ["*"],
               "privileges": ["root"]}],
}

tempfile.tempdir = "/var/tmp"   # not under /tmp, which each tool gets as its own
try:
    b = Broker(TOOLS, POLICY, run_uid=BROKER_UID)
finally:
    tempfile.tempdir = None
# The broker's audit key: the one file a tool running as the broker's own
# user must never reach.
KEY = os.path.join(b.state, "keys", "audit.key")
for _t in TOOLS:
    if _t["name"] == "read_key":
        _t["command"][1] = KEY
        b.write_tool(_t)
b.start()


def pids_with(marker):
    found = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % p, "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(p))
        except OSError:
            pass
    return found


def host_uid(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])


@test
def the_broker_runs_as_an_ordinary_user_and_says_it_is_rootless():
    eq(host_uid(b.proc.pid), BROKER_UID)
    st = b.client(AGENT_UID).request("toolgate/status", {})["result"]
    eq(st["mode"], "rootless: each tool in a user namespace of its own, mapped onto the broker's user")
    eq(st["resources"].startswith("rlimits only: "), True, st["resources"])
    eq(st["landlock"].startswith("Landlock ABI"), True, st["landlock"])
    eq(st["landlock_audit"], "off: the kernel's audit switch is not readable by this broker "
                             "(auditctl -e 1, or toolgated --kernel-audit), so Landlock refusals "
                             "are not named")


@test
def the_tool_is_confined_as_in_root_mode():
    r = b.client(AGENT_UID).call("inspect", {})
    eq(r["isError"], False, text_of(r))
    i = json.loads(text_of(r))
    eq((i["uid"], i["euid"], i["gid"]), (65534, 65534, 65534))
    for k in ("cap_eff", "cap_prm", "cap_inh", "cap_bnd", "cap_amb"):
        eq(i[k], "0000000000000000", k)
    eq((i["no_new_privs"], i["seccomp"], i["pid"], i["hostname"], i["net_ifaces"]),
       (1, 2, 1, "toolgate", ["lo"]))
    eq((i["cwd"], i["tmpdir"], i["fds"]), ("/tmp", "/tmp", [0, 1, 2]))
    defaults = ["/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin", "/etc/ld.so.cache"]
    top = lambda p: p.strip("/").split("/")[0]
    eq(i["root"], sorted({top(p) for p in defaults if os.path.lexists(p)} |
                         {top(T("inspect")), "dev", "proc", "tmp"}))
    eq(i["dev"], ["fd", "full", "null", "random", "shm", "stderr", "stdin", "stdout", "urandom", "zero"])
    mounts = {m[0]: (m[1], m[2]) for m in i["mounts"]}
    eq((mounts["/"], mounts["/usr"][0], mounts["/tmp"], mounts["/proc"][1]),
       (("ro", "tmpfs"), "ro", ("rw", "tmpfs"), "proc"))


@test
def root_in_the_tool_is_root_of_its_own_user_namespace_only():
    i = json.loads(text_of(b.client(AGENT_UID).call("inspect.root", {})))
    eq((i["uid"], i["cap_eff"], i["cap_bnd"], i["no_new_privs"]), (0, "0000000000000000",
                                                                    "0000000000000000", 1))


@test
def on_the_host_the_tool_runs_as_the_brokers_user():
    c = b.client(AGENT_UID)
    pending = c.call_async("tools/call", {"name": "sleeper", "arguments": {}})
    wait_until(lambda: pids_with(MARK + "-s"), 5, "the sleeper to run")
    eq({host_uid(p) for p in pids_with(MARK + "-s")}, {BROKER_UID})
    r = c.wait(pending, 10)["result"]
    eq(r["_meta"]["toolgate/execution"]["status"],
       "timed out after 700 ms; the tool and every process it started were killed")
    wait_until(lambda: not pids_with(MARK + "-s"), 5, "nothing left running")


@test
def a_refused_system_call_is_named():
    r = b.client(AGENT_UID).call("badsys", {})
    eq((text_of(r), r["_meta"]["toolgate/execution"]["status"]),
       ("ptrace: Operation not permitted\n", "exited with status 0; seccomp refused ptrace (EPERM)"))


@test
def the_brokers_own_files_are_out_of_reach_though_the_tool_has_its_uid():
    eq(os.path.exists(KEY), True, "the key exists")
    rep = json.loads(text_of(b.client(AGENT_UID).call("read_key", {})).split("\n")[0])
    eq((rep["escaped"], rep["detail"]), (False, "open %s: No such file or directory" % KEY))


@test
def writes_outside_the_view_and_tcp_are_refused():
    rep = json.loads(text_of(b.client(AGENT_UID).call("write_usr", {})).split("\n")[0])
    eq((rep["escaped"], rep["detail"]), (False, "create /usr/bin/PWNED-%s: Read-only file system" % MARK))
    rep = json.loads(text_of(b.client(AGENT_UID).call("tcp", {})).split("\n")[0])
    eq((rep["escaped"], rep["detail"]), (False, "connect 127.0.0.1:9: Permission denied"))


@test
def a_fork_bomb_stops_at_its_processes_limit_and_leaves_nothing():
    r = b.client(AGENT_UID).call("fork_bomb", {}, timeout=30)
    rep = json.loads(text_of(r).split("\n")[0])
    eq(rep["escaped"], False, rep["detail"])
    contains(rep["detail"], "fork failed (Resource temporarily unavailable) after ")
    contains(rep["detail"], "; limit 32")
    wait_until(lambda: not pids_with(MARK + "-fork"), 5, "the fork bomb's children to be gone")
    # The broker still serves.
    eq(b.client(AGENT_UID).call("inspect", {})["isError"], False)


b.close()
summary()
