#!/bin/bash
# demo/run.sh: the scripted customer-support session behind `make demo`.
#
# Starts toolgated on the shipped configuration (tools.d/, policies/,
# sandbox/ at the repository root, copied into a throw-away config dir) and
# plays an AI agent: a process running as uid 1001, which
# policies/support.json names support-bot, acting for the user alice within
# what she delegated to it (a PASETO token), plus a human support lead (uid
# 1002) who approves a large refund.  The broker learns who is calling from
# the socket (SO_PEERCRED), never from what the caller claims, so each party
# must really run under its uid: hence root, to switch uids with setpriv.
# Every step checks its exit code (0 permitted, 3 refused) and a phrase of
# its output, so the demo doubles as an end-to-end smoke test: any surprise
# makes it exit 1.  Run from anywhere; needs the binaries that `make` builds.
set -u
cd "$(dirname "$0")/.." || exit 2
REPO=$PWD

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
chmod 0711 "$TMP"   # uids 1001 and 1002 must reach the socket inside; listing stays closed
CONFIG=$TMP/config STATE=$TMP/state SOCK=$TMP/toolgate.sock BLOG=$TMP/toolgated.log
LOG=$STATE/audit/audit.log PUB=$STATE/keys/audit.pub
PID='' BOT='' TOKEN=''
cleanup() {
	if [ -n "$BOT" ] && kill -0 "$BOT" 2>/dev/null; then kill "$BOT"; wait "$BOT"; fi
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
# shown ARG...: the command line as one would type it, JSON in single quotes,
# the token by name rather than by value.
shown() {
	local a s=
	for a in "$@"; do
		if [ -n "$TOKEN" ] && [ "$a" = "$TOKEN" ]; then s+=' $TOKEN'
		elif [[ $a =~ ^[A-Za-z0-9._/=-]+$ ]]; then s+=" $a"
		else s+=" '$a'"; fi
	done
	printf '%s' "${s# }" | names
}
# names: the throw-away paths by the names the demo gives them, for reading.
names() {
	sed -e "s|$LOG|\$LOG|g" -e "s|$STATE|\$STATE|g" -e "s|$CONFIG|\$CONFIG|g" \
		-e "s|$SOCK|\$SOCK|g" -e "s|$TMP|\$TMP|g"
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
	local who=uid$uid
	case $uid in 1001) who=support-bot ;; 1002) who=support-lead ;; esac
	printf '%s%s$ toolgate %s%s\n' "$D" "$who" "$(shown "$@")" "$N"
	out=$(setpriv --reuid="$uid" --regid="$uid" --clear-groups bin/toolgate --socket "$SOCK" "$@" 2>&1)
	rc=$?
	printf '%s\n' "$out" | names | indent
	check "$rc" "$out" "$want" "$phrase" "$note"
	LAST=$out
}
# admin WANT_RC PHRASE NOTE toolgate-ARGS...: an offline toolgate command, as root.
admin() {
	local want=$1 phrase=$2 note=$3 out rc
	shift 3
	printf '%s$ toolgate %s%s\n' "$D" "$(shown "$@")" "$N"
	out=$(bin/toolgate "$@" 2>&1)
	rc=$?
	printf '%s\n' "$out" | names | indent
	check "$rc" "$out" "$want" "$phrase" "$note"
	LAST=$out
}

# The demo's own configuration dir: the shipped tools, policies and sandbox
# profiles, plus the public key of alice's identity provider, made fresh for
# this run (no private key is ever committed).  bin is a link because a tool's
# relative argv[0] ("bin/refund-issue") is relative to the config dir.
mkdir -p "$CONFIG/keys/issuers" && cp -R tools.d policies sandbox "$CONFIG/" &&
	ln -s "$REPO/bin" "$CONFIG/bin" &&
	bin/toolgate keygen --out "$TMP/idp" >/dev/null &&
	cp "$TMP/idp.pub" "$CONFIG/keys/issuers/idp.pem" || { echo "${R}cannot set up $CONFIG${N}"; exit 1; }

