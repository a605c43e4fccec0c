"""The broker end to end: real toolgated, real sandboxed tools, clients under
several uids.  Each test states the behaviour a user relies on and asserts the
exact answer they see."""
import json
import os
import re
import time
import shutil
import signal
import socket
import tempfile
import threading

from tglib import (Broker, TEST_TOOLS, TOOLGATE, contains, eq, processes_with, run, summary,
                   test, text_of, tool_file, wait_until)

AGENT_UID, OTHER_UID, STRANGER_UID, OPS_UID = 41001, 41002, 41999, 41003
T = lambda name: os.path.join(TEST_TOOLS, name)
MARK = "tg-it-%d" % os.getpid()
# A tool binary under /tmp, which the sandbox's scratch tmpfs covers.
TMP_TOOL_DIR = tempfile.mkdtemp(prefix="tg-tool-", dir="/tmp")
os.chmod(TMP_TOOL_DIR, 0o755)
TMP_ECHO = shutil.copy(T("echo-args"), TMP_TOOL_DIR)
# A write path and a read-only path for the filesystem-view tests.
VIEW_DIR = tempfile.mkdtemp(prefix="tg-view-", dir="/var/tmp")
os.chmod(VIEW_DIR, 0o755)
W_DIR, R_DIR = os.path.join(VIEW_DIR, "w"), os.path.join(VIEW_DIR, "r")
os.mkdir(W_DIR)
os.chmod(W_DIR, 0o777)
os.mkdir(R_DIR)
os.chmod(R_DIR, 0o777)
with open(os.path.join(R_DIR, "note.txt"), "w") as f:
    f.write("read me\n")

TOOLS = [
    tool_file("echo", [T("echo-args")], schema={
        "type": "object", "properties": {
            "msg": {"type": "string", "maxLength": 20},
            "n": {"type": "integer", "minimum": 1, "maximum": 10}},
        "required": ["msg"], "additionalProperties": False}),
    tool_file("fail", [T("fail")]),
    tool_file("sleeper", [T("sleeper"), MARK + "-s"], limits={"timeout_ms": 600}),
    tool_file("sleeper.long", [T("sleeper"), MARK + "-c"], limits={"timeout_ms": 60000}),
    tool_file("flood", [T("flood")], limits={"output_bytes": 1000}),
    tool_file("inspect", [T("inspect")], env={"LANG": "C.UTF-8", "GREETING": "hi"}),
    tool_file("badsys", [T("badsys"), "ptrace"]),
    tool_file("danger.delete", [T("echo-args")], effect="write"),
    tool_file("tmp.echo", [TMP_ECHO]),
    tool_file("ls.proc", ["/bin/ls", "/proc"]),
    tool_file("inspect.dyn", [T("inspect")]),
    tool_file("inspect.lo", [T("inspect")]),
    tool_file("sleeper.dyn", [T("sleeper"), MARK + "-d"], limits={"timeout_ms": 800}),
    tool_file("touch.w", ["/usr/bin/touch", os.path.join(W_DIR, "made-by-tool")]),
    tool_file("touch.r", ["/usr/bin/touch", os.path.join(R_DIR, "made-by-tool")]),
    tool_file("cat.r", ["/bin/cat", os.path.join(R_DIR, "note.txt")]),
    tool_file("cat.unlisted", ["/bin/cat", os.path.join(R_DIR, "note.txt")]),
    tool_file("docker.echo", [T("echo-args")], profile="docker"),
    tool_file("docker.mount", [T("badsys"), "mount"], profile="docker"),
    tool_file("priv.root", [T("inspect")]),
    tool_file("priv.host", [T("inspect")]),
]
for _t in TOOLS:
    if _t["name"] in ("touch.w", "touch.r", "cat.r"):
        _t["sandbox"]["read_paths"] = ["/usr", "/lib", "/lib64", "/etc/ld.so.cache", R_DIR]
    if _t["name"] == "priv.root":
        _t["sandbox"].update(run_as="root", allow_root=True)
    if _t["name"] == "priv.host":
        _t["sandbox"]["network"] = "host"
    if _t["name"] == "inspect.lo":
        _t["sandbox"]["network"] = "loopback"
    if _t["name"] == "touch.w":
        _t["sandbox"]["write_paths"] = [W_DIR]
for _t in TOOLS:
    if _t["name"].endswith(".dyn"):
        _t["sandbox"]["run_as"] = "dynamic"

POLICY = {
    "principals": {"agent": {"uids": [AGENT_UID]}, "other": {"uids": [OTHER_UID]},
                   "root-tests": {"uids": [0]}, "ops": {"uids": [OPS_UID]}},
    "rules": [
        {"id": "agent-tools", "effect": "permit", "agents": ["agent", "root-tests"], "tools": ["*"]},
        {"id": "other-echo", "effect": "permit", "agents": ["other"], "tools": ["echo"],
         "when": {"args.n": {"<=": 5}}},
        {"id": "no-deletes", "effect": "forbid", "agents": ["*"], "tools": ["*.delete"]},
        {"id": "ops-priv", "effect": "permit", "agents": ["ops"], "tools": ["priv.*"],
         "privileges": ["root", "host_network"]},
    ],
}

b = Broker(TOOLS, POLICY, args=["--max-calls-per-connection", "4"],
           env={"BROKER_SECRET": "must-not-leak"}).start()


@test
def a_permitted_call_returns_the_tools_stdout_and_names_the_rule():
    c = b.client(AGENT_UID)
    r = c.call("echo", {"msg": "hello", "n": 2})
    eq(r["isError"], False)
    eq(json.loads(text_of(r)), {"msg": "hello", "n": 2}, "the tool got exactly the arguments on stdin")
    d = r["_meta"]["toolgate/decision"]
    eq((d["decision"], d["rule"], d["rules"]), ("permit", "agent-tools", ["agent-tools"]))
    ex = r["_meta"]["toolgate/execution"]
    eq((ex["exit"], ex["status"], ex["truncated"]), (0, "exited with status 0", False))


@test
def a_tool_whose_binary_lives_under_tmp_still_runs():
    r = b.client(AGENT_UID).call("tmp.echo", {"x": 1})
    eq((r["isError"], json.loads(text_of(r))), (False, {"x": 1}), text_of(r))


@test
def tools_list_shows_only_the_callers_tools():
    names = lambda uid: [t["name"] for t in b.client(uid).request("tools/list", {})["result"]["tools"]]
    eq(names(OTHER_UID), ["echo"])
    eq(names(STRANGER_UID), [], "an unmapped uid sees no tools")
    eq("danger.delete" in names(AGENT_UID), False, "a forbidden tool is not listed")
    t = [t for t in b.client(AGENT_UID).request("tools/list", {})["result"]["tools"] if t["name"] == "echo"][0]
    eq(t["inputSchema"]["required"], ["msg"])
    eq(t["annotations"]["readOnlyHint"], True)


@test
def an_unmapped_uid_is_denied_with_a_reason():
    r = b.client(STRANGER_UID).call("echo", {"msg": "x"})
    eq(r["isError"], True)
    d = r["_meta"]["toolgate/decision"]
    eq(d["decision"], "deny")
    eq(d["reason"], "the caller (uid %d, gid %d) maps to no principal" % (STRANGER_UID, STRANGER_UID))
    eq(text_of(r), "toolgate refused the call to echo: " + d["reason"])
    rec = [x for x in b.records() if x["seq"] == d["audit_seq"]][0]
    eq((rec["event"], rec["decision"], rec["agent"], rec["peer"]["uid"]),
       ("decision", "deny", None, STRANGER_UID))


