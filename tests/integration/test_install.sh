#!/bin/sh
# make install: binaries under PREFIX, a valid /etc/toolgate that permits
# nothing, the demo configuration as an example, and an admin's edits kept.
set -u
cd "$(dirname "$0")/../.."
pass=0 fail=0
ok()   { pass=$((pass + 1)); echo "ok   $1"; }
bad()  { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "    $2"; }
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT

make -s install DESTDIR="$D" PREFIX=/usr >"$D/out" 2>&1 || bad "make install runs" "$(cat "$D/out")"
for f in usr/sbin/toolgated usr/bin/toolgate; do
	[ -x "$D/$f" ] && ok "installs $f" || bad "installs $f"
done
out=$("$D/usr/bin/toolgate" check-config "$D/etc/toolgate" 2>&1)
[ "$out" = "$D/etc/toolgate: valid: 0 tools, 3 sandbox profiles" ] \
	&& ok "the installed /etc/toolgate is valid and permits nothing" || bad "installed /etc/toolgate" "$out"
out=$("$D/usr/bin/toolgate" check-config "$D/usr/share/toolgate/demo" 2>&1 | head -n 1)
[ "$out" = "$D/usr/share/toolgate/demo: valid: 5 tools, 3 sandbox profiles" ] \
	&& ok "the demo configuration is installed as a valid example" || bad "demo example" "$out"
echo '{"defaultAction":"SCMP_ACT_ALLOW"}' > "$D/etc/toolgate/sandbox/default.json"
make -s install DESTDIR="$D" PREFIX=/usr >"$D/out" 2>&1
grep -q "keeping existing $D/etc/toolgate/sandbox/default.json" "$D/out" &&
	[ "$(cat "$D/etc/toolgate/sandbox/default.json")" = '{"defaultAction":"SCMP_ACT_ALLOW"}' ] \
	&& ok "a reinstall keeps the admin's edited profile" || bad "reinstall keeps edits" "$(cat "$D/out")"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
