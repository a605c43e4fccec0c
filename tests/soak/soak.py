"""soak: many hostile and broken clients against one broker for minutes.

    sudo /usr/bin/python3 tests/soak/soak.py [SECONDS] [CLIENTS]

Not part of make test.  Runs the ASan+UBSan daemon (build/asan/bin/toolgated,
or $TOOLGATED) with a few test tools, then CLIENTS threads (default 24) open
connection after connection for SECONDS (default 300), each one behaving in a
randomly chosen way: well-formed sessions, truncated lines, invalid UTF-8,
deep nesting, huge numbers, every JSON type in every params field of every
method, ids of every type, duplicate ids, cancellations of unknown and of
running ids, half-closed sockets, byte-by-byte writers, pipelining clients
that never read, abrupt closes mid-call, oversize lines.  Meanwhile it samples
the broker's RSS, and a watchdog client checks that ping is answered.

Afterwards the broker must be alive and answer ping, its RSS and descriptor
count must be back near where they started, `toolgate audit verify` must
pass, the sanitizers must have printed nothing, and SIGTERM must stop it with
exit status 0 (LeakSanitizer runs at exit).  Prints what it found and exits
0 when all of that holds, 1 otherwise.  Set SOAK_SEED to replay a run.
"""
import json
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
if "TOOLGATED" not in os.environ:
    os.environ["TOOLGATED"] = os.path.join(REPO, "build/asan/bin/toolgated")
if "TOOLGATE" not in os.environ:
    os.environ["TOOLGATE"] = os.path.join(REPO, "bin/toolgate")

import tglib  # noqa: E402  (after TOOLGATED is set)
from tglib import Broker, TEST_TOOLS, TOOLGATE, tool_file  # noqa: E402

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 300
CLIENTS = int(sys.argv[2]) if len(sys.argv) > 2 else 24
SEED = int(os.environ.get("SOAK_SEED", str(int(time.time()))))
T = lambda n: os.path.join(TEST_TOOLS, n)
MARK = "tg-soak-%d" % os.getpid()
AGENT, APPROVER = 0, 41302

TOOLS = [
    tool_file("echo", [T("echo-args")], schema={
        "type": "object", "properties": {"msg": {"type": "string", "maxLength": 64},
                                         "n": {"type": "integer", "minimum": 0, "maximum": 9}},
        "additionalProperties": False}),
    tool_file("any", [T("echo-args")]),
    tool_file("fail", [T("fail")]),
    tool_file("sleeper", [T("sleeper"), MARK], limits={"timeout_ms": 700}),
    tool_file("flood", [T("flood")], limits={"output_bytes": 200000}),
    tool_file("refund", [T("echo-args")], effect="write"),
    tool_file("forbidden.delete", [T("echo-args")], effect="write"),
    # Output that is not UTF-8, and output that is not the JSON its schema says.
    tool_file("badbytes", ["/bin/sh", "-c", "printf '\\377\\376\\300 ok \\355\\240\\200'; "
                                            "printf '\\377 err' >&2"]),
    tool_file("notjson", ["/bin/sh", "-c", "printf '{\"half\": '"], output_schema={"type": "object"}),
    tool_file("delegated", [T("echo-args")]),
]
POLICY = {
    "principals": {"agent": {"uids": [AGENT]}, "lead": {"uids": [APPROVER]}},
    "rules": [
        {"id": "all", "effect": "permit", "agents": ["agent"], "tools": ["echo", "any", "fail",
                                                                          "sleeper", "flood"]},
        {"id": "refunds", "effect": "approve", "agents": ["agent"], "tools": ["refund"],
         "approvers": ["lead"], "deadline_seconds": 2},
        {"id": "no-deletes", "effect": "forbid", "agents": ["*"], "tools": ["*.delete"]},
        {"id": "odd-output", "effect": "permit", "agents": ["agent"], "tools": ["badbytes", "notjson"]},
        {"id": "for-users", "effect": "permit", "agents": ["agent"], "tools": ["delegated"],
         "delegation": "required"},
    ],
    "rate_limits": [{"id": "any-cap", "agents": ["agent"], "tools": ["any"], "per": "agent",
                     "calls": 50, "seconds": 10}],
}