@test
def a_forbidden_tool_is_refused_by_the_forbid_rule():
    r = b.client(AGENT_UID).call("danger.delete", {})
    d = r["_meta"]["toolgate/decision"]
    eq((r["isError"], d["decision"], d["rule"], d["reason"]),
       (True, "forbid", "no-deletes", "forbidden by rule no-deletes"))


@test
def a_when_condition_that_fails_denies_and_says_which():
    c = b.client(OTHER_UID)
    r0 = c.call("echo", {"msg": "a", "n": 5})
    eq(r0["isError"], False, text_of(r0))
    r = c.call("echo", {"msg": "a", "n": 6})
    d = r["_meta"]["toolgate/decision"]
    eq(d["decision"], "deny")
    contains(d["reason"], "rule other-echo: args.n <= 5 does not hold")


@test
def a_schema_violation_is_refused_before_the_policy():
    c = b.client(AGENT_UID)
    r = c.call("echo", {"msg": "x", "n": 11})
    d = r["_meta"]["toolgate/decision"]
    eq((r["isError"], d["decision"]), (True, "invalid"))
    eq(d["reason"], "invalid arguments: arguments.n: 11 is greater than the maximum 10")
    r = c.call("echo", {"n": 1})
    eq(r["_meta"]["toolgate/decision"]["reason"],
       "invalid arguments: arguments: missing required property \"msg\"")
    r = b.client(STRANGER_UID).call("echo", {"msg": 5})
    eq(r["_meta"]["toolgate/decision"]["decision"], "invalid", "schema comes before identity")


@test
def a_failing_tool_is_an_error_result_with_its_stderr():
    r = b.client(AGENT_UID).call("fail", {})
    eq(r["isError"], True)
    eq(text_of(r), "fail failed: exited with status 3\n--- stderr ---\nboom\n\n--- stdout ---\npartial\n")
    eq(r["_meta"]["toolgate/execution"]["exit"], 3)


@test
def pipelined_calls_on_one_connection_all_get_their_own_answer():
    c = b.client(AGENT_UID)
    ids = [c.call_async("tools/call", {"name": "echo", "arguments": {"msg": "m%d" % i}}) for i in range(4)]
    ids.append(c.call_async("ping"))
    for i, id in enumerate(ids[:4]):
        r = c.wait(id)
        eq(json.loads(text_of(r["result"])), {"msg": "m%d" % i})
    eq(c.wait(ids[4])["result"], {})


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def broker_cpu_seconds():
    return cpu_seconds(b.proc.pid)


def cpu_used_in(pid, seconds):
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return cpu_seconds(pid) - before


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


@test
def a_result_is_sent_once_its_end_record_is_written_and_made_durable_within_milliseconds():
    # A tool's result goes out once its exec_end record is in the file; that
    # record's fdatasync is the next group commit's, at most 10 ms later (a
    # decision's record is durable before anyone acts on it: the start
    # before the tool runs, a denial before it is sent).
    c = b.client(AGENT_UID)
    seen_pending = 0
    for _ in range(5):
        r = c.call("echo", {"msg": "durable"})
        st = c.request("toolgate/status")["result"]
        end = b.records()[-1]
        eq(end["event"], "exec_end")
        eq(end["seq"], r["_meta"]["toolgate/execution"]["audit_seq"])
        if st["audit_durable_seq"] < end["seq"]:
            seen_pending += 1
        wait_until(lambda: c.request("toolgate/status")["result"]["audit_durable_seq"] >= end["seq"],
                   2, "the exec_end record durable")
        time.sleep(0.05)
    assert seen_pending > 0, "every result waited for its end record's fdatasync"
    # A denial is durable before its answer.
    r = c.call("danger.delete", {})
    eq(r["_meta"]["toolgate/decision"]["decision"], "forbid")
    eq(c.request("toolgate/status")["result"]["audit_durable_seq"],
       r["_meta"]["toolgate/decision"]["audit_seq"])
    c.close()


@test
def a_half_closed_client_gets_its_answer_and_the_broker_does_not_spin_meanwhile():
    c = b.client(AGENT_UID)
    id = c.call_async("tools/call", {"name": "sleeper", "arguments": {}})  # runs 600 ms
    c.sock.shutdown(__import__("socket").SHUT_WR)
    before = broker_cpu_seconds()
    r = c.wait(id)
    used = broker_cpu_seconds() - before
    contains(text_of(r["result"]), "timed out after 600 ms")
    if used > 0.2:
        raise AssertionError("the broker used %.2f s of CPU while waiting 0.6 s" % used)


