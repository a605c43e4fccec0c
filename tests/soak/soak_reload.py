#!/usr/bin/env python3
"""soak_reload.py: the broker's state changes under concurrent calls, for
minutes (not part of `make test`).

Several client threads keep calling tools (fast ones, slow ones that sleep,
ones that time out, ones held for an approver, ones with idempotency keys,
ones cancelled or abandoned by a client that hangs up mid-call) while other
threads:
  - reload the configuration (SIGHUP or `toolgate reload`), alternating
    valid variants that add, remove and change tools (argv, env, limits,
    run_as, seccomp profile, the policy) with broken ones that must change
    nothing;
  - disable and enable tools with the kill switch;
  - approve, deny or let expire the calls held for approval.
After each round it checks: no sanitizer report in the broker's log; no tool
process left; no call cgroup left beyond the pools; the broker's fd count
and RSS do not grow from round to round; every call got exactly one answer
(or none when it was cancelled or its client left), and that answer matches
its records (decision, exec_start, exec_end); every call ran under one
configuration snapshot (its argv, env and timeout agree).  At the end it
SIGTERMs the broker with calls in flight: those within --grace finish, the
others are killed, the exit status is 0, and the audit log verifies.

    make SAN=1 all && make test-tools
    TOOLGATED=build/asan/bin/toolgated TOOLGATE=build/asan/bin/toolgate \\
        python3 tests/soak/soak_reload.py --rounds 4 --round-seconds 60

Exits 0 when every check held, 1 otherwise (each problem is printed).
"""
import argparse
import hashlib
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from tglib import Broker, Client, TEST_TOOLS, TOOLGATE, processes_with, run, text_of, tool_file  # noqa: E402

BOT, LEAD, ADMIN = 43101, 43102, 43103
T = lambda name: os.path.join(TEST_TOOLS, name)
GRACE_S = 2
SAN_PATTERNS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:", "SUMMARY: ")

problems = []
plock = threading.Lock()


def problem(msg):
    with plock:
        problems.append(msg)
    print("PROBLEM: " + msg, flush=True)


# ---- configuration variants ----

def fast_argv(k):
    return [T("echo-env"), "--var", "VARIANT", "--sleep-ms", str(k)]


def slow_argv(k):
    return [T("echo-env"), "--var", "VARIANT", "--sleep-ms", str(300 + 10 * k)]


def hang_timeout(k):
    return 600 + 50 * k


def variant_tools(k, rng):
    """The tools of valid variant k (0..9): every changeable property varies with k."""
    run_as = "dynamic" if k % 3 == 0 else "nobody"
    profile = "docker" if k % 4 == 1 else "default"
    env = {"VARIANT": "v%d" % k}
    sb = lambda t: (t["sandbox"].update({"run_as": run_as, "profile": profile}), t)[1]
    tools = [
        sb(tool_file("fast", fast_argv(k), env=env, limits={"timeout_ms": 5000, "processes": 16 + k})),
        sb(tool_file("slow", slow_argv(k), env=env, limits={"timeout_ms": 5000, "memory_mb": 128 + k})),
        sb(tool_file("hang", [T("sleeper"), "tg-soak-hang-v%d" % k], limits={"timeout_ms": hang_timeout(k)})),
        sb(tool_file("gated", fast_argv(k), env=env)),
        sb(tool_file("idem", slow_argv(k), env=env, limits={"timeout_ms": 5000})),
        sb(tool_file("long", [T("sleeper"), "tg-soak-long-v%d" % k], limits={"timeout_ms": 60000})),
    ]
    for j in range(4):
        if rng.random() < 0.5:
            tools.append(sb(tool_file("extra%d" % j, fast_argv(k), env=env)))
    return tools