METHODS = ["initialize", "ping", "tools/list", "tools/call", "notifications/cancelled",
           "notifications/initialized", "toolgate/status", "toolgate/approvals/list",
           "toolgate/approvals/decide", "toolgate/admin/list", "toolgate/metrics",
           "server/discover", "subscriptions/listen", "no/such/method", "", "tools/call\u0000x"]
PARAM_FIELDS = {
    "initialize": ["protocolVersion", "capabilities", "clientInfo", "_meta"],
    "tools/list": ["cursor", "_meta"],
    "tools/call": ["name", "arguments", "_meta"],
    "notifications/cancelled": ["requestId", "reason"],
    "toolgate/approvals/decide": ["id", "decision", "reason"],
    "subscriptions/listen": ["notifications", "_meta"],
}
META_KEYS = ["toolgate/delegation", "progressToken", "traceparent", "toolgate/idempotencyKey",
             "io.modelcontextprotocol/protocolVersion", "io.modelcontextprotocol/clientCapabilities"]


def values(r, depth=0):
    """A random JSON value of any type, some of them nasty."""
    k = r.randrange(16 if depth < 3 else 11)
    if k == 0:
        return None
    if k == 1:
        return r.choice([True, False])
    if k == 2:
        return r.choice([0, -1, 1, 2 ** 31, -2 ** 63, 2 ** 63 - 1, 2 ** 63, 2 ** 64, 10 ** 30])
    if k == 3:
        return r.choice([0.5, -0.0, 1e308, -1e-308, 3.0])
    if k == 4:
        return ""
    if k == 5:
        return r.choice(["echo", "sleeper", "refund", "after:echo", "2025-11-25", "2026-07-28",
                         "approve", "deny", "apr-1", "apr-999999"])
    if k == 6:
        return "x" * r.choice([1, 63, 64, 65, 200, 5000])
    if k == 7:
        return r.choice(["\u00e9\u4e2d\U0001f600", "\u0001\u001f", "a\"b\\c", "\ufffd", "\u2028"])
    if k == 8:
        return "00-" + "a" * 32 + "-" + "b" * 16 + "-01"
    if k == 9:
        return r.choice(["v4.public.AAAA", "v4.public." + "A" * 300, "k" * 10])
    if k == 10:
        return r.randrange(-5, 50)
    if k == 11:
        return [values(r, depth + 1) for _ in range(r.randrange(4))]
    if k in (12, 13):
        return {r.choice(META_KEYS + ["msg", "n", "bytes", "x", ""]): values(r, depth + 1)
                for _ in range(r.randrange(4))}
    if k == 14:
        return {"msg": "hi", "n": r.randrange(12)}
    return {"bytes": r.choice([0, 10, 100000, 10 ** 7])}


def random_id(r):
    return r.choice([1, 0, -1, 2 ** 63 - 1, 2 ** 64, 1.5, "a", "", None, True, [], {}, [1], {"a": 1},
                     "id-%d" % r.randrange(5), r.randrange(1000)])


def random_params(r, method):
    kind = r.randrange(10)
    if kind == 0:
        return values(r)          # params of the wrong type, or absent (None)
    fields = PARAM_FIELDS.get(method, ["_meta", "x"])
    p = {}
    for f in fields:
        if r.random() < 0.7:
            p[f] = values(r)
    if method == "tools/call" and r.random() < 0.6:
        p["name"] = r.choice([t["name"] for t in TOOLS] + ["nope", "echo\u0000", "e" * 300])
        if p["name"] == "flood":
            p["arguments"] = {"bytes": r.choice([0, 1000, 300000])}
        elif p["name"] in ("echo", "sleeper", "fail", "any", "refund") and r.random() < 0.6:
            p["arguments"] = {"msg": "m", "n": r.randrange(10)} if p["name"] == "echo" else {}
    if r.random() < 0.3:
        p["_meta"] = {r.choice(META_KEYS): values(r) for _ in range(r.randrange(1, 4))}
    return p


