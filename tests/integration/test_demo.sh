#!/bin/sh
# `make demo` is the README's first command: run its script as a smoke test,
# so that the demo a newcomer sees can never silently rot.  The demo drives
# bin/ (the normal build); under the sanitizer suite it is not run again.
set -u
cd "$(dirname "$0")/../.."
case "${TOOLGATED:-bin/toolgated}" in
bin/toolgated|*/main/bin/toolgated) ;;
*) echo "demo runs in the normal suite only"; echo "0 passed, 0 failed"; exit 0 ;;
esac
out=$(demo/run.sh 2>&1)
rc=$?
if [ "$rc" -eq 0 ] && printf '%s\n' "$out" | grep -Eq '^demo passed: all [0-9]+ steps behaved as expected\.$'; then
	echo "ok   the demo runs every step as the README promises"
	echo "1 passed, 0 failed"
	exit 0
fi
printf '%s\n' "$out" | tail -n 30
echo "FAIL the demo runs every step as the README promises (exit $rc)"
echo "0 passed, 1 failed"
exit 1