@test
def a_client_that_pipelines_without_reading_is_slowed_not_buffered_and_loses_nothing():
    c = b.client(0)
    one = len(json.dumps(c.request("tools/list")))
    n = (72 << 20) // one + 1            # replies worth more than the 64 MiB drop limit
    req = b"".join(b'{"jsonrpc":"2.0","id":%d,"method":"tools/list"}\n' % i for i in range(n))
    rss0, peak, sent = rss_kib(b.proc.pid), 0, 0
    c.sock.setblocking(False)
    deadline = time.time() + 3
    while sent < len(req) and time.time() < deadline:   # write, never read
        try:
            sent += c.sock.send(req[sent:sent + 65536])
        except BlockingIOError:
            time.sleep(0.01)
        peak = max(peak, rss_kib(b.proc.pid))
    time.sleep(0.3)
    peak = max(peak, rss_kib(b.proc.pid))
    if peak - rss0 > 16 << 10:
        raise AssertionError("the broker's RSS grew by %d KiB for a client that does not read" % (peak - rss0))
    if sent == len(req):
        raise AssertionError("the broker read all %d requests of a client that does not read" % n)
    # The client reads at last: every request it got through is answered.
    t = threading.Thread(target=lambda: c.sock.sendall(req[sent:]))
    c.sock.setblocking(True)
    t.start()
    chunks, lines = [], 0
    c.sock.settimeout(30)
    while lines < n:
        chunk = c.sock.recv(1 << 20)
        if not chunk:
            raise AssertionError("the broker hung up after %d of %d replies" % (lines, n))
        chunks.append(chunk)
        lines += chunk.count(b"\n")
    t.join()
    replies = b"".join(chunks).split(b"\n")
    eq([json.loads(replies[i])["id"] for i in (0, n // 2, n - 1)], [0, n // 2, n - 1])
    eq(c.request("ping")["result"], {})


@test
def more_calls_in_flight_than_the_connection_limit_get_a_clear_error():
    c = b.client(AGENT_UID)
    ids = [c.call_async("tools/call", {"name": "sleeper", "arguments": {}}) for _ in range(5)]
    r = c.wait(ids[4])
    eq(r["error"], {"code": -32000, "message": "too many calls in flight on this connection "
                                               "(limit 4); wait for one to finish"})
    for id in ids[:4]:
        eq(c.wait(id)["result"]["isError"], True)


@test
def the_timeout_kills_the_tool_and_every_process_it_started():
    c = b.client(AGENT_UID)
    r = c.call("sleeper", {})
    eq(r["isError"], True)
    contains(text_of(r), "sleeper failed: timed out after 600 ms; the tool and every process it "
                         "started were killed")
    eq(r["_meta"]["toolgate/execution"]["exit"], 128 + 9)
    wait_until(lambda: not processes_with(MARK + "-s"), 5, "no sleeper process left")


@test
def a_long_call_with_a_progress_token_is_told_it_still_runs():
    c = b.client(AGENT_UID)
    t0 = time.time()
    id = c.call_async("tools/call", {"name": "sleeper.long", "arguments": {},
                                     "_meta": {"progressToken": "run-1"}})
    m = c.read_msg(15)
    eq(m, {"jsonrpc": "2.0", "method": "notifications/progress",
           "params": {"progressToken": "run-1", "progress": 0,
                      "message": "sleeper.long has been running for 5 s (its limit is 60.000 s)"}})
    assert 4.5 < time.time() - t0 < 9, "every 5 s"
    c.notify("notifications/cancelled", {"requestId": id, "reason": "enough"})
    wait_until(lambda: not processes_with(MARK + "-c"), 10, "the tool gone")
    assert c.silent_for(0.5), "nothing after the cancellation"


@test
def a_call_cancelled_before_its_tool_started_leaves_the_brokers_own_descriptors_alone():
    # The call and its cancellation in one write: the call is decided and
    # queued, then cancelled before the commit would have spawned its tool.
    # Its child was never made, so nothing of it may be closed (before the
    # fix, its unset seccomp listener was descriptor 0: the broker's stdin).
    fd0 = os.readlink("/proc/%d/fd/0" % b.proc.pid)
    c = b.client(AGENT_UID)
    call = {"jsonrpc": "2.0", "id": 77, "method": "tools/call",
            "params": {"name": "echo", "arguments": {"msg": "never"}}}
    cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled",
              "params": {"requestId": 77, "reason": "changed my mind"}}
    c.send_raw((json.dumps(call) + "\n" + json.dumps(cancel) + "\n").encode())
    eq(c.silent_for(0.5), True, "no response to a cancelled request")
    ends = [x for x in b.records() if x["event"] == "exec_end" and x["tool"] == "echo"]
    eq(ends[-1]["reason"], "not started: cancelled by the client (changed my mind)")
    eq(os.readlink("/proc/%d/fd/0" % b.proc.pid), fd0, "the broker's stdin is still open")
    eq(c.call("echo", {"msg": "after"})["isError"], False, "and calls go on")


@test
def cancellation_kills_the_running_tool_and_sends_no_reply():
    c = b.client(AGENT_UID)
    id = c.call_async("tools/call", {"name": "sleeper.long", "arguments": {}})
    wait_until(lambda: len(processes_with(MARK + "-c")) == 2, 10, "tool and its child running")
    c.notify("notifications/cancelled", {"requestId": id, "reason": "user changed their mind"})
    wait_until(lambda: not processes_with(MARK + "-c"), 5, "the cancelled tool tree is gone")
    eq(c.silent_for(0.5), True, "no response to a cancelled request")
    eq(c.request("ping")["result"], {}, "the connection keeps working")
    ends = [x for x in b.records() if x["event"] == "exec_end" and x["tool"] == "sleeper.long"]
    contains(ends[-1]["reason"], "cancelled by the client (user changed their mind)")


@test
def a_client_that_disconnects_takes_its_running_tools_with_it():
    c = b.client(AGENT_UID)
    c.call_async("tools/call", {"name": "sleeper.long", "arguments": {}})
    wait_until(lambda: len(processes_with(MARK + "-c")) == 2, 10, "tool running")
    c.close()
    wait_until(lambda: not processes_with(MARK + "-c"), 5, "tool killed after disconnect")


@test
def output_beyond_the_cap_is_cut_and_the_result_says_so():
    r = b.client(AGENT_UID).call("flood", {"bytes": 100000})
    eq(r["isError"], False)
    t = text_of(r)
    eq(t, "A" * 1000 + "\n[toolgate: output cut at 1000 of 100001 bytes]")
    ex = r["_meta"]["toolgate/execution"]
    eq((ex["stdout_bytes"], ex["truncated"]), (100001, True))


@test
def the_tool_sees_neither_the_brokers_fds_nor_its_environment():
    r = b.client(AGENT_UID).call("inspect", {})
    eq(r["isError"], False, text_of(r))
    i = json.loads(text_of(r))
    eq(i["fds"], [0, 1, 2])
    eq(sorted(i["env"]), sorted(["LANG=C.UTF-8", "GREETING=hi", "TMPDIR=/tmp", "HOME=/tmp"] +
                                [e for e in i["env"] if e.startswith("PATH=")]))
    eq([e for e in i["env"] if "BROKER_SECRET" in e], [])


@test
def the_tool_runs_unprivileged_in_its_own_namespaces():
    i = json.loads(text_of(b.client(AGENT_UID).call("inspect", {})))
    eq((i["uid"], i["euid"], i["gid"], i["groups"]), (65534, 65534, 65534, []))
    for k in ("cap_eff", "cap_prm", "cap_inh", "cap_bnd", "cap_amb"):
        eq(i[k], "0000000000000000", k)
    eq((i["no_new_privs"], i["seccomp"]), (1, 2))
    eq((i["pid"], i["hostname"], i["net_ifaces"]), (1, "toolgate", ["lo"]))
    eq((i["cwd"], i["tmpdir"]), ("/tmp", "/tmp"))
    eq(i["rlimit_nofile"], 64)


def host_top(path):
    """The first component of an absolute path."""
    return path.strip("/").split("/")[0]


@test
def the_tool_sees_only_its_view_of_the_filesystem():
    i = json.loads(text_of(b.client(AGENT_UID).call("inspect", {})))
    # The default read paths present here, its own executable, and what the
    # sandbox makes: nothing else of the host's /.
    defaults = ["/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin", "/etc/ld.so.cache"]
    want = {host_top(p) for p in defaults if os.path.lexists(p)} | {host_top(T("inspect")),
                                                                     "dev", "proc", "tmp"}
    eq(i["root"], sorted(want))
    eq(i["dev"], ["fd", "full", "null", "random", "shm", "stderr", "stdin", "stdout", "urandom", "zero"])
    mounts = {m[0]: (m[1], m[2]) for m in i["mounts"]}
    eq(mounts["/"], ("ro", "tmpfs"), "the root is a read-only tmpfs")
    eq(mounts["/usr"][0], "ro")
    if T("inspect").startswith("/tmp/"):
        # A tool under /tmp (a checkout there) is exec'd through a descriptor
        # held from before the view; /tmp is its scratch, so no bind.
        eq(T("inspect") in mounts, False, "no bind of an executable under /tmp")
    else:
        eq(mounts[T("inspect")][0], "ro", "its own executable, bound read-only")
    eq(mounts["/tmp"], ("rw", "tmpfs"), "the scratch")
    eq(mounts["/proc"], ("rw", "proc"))
    eq(mounts["/dev"], ("ro", "tmpfs"))
    eq(sorted(m for m in mounts if m not in ("/", "/usr", "/etc/ld.so.cache", "/tmp", "/proc", "/dev",
                                               T("inspect"))), [], "no other mount")


@test
def write_paths_are_writable_and_read_paths_are_not():
    r = b.client(AGENT_UID).call("touch.w", {})
    eq(r["isError"], False, text_of(r))
    eq(os.path.exists(os.path.join(W_DIR, "made-by-tool")), True, "the file is on the host")
    r = b.client(AGENT_UID).call("touch.r", {})
    eq(r["isError"], True)
    contains(text_of(r), "touch: cannot touch '%s': Read-only file system" % os.path.join(R_DIR, "made-by-tool"))
    eq(os.path.exists(os.path.join(R_DIR, "made-by-tool")), False)
    r = b.client(AGENT_UID).call("cat.r", {})
    eq((r["isError"], text_of(r)), (False, "read me\n"))
    # Without it in read_paths the file is not there at all.
    r = b.client(AGENT_UID).call("cat.unlisted", {})
    eq(r["isError"], True)
    contains(text_of(r), "cat: %s: No such file or directory" % os.path.join(R_DIR, "note.txt"))


@test
def root_and_the_host_network_need_the_tool_and_the_policy_to_agree():
    for tool, what, priv in (("priv.root", "as root", "root"),
                             ("priv.host", "on the host's network", "host_network")):
        r = b.client(AGENT_UID).call(tool, {})
        eq(r["isError"], True)
        d = r["_meta"]["toolgate/decision"]
        eq((d["decision"], d["reason"]), ("deny", "%s runs %s, and no rule that lets this call run grants "
                                                  "\"%s\" in its privileges" % (tool, what, priv)))
    i = json.loads(text_of(b.client(OPS_UID).call("priv.root", {})))
    eq((i["uid"], i["cap_eff"], i["cap_bnd"], i["no_new_privs"]), (0, "0000000000000000", "0000000000000000", 1),
       "root, but without a single capability")
    i = json.loads(text_of(b.client(OPS_UID).call("priv.host", {})))
    eq("lo" in i["net_ifaces"] and len(i["net_ifaces"]) > 1, True, "the host's interfaces: %r" % i["net_ifaces"])
    starts = [json.loads(l) for l in open(b.audit_log) if '"exec_start"' in l]
    eq([s.get("network") for s in starts if s.get("tool") == "priv.host"][-1], "host",
       "the start record says the tool had the host's network")


@test
def a_tool_runs_under_dockers_default_profile_and_a_violation_is_named():
    r = b.client(AGENT_UID).call("docker.echo", {"x": 1})
    eq((r["isError"], json.loads(text_of(r))), (False, {"x": 1}), text_of(r))
    r = b.client(AGENT_UID).call("docker.mount", {})
    eq(text_of(r), "mount: Operation not permitted\n")
    eq(r["_meta"]["toolgate/execution"]["status"], "exited with status 0; seccomp refused mount (EPERM)")


@test
def a_call_adopts_a_sandbox_prepared_while_idle_and_it_is_confined_the_same():
    c = b.client(AGENT_UID)
    spares = lambda: c.request("toolgate/status", {})["result"]["spares"]
    first = json.loads(text_of(c.call("inspect", {})))
    wait_until(lambda: spares()["ready"] >= 2, 10, "two spare sandboxes for inspect")
    used = spares()["used"]
    second = json.loads(text_of(c.call("inspect", {})))
    eq(spares()["used"], used + 1, "the second call took a spare")
    for k in ("uid", "gid", "groups", "fds", "env", "cwd", "root", "dev", "mounts", "cap_eff", "cap_bnd",
              "no_new_privs", "seccomp", "pid", "hostname", "net_ifaces", "rlimit_nofile"):
        eq(second[k], first[k], k)


def netns_cookies(c, tool, n):
    """The network namespace (SO_NETNS_COOKIE, never reused) of n calls in turn."""
    out = []
    for _ in range(n):
        r = c.call(tool, {})
        eq(r["isError"], False, text_of(r))
        out.append(json.loads(text_of(r))["netns_cookie"])
    return out


@test
def a_network_namespace_is_reused_only_by_later_calls_of_the_same_tool_for_the_same_caller():
    a, r = b.client(AGENT_UID), b.client(0)
    pool = lambda: a.request("toolgate/status", {})["result"]["netns_pool"]
    before = pool()["reused"]
    mine = netns_cookies(a, "inspect", 6)
    eq(None in mine, False, "every call has a network namespace of its own: %r" % mine)
    eq(len(set(mine)) < len(mine), True, "later calls of the caller reuse one: %r" % mine)
    eq(pool()["reused"] > before, True, "toolgate/status counts the reuse: %r" % pool())
    # Another caller of the same tool, before, between and after the first one's calls.
    theirs = netns_cookies(r, "inspect", 4)
    for _ in range(2):
        mine += netns_cookies(a, "inspect", 2)
        theirs += netns_cookies(r, "inspect", 2)
    eq(set(mine) & set(theirs), set(), "no namespace ever goes from one caller to another")
    eq(len(set(theirs)) < len(theirs), True, "the other caller reuses its own: %r" % theirs)
    # The same caller, another tool: not shared either.
    echo_tools = netns_cookies(a, "inspect.dyn", 4) + netns_cookies(a, "inspect.lo", 4)
    eq(set(echo_tools) & set(mine), set(), "a namespace stays with its tool")
    a.close()
    r.close()


@test
def a_tool_with_loopback_or_a_dynamic_uid_gets_a_fresh_network_namespace_every_call():
    a = b.client(AGENT_UID)
    ops = b.client(OPS_UID)
    for c, tool in ((a, "inspect.lo"), (a, "inspect.dyn"), (ops, "priv.root")):
        got = netns_cookies(c, tool, 5)
        eq(len(set(got)), 5, "%s: a namespace of its own each time: %r" % (tool, got))
    a.close()
    ops.close()


@test
def the_tool_sees_only_its_own_processes_in_proc():
    r = b.client(AGENT_UID).call("ls.proc", {})
    eq(r["isError"], False, text_of(r))
    pids = [x for x in text_of(r).split() if x.isdigit()]
    eq(pids, ["1"], "only the tool itself, pid 1 of its namespace")


@test
def concurrent_calls_with_dynamic_uids_never_share_a_uid():
    c1 = b.client(AGENT_UID)
    slow = c1.call_async("tools/call", {"name": "sleeper.dyn", "arguments": {}})
    wait_until(lambda: processes_with(MARK + "-d"), 5, "the first call running")
    i = json.loads(text_of(b.client(AGENT_UID).call("inspect.dyn", {})))
    c1.wait(slow)
    starts = {r["tool"]: r["uid"] for r in b.records() if r["event"] == "exec_start"}
    eq(starts["inspect.dyn"], i["uid"], "the start record names the uid the tool ran as")
    eq((i["uid"], i["gid"]), (i["uid"], i["uid"]))
    for uid in (starts["inspect.dyn"], starts["sleeper.dyn"]):
        if not 61184 <= uid <= 65519:
            raise AssertionError("uid %d outside the dynamic range" % uid)
    if starts["inspect.dyn"] == starts["sleeper.dyn"]:
        raise AssertionError("two concurrent calls shared uid %d" % starts["sleeper.dyn"])


@test
def a_syscall_the_profile_forbids_is_refused_inside_the_tool_and_named_in_the_result():
    r = b.client(AGENT_UID).call("badsys", {})
    eq(r["isError"], False, text_of(r))
    eq(text_of(r), "ptrace: Operation not permitted\n")
    ex = r["_meta"]["toolgate/execution"]
    eq((ex["exit"], ex["status"]), (0, "exited with status 0; seccomp refused ptrace (EPERM)"))
    end = [json.loads(l) for l in open(b.audit_log) if '"exec_end"' in l and '"badsys"' in l][-1]
    eq(end["seccomp"], {"killed": None, "baseline": False,
                        "refused": [{"syscall": "ptrace", "errno": "EPERM", "count": 1}], "refusals": 1})


@test
def malformed_and_oversize_messages_get_errors_and_the_daemon_keeps_serving():
    c = b.client(AGENT_UID)
    c.send_raw(b"{not json\n")
    m = c.read_msg()
    eq((m["id"], m["error"]["code"]), (None, -32700))
    c.send_raw(b'{"jsonrpc":"2.0","id":7,"method":"x","params":[1]}\n')
    eq(c.read_msg()["error"]["code"], -32602)
    c.send_raw(b'[{"jsonrpc":"2.0","id":1,"method":"ping"}]\n')
    eq(c.read_msg()["error"], {"code": -32600, "message": "Invalid Request: batches are not supported"})
    c.send_raw(b'{"jsonrpc":"1.0","id":3,"method":"ping"}\n')
    eq(c.read_msg()["error"]["code"], -32600)
    c.send_raw(b"[" * 100000 + b"\n")
    eq(c.read_msg()["error"]["code"], -32700)
    c.send_raw(b'{"jsonrpc":"2.0","id":9,"method":"ping","params":{"pad":"' + b"x" * (2 << 20) + b'"}}\n')
    m = c.read_msg()
    eq(m["error"], {"code": -32600, "message": "Invalid Request: message exceeds the 1048576-byte limit"})
    eq(c.request("nope/nope")["error"], {"code": -32601, "message": "Method not found: nope/nope"})
    eq(c.request("tools/call", {"name": "no.such.tool"})["error"],
       {"code": -32602, "message": "Unknown tool: no.such.tool"})
    eq(c.request("tools/call", {})["error"]["code"], -32602)
    eq(c.request("ping")["result"], {}, "the same connection still works")
    eq(b.client(AGENT_UID).call("echo", {"msg": "still here"})["isError"], False)


@test
def requests_before_initialize_are_refused_except_ping():
    c = b.client(AGENT_UID, init=False)
    eq(c.request("ping")["result"], {})
    eq(c.request("tools/list")["error"], {"code": -32600, "message":
       "Invalid Request: the session is not initialized; send initialize first"})


@test
def initialize_negotiates_the_protocol_revision():
    c = b.client(AGENT_UID, init=False)
    r = c.request("initialize", {"protocolVersion": "2025-03-26", "capabilities": {},
                                 "clientInfo": {"name": "old", "version": "0"}})["result"]
    eq(r["protocolVersion"], "2025-03-26")
    eq(r["serverInfo"]["name"], "toolgate")
    c = b.client(AGENT_UID, init=False)
    r = c.request("initialize", {"protocolVersion": "1999-01-01", "capabilities": {}})["result"]
    eq(r["protocolVersion"], "2025-11-25")


@test
def every_call_leaves_a_verifiable_signed_chain():
    p = run([TOOLGATE, "audit", "verify", b.audit_log, "--key", b.audit_pub])
    eq(p.returncode, 0, p.stdout + p.stderr)
    recs = b.records()
    eq([r["seq"] for r in recs], list(range(1, len(recs) + 1)))
    eq(recs[0]["event"], "broker_start")
    starts = [r for r in recs if r["event"] == "exec_start"]
    ends = [r for r in recs if r["event"] == "exec_end"]
    eq(len(starts), len(ends), "every started tool has an end record")
    e = [r for r in ends if r["tool"] == "echo"][0]
    eq(len(e["output_sha256"]), 64)


@test
def one_record_verifies_with_stock_openssl():
    line = open(b.audit_log, "rb").read().split(b"\n")[3]
    cut = line.rindex(b',"sig":"')
    sig = json.loads(line)["sig"]
    d = b.dir
    open(d + "/msg", "wb").write(line[:cut] + b"}")
    open(d + "/sig", "wb").write(__import__("base64").b64decode(sig))
    p = run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", b.audit_pub, "-rawin",
             "-in", d + "/msg", "-sigfile", d + "/sig"])
    eq(p.returncode, 0, p.stdout + p.stderr)
    contains(p.stdout, "Signature Verified Successfully")
    open(d + "/msg", "wb").write(line[:cut].replace(b'"seq":4', b'"seq":5') + b"}")
    p = run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", b.audit_pub, "-rawin",
             "-in", d + "/msg", "-sigfile", d + "/sig"])
    eq(p.returncode != 0, True, "a changed record does not verify")


