#!/bin/bash
# demo/run.sh: the scripted customer-support session behind `make demo`.
#
# Starts toolgated on the shipped configuration (tools.d/, policies/,
# sandbox/ at the repository root) with a throw-away state dir, then plays an
# AI agent: a process running as uid 1001, which policies/support.json names
# support-bot.  The broker learns who is calling from the socket
# (SO_PEERCRED), never from what the caller claims, so the agent must really
# run under that uid: hence root, to switch uids with setpriv.  Every step
# checks its exit code (0 permitted, 3 refused) and a phrase of its output,
# so the demo doubles as an end-to-end smoke test: any surprise makes it
# exit 1.  Run from anywhere; needs the binaries that `make` builds.
set -u
cd "$(dirname "$0")/.." || exit 2

if [ -t 1 ]; then B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' D=$'\e[2m' N=$'\e[0m'; else B= G= R= D= N=; fi

if [ "$(id -u)" -ne 0 ]; then
	echo "demo/run.sh: must run as root: the agent runs as uid 1001 and the tools as nobody," >&2
	echo "demo/run.sh: which needs root to set up.  Try: sudo make demo" >&2
	exit 1
fi
for t in bin/toolgated bin/toolgate bin/kb-search; do
	[ -x "$t" ] || { echo "demo/run.sh: $t is missing: run make first (or make demo)" >&2; exit 1; }
done
command -v setpriv >/dev/null || { echo "demo/run.sh: setpriv not found: apt-get install util-linux" >&2; exit 1; }

# The write tools' write_paths (tools.d/ticket.create.json, refund.issue.json):
# the tools run as nobody, so nobody owns it; nobody else may read the tickets.
DATA=/var/lib/toolgate-demo
if [ ! -d "$DATA" ]; then
	install -d -o nobody -g nogroup -m 0750 "$DATA" || exit 1
	echo "created $DATA (nobody:nogroup, 0750): where the demo's write tools store tickets and refunds"
fi

TMP=$(mktemp -d /tmp/toolgate-demo.XXXXXX) || exit 1
chmod 0711 "$TMP"   # uid 1001 must reach the socket inside; listing stays closed
STATE=$TMP/state SOCK=$TMP/toolgate.sock BLOG=$TMP/toolgated.log
LOG=$STATE/audit/audit.log PUB=$STATE/keys/audit.pub
PID=
cleanup() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then kill -TERM "$PID"; wait "$PID"; fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

failed=0 step=0
heading() { step=$((step + 1)); printf '\n%s%d. %s%s\n' "$B" "$step" "$*" "$N"; }
indent() { sed 's/^/    /'; }
ok() { printf '    %s-> %s%s\n' "$G" "$*" "$N"; }
fail() { failed=$((failed + 1)); printf '    %s-> FAILED: %s%s\n' "$R" "$*" "$N"; }
# shown ARG...: the command line as one would type it, JSON in single quotes.
shown() {
	local a s=
	for a in "$@"; do
		if [[ $a =~ ^[A-Za-z0-9._/=-]+$ ]]; then s+=" $a"; else s+=" '$a'"; fi
	done
	printf '%s' "${s# }"
}
# check RC OUT WANT_RC PHRASE: the step passes when both match.
check() {
	if [ "$1" -ne "$3" ]; then fail "exit $1, expected $3"
	elif [[ $2 != *"$4"* ]]; then fail "exit $1 as expected, but the output lacks \"$4\""
	else ok "exit $1${5:+ ($5)}"; fi
}
# as UID WANT_RC PHRASE NOTE toolgate-ARGS...: run the CLI as that uid.
as() {
	local uid=$1 want=$2 phrase=$3 note=$4 out rc
	shift 4
	local who=uid$uid; [ "$uid" = 1001 ] && who=support-bot
	printf '%s%s$ toolgate %s%s\n' "$D" "$who" "$(shown "$@")" "$N"
	out=$(setpriv --reuid="$uid" --regid="$uid" --clear-groups bin/toolgate --socket "$SOCK" "$@" 2>&1)
	rc=$?
	printf '%s\n' "$out" | indent
	check "$rc" "$out" "$want" "$phrase" "$note"
	LAST=$out
}

echo "${B}toolgate demo${N}: a broker between an AI agent and its tools; every call is decided"
echo "by policy, run in a sandbox and written to a signed audit log."
echo "${D}\$ bin/toolgated --config-dir . --state-dir $STATE --socket $SOCK --broker-id demo --foreground${N}"
bin/toolgated --config-dir . --state-dir "$STATE" --socket "$SOCK" --broker-id demo \
	--foreground 2>"$BLOG" &
PID=$!
for _ in $(seq 100); do
	kill -0 "$PID" 2>/dev/null || { echo "${R}toolgated exited at start:${N}"; cat "$BLOG"; exit 1; }
	bin/toolgate --socket "$SOCK" list >/dev/null 2>&1 && break
	sleep 0.1
done
bin/toolgate --socket "$SOCK" list >/dev/null 2>&1 || { echo "${R}toolgated is not listening after 10 s:${N}"; cat "$BLOG"; exit 1; }
grep -m1 listening "$BLOG" | indent

heading "The agent (uid 1001 = support-bot) asks which tools it may use."
echo "${D}(every agent command runs as: setpriv --reuid=1001 --regid=1001 --clear-groups bin/toolgate --socket \$SOCK ...)${N}"
as 1001 0 kb.search "customer.delete is not even offered" list
[[ $LAST == *customer.delete* ]] && fail "customer.delete is listed although rule no-deletes forbids it"

heading "A permitted read: the search runs confined: as nobody, no network, a seccomp filter."
as 1001 0 "Refund policy" "permitted by rule kb-read" call kb.search '{"query":"refund"}'

heading "A structured result: the output is checked against the tool's output_schema."
as 1001 0 '"customer_id":"C1001"' "permitted by rule customer-read" call customer.lookup '{"customer_id":"C1001"}'

heading "A permitted write: the ticket lands on disk, written as nobody, not root."
as 1001 0 "created ticket" "permitted by rule tickets" call ticket.create \
	'{"customer_id":"C1001","subject":"Parcel arrived damaged","body":"Customer sent a photo; asks for a partial refund.","priority":"normal"}'
id=$(sed -n 's/^created ticket \([^ ]*\) .*/\1/p' <<<"$LAST")
echo "${D}\$ stat -c '%U %a %n' $DATA/tickets.jsonl; tail -n 1 $DATA/tickets.jsonl${N}"
{ stat -c '%U %a %n' "$DATA/tickets.jsonl"; tail -n 1 "$DATA/tickets.jsonl"; } 2>&1 | indent
if [ -n "$id" ] && [ "$(stat -c %U "$DATA/tickets.jsonl")" = nobody ] &&
	grep -q "\"id\":\"$id\"" "$DATA/tickets.jsonl"; then ok "ticket $id is on disk, written by nobody"
else fail "the ticket line is not in $DATA/tickets.jsonl"; fi

heading "A small refund, within the policy's limit of 50.00 EUR per call: permitted."
as 1001 0 "refunded 12.50 EUR" "permitted by rule small-refunds" call refund.issue '{"order_id":"ORD-1001","amount_cents":1250}'

heading "The same tool over the limit: denied before anything runs, and the agent is told why."
as 1001 3 "rule small-refunds" "denied" call refund.issue '{"order_id":"ORD-1001","amount_cents":20000}'

heading "A forbid rule wins over everything: no agent may call a *.delete tool."
as 1001 3 "forbidden by rule no-deletes" "forbidden" call customer.delete '{"customer_id":"C1001"}'

heading "Arguments are checked against the tool's input_schema before policy or execution."
as 1001 3 "invalid arguments" "refused by the schema" call customer.lookup '{"customer_id":"../../etc/passwd"}'

heading "A process that maps to no principal (uid 1003) sees no tools and may call none."
as 1003 0 "no tools" "" list
as 1003 3 "maps to no principal" "denied" call kb.search '{"query":"refund"}'

heading "Stop the broker with SIGTERM: it drains running calls and writes a final audit record."
echo "${D}\$ kill -TERM $PID${N}"
kill -TERM "$PID"
for _ in $(seq 150); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$PID" 2>/dev/null; then
	fail "toolgated still runs 15 s after SIGTERM"
else
	wait "$PID"; rc=$?; PID=
	tail -n 2 "$BLOG" | indent
	check "$rc" "$(tail -n 1 "$BLOG")" 0 "stopped" "toolgated exited cleanly"
fi

heading "The audit log, human view: every decision names its rule, every run its exit status."
echo "${D}\$ toolgate audit show \$STATE/audit/audit.log --tool refund.issue${N}"
out=$(bin/toolgate audit show "$LOG" --tool refund.issue 2>&1); rc=$?
printf '%s\n' "$out" | indent
check "$rc" "$out" 0 "small-refunds" "$(wc -l <"$LOG") records in all; here the refund.issue ones"

heading "Verify the whole log: hash chain (nothing removed or reordered) and Ed25519 signatures."
echo "${D}\$ toolgate audit verify \$STATE/audit/audit.log --key \$STATE/keys/audit.pub${N}"
out=$(bin/toolgate audit verify "$LOG" --key "$PUB" 2>&1); rc=$?
printf '%s\n' "$out" | indent
check "$rc" "$out" 0 "chain and signatures valid" "valid"

heading "No toolgate needed to check it: stock openssl verifies the denied refund's record."
L=$(grep '"event":"decision"' "$LOG" | grep -m1 '"amount_cents":20000')
printf '%s' "${L%,\"sig\":*}}" >"$TMP/msg"   # the line without its sig member
S=${L##*,\"sig\":\"}
printf '%s\n' "${S%\"\}}" | base64 -d >"$TMP/sig"
sed 's/"amount_cents":20000/"amount_cents":2000/' "$TMP/msg" >"$TMP/msg.forged"
echo "${D}(msg = the record's line minus its ,\"sig\":\"...\" member; sig = that member, base64-decoded)${N}"
echo "${D}\$ openssl pkeyutl -verify -pubin -inkey audit.pub -rawin -in msg -sigfile sig${N}"
out=$(openssl pkeyutl -verify -pubin -inkey "$PUB" -rawin -in "$TMP/msg" -sigfile "$TMP/sig" 2>&1); rc=$?
printf '%s\n' "$out" | indent
check "$rc" "$out" 0 "Verified Successfully" "record seq $(sed 's/^{"seq":\([0-9]*\).*/\1/' <<<"$L") is genuine"
echo "${D}\$ openssl pkeyutl ... -in msg.forged -sigfile sig   # amount edited to 2000${N}"
out=$(openssl pkeyutl -verify -pubin -inkey "$PUB" -rawin -in "$TMP/msg.forged" -sigfile "$TMP/sig" 2>&1); rc=$?
printf '%s\n' "$out" | grep -m1 -i 'failure' | indent
check "$rc" "$out" 1 "Verification Failure" "an edited record is caught"

echo
if [ "$failed" -eq 0 ]; then
	echo "${G}${B}demo passed${N}: all $step steps behaved as expected."
	exit 0
fi
echo "${R}${B}demo FAILED${N}: $failed check(s) did not behave as expected.  Broker log:"
indent <"$BLOG"
exit 1