def random_message(r):
    m = {}
    if r.random() < 0.95:
        m["jsonrpc"] = "2.0" if r.random() < 0.9 else values(r)
    method = r.choice(METHODS) if r.random() < 0.95 else values(r)
    if r.random() < 0.97:
        m["method"] = method
    if r.random() < 0.8:
        m["id"] = random_id(r)
    p = random_params(r, method if isinstance(method, str) else "")
    if p is not None or r.random() < 0.5:
        m["params"] = p
    if r.random() < 0.05:
        m["result"] = values(r)
    return json.dumps(m).encode()


def garbage(r):
    k = r.randrange(12)
    if k == 0:
        return random_message(r)[:r.randrange(1, 40)]                  # truncated
    if k == 1:
        return b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"\xff\xfe\xc0\xaf"}}'
    if k == 2:
        return b"[" * r.choice([63, 64, 65, 1000, 100000])
    if k == 3:
        return b'{"jsonrpc":"2.0","id":' + b"9" * r.choice([20, 400, 5000]) + b',"method":"ping"}'
    if k == 4:
        return b'{"jsonrpc":"2.0","id":1e999999,"method":"ping"}'
    if k == 5:
        return b'{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}'
    if k == 6:
        return b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":"\\ud800"}}'
    if k == 7:
        return bytes(r.randrange(256) for _ in range(r.randrange(1, 200))).replace(b"\n", b" ")
    if k == 8:
        return b'{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":' \
               + b'{"a":' * 60 + b"1" + b"}" * 60 + b"}}"
    if k == 9:
        return b"\x00" * r.randrange(1, 50)
    if k == 10:
        return b'{"jsonrpc":"2.0","id":"\xed\xa0\x80","method":"ping"}'
    return b"   \r"


def init_line(r):
    return json.dumps({"jsonrpc": "2.0", "id": "init", "method": "initialize",
                       "params": {"protocolVersion": r.choice(["2025-11-25", "2024-11-05", "x"]),
                                  "capabilities": {}, "clientInfo": {"name": "soak", "version": "1"}}
                       }).encode() + b"\n"


def call_line(id, name="sleeper", args=None):
    return json.dumps({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                       "params": {"name": name, "arguments": args or {}}}).encode() + b"\n"


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.n = {}
        self.problems = []

    def add(self, k, v=1):
        with self.lock:
            self.n[k] = self.n.get(k, 0) + v

    def problem(self, what):
        with self.lock:
            if len(self.problems) < 50:
                self.problems.append(what)


def read_for(s, seconds, limit=1 << 22):
    """Read what arrives for that long (or until EOF); return the bytes."""
    end = time.time() + seconds
    got = b""
    s.settimeout(0.05)
    while time.time() < end and len(got) < limit:
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            break
        if not d:
            break
        got += d
    return got


def check_lines(data, st, what):
    """Every complete line the broker sent is one JSON-RPC object."""
    for line in data.split(b"\n")[:-1]:
        try:
            m = json.loads(line)
        except ValueError:
            st.problem("%s: a reply that is not JSON: %r" % (what, line[:200]))
            return
        if not isinstance(m, dict) or m.get("jsonrpc") != "2.0":
            st.problem("%s: not a JSON-RPC message: %r" % (what, line[:200]))
        elif "error" in m and not isinstance(m["error"].get("message"), str):
            st.problem("%s: an error without a message: %r" % (what, line[:200]))


