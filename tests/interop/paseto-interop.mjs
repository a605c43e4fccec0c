// paseto-interop.mjs: the other side of tests/integration/test_paseto_interop.sh.
//
// toolgate signs and verifies delegation tokens with its own PASETO v4.public
// code (src/paseto.c).  A bug there that is symmetric -- the same wrong PAE,
// the same wrong base64url -- passes every toolgate-only test, so this script
// checks toolgate's tokens with an independent implementation, the `paseto`
// npm package pinned in package-lock.json, and makes tokens with it for
// toolgate to verify.  The key files are the ones `toolgate keygen` writes
// (PKCS#8 and SPKI PEM), read with node's crypto.
//
// Subcommands (the shell test drives them; each check prints one
// "ok   NAME" or "FAIL NAME" line, with indented detail lines after a FAIL):
//   version                         the installed paseto version
//   roundtrip KEY PUB               node signs with KEY and verifies with PUB
//   check-minted PUB TOKEN EXPECT   verify a toolgate token and its claims
//   sign KEY CLAIMS [--kid K] [--ttl T]   print a token signed by node
//   tamper TOKEN                    print TOKEN with one payload byte changed
//   expect-reject PUB TOKEN NAME    node must refuse TOKEN's signature
//   same-claims TOKEN JSON_FILE     JSON_FILE's object equals TOKEN's payload
// Exit status: 0 all checks passed, 1 a check failed, 2 usage or a crash.

import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import paseto from 'paseto';

const { V4, decode, errors } = paseto;

let failed = 0;
function ok(name) { console.log(`ok   ${name}`); }
function fail(name, ...details) {
	failed++;
	console.log(`FAIL ${name}`);
	for (const d of details) console.log(`    ${d}`);
}
function check(name, cond, ...details) { if (cond) ok(name); else fail(name, ...details); }
function usage(msg) {
	console.error(`paseto-interop: ${msg}`);
	process.exit(2);
}
const show = (v) => (v === undefined ? 'undefined' : JSON.stringify(v));

// RFC 3339 in UTC, as toolgate's claims promise: "Z", optional fraction.
const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

// What the sign subcommand may set; anything else in CLAIMS is a usage error
// so that a typo in the test cannot silently drop a claim.
const CLAIM_OPTIONS = { sub: 'subject', aud: 'audience', iss: 'issuer', jti: 'jti' };
const CLAIM_EXTRA = new Set(['agent', 'tools']);

function flags(args, known) {
	const out = {};
	const rest = [];
	for (let i = 0; i < args.length; i++) {
		const a = args[i];
		if (a.startsWith('--')) {
			const k = a.slice(2);
			if (!known.includes(k)) usage(`unknown option ${a}`);
			if (i + 1 >= args.length) usage(`${a} needs a value`);
			out[k] = args[++i];
		} else {
			rest.push(a);
		}
	}
	return { out, rest };
}

function readJSON(text, what) {
	try {
		return JSON.parse(text);
	} catch (e) {
		usage(`${what}: not JSON: ${e.message}`);
	}
}

// The token's signed message, split out by hand (not by the library under
// test): base64url(message || 64-byte signature).
function splitToken(token) {
	const parts = token.split('.');
	if (parts.length < 3 || parts.length > 4 || parts[0] !== 'v4' || parts[1] !== 'public') {
		usage(`not a v4.public token: ${token.slice(0, 40)}`);
	}
	const raw = Buffer.from(parts[2], 'base64url');
	return { parts, message: raw.subarray(0, raw.length - 64), signature: raw.subarray(raw.length - 64) };
}

async function cmdRoundtrip([keyFile, pubFile]) {
	if (!pubFile) usage('roundtrip KEY PUB');
	const key = createPrivateKey(readFileSync(keyFile));
	const pub = readFileSync(pubFile, 'utf8');
	check('node reads toolgate keygen\'s private key as Ed25519 PKCS#8',
		key.asymmetricKeyType === 'ed25519', `key type: ${key.asymmetricKeyType}`);
	const token = await V4.sign({ sub: 'self-test' }, key, { footer: { kid: 'self' } });
	try {
		const r = await V4.verify(token, pub, { complete: true });
		check('node signs with PREFIX.key and verifies with PREFIX.pub',
			r.payload.sub === 'self-test', `payload: ${show(r.payload)}`);
	} catch (e) {
		fail('node signs with PREFIX.key and verifies with PREFIX.pub', `${e.name}: ${e.message}`);
	}
}