@test
def a_flipped_byte_anywhere_in_the_log_is_caught_at_its_seq():
    data = open(b.audit_log, "rb").read()
    lines = data.split(b"\n")[:-1]
    copy = b.dir + "/flipped.log"
    checked = 0
    for seq in (1, len(lines) // 2, len(lines)):
        start = sum(len(l) + 1 for l in lines[:seq - 1])
        for pos in range(0, len(lines[seq - 1]) + 1, 5):  # + 1: its newline too
            mutated = bytearray(data)
            mutated[start + pos] ^= 0x01
            open(copy, "wb").write(bytes(mutated))
            p = run([TOOLGATE, "audit", "verify", copy, "--key", b.audit_pub])
            out = p.stdout + p.stderr
            if p.returncode != 1 or (("seq %d:" % seq) not in out and
                                     ("expected seq %d)" % seq) not in out):
                raise AssertionError("flip at seq %d byte %d: exit %d, %s" % (seq, pos, p.returncode, out))
            checked += 1
    assert checked > 100, checked


@test
def the_cli_exit_codes_follow_the_contract():
    env = dict(os.environ)
    sock = ["--socket", b.socket]
    p = run([TOOLGATE] + sock + ["call", "echo", '{"msg":"cli"}'])
    eq((p.returncode, json.loads(p.stdout)), (0, {"msg": "cli"}))
    p = run([TOOLGATE] + sock + ["call", "fail"])
    eq(p.returncode, 1)
    p = run([TOOLGATE] + sock + ["call", "danger.delete"])
    eq((p.returncode, p.stderr.strip()),
       (3, "toolgate refused the call to danger.delete: forbidden by rule no-deletes"))
    p = run([TOOLGATE] + sock + ["call", "nosuch"])
    eq((p.returncode, p.stderr.strip()), (2, "toolgate call: Unknown tool: nosuch"))
    p = run([TOOLGATE] + sock + ["call", "echo", "[1]"])
    eq(p.returncode, 2)
    p = run([TOOLGATE] + sock + ["call", "echo", '{"msg":"late opts"}', "--timeout", "5", "--json"])
    eq((p.returncode, json.loads(p.stdout)["isError"]), (0, False), p.stderr)
    p = run([TOOLGATE] + sock + ["call", "sleeper.long", "--timeout", "0.3"])
    eq((p.returncode, p.stderr.strip()), (2, "toolgate call: no answer within 0.3 s; the call was cancelled"))
    p = run([TOOLGATE, "--socket", b.dir + "/nothing.sock", "list"])
    eq(p.returncode, 2)
    contains(p.stderr, "cannot connect to the broker at")
    p = run([TOOLGATE] + sock + ["list"], env=env)
    eq(p.returncode, 0)
    contains(p.stdout, "echo")


@test
def a_reload_adds_a_dropped_in_tool_and_a_broken_one_changes_nothing():
    b.write_tool(tool_file("late", [T("echo-args")]))
    b.proc.send_signal(signal.SIGHUP)
    c = b.client(AGENT_UID)
    wait_until(lambda: c.request("tools/call", {"name": "late", "arguments": {}}).get("result"),
               5, "the new tool to be callable")
    with open(os.path.join(b.config, "tools.d", "broken.json"), "w") as f:
        f.write('{"name": "broken", "bogus": 1}')
    b.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: any(r["event"] == "config_reload_failed" for r in b.records()), 5, "audit")
    rec = [r for r in b.records() if r["event"] == "config_reload_failed"][-1]
    contains(rec["reason"], "tools.d/broken.json")
    eq(c.call("late", {})["isError"], False, "the previous configuration stays in force")
    os.unlink(os.path.join(b.config, "tools.d", "broken.json"))