echo "${B}toolgate demo${N}: a broker between an AI agent and its tools; every call is decided"
echo "by policy, run in a sandbox and written to a signed audit log."
echo "${D}(\$CONFIG = the shipped tools.d/, policies/, sandbox/, and keys/issuers/idp.pem: the public key"
echo " of alice's identity provider, from \`toolgate keygen --out \$TMP/idp\` just now)${N}"
echo "${D}\$ bin/toolgated --config-dir \$CONFIG --state-dir \$STATE --socket \$SOCK --broker-id demo --foreground${N}"
bin/toolgated --config-dir "$CONFIG" --state-dir "$STATE" --socket "$SOCK" --broker-id demo \
	--foreground 2>"$BLOG" &
PID=$!
for _ in $(seq 100); do
	kill -0 "$PID" 2>/dev/null || { echo "${R}toolgated exited at start:${N}"; cat "$BLOG"; exit 1; }
	bin/toolgate --socket "$SOCK" list >/dev/null 2>&1 && break
	sleep 0.1
done
bin/toolgate --socket "$SOCK" list >/dev/null 2>&1 || { echo "${R}toolgated is not listening after 10 s:${N}"; cat "$BLOG"; exit 1; }
grep -m1 listening "$BLOG" | names | indent

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

heading "The customer, alice, delegates refunds up to 300.00 EUR to support-bot: a signed token."
SCOPE='{"refund.issue": {"args.amount_cents": {"<=": 30000}}, "kb.*": {}, "customer.lookup": {}, "ticket.create": {}}'
MINT=(token mint --key "$TMP/idp.key" --kid idp --iss idp --sub alice --agent support-bot --aud demo
	--ttl 15m --tools "$SCOPE")
echo "${D}(alice's identity provider mints it; here toolgate does, with the key made above)${N}"
printf '%s$ TOKEN=$(toolgate %s)%s\n' "$D" "$(shown "${MINT[@]}")" "$N"
TOKEN=$(bin/toolgate "${MINT[@]}" 2>&1); rc=$?
printf '%s\n' "${TOKEN:0:60}... (${#TOKEN} characters)" | indent
check "$rc" "$TOKEN" 0 "v4.public." "a PASETO v4.public token"
admin 0 "sub: alice" "signed by idp, for alice, to support-bot, at broker demo" \
	token verify "$TOKEN" --key "$TMP/idp.pub"

heading "A small refund for alice, with her token: permitted (rule small-refunds, up to 50.00 EUR)."
as 1001 0 "refunded 12.50 EUR" "permitted by rule small-refunds" \
	call refund.issue '{"order_id":"ORD-1001","amount_cents":1250}' --token "$TOKEN"
echo "${D}\$ toolgate audit show \$LOG --tool refund.issue   # \$LOG is \$STATE/audit/audit.log${N}"
out=$(bin/toolgate audit show "$LOG" --tool refund.issue 2>&1); rc=$?
printf '%s\n' "$out" | indent
if [ "$rc" -ne 0 ]; then fail "exit $rc, expected 0"
elif ! grep -q '^[^ ]* *[0-9]* *exec_end  *support-bot  *alice  *refund\.issue ' <<<"$out"; then
	fail "no exec_end record of refund.issue names the user alice"
else ok "exit 0 (the decision and the run are audited as done for alice)"; fi

heading "The same refund without a token: refused, since the refund rules require one."
as 1001 3 "requires a delegation token" "denied: the agent may not refund on its own" \
	call refund.issue '{"order_id":"ORD-1001","amount_cents":1250}'

heading "A refund of 200.00 EUR: rule large-refunds holds it until a support lead decides."
as_shown=$(shown call refund.issue '{"order_id":"ORD-1002","amount_cents":20000}' --token "$TOKEN")
printf '%ssupport-bot$ toolgate %s &   # waits%s\n' "$D" "$as_shown" "$N"
setpriv --reuid=1001 --regid=1001 --clear-groups bin/toolgate --socket "$SOCK" call refund.issue \
	'{"order_id":"ORD-1002","amount_cents":20000}' --token "$TOKEN" >"$TMP/held.out" 2>&1 &