// EXPECT: {"sub","aud","agent","tools","iss"?,"jti"?,"kid" (null: no
// footer),"ttl_seconds"}.
async function cmdCheckMinted([pubFile, token, expectText]) {
	if (!expectText) usage('check-minted PUB TOKEN EXPECT_JSON');
	const want = readJSON(expectText, 'EXPECT');
	const pem = readFileSync(pubFile, 'utf8');
	const label = want.kid === null ? ' (no --kid)' : '';
	const started = Date.now();

	let r;
	try {
		r = await V4.verify(token, pem, { complete: true });
		ok(`node verifies toolgate's token with the PEM of PREFIX.pub${label}`);
	} catch (e) {
		fail(`node verifies toolgate's token with the PEM of PREFIX.pub${label}`, `${e.name}: ${e.message}`,
			`token: ${token}`);
		return;
	}
	try {
		await V4.verify(token, createPublicKey(pem));
		ok(`node verifies toolgate's token with a KeyObject${label}`);
	} catch (e) {
		fail(`node verifies toolgate's token with a KeyObject${label}`, `${e.name}: ${e.message}`);
	}

	const p = r.payload;
	if (want.kid === null) {
		check('without --kid the token has no footer', r.footer === undefined,
			`footer: ${r.footer && r.footer.toString('utf8')}`);
		return;
	}
	let footer;
	try {
		footer = JSON.parse(r.footer.toString('utf8'));
	} catch {
		footer = r.footer && r.footer.toString('utf8');
	}
	check(`footer is {"kid":"${want.kid}"}`, isDeepStrictEqual(footer, { kid: want.kid }),
		`footer: ${show(footer)}`);

	const names = ['iss', 'sub', 'aud', 'agent', 'tools', 'iat', 'nbf', 'exp', 'jti'];
	const missing = names.filter((n) => !(n in p));
	check('payload has iss, sub, aud, agent, tools, iat, nbf, exp, jti', missing.length === 0,
		`missing: ${missing.join(', ')}`, `payload: ${show(p)}`);
	for (const n of ['sub', 'aud', 'agent']) {
		check(`claim ${n} is ${show(want[n])}`, p[n] === want[n], `got: ${show(p[n])}`);
	}
	if ('iss' in want) check(`claim iss is ${show(want.iss)}`, p.iss === want.iss, `got: ${show(p.iss)}`);
	if ('jti' in want) check(`claim jti is ${show(want.jti)}`, p.jti === want.jti, `got: ${show(p.jti)}`);
	else check('claim jti is a non-empty string', typeof p.jti === 'string' && p.jti.length > 0, `got: ${show(p.jti)}`);
	check('claim tools is the --tools object, deep-equal', isDeepStrictEqual(p.tools, want.tools),
		`got:  ${show(p.tools)}`, `want: ${show(want.tools)}`);

	const bad = ['iat', 'nbf', 'exp'].filter((n) => typeof p[n] !== 'string' || !RFC3339_UTC.test(p[n]));
	check('iat, nbf, exp are RFC 3339 UTC strings', bad.length === 0,
		...bad.map((n) => `${n}: ${show(p[n])}`));
	const iat = Date.parse(p.iat), nbf = Date.parse(p.nbf), exp = Date.parse(p.exp);
	// Whole seconds on toolgate's side: allow 2 s of rounding and run time.
	check('iat is now', Math.abs(iat - started) <= 5000, `iat ${p.iat}, node's clock ${new Date(started).toISOString()}`);
	check('nbf is not after iat', nbf <= iat, `nbf ${p.nbf}, iat ${p.iat}`);
	check('exp is in the future', exp > Date.now(), `exp ${p.exp}`);
	check(`exp - iat is the --ttl (${want.ttl_seconds} s)`, Math.abs((exp - iat) / 1000 - want.ttl_seconds) <= 1,
		`iat ${p.iat}, exp ${p.exp}`);

	// The library's own claim validation (audience, subject, issuer, time
	// window) must accept the token too.
	const opts = { audience: want.aud, subject: want.sub };
	if ('iss' in want) opts.issuer = want.iss;
	try {
		await V4.verify(token, pem, opts);
		ok('node\'s claim validation (audience, subject, issuer, iat/nbf/exp) accepts it');
	} catch (e) {
		fail('node\'s claim validation (audience, subject, issuer, iat/nbf/exp) accepts it', `${e.name}: ${e.message}`);
	}
}

