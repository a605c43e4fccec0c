"""Merkle checkpoints of the audit log, end to end: the broker signs C2SP
checkpoints (every 1,000 records and at stop); `toolgate audit checkpoint`,
`prove` and `consistency` give proofs that check out independently (here in
Python, from the RFC 9162 algorithms); `audit verify` with a checkpoint
catches every kind of tampering, naming the record; and
contrib/verify-audit.sh checks a record and a checkpoint with only OpenSSL,
coreutils and jq."""
import base64
import glob
import hashlib
import json
import os
import shutil
import signal
import tempfile
import time

from tglib import REPO, Broker, TEST_TOOLS, TOOLGATE, contains, eq, run, summary, test, tool_file

AGENT_UID = 41701
T = lambda name: os.path.join(TEST_TOOLS, name)
SCRIPT = os.path.join(REPO, "contrib", "verify-audit.sh")

POLICY = {"principals": {"agent": {"uids": [AGENT_UID]}},
          "rules": [{"id": "echo", "effect": "permit", "agents": ["agent"], "tools": ["echo"]},
                    {"id": "no", "effect": "forbid", "agents": ["agent"], "tools": ["denied"]}]}
b = Broker([tool_file("echo", [T("echo-args")]), tool_file("denied", [T("echo-args")])], POLICY)
b.start()
c = b.client(AGENT_UID)
for i in range(3):
    c.call("echo", {"i": i})
# 1,100 refused calls: cheap records, enough for the every-1,000 checkpoint.
for i in range(1100):
    c.request("tools/call", {"name": "denied", "arguments": {}})
c.close()
b.stop(signal.SIGTERM)   # the stop writes the last checkpoint
b.proc = None
LOG, PUB = b.audit_log, b.audit_pub
CPDIR = os.path.join(b.state, "audit", "checkpoints")
LINES = open(LOG, "rb").read().split(b"\n")[:-1]


def sizes():
    return sorted(int(os.path.basename(p)[:-5]) for p in glob.glob(os.path.join(CPDIR, "*.note")))


def leaf(line):
    return hashlib.sha256(b"\0" + line).digest()


def node(l, r):
    return hashlib.sha256(b"\1" + l + r).digest()


def root_of(hashes):
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return node(root_of(hashes[:k]), root_of(hashes[k:]))