BOT=$!
for _ in $(seq 50); do
	setpriv --reuid=1002 --regid=1002 --clear-groups bin/toolgate --socket "$SOCK" approvals list 2>/dev/null |
		grep -q '^apr-' && break
	sleep 0.1
done
as 1002 0 "large-refunds" "the lead sees what exactly is asked, by whom, for whom" approvals list
apr=$(sed -n 's/^\(apr-[^ ]*\) .*/\1/p' <<<"$LAST" | head -n 1)
as 1001 1 "cannot decide on its own call" "an agent cannot approve its own call" approvals approve "${apr:-none}"

heading "The support lead (uid 1002) approves; the agent's call then runs and returns."
as 1002 0 "approved ${apr:-none}" "decided, and the decision audited" approvals approve "${apr:-none}" --reason "gold customer"
for _ in $(seq 100); do kill -0 "$BOT" 2>/dev/null || break; sleep 0.1; done
echo "${D}(the agent's call, resumed:)${N}"
if kill -0 "$BOT" 2>/dev/null; then
	fail "the agent's call still waits 10 s after the approval"
else
	wait "$BOT"; rc=$?; BOT=
	indent <"$TMP/held.out"
	check "$rc" "$(cat "$TMP/held.out")" 0 "refunded 200.00 EUR" "permitted by rule large-refunds, approved by support-lead"
fi
echo "${D}\$ toolgate audit show \$LOG --tool refund.issue | tail -n 4${N}"
out=$(bin/toolgate audit show "$LOG" --tool refund.issue 2>&1 | tail -n 4)
printf '%s\n' "$out" | indent
if [[ $out == *"held for approval by support-lead"* && $out == *"approved by support-lead: gold customer"* ]]; then
	ok "the request, the decision and the run are each in the audit log"
else fail "the audit log lacks the held request or the approval"; fi

heading "A refund of 400.00 EUR: the policy would ask a lead, but alice delegated only 300.00."
as 1001 3 "the delegation does not cover this call" "denied at once: a token can only narrow" \
	call refund.issue '{"order_id":"ORD-1003","amount_cents":40000}' --token "$TOKEN"

heading "A refund of 600.00 EUR: over every rule's limit, so no rule permits it."
as 1001 3 "no rule permits" "denied before anything runs, and the agent is told why" \
	call refund.issue '{"order_id":"ORD-1004","amount_cents":60000}' --token "$TOKEN"

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

heading "Verify the whole log: hash chain (nothing removed or reordered) and Ed25519 signatures."
admin 0 "chain and signatures valid" "$(wc -l <"$LOG") records, all genuine" audit verify "$LOG" --key "$PUB"

heading "No toolgate needed to check it: stock openssl verifies the 600.00 EUR refusal's record."
L=$(grep '"event":"decision"' "$LOG" | grep -m1 '"amount_cents":60000')
printf '%s' "${L%,\"sig\":*}}" >"$TMP/msg"   # the line without its sig member
S=${L##*,\"sig\":\"}
printf '%s\n' "${S%\"\}}" | base64 -d >"$TMP/sig"
sed 's/"amount_cents":60000/"amount_cents":6000/' "$TMP/msg" >"$TMP/msg.forged"
echo "${D}(msg = the record's line minus its ,\"sig\":\"...\" member; sig = that member, base64-decoded)${N}"
echo "${D}\$ openssl pkeyutl -verify -pubin -inkey audit.pub -rawin -in msg -sigfile sig${N}"
out=$(openssl pkeyutl -verify -pubin -inkey "$PUB" -rawin -in "$TMP/msg" -sigfile "$TMP/sig" 2>&1); rc=$?
printf '%s\n' "$out" | indent
check "$rc" "$out" 0 "Verified Successfully" "record seq $(sed 's/^{"seq":\([0-9]*\).*/\1/' <<<"$L") is genuine"
echo "${D}\$ openssl pkeyutl ... -in msg.forged -sigfile sig   # amount edited to 6000${N}"
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