@test
def a_reload_that_changes_a_tool_takes_effect_for_the_next_call():
    c = b.client(AGENT_UID)
    env_of = lambda: [e for e in json.loads(text_of(c.call("inspect", {})))["env"] if e.startswith("GREETING=")]
    eq(env_of(), ["GREETING=hi"])
    t = [x for x in TOOLS if x["name"] == "inspect"][0]
    b.write_tool(dict(t, env={"LANG": "C.UTF-8", "GREETING": "changed"}))
    n = len(b.records())
    b.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: any(r["event"] == "config_load" for r in b.records()[n:]), 5, "the reload")
    eq(env_of(), ["GREETING=changed"])
    b.write_tool(t)
    n = len(b.records())
    b.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: any(r["event"] == "config_load" for r in b.records()[n:]), 5, "the reload back")


@test
def sigterm_lets_running_calls_finish_then_writes_a_final_record():
    c = b.client(AGENT_UID)
    id = c.call_async("tools/call", {"name": "sleeper", "arguments": {}})
    wait_until(lambda: processes_with(MARK + "-s"), 5, "tool running")
    b.proc.send_signal(signal.SIGTERM)
    r = c.wait(id)
    contains(text_of(r["result"]), "timed out after 600 ms")
    eq(b.proc.wait(20), 0)
    stop = b.records()[-1]
    eq(stop["event"], "broker_stop")
    eq(stop["calls"], len([r for r in b.records() if r["event"] == "decision"]),
       "the stop record counts every call that reached a decision")
    eq(os.path.exists(b.socket), False, "the socket is removed")
    p = run([TOOLGATE, "audit", "verify", b.audit_log, "--key", b.audit_pub])
    eq(p.returncode, 0, p.stdout + p.stderr)