def verify_inclusion(index, size, leaf_hash, proof, root):
    """RFC 9162 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def tg(*args):
    return run([TOOLGATE] + list(args))


@test
def checkpoints_are_written_every_thousand_records_and_at_stop():
    s = sizes()
    eq(s[-1], len(LINES), "the last checkpoint covers the whole log, broker_stop included")
    eq(any(1000 <= x < len(LINES) for x in s), True, "one written by count while running: %r" % s)


@test
def a_checkpoint_is_a_signed_note_whose_root_is_the_rfc6962_root_of_the_lines():
    p = tg("audit", "checkpoint", b.state)
    eq(p.returncode, 0, p.stderr)
    text, sig = p.stdout.split("\n\n")
    origin, size, root = text.split("\n")
    eq((origin, int(size)), ("test-broker", len(LINES)))
    eq(base64.b64decode(root), root_of([leaf(l) for l in LINES]))
    contains(sig, "\u2014 test-broker ")


@test
def an_inclusion_proof_checks_out_against_the_checkpoint_independently():
    mid = [x for x in sizes() if x >= 1000][0]
    cp = os.path.join(CPDIR, "%d.note" % mid)
    for seq in (1, 2, 500, mid):
        p = tg("audit", "prove", LOG, "--seq", str(seq), "--checkpoint", cp)
        eq(p.returncode, 0, p.stderr)
        proof = json.loads(p.stdout)
        eq((proof["seq"], proof["leaf_index"], proof["tree_size"]), (seq, seq - 1, mid))
        eq(base64.b64decode(proof["leaf_hash"]), leaf(LINES[seq - 1]))
        ok = verify_inclusion(seq - 1, proof["tree_size"], leaf(LINES[seq - 1]),
                              [base64.b64decode(h) for h in proof["inclusion_proof"]],
                              base64.b64decode(proof["root"]))
        eq(ok, True, "seq %d" % seq)
    p = tg("audit", "prove", LOG, "--seq", str(mid + 1), "--checkpoint", cp)
    eq((p.returncode, p.stderr.strip()), (1, "toolgate audit prove: seq %d: not in the tree of %d records"
                                          % (mid + 1, mid)))


@test
def consistency_between_two_checkpoints_holds_and_a_forged_one_does_not():
    old, new = [os.path.join(CPDIR, "%d.note" % x) for x in (sizes()[0], sizes()[-1])]
    p = tg("audit", "consistency", old, new, LOG)
    eq(p.returncode, 0, p.stderr)
    out = json.loads(p.stdout)
    eq((out["old_size"], out["new_size"], out["consistent"]), (sizes()[0], sizes()[-1], True))
    p = tg("audit", "consistency", new, old, LOG)
    eq(p.returncode, 1)
    contains(p.stderr, "give the older first")


def tampered(name, lines):
    d = tempfile.mkdtemp(prefix="tg-tamper-")
    path = os.path.join(d, name)
    with open(path, "wb") as f:
        f.write(b"".join(l + b"\n" for l in lines))
    return path


def verify(path, checkpoint=None):
    args = ["audit", "verify", path, "--key", PUB] + (["--checkpoint", checkpoint] if checkpoint else [])
    p = tg(*args)
    return p.returncode, (p.stdout + p.stderr).strip()


@test
def every_kind_of_tampering_is_caught_naming_the_record():
    cp = os.path.join(CPDIR, "%d.note" % sizes()[-1])
    eq(verify(LOG, cp)[0], 0, verify(LOG, cp)[1])
    changed = list(LINES)
    changed[9] = changed[9].replace(b'"event":"', b'"event":"X', 1)
    rc, out = verify(tampered("changed.log", changed), cp)
    eq(rc, 1)
    contains(out, "seq 10: ")
    removed = LINES[:9] + LINES[10:]
    rc, out = verify(tampered("removed.log", removed), cp)
    eq(rc, 1)
    contains(out, "seq 11: out of order (expected seq 10)")
    swapped = list(LINES)
    swapped[4], swapped[5] = swapped[5], swapped[4]
    rc, out = verify(tampered("swapped.log", swapped), cp)
    eq(rc, 1)
    contains(out, "seq 6: out of order (expected seq 5)")
    cut = LINES[:-2]
    path = tampered("cut.log", cut)
    eq(verify(path)[0], 0, "a cut tail still chains and verifies record by record...")
    rc, out = verify(path, cp)
    eq(rc, 1, "... but not against the checkpoint")
    contains(out, "seq %d: missing: the checkpoint commits to %d records and the log has %d"
             % (len(LINES) - 1, len(LINES), len(LINES) - 2))


@test
def stock_tools_verify_a_record_and_a_checkpoint():
    # The first checkpoint (at start), to keep the shell's one-openssl-per-line
    # hashing short.
    small = sizes()[0]
    cp = os.path.join(CPDIR, "%d.note" % small)
    p = run(["sh", SCRIPT, LOG, PUB, cp, "7"])
    eq(p.returncode, 0, p.stdout + p.stderr)
    eq(p.stdout, "ok   record 7: signature valid\n"
                 "ok   checkpoint: test-broker, %d records, signed by the audit key\n"
                 "ok   checkpoint: the log's first %d records hash to its root\n" % (small, small))
    changed = list(LINES)
    changed[2] = changed[2].replace(b'"event":"', b'"event":"X', 1)
    p = run(["sh", SCRIPT, tampered("changed.log", changed), PUB, cp, "3"])
    eq((p.returncode, p.stdout), (1, "FAIL record 3: the signature does not verify\n"))
    p = run(["sh", SCRIPT, tampered("cut.log", LINES[:small - 1]), PUB, cp, "1"])
    eq(p.returncode, 1)
    contains(p.stdout, "FAIL checkpoint: it commits to %d records, the log has %d" % (small, small - 1))



@test
def a_log_in_segments_verifies_shows_and_proves_as_one_directory():
    sb = Broker([tool_file("echo", [T("echo-args")]), tool_file("denied", [T("echo-args")])], POLICY,
                args=["--audit-segment-size", "8K"])
    sb.start()
    sc = sb.client(AGENT_UID)
    for i in range(60):
        sc.request("tools/call", {"name": "denied", "arguments": {}})
    sc.close()
    sb.stop(signal.SIGTERM)
    sb.proc = None
    adir = os.path.dirname(sb.audit_log)
    segs = sorted(n for n in os.listdir(adir) if n.startswith("audit-"))
    assert len(segs) >= 3, "segments: %s" % segs
    lines = b"".join(open(os.path.join(adir, n), "rb").read() for n in segs + ["audit.log"]).split(b"\n")[:-1]
    p = tg("audit", "verify", adir, "--key", sb.audit_pub)
    eq((p.returncode, p.stdout), (0, "%s: %d records, chain and signatures valid\n" % (adir, len(lines))))
    # One segment alone: its own range, and a word on what is not checked.
    one = os.path.join(adir, segs[1])
    first, last = int(segs[1][6:26]), int(segs[1][27:47])
    p = tg("audit", "verify", one, "--key", sb.audit_pub)
    eq((p.returncode, p.stdout), (0, "%s: %d records (seq %d to %d), chain and signatures valid; its link to "
                                     "seq %d is checked when the whole audit directory is verified\n"
                                  % (one, last - first + 1, first, last, first - 1)))
    p = tg("audit", "show", adir, "--decision", "forbid", "--json")
    eq(p.returncode, 0, p.stderr)
    eq(len(p.stdout.splitlines()), 60)
    cps = sorted(int(os.path.basename(x)[:-5]) for x in glob.glob(os.path.join(adir, "checkpoints", "*.note")))
    cp = os.path.join(adir, "checkpoints", "%d.note" % cps[-1])
    eq(cps[-1], len(lines), "the last checkpoint covers every segment")
    p = tg("audit", "verify", adir, "--key", sb.audit_pub, "--checkpoint", cp)
    eq(p.returncode, 0, p.stderr)
    for seq in (1, first, len(lines)):
        p = tg("audit", "prove", adir, "--seq", str(seq), "--checkpoint", cp)
        eq(p.returncode, 0, p.stderr)
        proof = json.loads(p.stdout)
        ok = verify_inclusion(seq - 1, proof["tree_size"], leaf(lines[seq - 1]),
                              [base64.b64decode(h) for h in proof["inclusion_proof"]],
                              base64.b64decode(proof["root"]))
        eq(ok, True, "seq %d" % seq)
    p = tg("audit", "consistency", os.path.join(adir, "checkpoints", "%d.note" % cps[0]), cp, adir)
    eq(p.returncode, 0, p.stderr)
    p = run(["sh", SCRIPT, adir, sb.audit_pub, cp, str(first)])
    eq(p.returncode, 0, p.stdout + p.stderr)
    contains(p.stdout, "ok   checkpoint: the log's first %d records hash to its root" % len(lines))
    # A segment taken away is named, by verify and by verify --checkpoint.
    os.rename(one, one + ".away")
    p = tg("audit", "verify", adir, "--key", sb.audit_pub)
    eq(p.returncode, 1)
    contains(p.stderr, "%s: begins at seq %d, but seq %d comes next (records are missing)"
             % (segs[2], int(segs[2][6:26]), first))
    p = tg("audit", "verify", adir, "--key", sb.audit_pub, "--checkpoint", cp, "--merkle-only")
    eq(p.returncode, 1)
    sb.close()


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@test
def a_checkpoint_that_cannot_be_written_is_tried_again_each_second_not_in_a_busy_loop():
    fb = Broker([tool_file("denied", [T("echo-args")])], POLICY)
    # The first checkpoint (of the two start records) cannot be put where
    # its temporary file goes: a directory is in the way.
    blocker = os.path.join(fb.state, "audit", "checkpoints", ".2.note.tmp")
    os.makedirs(blocker)
    try:
        fb.start()
        before = cpu_seconds(fb.proc.pid)
        time.sleep(1.5)
        used = cpu_seconds(fb.proc.pid) - before
        if used > 0.3:
            raise AssertionError("the broker used %.2f s of CPU in 1.5 s on a failing checkpoint" % used)
        log = fb.log()
        eq(log.count("warn audit: "), 1, log[-2000:])
        contains(log, "warn audit: checkpoint: %s: cannot write: Is a directory (tried again every "
                      "1000 ms; not logged again until it works)" % blocker)
        os.rmdir(blocker)
        cpdir = os.path.dirname(blocker)
        deadline = time.time() + 5
        while not os.listdir(cpdir) and time.time() < deadline:
            time.sleep(0.05)
        eq(os.listdir(cpdir), ["2.note"])
        contains(fb.log(), "info audit: checkpoints are written again")
    finally:
        fb.close()

b.close()
summary()