def policy(k):
    rules = [{"id": "bot-all", "effect": "permit", "agents": ["bot"],
              "tools": ["fast", "slow", "hang", "idem", "long", "extra*"]},
             {"id": "gated", "effect": "approve", "agents": ["bot"], "tools": ["gated"],
              "approvers": ["lead"], "deadline_seconds": 2}]
    if k % 2:
        rules.append({"id": "no-extra3", "effect": "forbid", "agents": ["*"], "tools": ["extra3"]})
    return {"principals": {"bot": {"uids": [BOT]}, "lead": {"uids": [LEAD]},
                           "ops": {"uids": [ADMIN], "admin": True}},
            "rules": rules}


class Config:
    """Writes variants into the broker's config dir, each file atomically."""

    def __init__(self, b):
        self.b = b
        self.tmp = os.path.join(b.dir, "tmp")
        os.makedirs(self.tmp, exist_ok=True)
        self.rng = random.Random(7)

    def _put(self, rel, doc):
        tmp = os.path.join(self.tmp, os.path.basename(rel))
        with open(tmp, "w") as f:
            f.write(doc if isinstance(doc, str) else json.dumps(doc))
        os.rename(tmp, os.path.join(self.b.config, rel))

    def write_valid(self, k):
        tools = variant_tools(k, self.rng)
        names = {t["name"] for t in tools}
        for n in os.listdir(os.path.join(self.b.config, "tools.d")):
            if n[:-5] not in names:
                os.unlink(os.path.join(self.b.config, "tools.d", n))
        for t in tools:
            self._put("tools.d/%s.json" % t["name"], t)
        self._put("policies/test.json", policy(k))

    def write_broken(self):
        """One broken file; returns the path to remove afterwards."""
        kind = self.rng.randrange(4)
        if kind == 0:
            t = tool_file("broken", fast_argv(0))
            t["colour"] = "red"
            self._put("tools.d/broken.json", t)
            return os.path.join(self.b.config, "tools.d/broken.json")
        if kind == 1:
            t = tool_file("broken", fast_argv(0), limits={"timeout_ms": 0})
            self._put("tools.d/broken.json", t)
            return os.path.join(self.b.config, "tools.d/broken.json")
        if kind == 2:
            self._put("policies/broken.json", '{"rules": [{"id": "x", "effect": "permit"')
            return os.path.join(self.b.config, "policies/broken.json")
        self._put("sandbox/broken.json", '{"defaultAction": "SCMP_ACT_NOPE"}')
        return os.path.join(self.b.config, "sandbox/broken.json")


# ---- the broker's view ----

def status(b):
    c = Client(b.socket, 0, 0)
    try:
        return c.request("toolgate/status", timeout=30)["result"]
    finally:
        c.close()


def cli(uid, *args, timeout=60):
    pre = [] if uid == 0 else ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups", "--"]
    return run(pre + [TOOLGATE, "--socket", CTX.b.socket] + list(args), timeout=timeout)


def broker_fds(pid):
    """The broker's open descriptors, by what they are ("pipe:[N]", "anon_inode:[pidfd]", ...)."""
    kinds = {}
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            k = re.sub(r"\d+", "N", os.readlink("/proc/%d/fd/%s" % (pid, fd)))
        except OSError:
            continue
        kinds[k] = kinds.get(k, 0) + 1
    return kinds


def broker_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def cgroup_dirs(resources, pid):
    """This broker's call cgroups (call-PID-N) under the subtrees status "resources" names
    (other brokers on the host may share them)."""
    found = []
    for path in re.findall(r"(/sys/fs/cgroup/[^\s,;()]+)", resources):
        path = path.rstrip(".")
        if not os.path.isdir(path):
            continue
        for root, dirs, _ in os.walk(path):
            found += [os.path.join(root, d) for d in dirs if d.startswith("call-%d-" % pid)]
    return found


def sanitizer_report(b):
    log = b.log()
    return [l for l in log.splitlines() if any(p in l for p in SAN_PATTERNS)]


# ---- calls ----

class Ledger:
    """Every call the clients made, and what came back."""

    def __init__(self):
        self.lock = threading.Lock()
        self.calls = []        # dicts: kind, tool, n, answered, result, error, expect_answer
        self.n = 0
        self.idem_first = {}   # key -> content of the first result that ran

    def new(self, kind, tool, expect_answer=True):
        with self.lock:
            self.n += 1
            c = {"kind": kind, "tool": tool, "n": self.n, "answers": 0, "result": None,
                 "error": None, "expect_answer": expect_answer, "key": None}
            self.calls.append(c)
            return c


