#!/bin/sh
# bench/run.sh: the `make bench` driver.  It measures one trivial tool
# started four ways (bare fork+exec, fork into fresh namespaces, bwrap, and a
# tools/call through toolgated) and prints them side by side with their
# ratios to the isolation floor, so that a regression in toolgate's own
# overhead shows up as a ratio, independent of how fast this machine is.
# bench/README.md explains each row.  After them come the in-process rows of
# build/bench/micro (bench/micro.c): the cost of verifying one delegation token
# and of one policy decision over 1,000 rules, each against its goal.
#
# Tunables (environment): BENCH_RUNS (latency samples, default 2000),
# BENCH_BWRAP_RUNS (default 300), BENCH_SECONDS (each throughput row, default 5),
# TOOLGATED (the daemon to measure, default bin/toolgated; e.g. the sanitized
# build/asan/bin/toolgated, which is slower and only good for finding bugs).
# Exit status: 0 when every row ran without a single error, 1 otherwise.
#
# shellcheck disable=SC2154,SC2317
# (res_* are assigned by measure() through eval; cleanup() runs from a trap.)
set -u
umask 022
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
B=build/bench
RUNS=${BENCH_RUNS:-2000}
BWRAP_RUNS=${BENCH_BWRAP_RUNS:-300}
SECS=${BENCH_SECONDS:-5}
TOOLGATED=${TOOLGATED:-bin/toolgated}
# A row stops sampling after this long even if it has fewer than RUNS samples.
MAX_ROW_SECONDS=20
failed=0
TMP=

mkdir -p "$B"

# The tool is rebuilt static every time (the Makefile's generic rule links
# it dynamically against the library it does not use): the loader's work is
# identical in every row and would only blur the differences.
if ! gcc -std=gnu11 -Wall -Wextra -Werror -O2 -static -o "$B/trivial" bench/trivial.c; then
	echo "bench: building the static trivial tool from bench/trivial.c failed" >&2
	exit 1
fi
TRIVIAL=$ROOT/$B/trivial

# `make bench` has built these; when run.sh is run on its own, build what is
# missing or stale without the library (they need only libc and jansson).
for prog in spawn client; do
	if [ ! -x "$B/$prog" ] || [ -n "$(find "bench/$prog.c" -newer "$B/$prog")" ]; then
		scripts/build-one.sh "$B/$prog" "bench/$prog.c" || {
			echo "bench: building $B/$prog from bench/$prog.c failed" >&2
			exit 1
		}
	fi
done