b.close()
shutil.rmtree(TMP_TOOL_DIR, ignore_errors=True)
shutil.rmtree(VIEW_DIR, ignore_errors=True)


# ---- a second broker for start-up and configuration behaviour ----

@test
def a_restarted_broker_continues_the_chain():
    b2 = Broker([TOOLS[0]], POLICY)
    try:
        b2.start()
        b2.client(AGENT_UID).call("echo", {"msg": "one"})
        b2.stop()
        n = len(b2.records())
        b2.start()
        b2.client(AGENT_UID).call("echo", {"msg": "two"})
        b2.stop()
        recs = b2.records()
        eq(recs[n]["seq"], n + 1)
        eq(recs[n]["event"], "broker_start")
        p = run([TOOLGATE, "audit", "verify", b2.audit_log, "--key", b2.audit_pub])
        eq(p.returncode, 0, p.stdout + p.stderr)
        eq(os.stat(os.path.join(b2.state, "keys", "audit.key")).st_mode & 0o777, 0o600)
    finally:
        b2.close()


def fd_targets(pid):
    """What the broker's descriptors refer to, by kind: the pools' entries
    are replaced as they are used (another cgroup, another namespace)."""
    out = []
    for n in os.listdir("/proc/%d/fd" % pid):
        try:
            t = os.readlink("/proc/%d/fd/%s" % (pid, n))
        except OSError:
            continue
        out.append(re.sub(r"\[\d+\]", "[N]", re.sub(r"/call-\d+-\d+", "/call-N", t)))
    return sorted(out)


def settled_fds(pid):
    """The broker's open descriptors once its pools are full again: the
    same for a whole second."""
    last, since = None, time.time()
    deadline = time.time() + 15
    while time.time() < deadline:
        now = fd_targets(pid)
        if now != last:
            last, since = now, time.time()
        elif time.time() - since >= 1:
            return now
        time.sleep(0.05)
    raise AssertionError("the broker's descriptors did not settle: %r" % last)


@test
def however_a_call_ends_the_broker_keeps_no_descriptor_of_it():
    # No spares, so that the broker's descriptors at rest are only its own
    # and its pools' (refilled while idle), the same before and after.
    used = ("echo", "danger.delete", "sleeper", "flood", "fail", "inspect.dyn", "sleeper.long")
    b7 = Broker([t for t in TOOLS if t["name"] in used], POLICY, args=["--spare-sandboxes", "0"])
    try:
        b7.start()
        c = b7.client(AGENT_UID)
        eq(c.call("echo", {"msg": "warm"})["isError"], False)
        # Network namespaces kept for their callers' next calls (sandbox.h)
        # are held on purpose, as many as toolgate/status says, at most 8.
        kept = lambda: c.request("toolgate/status", {})["result"]["netns_pool"]["kept"]
        before, kept_before = settled_fds(b7.proc.pid), kept()
        eq(c.call("echo", {"msg": "ok"})["isError"], False)
        eq(c.call("danger.delete", {})["_meta"]["toolgate/decision"]["decision"], "forbid")
        eq(c.call("echo", {"msg": 5})["_meta"]["toolgate/decision"]["decision"], "invalid")
        contains(c.call("sleeper", {})["_meta"]["toolgate/execution"]["status"], "timed out")
        eq(c.call("flood", {"bytes": 100000})["_meta"]["toolgate/execution"]["truncated"], True)
        eq(c.call("fail", {})["isError"], True)
        eq(c.call("inspect.dyn", {})["isError"], False)
        # Cancelled while running, and before its tool existed.
        id = c.call_async("tools/call", {"name": "sleeper.long", "arguments": {}})
        wait_until(lambda: len(processes_with(MARK + "-c")) == 2, 10, "the tool running")
        c.notify("notifications/cancelled", {"requestId": id, "reason": "stop"})
        wait_until(lambda: not processes_with(MARK + "-c"), 5, "the tool gone")
        call = {"jsonrpc": "2.0", "id": 900, "method": "tools/call",
                "params": {"name": "echo", "arguments": {"msg": "never"}}}
        cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled",
                  "params": {"requestId": 900, "reason": "early"}}
        c.send_raw((json.dumps(call) + "\n" + json.dumps(cancel) + "\n").encode())
        eq(c.silent_for(0.3), True)
        # A client that hangs up while its tool runs.
        gone = b7.client(AGENT_UID)
        gone.call_async("tools/call", {"name": "sleeper.long", "arguments": {}})
        wait_until(lambda: len(processes_with(MARK + "-c")) == 2, 10, "the tool running")
        gone.sock.close()
        wait_until(lambda: not processes_with(MARK + "-c"), 5, "its tool gone with it")
        # Clients that hang up while their call's sandbox is being made:
        # each child is killed at its gate, before its tool starts.
        for _ in range(10):
            gone = b7.client(AGENT_UID)
            gone.call_async("tools/call", {"name": "sleeper.long", "arguments": {}})
            gone.sock.close()
        wait_until(lambda: "the client disconnected" in b7.log().split("sleeper.long for agent:")[-1], 5,
                   "the last call to end")
        after, kept_after = settled_fds(b7.proc.pid), kept()
        eq(kept_after <= 8, True, "at most 8 kept namespaces: %d" % kept_after)
        for _ in range(kept_after - kept_before):
            after.remove("net:[N]")
        eq(after, before, "the same descriptors as before the calls, but the kept namespaces")
    finally:
        b7.close()


@test
def connections_past_the_descriptor_limit_are_refused_with_a_reason_and_calls_go_on():
    b8 = Broker([TOOLS[0]], POLICY, nofile=128)
    flood = []
    try:
        b8.start()
        c = b8.client(0)
        eq(c.call("echo", {"msg": "before"})["isError"], False)
        for _ in range(150):
            flood.append(socket.socket(socket.AF_UNIX))
            flood[-1].connect(b8.socket)
        time.sleep(0.5)
        used = cpu_used_in(b8.proc.pid, 1)
        if used > 0.3:
            raise AssertionError("the broker used %.2f s of CPU in 1 s, over its descriptor limit" % used)
        flood[-1].settimeout(5)
        eq(json.loads(flood[-1].recv(4096))["error"], {"code": -32000, "message":
           "the broker is short of file descriptors (RLIMIT_NOFILE 128, a quarter kept for calls); "
           "try again later"})
        r = c.call("echo", {"msg": "during"})
        eq(r["isError"], False, "the quarter kept for calls is there: " + text_of(r))
        for f in flood:
            f.close()
        eq(b8.client(0).call("echo", {"msg": "after"})["isError"], False)
        log = b8.log()
        eq(log.count("refusing new connections: the last quarter of the broker's descriptors is "
                     "kept for calls (RLIMIT_NOFILE 128;"), 1, "logged once, not per refusal")
        contains(log, "info conn: accepting connections again after")
    finally:
        for f in flood:
            f.close()
        b8.close()


