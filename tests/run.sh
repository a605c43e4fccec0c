#!/bin/sh
# Run every test: the unit suites and the integration suites against the real
# daemon, first in the normal build, then in the ASan+UBSan build.  Ends with
# one line "N passed, N failed"; exits non-zero if anything failed.
set -u
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
total_pass=0
total_fail=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

count() {  # add the last "N passed, N failed" line of $log to the totals
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
	if [ -z "$line" ]; then
		echo "  !! $1 printed no summary (crashed?): counted as 1 failure"
		total_fail=$((total_fail + 1))
		return
	fi
	p=${line%% passed*}
	f=${line#*, }; f=${f%% failed}
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	if [ "$2" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "  !! $1 exited $2 with no failed test: counted as 1 failure"
		total_fail=$((total_fail + 1))
	fi
}

run() {  # run NAME CMD...: show output, count its summary
	name=$1; shift
	echo "== $name"
	"$@" >"$log" 2>&1
	rc=$?
	cat "$log"
	count "$name" "$rc"
}

suite() {  # suite LABEL O BINDIR
	label=$1; o=$2; bindir=$3
	for t in "$o"/tests/test_*; do
		[ -x "$t" ] || continue
		run "$label unit $(basename "$t")" "$t"
	done
	for t in tests/integration/test_*.sh; do
		[ -f "$t" ] || continue
		run "$label $(basename "$t")" env TOOLGATE="$bindir/toolgate" TOOLGATED="$bindir/toolgated" sh "$t"
	done
	for t in tests/integration/test_*.py; do
		[ -f "$t" ] || continue
		run "$label $(basename "$t")" env TOOLGATE="$bindir/toolgate" TOOLGATED="$bindir/toolgated" "$PY" "$t"
	done
	# The containment suite again, against a broker run by an ordinary user.
	run "$label test_hostile.py, rootless" env TG_HOSTILE_ROOTLESS=1 TOOLGATE="$bindir/toolgate" \
		TOOLGATED="$bindir/toolgated" "$PY" tests/integration/test_hostile.py
}

make -s all test-unit test-tools || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
suite "[normal]" build bin
make -s SAN=1 all test-unit || { echo "sanitizer build failed"; echo "$total_pass passed, $((total_fail + 1)) failed"; exit 1; }
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	suite "[asan+ubsan]" build/asan build/asan/bin

echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
