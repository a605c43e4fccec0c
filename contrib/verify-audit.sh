#!/bin/sh
# verify-audit.sh: check a toolgate audit log with stock tools only
# (OpenSSL, coreutils, jq): one record's Ed25519 signature, and a signed
# checkpoint (C2SP tlog-checkpoint) together with the RFC 6962 root of the
# log's first SIZE record lines.  No toolgate code is involved.
#
#   contrib/verify-audit.sh LOG AUDIT.pub [CHECKPOINT] [SEQ]
#
# LOG is audit.log, or the audit directory: then its closed segments
# (audit-<first>-<last>.log, in name order, which is seq order) and
# audit.log are read as one log.
# SEQ is the record to check (default: the last).  With CHECKPOINT, its
# signature (by AUDIT.pub, under the key name its origin line gives), its key
# id, and its root against the log are checked too.  Prints one "ok" line per
# check; exits 0 when all hold, 1 at the first that does not.  Hashing runs
# one openssl per line: meant for spot checks of logs up to some thousands of
# records (toolgate audit verify is the fast path).
set -u
log=${1:?usage: verify-audit.sh LOG AUDIT.pub [CHECKPOINT] [SEQ]}
pub=${2:?usage: verify-audit.sh LOG AUDIT.pub [CHECKPOINT] [SEQ]}
cp=${3:-}
work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT
bad() { echo "FAIL $*"; exit 1; }
if [ -d "$log" ]; then
	for f in "$log"/audit-*.log "$log"/audit.log; do
		[ -f "$f" ] && cat "$f"
	done >"$work/log"
	log=$work/log
fi
seq=${4:-$(wc -l <"$log" | tr -d ' ')}

# --- one record: the signature covers the line up to ,"sig":"..." then "}" ---
line=$(sed -n "${seq}p" "$log")
[ -n "$line" ] || bad "record $seq: no such line"
[ "$(printf '%s' "$line" | jq -r .seq)" = "$seq" ] || bad "record $seq: its seq field differs"
printf '%s' "$line" | jq -r .sig | base64 -d >"$work/sig" || bad "record $seq: sig is not base64"
printf '%s}' "${line%,\"sig\":*}" >"$work/msg"
openssl pkeyutl -verify -pubin -inkey "$pub" -rawin -in "$work/msg" -sigfile "$work/sig" >/dev/null 2>&1 ||
	bad "record $seq: the signature does not verify"
echo "ok   record $seq: signature valid"

[ -n "$cp" ] || exit 0

# --- the checkpoint: text, blank line, then "— <name> base64(keyid[4] || sig[64])" ---
awk 'BEGIN { t = 1 } t && /^$/ { t = 0; next } t { print }' "$cp" >"$work/text"
origin=$(sed -n 1p "$work/text")
size=$(sed -n 2p "$work/text")
root=$(sed -n 3p "$work/text")
sigline=$(grep "^— $origin " "$cp" | head -n 1)
[ -n "$sigline" ] || bad "checkpoint: no signature line for $origin"
printf '%s' "${sigline##* }" | base64 -d >"$work/notesig" 2>/dev/null || bad "checkpoint: signature is not base64"
[ "$(wc -c <"$work/notesig")" -eq 68 ] || bad "checkpoint: signature is not 4 + 64 bytes"
# key id: the first 4 bytes of SHA-256(name || "\n" || 0x01 || raw public key)
openssl pkey -pubin -in "$pub" -outform DER | tail -c 32 >"$work/raw"
{ printf '%s\n\001' "$origin"; cat "$work/raw"; } | openssl dgst -sha256 -binary | head -c 4 >"$work/want_id"
head -c 4 "$work/notesig" | cmp -s - "$work/want_id" || bad "checkpoint: key id is not the audit key's"
tail -c 64 "$work/notesig" >"$work/sig64"
openssl pkeyutl -verify -pubin -inkey "$pub" -rawin -in "$work/text" -sigfile "$work/sig64" >/dev/null 2>&1 ||
	bad "checkpoint: the signature does not verify"
echo "ok   checkpoint: $origin, $size records, signed by the audit key"

# --- the root: RFC 6962 over the first $size lines (leaf = SHA-256(0x00 || line);
# node = SHA-256(0x01 || left || right); an unpaired last node moves up as is) ---
lines=$(wc -l <"$log" | tr -d ' ')
[ "$lines" -ge "$size" ] || bad "checkpoint: it commits to $size records, the log has $lines (removed, or the tail cut)"
head -n "$size" "$log" | while IFS= read -r l; do
	{ printf '\000'; printf '%s' "$l"; } | openssl dgst -sha256 -binary | basenc --base16
done >"$work/level"    # basenc ends each hash with a newline: one per line
if [ "$size" -eq 0 ]; then
	printf '' | openssl dgst -sha256 -binary | basenc --base16 >"$work/level"
fi
while [ "$(wc -l <"$work/level")" -gt 1 ]; do
	while IFS= read -r a; do
		if IFS= read -r b; then
			{ printf '\001'; printf '%s%s' "$a" "$b" | basenc --base16 -d; } | openssl dgst -sha256 -binary | basenc --base16
		else
			echo "$a"
		fi
	done <"$work/level" >"$work/next"
	mv "$work/next" "$work/level"
done
got=$(head -n 1 "$work/level" | basenc --base16 -d | base64)
[ "$got" = "$root" ] || bad "checkpoint: the log's first $size records hash to $got, not to the signed $root"
echo "ok   checkpoint: the log's first $size records hash to its root"