@test
def when_descriptors_run_out_each_call_gets_a_clear_error_and_the_broker_recovers():
    # Calls held for approval hold one descriptor each (their deadline
    # timer): held calls fill the broker's descriptors exactly.
    gate_dir = tempfile.mkdtemp(prefix="tg-gate-", dir="/var/tmp")
    os.chmod(gate_dir, 0o755)
    go = os.path.join(gate_dir, "go-" + MARK)
    # The tool the shell execs lives beside the gate file: the test tools'
    # directory may be under /tmp (a clone there), which no tool can be given.
    badsys = os.path.join(gate_dir, "badsys")
    shutil.copy(T("badsys"), badsys)
    prof = json.load(open(os.path.join(os.path.dirname(__file__), "..", "..", "sandbox", "default.json")))
    prof["syscalls"].append({"names": ["ptrace"], "action": "SCMP_ACT_KILL_PROCESS"})
    late = tool_file("late.kill", ["/bin/sh", "-c", "while [ ! -e %s ]; do sleep 0.05; done; exec %s ptrace"
                                   % (go, badsys)], profile="killer", limits={"timeout_ms": 20000})
    late["sandbox"]["read_paths"] = ["/usr", "/lib", "/lib64", "/bin", "/etc/ld.so.cache", gate_dir]
    policy = {"principals": {"root-tests": {"uids": [0]}, "ops": {"uids": [OPS_UID]}},
              "rules": [{"id": "run", "effect": "permit", "agents": ["root-tests"],
                         "tools": ["echo", "late.kill"]},
                        {"id": "hold", "effect": "approve", "agents": ["root-tests"], "tools": ["hold"],
                         "approvers": ["ops"], "deadline_seconds": 120}]}
    b9 = Broker([TOOLS[0], tool_file("hold", [T("echo-args")]), late], policy, profiles={"killer": prof},
                nofile=160, args=["--metrics-listen", "127.0.0.1:0"])
    holders, waiting = [], []
    try:
        b9.start()
        port = int(re.search(r"serving metrics on http://127\.0\.0\.1:(\d+)/", b9.log()).group(1))
        c = b9.client(0)
        eq(c.call("echo", {"msg": "warm"})["isError"], False)
        wait_until(lambda: c.request("toolgate/status")["result"]["spares"]["ready"] == 2, 10, "two spares")
        late_id = c.call_async("tools/call", {"name": "late.kill", "arguments": {}})
        wait_until(lambda: processes_with(go), 10, "late.kill waiting for its go")
        holders = [b9.client(0) for _ in range(8)]
        inflight = {h: 0 for h in holders}

        def exhaust():
            for h in holders:
                n = 16 - inflight[h]
                for _ in range(n):
                    h.call_async("tools/call", {"name": "hold", "arguments": {}})
                refused = []
                while not h.silent_for(0.3):   # a held call says nothing; a refused one answers
                    refused.append(h.read_msg())
                inflight[h] += n - len(refused)
                if refused:
                    eq(text_of(refused[-1]["result"]), "toolgate refused the call to hold: the broker "
                       "could not set the approval deadline")
                    return
            raise AssertionError("the broker's descriptors did not run out")

        exhaust()
        # The call adopts a spare sandbox, and gets no descriptor to watch it with.
        r = c.wait(c.call_async("tools/call", {"name": "echo", "arguments": {"msg": "starved"}}), 10)["result"]
        eq((r["isError"], r["_meta"]["toolgate/execution"]["status"]),
           (True, "the sandbox could not start the tool: the broker could not supervise it "
                  "(timerfd_create: Too many open files)"))
        time.sleep(0.3)
        exhaust()
        # A client, and a metrics scraper, that cannot be accepted now wait without a busy loop.
        waiting.append(socket.socket(socket.AF_UNIX))
        waiting[0].connect(b9.socket)
        waiting[0].sendall(b'{"jsonrpc":"2.0","id":"w","method":"ping"}\n')
        waiting.append(socket.create_connection(("127.0.0.1", port)))
        waiting[1].sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        used = cpu_used_in(b9.proc.pid, 1)
        if used > 0.3:
            raise AssertionError("the broker used %.2f s of CPU in 1 s, out of descriptors" % used)
        # A refused system call that cannot be answered ends the tool at once.
        open(go, "w").close()
        r = c.wait(late_id, 10)["result"]
        eq(r["_meta"]["toolgate/execution"]["status"], "the broker could not answer its refused "
           "system call; the tool and every process it started were killed")
        for h in holders:
            h.close()
        for w in waiting:
            w.settimeout(10)
        eq(json.loads(waiting[0].recv(4096)), {"jsonrpc": "2.0", "id": "w", "result": {}})
        contains(waiting[1].recv(4096).decode(), "HTTP/1.1 200")
        eq(c.call("echo", {"msg": "recovered"})["isError"], False)
        log = b9.log()
        eq(log.count("accept: Too many open files: new connections wait in the socket's backlog"), 1)
        contains(log, "info conn: accepting connections again after")
        if log.count("network namespace pool") > 1:
            raise AssertionError("the namespace pool's failure is logged again and again")
        ends = [x for x in b9.records() if x["event"] == "exec_end"]
        contains([x["reason"] for x in ends if x["tool"] == "echo"],
                 "the sandbox could not start the tool: the broker could not supervise it "
                 "(timerfd_create: Too many open files)")
        p = run([TOOLGATE, "audit", "verify", b9.audit_log, "--key", b9.audit_pub])
        eq(p.returncode, 0, p.stdout + p.stderr)
        eq(b9.stop(timeout=20), 0)
    finally:
        for s in holders + waiting:
            s.close()
        shutil.rmtree(gate_dir, ignore_errors=True)
        b9.close()


@test
def tools_list_pages_with_next_cursor():
    many = [tool_file("t%03d" % i, [T("echo-args")]) for i in range(120)]
    b3 = Broker(many, {"principals": {"a": {"uids": [AGENT_UID]}},
                       "rules": [{"id": "r", "effect": "permit", "agents": ["a"], "tools": ["t*"]}]})
    try:
        b3.start()
        c = b3.client(AGENT_UID)
        names, cursor, pages = [], None, 0
        while True:
            r = c.request("tools/list", {"cursor": cursor} if cursor else {})["result"]
            names += [t["name"] for t in r["tools"]]
            pages += 1
            cursor = r.get("nextCursor")
            if not cursor:
                break
        eq(names, ["t%03d" % i for i in range(120)])
        eq(pages, 3)
        eq(c.request("tools/list", {"cursor": "garbage"})["error"]["code"], -32602)
    finally:
        b3.close()


@test
def a_seccomp_kill_is_reported_in_words():
    prof = json.load(open(os.path.join(os.path.dirname(__file__), "..", "..", "sandbox", "default.json")))
    prof["syscalls"].append({"names": ["ptrace"], "action": "SCMP_ACT_KILL_PROCESS"})
    b4 = Broker([tool_file("bad", [T("badsys"), "ptrace"], profile="killer")],
                {"principals": {"a": {"uids": [AGENT_UID]}},
                 "rules": [{"id": "r", "effect": "permit", "agents": ["a"], "tools": ["bad"]}]},
                profiles={"killer": prof})
    try:
        b4.start()
        r = b4.client(AGENT_UID).call("bad", {})
        eq(r["isError"], True)
        eq(r["_meta"]["toolgate/execution"]["status"],
           "killed by signal 9 (SIGKILL): its seccomp profile forbids the system call ptrace")
        eq(r["_meta"]["toolgate/execution"]["exit"], 128 + 9)
        end = [json.loads(l) for l in open(b4.audit_log) if '"exec_end"' in l][-1]
        eq((end["seccomp"]["killed"], end["reason"]),
           ("ptrace", "killed by signal 9 (SIGKILL): its seccomp profile forbids the system call ptrace"))
    finally:
        b4.close()