def behave(r, path, st):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(path)
    kind = r.choice(["mix", "mix", "mix", "valid", "garbage", "halfclose", "slow", "noread",
                     "abrupt", "oversize", "dupids", "cancel", "modern"])
    st.add(kind)
    try:
        if kind in ("mix", "garbage"):
            out = init_line(r) if r.random() < 0.7 else b""
            for _ in range(r.randrange(1, 30)):
                line = random_message(r) if kind == "mix" and r.random() < 0.7 else garbage(r)
                out += line + (b"\n" if r.random() < 0.97 else b"")
            s.sendall(out)
            data = read_for(s, r.choice([0.05, 0.3, 1.0]))
            check_lines(data, st, kind)
        elif kind == "valid":
            s.sendall(init_line(r) + b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
            ids = []
            for i in range(r.randrange(1, 8)):
                name = r.choice(["echo", "any", "fail", "flood", "forbidden.delete", "refund",
                                 "badbytes", "notjson", "delegated"])
                args = {"msg": "v%d" % i} if name == "echo" else {"bytes": 5000} if name == "flood" else {}
                s.sendall(call_line(i, name, args))
                ids.append(i)
            s.sendall(b'{"jsonrpc":"2.0","id":"p","method":"ping"}\n')
            want = set(ids) | {"p", "init"}
            buf = b""
            end = time.time() + 15
            while want and time.time() < end:
                buf += read_for(s, 0.2)
                for line in buf.split(b"\n")[:-1]:
                    m = json.loads(line)
                    want.discard(m.get("id"))
                buf = buf[buf.rfind(b"\n") + 1:]
            if want:
                st.problem("valid session: no answer for ids %r within 15 s" % sorted(map(str, want)))
        elif kind == "halfclose":
            s.sendall(init_line(r) + call_line(1, r.choice(["sleeper", "echo"]), {"msg": "h"})
                      + b'{"jsonrpc":"2.0","id":2,"method":"ping"}')   # no final newline
            s.shutdown(socket.SHUT_WR)
            data = read_for(s, 5)
            ids = {json.loads(l).get("id") for l in data.split(b"\n")[:-1]}
            if not {"init", 1, 2} <= ids:
                st.problem("half-closed client got ids %r, wanted init, 1, 2" % ids)
        elif kind == "slow":
            msg = init_line(r) + call_line(7, "echo", {"msg": "slow"})
            for i in range(len(msg)):
                s.sendall(msg[i:i + 1])
                if r.random() < 0.2:
                    time.sleep(0.01)
            data = read_for(s, 3)
            if b'"id":7' not in data:
                st.problem("slow writer got no answer to its call: %r" % data[:300])
        elif kind == "noread":
            s.setblocking(False)
            line = init_line(r) + b"".join(
                json.dumps({"jsonrpc": "2.0", "id": i, "method": r.choice(["tools/list", "ping", "toolgate/status"])}).encode() + b"\n"
                for i in range(2000))
            sent, end = 0, time.time() + r.choice([0.5, 2, 4])
            while time.time() < end:
                try:
                    sent += s.send(line[sent % len(line):])
                except BlockingIOError:
                    time.sleep(0.05)
                except OSError:
                    break
            st.add("noread_bytes", sent)
        elif kind == "abrupt":
            s.sendall(init_line(r) + call_line(1, r.choice(["sleeper", "flood", "refund"]),
                                                {"bytes": 300000}))
            time.sleep(r.choice([0, 0.01, 0.1, 0.3]))
        elif kind == "oversize":
            s.sendall(init_line(r) + b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"p":"'
                      + b"y" * (1 << 20) + b'"}}\n{"jsonrpc":"2.0","id":2,"method":"ping"}\n')
            data = read_for(s, 2)
            if b"exceeds the 1048576-byte limit" not in data or b'"id":2' not in data:
                st.problem("oversize line: %r" % data[:300])
        elif kind == "dupids":
            s.sendall(init_line(r) + call_line("d") + call_line("d") + call_line("d", "echo")
                      + call_line(None) + call_line([1]))
            check_lines(read_for(s, 1.5), st, kind)
        elif kind == "cancel":
            s.sendall(init_line(r) + call_line(5) + call_line(6, "refund"))
            for rid in [5, 6, 99, "5", None, [5], {"x": 5}, 5.0]:
                s.sendall(json.dumps({"jsonrpc": "2.0", "method": "notifications/cancelled",
                                      "params": {"requestId": rid, "reason": values(r)}}).encode() + b"\n")
            check_lines(read_for(s, 1), st, kind)
        elif kind == "modern":
            meta = {"io.modelcontextprotocol/protocolVersion": r.choice(["2026-07-28", "1", 5]),
                    "io.modelcontextprotocol/clientCapabilities": r.choice([{}, None, []])}
            out = b""
            for i, m in enumerate(["server/discover", "tools/list", "subscriptions/listen",
                                   "tools/call", "ping"]):
                p = {"_meta": meta, "notifications": {"toolsListChanged": True}, "name": "echo",
                     "arguments": {"msg": "x"}}
                out += json.dumps({"jsonrpc": "2.0", "id": i, "method": m, "params": p}).encode() + b"\n"
            out += json.dumps({"jsonrpc": "2.0", "method": "notifications/cancelled",
                               "params": {"requestId": 2}}).encode() + b"\n"
            s.sendall(out)
            check_lines(read_for(s, 1), st, kind)
    except (BrokenPipeError, ConnectionResetError):
        st.add("reset_by_broker")
    finally:
        s.close()


def worker(n, path, stop, st):
    r = random.Random(SEED * 1000 + n)
    while not stop.is_set():
        try:
            behave(r, path, st)
        except socket.timeout:
            st.problem("worker %d: a socket operation timed out (5 s)" % n)
        except OSError as e:
            st.problem("worker %d: %s" % (n, e))


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def nfds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def fd_kinds(pid):
    """What the descriptors refer to, by kind, with their counts."""
    n = {}
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        t = re.sub(r"\[\d+\]", "[N]", re.sub(r"/call-\d+-\d+", "/call-N", t))
        n[t] = n.get(t, 0) + 1
    return n


def fd_diff(a, b):
    return {k: b.get(k, 0) - a.get(k, 0) for k in set(a) | set(b) if b.get(k, 0) != a.get(k, 0)}


def ping_ok(b):
    c = b.client(0, init=False)
    try:
        return c.request("ping", timeout=5).get("result") == {}
    finally:
        c.close()


def main():
    print("soak: %s for %d s with %d clients, seed %d" % (tglib.TOOLGATED, SECONDS, CLIENTS, SEED))
    # What RSS may keep after the soak: ASan's allocator keeps its
    # quarantine and caches; glibc's gives nearly all back.
    rss_slack = (48 if "asan" in tglib.TOOLGATED else 8) << 10
    # A small quarantine, so that RSS shows live memory, not what ASan keeps
    # of freed blocks to catch use-after-free.
    env = {"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=99:quarantine_size_mb=16:"
                            "allocator_release_to_os_interval_ms=200",
           "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"}
    b = Broker(TOOLS, POLICY, env=env, args=["--max-calls-per-connection", "8"]).start()
    ok = True
    try:
        pid = b.proc.pid
        for _ in range(3):   # warm up: pools, spares, the allocator
            c = b.client(0)
            c.call("echo", {"msg": "warm"})
            c.call("flood", {"bytes": 100000})
            c.close()
        time.sleep(2)
        rss0, fds0, kinds0 = rss_kb(pid), nfds(pid), fd_kinds(pid)
        print("at rest: RSS %d KiB, %d descriptors" % (rss0, fds0))
        sc = b.client(0)
        st = sc.request("toolgate/status")["result"]
        sc.close()
        print("status: %s" % json.dumps({k: st.get(k) for k in ("connections", "calls_in_flight",
                                                              "spares", "netns_pool", "cgroup_pool")}))
        st = Stats()
        stop = threading.Event()
        ts = [threading.Thread(target=worker, args=(i, b.socket, stop, st), daemon=True)
              for i in range(CLIENTS)]
        for t in ts:
            t.start()
        peak, t0, pings_missed = rss0, time.time(), 0
        while time.time() - t0 < SECONDS:
            time.sleep(2)
            if b.proc.poll() is not None:
                print("FAIL the broker exited %s during the soak" % b.proc.returncode)
                ok = False
                break
            peak = max(peak, rss_kb(pid))
            if not ping_ok(b):
                pings_missed += 1
        stop.set()
        for t in ts:
            t.join(30)
        print("behaviours: %s" % json.dumps(st.n, sort_keys=True))
        print("peak RSS during the soak: %d KiB" % peak)
        if pings_missed:
            print("FAIL %d watchdog pings were not answered within 5 s" % pings_missed)
            ok = False
        for p in st.problems:
            print("FAIL " + p)
            ok = False
        if b.proc.poll() is None:
            # Held calls expire (2 s), sleepers time out (0.7 s): then settle.
            deadline = time.time() + 30
            while time.time() < deadline:
                rss1, fds1 = rss_kb(pid), nfds(pid)
                if fds1 <= fds0 + 2 and rss1 <= rss0 + rss_slack:
                    break
                time.sleep(1)
            print("after: RSS %d KiB (+%d), %d descriptors (%+d)" % (rss1, rss1 - rss0, fds1, fds1 - fds0))
            sc = b.client(0)
            st = sc.request("toolgate/status")["result"]
            sc.close()
            print("status: %s" % json.dumps({k: st.get(k) for k in ("connections", "calls_in_flight",
                                                                  "spares", "netns_pool", "cgroup_pool")}))
            if fds1 > fds0 + 2 and os.environ.get("SOAK_DEBUG"):
                pipes = {}
                for fd in os.listdir("/proc/%d/fd" % pid):
                    try:
                        t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
                    except OSError:
                        continue
                    if t.startswith("pipe:"):
                        with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                            flags = f.read().split("flags:")[1].split()[0]
                        pipes[t] = pipes.get(t, []) + ["%s(%s)" % (fd, flags)]
                others = {}
                for p in os.listdir("/proc"):
                    if not p.isdigit() or int(p) == pid:
                        continue
                    try:
                        for fd in os.listdir("/proc/%s/fd" % p):
                            t = os.readlink("/proc/%s/fd/%s" % (p, fd))
                            if t in pipes:
                                others.setdefault(t, []).append(p)
                    except OSError:
                        pass
                for t, fds in sorted(pipes.items()):
                    print("  %s broker fds %s, also in %s" % (t, fds, others.get(t, [])))
            if fds1 > fds0 + 2:
                print("FAIL descriptors did not come back: %d -> %d: %r" % (fds0, fds1,
                                                                           fd_diff(kinds0, fd_kinds(pid))))
                ok = False
            if rss1 > rss0 + rss_slack:
                print("FAIL RSS did not come back near its start: %d -> %d KiB" % (rss0, rss1))
                ok = False
            if not ping_ok(b):
                print("FAIL no answer to ping after the soak")
                ok = False
            rc = b.stop(timeout=60)
            if rc != 0:
                print("FAIL toolgated exited %s after SIGTERM" % rc)
                ok = False
        p = subprocess.run([TOOLGATE, "audit", "verify", b.audit_log, "--key", b.audit_pub],
                           capture_output=True, text=True)
        print("audit verify: exit %d %s" % (p.returncode, (p.stdout + p.stderr).strip()[-200:]))
        ok = ok and p.returncode == 0
        log = b.log()
        bad = [l for l in log.splitlines() if re.search(
            r"AddressSanitizer|LeakSanitizer|runtime error|UndefinedBehavior|SUMMARY:", l)]
        for l in bad[:40]:
            print("FAIL sanitizer: " + l)
        ok = ok and not bad
        print("log: %d lines; by kind: %s" % (len(log.splitlines()), json.dumps(
            dict(sorted(count_log(log).items(), key=lambda kv: -kv[1])[:12]))))
    finally:
        if not ok:
            keep = "/tmp/tg-soak-log-%d.txt" % os.getpid()
            with open(keep, "w") as f:
                f.write(b.log())
            print("broker log kept in " + keep)
        b.close()
    print("soak: %s" % ("ok" if ok else "FAILED"))
    sys.exit(0 if ok else 1)


def count_log(log):
    n = {}
    for l in log.splitlines():
        k = re.sub(r"\d+", "N", l)[:70]
        n[k] = n.get(k, 0) + 1
    return n


if __name__ == "__main__":
    main()