class Worker(threading.Thread):
    def __init__(self, idx, ledger, stop):
        super().__init__(daemon=True)
        self.idx, self.ledger, self.stop = idx, ledger, stop
        self.rng = random.Random(idx * 101)
        self.client = None
        self.keyno = 0

    def conn(self):
        if self.client is None:
            with CTX.fork_lock:
                self.client = Client(CTX.b.socket, BOT, BOT)
        return self.client

    def drop(self):
        if self.client:
            self.client.close()
        self.client = None

    def params(self, call, meta=None):
        p = {"name": call["tool"], "arguments": {"n": call["n"]}}
        if meta:
            p["_meta"] = meta
        return p

    def answer(self, c, rid, call, timeout):
        try:
            m = c.wait(rid, timeout)
        except AssertionError as e:
            if call["expect_answer"]:
                problem("call %d (%s %s) got no answer: %s" % (call["n"], call["kind"], call["tool"], e))
            return None
        call["answers"] += 1
        call["result"] = m.get("result")
        call["error"] = m.get("error")
        return m

    def do_calls(self, kind, tools, timeout=30, meta=None, pipelined=1):
        c = self.conn()
        pend = []
        for _ in range(pipelined):
            tool = self.rng.choice(tools)
            call = self.ledger.new(kind, tool)
            pend.append((c.call_async("tools/call", self.params(call, meta)), call))
        for rid, call in pend:
            self.answer(c, rid, call, timeout)

    def do_idem(self):
        # A key names one call: the same arguments each time it is used.
        if self.keyno == 0 or self.rng.random() < 0.3:
            self.keyno += 1
        key = "w%d-k%d" % (self.idx, self.keyno)
        call = self.ledger.new("idem", "idem")
        call["key"] = key
        p = {"name": "idem", "arguments": {"key": key}, "_meta": {"toolgate/idempotencyKey": key}}
        if self.rng.random() < 0.25:
            # The client hangs up mid-call; the retry on a new connection gets the result.
            with CTX.fork_lock:
                c = Client(CTX.b.socket, BOT, BOT)
            c.call_async("tools/call", p)
            time.sleep(self.rng.uniform(0, 0.3))
            c.close()
            call["expect_answer"] = False
            call = self.ledger.new("idem", "idem")
            call["key"] = key
        c = self.conn()
        self.answer(c, c.call_async("tools/call", p), call, 30)

    def do_idem_twice(self):
        # The same key twice at once: the second waits for the first and
        # gets its result (or, cancelled while it waits, nothing).
        self.keyno += 1
        key = "w%d-k%d" % (self.idx, self.keyno)
        p = {"name": "idem", "arguments": {"key": key}, "_meta": {"toolgate/idempotencyKey": key}}
        c = self.conn()
        first, second = self.ledger.new("idem", "idem"), self.ledger.new("idem", "idem")
        first["key"] = second["key"] = key
        r1 = c.call_async("tools/call", p)
        r2 = c.call_async("tools/call", p)
        if self.rng.random() < 0.3:
            time.sleep(self.rng.uniform(0, 0.2))
            c.notify("notifications/cancelled", {"requestId": r2, "reason": "soak"})
            second["expect_answer"] = False
        self.answer(c, r1, first, 30)
        if second["expect_answer"]:
            self.answer(c, r2, second, 30)
        else:
            try:
                m = c.wait(r2, 0.5)
                second["answers"] += 1
                second["result"], second["error"] = m.get("result"), m.get("error")
            except AssertionError:
                pass

    def do_abandon(self):
        tool = self.rng.choice(["slow", "hang", "gated", "long", "fast"])
        call = self.ledger.new("abandon", tool, expect_answer=False)
        with CTX.fork_lock:
            c = Client(CTX.b.socket, BOT, BOT)
        c.call_async("tools/call", self.params(call))
        time.sleep(self.rng.uniform(0, 0.6))
        c.close()

    def do_cancel(self):
        c = self.conn()
        tool = self.rng.choice(["slow", "hang", "gated", "long"])
        call = self.ledger.new("cancel", tool, expect_answer=False)
        rid = c.call_async("tools/call", self.params(call))
        time.sleep(self.rng.uniform(0, 0.5))
        c.notify("notifications/cancelled", {"requestId": rid, "reason": "soak"})
        # An answer may have crossed the cancellation; never two.
        try:
            m = c.wait(rid, 1.5)
            call["answers"] += 1
            call["result"], call["error"] = m.get("result"), m.get("error")
        except AssertionError:
            pass

    def run(self):
        actions = [(30, lambda: self.do_calls("fast", ["fast", "extra0", "extra1", "extra2", "extra3"],
                                              pipelined=self.rng.randint(1, 3))),
                   (15, lambda: self.do_calls("slow", ["slow"], pipelined=self.rng.randint(1, 2))),
                   (10, lambda: self.do_calls("hang", ["hang"])),
                   (10, lambda: self.do_calls("gated", ["gated"])),
                   (15, self.do_idem),
                   (5, self.do_idem_twice),
                   (10, self.do_abandon),
                   (10, self.do_cancel)]
        total = sum(w for w, _ in actions)
        while not self.stop.is_set():
            r = self.rng.uniform(0, total)
            for w, fn in actions:
                r -= w
                if r <= 0:
                    break
            try:
                fn()
            except Exception:
                problem("worker %d: %s" % (self.idx, traceback.format_exc()))
                self.drop()
                time.sleep(0.2)
        self.drop()