async function cmdSign(args) {
	const { out, rest } = flags(args, ['kid', 'ttl']);
	const [keyFile, claimsText] = rest;
	if (!claimsText || rest.length !== 2) usage('sign KEY CLAIMS_JSON [--kid KID] [--ttl DURATION]');
	const claims = readJSON(claimsText, 'CLAIMS');
	const payload = {};
	// iat, nbf (= iat) and exp come from the library, as any issuer using it
	// would produce them: with milliseconds, e.g. 2026-11-24T10:00:00.123Z.
	const options = { iat: true, notBefore: '0s', expiresIn: out.ttl ?? '10m' };
	for (const [k, v] of Object.entries(claims)) {
		if (CLAIM_OPTIONS[k]) options[CLAIM_OPTIONS[k]] = v;
		else if (CLAIM_EXTRA.has(k)) payload[k] = v;
		else usage(`CLAIMS: unexpected claim ${k}`);
	}
	if (out.kid !== undefined) options.footer = { kid: out.kid };
	const key = createPrivateKey(readFileSync(keyFile));
	console.log(await V4.sign(payload, key, options));
}

// Change one byte inside the payload's "sub" value (keeping the JSON valid,
// so a verifier that refuses it refuses the signature, not the syntax).
function cmdTamper([token]) {
	if (!token) usage('tamper TOKEN');
	const { parts, message, signature } = splitToken(token);
	const m = Buffer.from(message);
	const at = m.indexOf('"sub":"');
	if (at < 0 || m[at + 7] === 0x22) usage('tamper: the payload has no non-empty "sub"');
	m[at + 7] ^= 0x01;   // a letter stays a letter (or '`'): still valid JSON
	parts[2] = Buffer.concat([m, signature]).toString('base64url');
	console.log(parts.join('.'));
}

async function cmdExpectReject([pubFile, token, name]) {
	if (!name) usage('expect-reject PUB TOKEN NAME');
	try {
		const p = await V4.verify(token, readFileSync(pubFile, 'utf8'));
		fail(name, `node accepted it: ${show(p)}`);
	} catch (e) {
		check(name, e instanceof errors.PasetoVerificationFailed,
			`expected PasetoVerificationFailed, got ${e.name}: ${e.message}`);
	}
}

// toolgate's --json output against the payload node signed.
function cmdSameClaims([token, jsonFile]) {
	if (!jsonFile) usage('same-claims TOKEN JSON_FILE');
	const signed = decode(token).payload;
	const text = readFileSync(jsonFile, 'utf8');
	let printed;
	try {
		printed = JSON.parse(text);
	} catch (e) {
		fail('toolgate token verify --json prints the signed payload', `not JSON (${e.message}): ${text}`);
		return;
	}
	const differ = [...new Set([...Object.keys(signed), ...Object.keys(printed)])]
		.filter((k) => !isDeepStrictEqual(signed[k], printed[k]))
		.map((k) => `${k}: signed ${show(signed[k])}, printed ${show(printed[k])}`);
	check('toolgate token verify --json prints the signed payload, claim for claim', differ.length === 0, ...differ);
}

const [cmd, ...args] = process.argv.slice(2);
const commands = {
	version: () => console.log(JSON.parse(readFileSync(new URL('./node_modules/paseto/package.json', import.meta.url))).version),
	roundtrip: cmdRoundtrip,
	'check-minted': cmdCheckMinted,
	sign: cmdSign,
	tamper: cmdTamper,
	'expect-reject': cmdExpectReject,
	'same-claims': cmdSameClaims,
};
if (!commands[cmd]) usage(`unknown subcommand ${cmd ?? '(none)'}; see the comment at the top of this file`);
try {
	await commands[cmd](args);
} catch (e) {
	console.error(`paseto-interop ${cmd}: ${e.stack || e}`);
	process.exit(2);
}
process.exit(failed ? 1 : 0);