# field LINE KEY: the value of KEY=VALUE in a result line of spawn or client.
field() {
	printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# busy_ticks: the clock ticks every CPU has spent not idle since boot
# (/proc/stat's first line: user, nice, system, irq, softirq, steal).
HZ=$(getconf CLK_TCK)
busy_ticks() {
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}

# measure NAME LABEL COMMAND...: run one row, keep its result line in the
# variable res_NAME, and count the row as failed when it reports errors.
measure() {
	name=$1
	label=$2
	shift 2
	# Network namespaces are torn down asynchronously, after their last
	# process exits: let the previous row's backlog drain so it is not billed here.
	sleep 1
	echo "  $label ..." >&2
	busy0=$(busy_ticks)
	out=$("$@")
	rc=$?
	busy1=$(busy_ticks)
	line=$(printf '%s\n' "$out" | tail -n 1)
	[ -n "$line" ] || line="runs=0 p50_us=0 p99_us=0 errors=1 calls=0 rate=0"
	# The CPU the whole machine spent per sample (a latency row's runs),
	# every process and kernel thread included.
	line="$line cpu_us=$(awk -v a="$busy0" -v b="$busy1" -v n="$(field "$line" runs)" -v hz="$HZ" \
		'BEGIN { if (n + 0 > 0) printf "%.0f", (b - a) * 1e6 / hz / n; else printf "-" }')"
	if [ "$rc" != 0 ]; then
		echo "bench: row \"$label\" failed (exit $rc): $line" >&2
		failed=1
	fi
	eval "res_$name=\$line"
}

cleanup() {
	if [ -n "${DAEMON_PID:-}" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		kill -KILL "$DAEMON_PID" 2>/dev/null
		wait "$DAEMON_PID" 2>/dev/null
	fi
	if [ -n "$TMP" ]; then
		if [ "$failed" = 0 ]; then
			rm -rf "$TMP"
		else
			echo "bench: kept $TMP (configuration, state and toolgated.log) for inspection" >&2
		fi
	fi
}
trap cleanup EXIT
trap 'failed=1; exit 1' INT TERM

echo "toolgate bench: $(nproc) CPUs, Linux $(uname -r), tool $B/trivial (static, reads stdin, writes {})"
echo "measuring (takes about a minute):" >&2

measure bare "fork+exec" "$B/spawn" --runs "$RUNS" --max-seconds "$MAX_ROW_SECONDS" -- "$TRIVIAL"
measure floor "fork+namespaces+exec" "$B/spawn" --ns --runs "$RUNS" --max-seconds "$MAX_ROW_SECONDS" -- "$TRIVIAL"
BWRAP=$(command -v bwrap || true)
if [ -n "$BWRAP" ]; then
	measure bwrap "bwrap" "$B/spawn" --runs "$BWRAP_RUNS" --max-seconds "$MAX_ROW_SECONDS" -- \
		"$BWRAP" --unshare-all --ro-bind / / --dev /dev --proc /proc "$TRIVIAL"
	# bwrap building the same view a toolgate tool gets by default: the
	# default read paths (a symbolic link recreated as one), the tool itself,
	# its own /proc, a /dev, a scratch tmpfs as cwd, a new session, no
	# capabilities.  (bwrap adds no seccomp filter here; toolgate does.)
	set -- --unshare-all --die-with-parent --new-session --cap-drop ALL --hostname toolgate
	for p in /usr /lib /lib64 /lib32 /libx32 /bin /sbin /etc/ld.so.cache; do
		if [ -L "$p" ]; then
			set -- "$@" --symlink "$(readlink "$p")" "$p"
		elif [ -e "$p" ]; then
			set -- "$@" --ro-bind "$p" "$p"
		fi
	done
	set -- "$@" --ro-bind "$TRIVIAL" "$TRIVIAL" --proc /proc --dev /dev --tmpfs /tmp --chdir /tmp
	measure bwrap_view "bwrap, toolgate's view" "$B/spawn" --runs "$BWRAP_RUNS" --max-seconds "$MAX_ROW_SECONDS" -- \
		"$BWRAP" "$@" "$TRIVIAL"
else
	echo "bench: bwrap not installed (apt-get install bubblewrap): its row is skipped" >&2
fi
measure floor_t1 "fork+namespaces+exec throughput, 1 worker" "$B/spawn" --ns --workers 1 --duration "$SECS" -- "$TRIVIAL"
measure floor_t2 "fork+namespaces+exec throughput, 2 workers" "$B/spawn" --ns --workers 2 --duration "$SECS" -- "$TRIVIAL"

# Row 4: a private toolgated with a configuration of exactly two tools.
have_toolgate=0
if [ ! -x "$TOOLGATED" ]; then
	echo "bench: toolgated not built ($TOOLGATED is missing): the toolgate rows are skipped" >&2
else
	case $TRIVIAL in *\"* | *\\*)
		echo "bench: the repository path $ROOT needs JSON escaping; move it" >&2
		exit 1 ;;
	esac
	TMP=$(mktemp -d /tmp/toolgate-bench.XXXXXX) || exit 1
	CONF=$TMP/config
	SOCK=$TMP/toolgate.sock
	mkdir -p "$CONF/tools.d" "$CONF/policies" "$CONF/sandbox" "$CONF/keys/issuers" "$TMP/state"
	# The shipped seccomp profiles, so the calls pay for the same filter as in production.
	cp sandbox/*.json "$CONF/sandbox/" 2>/dev/null ||
		echo "bench: the repository's sandbox/ has no profiles; toolgated will say what it misses" >&2
	for tool in trivial denied.tool; do
		cat >"$CONF/tools.d/$tool.json" <<-EOF
		{
		  "name": "$tool",
		  "title": "Benchmark tool $tool",
		  "description": "Reads its arguments and writes {}; used by make bench.",
		  "command": ["$TRIVIAL"],
		  "input_schema": {"type": "object", "additionalProperties": false},
		  "effect": "read",
		  "sandbox": {"profile": "default", "network": "none"}
		}
		EOF
	done
	# denied.tool exists and would work, so its calls measure the policy's refusal, not a lookup miss.
	cat >"$CONF/policies/bench.json" <<-EOF
	{
	  "principals": {"bench": {"uids": [$(id -u)]}},
	  "rules": [
	    {"id": "bench-trivial", "effect": "permit", "agents": ["bench"], "tools": ["trivial"]},
	    {"id": "bench-no-denied", "effect": "forbid", "agents": ["bench"], "tools": ["denied.tool"]}
	  ]
	}
	EOF
	"$TOOLGATED" --config-dir "$CONF" --state-dir "$TMP/state" --socket "$SOCK" \
		--broker-id bench --foreground 2>"$TMP/toolgated.log" &
	DAEMON_PID=$!
	tries=0
	while :; do
		if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
			wait "$DAEMON_PID"
			echo "bench: toolgated exited with status $? before accepting connections; its log:" >&2
			tail -n 20 "$TMP/toolgated.log" >&2
			failed=1
			DAEMON_PID=
			break
		fi
		if "$B/client" --socket "$SOCK" --wait 0.2 2>/dev/null; then
			have_toolgate=1
			break
		fi
		tries=$((tries + 1))
		if [ "$tries" -ge 75 ]; then
			echo "bench: toolgated did not answer initialize on $SOCK within 15 s:" >&2
			"$B/client" --socket "$SOCK" --wait 0.2
			tail -n 20 "$TMP/toolgated.log" >&2
			failed=1
			break
		fi
	done
fi
if [ "$have_toolgate" = 1 ]; then
	measure tg "toolgate call latency" "$B/client" --socket "$SOCK" --runs "$RUNS" --max-seconds "$MAX_ROW_SECONDS"
	for c in 1 4 16; do
		measure "tg_t$c" "toolgate throughput, $c client(s)" "$B/client" --socket "$SOCK" --clients "$c" --duration "$SECS"
	done
	measure tg_denied "toolgate denied-call throughput, 16 clients" "$B/client" --socket "$SOCK" --tool denied.tool --expect denied \
		--clients 16 --duration "$SECS"
	kill -TERM "$DAEMON_PID"
	waited=0
	while kill -0 "$DAEMON_PID" 2>/dev/null && [ "$waited" -lt 100 ]; do
		sleep 0.1
		waited=$((waited + 1))
	done
	if kill -0 "$DAEMON_PID" 2>/dev/null; then
		echo "bench: toolgated did not exit within 10 s of SIGTERM; killing it" >&2
		failed=1
	else
		wait "$DAEMON_PID"
		st=$?
		DAEMON_PID=
		if [ "$st" != 0 ]; then
			echo "bench: toolgated exited with status $st after SIGTERM; the end of its log:" >&2
			tail -n 10 "$TMP/toolgated.log" >&2
			failed=1
		fi
	fi
fi

# The in-process rows need libtoolgate, so while the library does not build
# they are skipped (and say so) instead of failing the reference rows.
MICRO=$B/micro
# Each of micro's three rows stops sampling after this long: at most 15 s in all.
MICRO_MAX_SECONDS=5
micro_out=
if [ ! -x "$MICRO" ] || [ -n "$(find bench/micro.c -newer "$MICRO")" ]; then
	if ! make --no-print-directory "$MICRO" >&2; then
		echo "bench: building $MICRO (it links build/libtoolgate.a) failed: the in-process rows are skipped" >&2
		MICRO=
	fi
fi
if [ -n "$MICRO" ]; then
	# Like measure(): the namespace rows' teardown backlog must not be billed here.
	sleep 1
	echo "  token verification and policy decision, in process ..." >&2
	micro_out=$("$MICRO" --max-seconds "$MICRO_MAX_SECONDS")
	rc=$?
	if [ "$rc" != 0 ]; then
		echo "bench: the in-process rows of $MICRO failed (exit $rc): see its errors above" >&2
		failed=1
	fi
fi

# The cost of each confinement layer, stamped by the real sandbox code.
LAYERS=$B/layers
layers_out=
if [ ! -x "$LAYERS" ] || [ -n "$(find bench/layers.c -newer "$LAYERS")" ]; then
	if ! make --no-print-directory "$LAYERS" >&2; then
		echo "bench: building $LAYERS failed: the per-layer rows are skipped" >&2
		LAYERS=
	fi
fi
if [ -n "$LAYERS" ]; then
	sleep 1
	echo "  each confinement layer ..." >&2
	layers_out=$("$LAYERS" --runs "${BENCH_LAYER_RUNS:-500}" --tool "$TRIVIAL")
	rc=$?
	if [ "$rc" != 0 ]; then
		echo "bench: $LAYERS failed (exit $rc)" >&2
		failed=1
	fi
fi

# The audit log: append rates with group commit, and how fast a log of
# BENCH_AUDIT_RECORDS records (default 1,000,000) verifies, with every
# signature and in Merkle-only mode (against its checkpoint).
AUDITB=$B/audit
audit_out=
AREC=${BENCH_AUDIT_RECORDS:-1000000}
if [ ! -x "$AUDITB" ] || [ -n "$(find bench/audit.c -newer "$AUDITB")" ]; then
	make --no-print-directory "$AUDITB" >&2 || AUDITB=
fi
if [ -n "$AUDITB" ] && [ -x bin/toolgate ]; then
	ADIR=$(mktemp -d /tmp/toolgate-bench-audit.XXXXXX)
	echo "  audit log: append rates, then a $AREC-record log verified ..." >&2
	audit_out=$("$AUDITB" --state "$ADIR/rates" --rates --seconds 3) || failed=1
	if "$AUDITB" --state "$ADIR/big" --fill "$AREC"; then
		t0=$(date +%s.%N)
		bin/toolgate audit verify "$ADIR/big/audit" --key "$ADIR/big/keys/audit.pub" >/dev/null || failed=1
		t1=$(date +%s.%N)
		bin/toolgate audit verify "$ADIR/big/audit" --key "$ADIR/big/keys/audit.pub" \
			--checkpoint "$ADIR/big/audit/checkpoints/$AREC.note" --merkle-only >/dev/null || failed=1
		t2=$(date +%s.%N)
		audit_out=$(printf '%s\n%s\n%s' "$audit_out" \
			"$(awk -v a="$t0" -v b="$t1" -v n="$AREC" 'BEGIN { printf "  %-40s %12.1f s (%.0f records/s)", "verify " n " records, every signature", b - a, n / (b - a) }')" \
			"$(awk -v a="$t1" -v b="$t2" -v n="$AREC" 'BEGIN { printf "  %-40s %12.1f s (%.0f records/s)", "verify " n " records, Merkle only", b - a, n / (b - a) }')")
	else
		failed=1
	fi
	rm -rf "$ADIR"
fi

# ---- the report ----
floor_p50=$(field "$res_floor" p50_us)
floor_p99=$(field "$res_floor" p99_us)
floor_r1=$(field "$res_floor_t1" rate)
floor_r2=$(field "$res_floor_t2" rate)
# Creating network namespaces is partly serialised in the kernel, so two
# workers are not always faster than one: the machine's spawn capacity is the
# better of the two loops.
floor_best=$(awk -v a="$floor_r1" -v b="$floor_r2" 'BEGIN { print (a + 0 > b + 0) ? a : b }')

# ratio A B: A/B with two decimals, or "-" when either is zero or missing
# (a row with no successful sample has no meaningful ratio).
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2fx", a / b; else printf "-" }'
}

latency_row() {
	label=$1
	line=$2
	p50=$(field "$line" p50_us)
	p99=$(field "$line" p99_us)
	printf '  %-32s %6s %10s %10s %10s %10s %7s %11s\n' "$label" "$(field "$line" runs)" "$p50" "$p99" \
		"$(ratio "$p50" "$floor_p50")" "$(ratio "$p99" "$floor_p99")" "$(field "$line" errors)" \
		"$(field "$line" cpu_us)"
}

rate_row() {
	label=$1
	line=$2
	base=$3
	base_name=$4
	rate=$(field "$line" rate)
	printf '  %-32s %10s %10s  %-20s %7s\n' "$label" "$rate" "$(ratio "$rate" "$base")" "$base_name" \
		"$(field "$line" errors)"
}

echo
printf '  %-32s %6s %10s %10s %10s %10s %7s %11s\n' "latency, one call at a time" runs "p50 (us)" "p99 (us)" \
	"p50/floor" "p99/floor" errors "CPU/run(us)"
latency_row "fork+exec (bare)" "$res_bare"
latency_row "fork+namespaces+exec (floor)" "$res_floor"
[ -n "$BWRAP" ] && latency_row "bwrap --unshare-all" "$res_bwrap"
[ -n "$BWRAP" ] && latency_row "bwrap, toolgate's view" "$res_bwrap_view"
if [ "$have_toolgate" = 1 ]; then
	latency_row "toolgate call (sequential)" "$res_tg"
else
	printf '  %-32s %s\n' "toolgate call (sequential)" "skipped: toolgated not built or not answering"
fi

if [ -n "$audit_out" ]; then
	echo
	printf '  %s\n' "audit log (real audit.c; ~500-byte decision records)"
	printf '%s\n' "$audit_out"
fi

if [ -n "$layers_out" ]; then
	echo
	printf '%s\n' "$layers_out" | sed '$d'
fi

echo
printf '  %-32s %10s %10s  %-20s %7s\n' "throughput, ${SECS} s each" "calls/s" "vs floor" "floor baseline" errors
rate_row "fork+namespaces+exec, 1 worker" "$res_floor_t1" "$floor_r1" "1 worker"
rate_row "fork+namespaces+exec, 2 workers" "$res_floor_t2" "$floor_r2" "2 workers"
if [ "$have_toolgate" = 1 ]; then
	rate_row "toolgate, 1 client" "$res_tg_t1" "$floor_r1" "1 worker"
	rate_row "toolgate, 4 clients" "$res_tg_t4" "$floor_best" "best floor loop"
	rate_row "toolgate, 16 clients" "$res_tg_t16" "$floor_best" "best floor loop"
	rate_row "toolgate denied, 16 clients" "$res_tg_denied" "$floor_best" "best loop (no spawn)"
fi

echo
if [ "$have_toolgate" = 1 ]; then
	tg_p50=$(field "$res_tg" p50_us)
	verdict=$(awk -v t="$tg_p50" -v f="$floor_p50" 'BEGIN {
		if (t + 0 <= 0 || f + 0 <= 0) print "not measured"; else print (t / f <= 1.25) ? "met" : "NOT met" }')
	printf 'goal: toolgate p50 within 1.25x of the floor: %s (%s)' "$verdict" "$(ratio "$tg_p50" "$floor_p50")"
	if [ -n "$BWRAP" ]; then
		printf '; bwrap p50 is %s toolgate'"'"'s' "$(ratio "$(field "$res_bwrap" p50_us)" "$tg_p50")"
		bw=$(field "$res_bwrap_view" p50_us)
		verdict=$(awk -v t="$tg_p50" -v b="$bw" 'BEGIN {
			if (t + 0 <= 0 || b + 0 <= 0) print "not measured"; else print (b / t >= 2) ? "met" : "NOT met" }')
		printf '\ngoal: toolgate at least 2x faster than bwrap building the same view: %s (bwrap takes %s toolgate'"'"'s p50)' \
			"$verdict" "$(ratio "$bw" "$tg_p50")"
	fi
	echo
fi

echo
if [ -n "$MICRO" ]; then
	printf '%s\n' "$micro_out"
else
	printf '  %-32s %s\n' "micro-benchmarks" "skipped: $B/micro could not be built"
fi
if [ "$failed" != 0 ]; then
	echo "bench: FAILED: see the errors above (a row's numbers never include its failed runs)" >&2
	exit 1
fi
exit 0