def reloader(stop, cfg, stats):
    rng = random.Random(3)
    while not stop.is_set():
        time.sleep(rng.uniform(0.1, 0.8))
        if rng.random() < 0.35:
            before = status(CTX.b)["config_digest"]
            path = cfg.write_broken()
            if rng.random() < 0.5:
                p = cli(0, "reload")
                if p.returncode != 1:
                    problem("a broken configuration was reloaded: %r %r" % (p.stdout, p.stderr))
            else:
                os.kill(CTX.b.proc.pid, signal.SIGHUP)
                time.sleep(0.3)
            after = status(CTX.b)["config_digest"]
            if after != before:
                problem("a broken configuration changed the digest %s -> %s" % (before, after))
            os.unlink(path)
            stats["broken"] += 1
        else:
            cfg.write_valid(rng.randrange(10))
            if rng.random() < 0.5:
                p = cli(0, "reload")
                if p.returncode != 0:
                    problem("a valid configuration was refused: %r" % p.stderr)
            else:
                os.kill(CTX.b.proc.pid, signal.SIGHUP)
            stats["valid"] += 1


def switcher(stop, stats):
    rng = random.Random(5)
    while not stop.is_set():
        time.sleep(rng.uniform(0.2, 1.5))
        tool = rng.choice(["fast", "slow", "hang", "gated", "idem", "extra1"])
        p = cli(ADMIN, "admin", "disable", tool, "--reason", "soak")
        if p.returncode != 0:
            problem("admin disable %s: %r" % (tool, p.stderr))
        time.sleep(rng.uniform(0.05, 1.0))
        p = cli(ADMIN, "admin", "enable", tool)
        if p.returncode != 0:
            problem("admin enable %s: %r" % (tool, p.stderr))
        stats["switches"] += 1


def approver(stop, stats):
    rng = random.Random(9)
    while not stop.is_set():
        time.sleep(rng.uniform(0.05, 0.4))
        p = cli(LEAD, "approvals", "list", "--json")
        if p.returncode != 0:
            continue
        try:
            pend = json.loads(p.stdout).get("approvals", [])
        except ValueError:
            problem("approvals list --json: %r" % p.stdout[:200])
            continue
        for a in pend:
            r = rng.random()
            if r < 0.5:
                cli(LEAD, "approvals", "approve", a["id"])
                stats["approved"] += 1
            elif r < 0.8:
                cli(LEAD, "approvals", "deny", a["id"], "--reason", "soak")
                stats["denied"] += 1
            # else: left to expire