@test
def a_sandbox_that_cannot_be_built_fails_its_call_and_leaks_no_descriptor():
    # A read path removed after the load: every child fails before its
    # gate, and each call's gate pipe is closed with the rest.
    gone = tempfile.mkdtemp(prefix="tg-gone-", dir="/var/tmp")
    os.chmod(gone, 0o755)
    t = tool_file("lost", [T("echo-args")])
    t["sandbox"]["read_paths"] = ["/usr", "/lib", "/lib64", "/etc/ld.so.cache", gone]
    b9 = Broker([t], POLICY)
    try:
        b9.start()
        os.rmdir(gone)
        c = b9.client(AGENT_UID)
        r = c.call("lost", {})
        eq((r["isError"], text_of(r)), (True, "lost failed: the sandbox could not start the tool: "
                                             "building its filesystem view: %s: No such file or "
                                             "directory" % gone))
        # Network namespaces apart: the pool's, those kept for the caller's
        # next call and the spares' move between those three (sandbox.h), at
        # most 8 + 8 + 4 of them.
        fds = lambda: [t for t in fd_targets(b9.proc.pid) if t != "net:[N]"]
        netns = lambda: fd_targets(b9.proc.pid).count("net:[N]")
        time.sleep(0.3)
        before = fds()
        for _ in range(20):
            eq(c.call("lost", {})["isError"], True)
        time.sleep(0.3)
        eq(fds(), before, "the broker's descriptors after 20 failed calls")
        eq(netns() <= 20, True, "network namespaces held: %d" % netns())
    finally:
        b9.close()
        shutil.rmtree(gone, ignore_errors=True)


@test
def a_call_that_ends_while_the_broker_drains_gets_its_whole_answer():
    # 3 MB of output leave through the socket in pieces: the broker stops
    # only once the answer is out, not after its first piece.
    t = tool_file("big", [T("echo-env"), "--pad", "3000000", "--sleep-ms", "300"],
                  limits={"output_bytes": 4000000})
    b8 = Broker([t], POLICY, args=["--grace", "5"])
    try:
        b8.start()
        c = b8.client(AGENT_UID)
        id = c.call_async("tools/call", {"name": "big", "arguments": {}})
        wait_until(lambda: any(r["event"] == "exec_start" for r in b8.records()), 5, "the tool to start")
        b8.proc.send_signal(signal.SIGTERM)
        r = c.wait(id, 20)["result"]
        eq(r["isError"], False)
        eq(len(text_of(r)), r["_meta"]["toolgate/execution"]["stdout_bytes"])
        eq(text_of(r)[:3000000], "x" * 3000000)
        eq(b8.proc.wait(20), 0)
        eq(b8.records()[-1]["event"], "broker_stop")
    finally:
        b8.close()


@test
def when_the_audit_log_cannot_be_written_no_tool_starts_and_callers_are_told_why():
    b6 = Broker([TOOLS[0]], POLICY)
    os.makedirs(b6.state)
    p = run(["mount", "-t", "tmpfs", "-o", "size=1m", "tg-it-state", b6.state])
    eq(p.returncode, 0, p.stderr)
    try:
        b6.start()
        c = b6.client(AGENT_UID)
        eq(c.call("echo", {"msg": "before"})["isError"], False)
        with open(os.path.join(b6.state, "filler"), "wb") as f:  # fill the disk
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        # Records still fit in the log's last, partly filled page (tmpfs
        # allocates by page).  Call until the log refuses: depending on which
        # record hits the full disk first, the refused call is either not
        # started (its start record failed) or refused outright (an earlier
        # end record failed).
        for i in range(20):
            r = c.request("tools/call", {"name": "echo", "arguments": {"msg": "after"}})
            if "error" in r or r["result"]["isError"]:
                break
        if "error" in r:
            eq(r["error"]["code"], -32603)
            contains(r["error"]["message"], "the audit log cannot be written")
        else:
            contains(text_of(r["result"]), "echo failed: not started: its start record could not be made durable")
            contains(text_of(r["result"]), "No space left on device")
        e = c.request("tools/call", {"name": "echo", "arguments": {"msg": "later"}})["error"]
        eq(e["code"], -32603)
        contains(e["message"], "No space left on device); no call can start")
        ran = b6.log().count("echo for agent: exited with status 0")
        # Only complete lines count: the write that hit the full disk may
        # have left a torn last line (the recovery below cuts it).
        complete = open(b6.audit_log, "rb").read().split(b"\n")[:-1]
        started = len([l for l in complete if json.loads(l)["event"] == "exec_start"])
        eq(ran, started, "every tool that ran has its start record on disk")
        eq(c.request("ping")["result"], {}, "the broker stays up")
        st = c.request("toolgate/status", {})["result"]
        contains(st["audit_error"], "No space left on device")
        # Room again: the broker recovers by itself, within its retry period.
        os.unlink(os.path.join(b6.state, "filler"))
        wait_until(lambda: not c.request("toolgate/status", {})["result"]["audit_error"], 5,
                   "the audit log to be writable again")
        r = c.call("echo", {"msg": "recovered"})
        eq((r["isError"], json.loads(text_of(r))), (False, {"msg": "recovered"}))
        recs = [json.loads(l) for l in open(b6.audit_log, "rb").read().split(b"\n")[:-1]]
        rec = [x for x in recs if x["event"] == "audit_recovered"]
        eq(len(rec), 1, "one audit_recovered record")
        contains(rec[0]["reason"], "No space left on device")
        p = run([TOOLGATE, "audit", "verify", b6.audit_log, "--key", b6.audit_pub])
        eq(p.returncode, 0, p.stdout + p.stderr)
    finally:
        b6.stop(signal.SIGKILL)
        b6.proc = None  # killed on purpose: no log dump
        run(["umount", b6.state])
        b6.close()


@test
def an_invalid_configuration_at_start_names_file_and_field_and_exits_1():
    bad = tool_file("oops", [T("echo-args")])
    bad["sandbox"]["limts"] = {}
    b5 = Broker([bad], POLICY)
    try:
        p = run([__import__("tglib").TOOLGATED, "--config-dir", b5.config, "--state-dir", b5.state,
                 "--socket", b5.socket, "--foreground"])
        eq(p.returncode, 1)
        contains(p.stderr, "tools.d/oops.json: sandbox.limts: unknown key")
        p = run([TOOLGATE, "check-config", b5.config])
        eq(p.returncode, 1)
        contains(p.stderr, "tools.d/oops.json: sandbox.limts: unknown key")
        p = run([TOOLGATE, "check-config", b5.config, "--json"])
        eq((p.returncode, json.loads(p.stdout)["valid"]), (1, False))
        contains(json.loads(p.stdout)["error"], "tools.d/oops.json: sandbox.limts: unknown key")
        p = run([__import__("tglib").TOOLGATED, "--check-config", "--config-dir", b5.config])
        eq(p.returncode, 1)
        contains(p.stderr, "toolgated: invalid configuration: tools.d/oops.json: sandbox.limts: unknown key")
    finally:
        b5.close()


@test
def the_shipped_configuration_is_valid():
    p = run([TOOLGATE, "check-config", os.path.join(os.path.dirname(__file__), "..", "..")])
    eq(p.returncode, 0, p.stderr)
    contains(p.stdout, "kb.search")


summary()