# ---- checks ----

def record_index(b):
    recs = b.records()
    by_seq = {r["seq"]: r for r in recs}
    starts = {}
    for r in recs:
        if r["event"] == "exec_start":
            n = (r.get("args") or {}).get("n")
            if n is not None:
                starts.setdefault(n, []).append(r)
    ends_by_request = {}
    for r in recs:
        if r["event"] == "exec_end":
            ends_by_request.setdefault(r["request_seq"], []).append(r)
    return recs, by_seq, starts, ends_by_request


def variant_of_command(cmd):
    """The variant number a tool's argv encodes."""
    if "--sleep-ms" in cmd:
        ms = int(cmd[cmd.index("--sleep-ms") + 1])
        return ms if ms < 300 else (ms - 300) // 10
    m = re.search(r"-v(\d+)$", cmd[-1])
    return int(m.group(1)) if m else None


def check_calls(ledger, b):
    recs, by_seq, starts, ends_by_request = record_index(b)
    seen_end = {}
    for call in ledger.calls:
        if call["answers"] > 1:
            problem("call %d got %d answers" % (call["n"], call["answers"]))
        if call["answers"] == 0:
            continue
        if call["error"]:
            msg = call["error"].get("message", "")
            if not (msg.startswith("Unknown tool: ") or "the broker is shutting down" in msg):
                problem("call %d (%s): error %r" % (call["n"], call["tool"], call["error"]))
            continue
        r = call["result"]
        meta = r.get("_meta", {})
        dec = meta.get("toolgate/decision", {})
        ex = meta.get("toolgate/execution")
        rp = meta.get("toolgate/replay")
        dseq = dec.get("audit_seq")
        drec = by_seq.get(dseq)
        if not drec or drec["event"] not in ("decision", "approval"):
            problem("call %d: its decision audit_seq %r is no decision record" % (call["n"], dseq))
            continue
        if rp:
            first = ledger.idem_first.get(call["key"])
            if first is not None and first != text_of(r):
                problem("call %d: replay of key %s differs from the first result" % (call["n"], call["key"]))
            continue
        if not ex:
            continue   # refused: deny, forbid, disabled, approval outcome
        end = by_seq.get(ex["audit_seq"])
        if not end or end["event"] != "exec_end":
            problem("call %d: execution audit_seq %r is no exec_end" % (call["n"], ex["audit_seq"]))
            continue
        if end["seq"] in seen_end:
            problem("calls %d and %d answered from one exec_end %d" % (seen_end[end["seq"]], call["n"], end["seq"]))
        seen_end[end["seq"]] = call["n"]
        if end["tool"] != call["tool"] or end["exit"] != ex["exit"]:
            problem("call %d: exec_end %d says %s exit %r, the answer %s exit %r" % (
                call["n"], end["seq"], end["tool"], end["exit"], call["tool"], ex["exit"]))
        text = text_of(r)
        if not r["isError"] and hashlib.sha256(text.encode()).hexdigest() != end["output_sha256"]:
            problem("call %d: output_sha256 of exec_end %d does not match the answer" % (call["n"], end["seq"]))
        if call["key"] and not r["isError"] and call["key"] not in ledger.idem_first:
            ledger.idem_first[call["key"]] = text
        # The snapshot it started with: argv, env and limits agree.
        key_n = call["n"] if call["kind"] != "idem" else None
        st = starts.get(key_n) if key_n is not None else None
        if key_n is not None and (not st or len(st) != 1):
            problem("call %d: %d exec_start records" % (call["n"], len(st or [])))
            continue
        if st:
            k = variant_of_command(st[0]["command"])
            if call["tool"] == "hang":
                want = "timed out after %d ms" % hang_timeout(k)
                if want not in text:
                    problem("call %d (hang, started as v%s): %r lacks %r" % (call["n"], k, text[:200], want))
            elif "VARIANT=v" in text and "VARIANT=v%d\n" % k not in text:
                problem("call %d (%s): argv of v%s but %r" % (call["n"], call["tool"], k,
                                                              re.findall(r"VARIANT=v\d+", text)))
        if call["kind"] == "idem" and not r["isError"] and "VARIANT=v" in text:
            starts_k = [s for s in recs if s["event"] == "exec_start" and s["seq"] < end["seq"]
                        and s.get("idempotency_key") == call["key"]]
            if starts_k:
                k = variant_of_command(starts_k[-1]["command"])
                if "VARIANT=v%d\n" % k not in text:
                    problem("idem call %d: argv of v%s but %r" % (call["n"], k, re.findall(r"VARIANT=v\d+", text)))
    for req, ends in ends_by_request.items():
        if len(ends) > 1:
            problem("decision %d has %d exec_end records" % (req, len(ends)))
    stored = [r for r in recs if r["event"] == "decision" and "whose result was never stored" in r.get("reason", "")]
    if stored:
        problem("%d retries found a result never stored (the broker lost one)" % len(stored))


def quiesce(b, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        s = status(b)
        if s["calls_in_flight"] == 0:
            return s
        time.sleep(0.2)
    problem("calls still in flight %d s after the round: %r" % (timeout, status(b)["calls_in_flight"]))
    return status(b)


class Ctx:
    pass


CTX = Ctx()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--round-seconds", type=float, default=60)
    ap.add_argument("--workers", type=int, default=6)
    ap.add_argument("--keep", action="store_true", help="keep the broker's directory")
    ap.add_argument("--pause", type=float, default=0,
                    help="seconds to wait after the rounds, before the drain (to inspect the broker)")
    a = ap.parse_args()

    rng = random.Random(1)
    b = Broker(variant_tools(0, rng), policy(0), args=["--grace", str(GRACE_S)])
    CTX.b = b
    CTX.fork_lock = threading.Lock()
    cfg = Config(b)
    b.start()
    pid = b.proc.pid
    print("broker pid %d in %s (%s)" % (pid, b.dir, os.environ.get("TOOLGATED", "bin/toolgated")), flush=True)
    s0 = status(b)
    print("resources: %s" % s0["resources"], flush=True)
    samples = []
    ledger = Ledger()
    stats = {"valid": 0, "broken": 0, "switches": 0, "approved": 0, "denied": 0}
    try:
        for rnd in range(a.rounds):
            stop = threading.Event()
            threads = [Worker(i, ledger, stop) for i in range(a.workers)]
            threads += [threading.Thread(target=reloader, args=(stop, cfg, stats), daemon=True),
                        threading.Thread(target=switcher, args=(stop, stats), daemon=True),
                        threading.Thread(target=approver, args=(stop, stats), daemon=True)]
            for t in threads:
                t.start()
            time.sleep(a.round_seconds)
            stop.set()
            for t in threads:
                t.join(90)
                if t.is_alive():
                    problem("thread %s did not stop" % t.name)
            # Back to a known configuration with nothing disabled.
            cfg.write_valid(0)
            p = cli(0, "reload")
            if p.returncode:
                problem("reload after round: %r" % p.stderr)
            for tool in ["fast", "slow", "hang", "gated", "idem", "extra1"]:
                cli(ADMIN, "admin", "enable", tool)
            st = quiesce(b)
            time.sleep(1.5)   # idle work: spares, spent cgroups
            left = processes_with(TEST_TOOLS)
            if left:
                problem("round %d: tool processes left: %r" % (rnd, left))
            cgs = cgroup_dirs(st["resources"], pid)
            kinds, rss = broker_fds(pid), broker_rss_kb(pid)
            fds = sum(kinds.values())
            if samples and fds != samples[-1][0]:
                prev = samples[-1][3]
                print("  fds changed: %r" % {k: v - prev.get(k, 0) for k, v in kinds.items()
                                            if v != prev.get(k, 0)}, flush=True)
            samples.append((fds, rss, len(cgs), kinds))
            san = sanitizer_report(b)
            if san:
                problem("sanitizer report: %s" % "\n".join(san[:20]))
            check_calls(ledger, b)
            answered = sum(1 for c in ledger.calls if c["answers"])
            print("round %d: %d calls (%d answered), %r; fds %d, rss %d kB, cgroup dirs %d, spares %r" % (
                rnd, len(ledger.calls), answered, stats, fds, rss, len(cgs), st["spares"]), flush=True)
            if b.proc.poll() is not None:
                problem("the broker exited %r" % b.proc.returncode)
                break
        if len(samples) >= 3:
            f1, r1, c1, _ = samples[1]
            fl, rl, cl, _ = samples[-1]
            if fl > f1 + 4:
                problem("fd count grew from %d to %d" % (f1, fl))
            if cl > c1 + 2:
                problem("cgroup dirs grew from %d to %d" % (c1, cl))
            if rl > r1 * 1.5 + 20000:
                problem("RSS grew from %d kB to %d kB" % (r1, rl))

        if a.pause:
            print("pausing %g s before the drain: broker pid %d" % (a.pause, pid), flush=True)
            time.sleep(a.pause)
        # SIGTERM with calls in flight: slow ones finish within the grace,
        # long ones are killed after it; exit 0.
        drain_ledger = Ledger()
        clients = []
        for i in range(4):
            with CTX.fork_lock:
                c = Client(b.socket, BOT, BOT)
            for tool in ("slow", "long"):
                call = drain_ledger.new("drain", tool)
                clients.append((c, c.call_async("tools/call", {"name": tool, "arguments": {"n": 10 ** 6 + call["n"]}}), call))
        time.sleep(0.2)
        t0 = time.time()
        b.proc.send_signal(signal.SIGTERM)
        for c, rid, call in clients:
            try:
                m = c.wait(rid, GRACE_S + 20)
            except AssertionError as e:
                problem("drain: %s got no answer: %s" % (call["tool"], e))
                continue
            r = m.get("result")
            if not r:
                problem("drain: %s: %r" % (call["tool"], m))
            elif call["tool"] == "slow" and r["isError"]:
                problem("drain: a slow call did not finish within the grace: %r" % text_of(r)[:200])
            elif call["tool"] == "long" and "grace period ran out" not in text_of(r):
                problem("drain: a long call was not killed at the grace: %r" % text_of(r)[:200])
        try:
            rc = b.proc.wait(GRACE_S + 20)
        except subprocess.TimeoutExpired:
            rc = None
        took = time.time() - t0
        if rc != 0:
            problem("drain: exit status %r" % rc)
        if took > GRACE_S + 8:
            problem("drain took %.1f s with a %d s grace" % (took, GRACE_S))
        left = processes_with(TEST_TOOLS)
        if left:
            problem("after the drain: tool processes left: %r" % left)
        cg_left = cgroup_dirs(s0["resources"], pid)
        if cg_left:
            problem("after the drain: cgroups left: %r" % cg_left)
        recs = b.records()
        if recs[-1]["event"] != "broker_stop":
            problem("the last record is %s, not broker_stop" % recs[-1]["event"])
        san = sanitizer_report(b)
        if san:
            problem("sanitizer report: %s" % "\n".join(san[:20]))
        check_calls(ledger, b)
        p = run([TOOLGATE, "audit", "verify", os.path.join(b.state, "audit"), "--key", b.audit_pub])
        if p.returncode != 0:
            problem("audit verify: %s %s" % (p.stdout[-500:], p.stderr[-500:]))
        print("drain: exit %r after %.1f s; %d records; audit verify %s" % (
            rc, took, len(recs), "ok" if p.returncode == 0 else "FAILED"), flush=True)
    except Exception:
        problem(traceback.format_exc())
    finally:
        if b.proc and b.proc.poll() is None:
            b.proc.kill()
            b.proc.wait()
        if a.keep or problems:
            print("kept %s" % b.dir)
        else:
            import shutil
            shutil.rmtree(b.dir, ignore_errors=True)
    print("%d problems" % len(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
