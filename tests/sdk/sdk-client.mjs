// sdk-client.mjs: an MCP client built with the official TypeScript SDK that
// launches `toolgate mcp` through the SDK's StdioClientTransport, as a
// desktop assistant or an IDE agent would, and checks what it gets.
//
//   TG_SDK_CONFIG=CONFIG_JSON node sdk-client.mjs ERA
//
// ERA picks the SDK and how it talks to the broker:
//   legacy-v1    @modelcontextprotocol/sdk (v1): initialize, MCP 2025-11-25
//   legacy-v2    @modelcontextprotocol/client (v2), default negotiation:
//                initialize, 2025-11-25
//   modern-auto  v2 with versionNegotiation "auto": probes with
//                server/discover, must settle on 2026-07-28 (per-request
//                _meta, no initialize)
//   modern-pin   v2 pinned to 2026-07-28
// CONFIG_JSON: {toolgate, socket, tools (every name the caller may see,
// sorted), pageSize, marker (the sleeper's process name), maxMessage}.  It
// comes in the environment, not argv, so that no command line but the
// sleeper's holds the marker.
//
// Each check prints "ok   NAME" or "FAIL NAME" and the detail; the caller
// (tests/integration/test_mcp_sdk.py) counts them.  Exit status 0 when
// every check passed.
import fs from "node:fs";

const era = process.argv[2];
const cfg = JSON.parse(process.env.TG_SDK_CONFIG ?? "null");
if (!cfg || !["legacy-v1", "legacy-v2", "modern-auto", "modern-pin"].includes(era)) {
	console.error("usage: TG_SDK_CONFIG=CONFIG_JSON node sdk-client.mjs legacy-v1|legacy-v2|modern-auto|modern-pin");
	process.exit(2);
}
const modern = era.startsWith("modern");
const v1 = era === "legacy-v1";

let failed = 0;
function ok(name) { console.log(`ok   [${era}] ${name}`); }
function fail(name, detail) {
	failed++;
	console.log(`FAIL [${era}] ${name}`);
	for (const l of String(detail).split("\n")) console.log(`    ${l}`);
}
function check(name, cond, detail) { cond ? ok(name) : fail(name, detail); }
const show = (v) => JSON.stringify(v);

const pkg = v1 ? "@modelcontextprotocol/sdk" : "@modelcontextprotocol/client";
const pinned = JSON.parse(fs.readFileSync(new URL("./package.json", import.meta.url))).dependencies[pkg];
const installed = JSON.parse(fs.readFileSync(
	new URL(`./node_modules/${pkg}/package.json`, import.meta.url))).version;
check(`${pkg} is the pinned ${pinned}`, installed === pinned, `installed: ${installed}`);

const { Client } = v1 ? await import("@modelcontextprotocol/sdk/client/index.js")
                      : await import("@modelcontextprotocol/client");
const { StdioClientTransport } = v1 ? await import("@modelcontextprotocol/sdk/client/stdio.js")
                                    : await import("@modelcontextprotocol/client/stdio");

// Host processes whose command line holds the marker (the sleeper tool and
// its child name themselves after it).
function processesWith(marker) {
	const found = [];
	for (const p of fs.readdirSync("/proc")) {
		if (!/^\d+$/.test(p)) continue;
		try {
			if (fs.readFileSync(`/proc/${p}/cmdline`).includes(marker)) found.push(Number(p));
		} catch { /* gone */ }
	}
	return found;
}
async function waitUntil(pred, ms) {
	const end = Date.now() + ms;
	while (Date.now() < end) {
		if (pred()) return true;
		await new Promise((r) => setTimeout(r, 20));
	}
	return pred();
}
// callTool's request options: the third argument in v1 (after a result
// schema), the second in v2.
const callTool = (params, opts) => v1 ? client.callTool(params, undefined, opts) : client.callTool(params, opts);
const textOf = (r) => (r.content ?? []).map((c) => c.text ?? "").join("");

const options = {};
if (era === "modern-auto") options.versionNegotiation = { mode: "auto" };
if (era === "modern-pin") options.versionNegotiation = { mode: { pin: "2026-07-28" } };
const client = new Client({ name: "toolgate-sdk-test", version: "1.0.0" }, options);
const transport = new StdioClientTransport({
	command: cfg.toolgate,
	args: ["mcp", "--socket", cfg.socket],
	stderr: "pipe",
});
let bridgeStderr = "";
transport.stderr?.on("data", (d) => { bridgeStderr += d; });

try {
	await client.connect(transport);
	ok("connects through toolgate mcp");
} catch (e) {
	fail("connects through toolgate mcp", `${e.stack}\nbridge stderr: ${bridgeStderr}`);
	console.log(`${failed} failed`);
	process.exit(1);
}

// --- which revision, and who answered -----------------------------------
const server = client.getServerVersion();
check("the server is toolgate", server?.name === "toolgate", show(server));
if (!v1) {
	const want = modern ? "2026-07-28" : "2025-11-25";
	const got = client.getNegotiatedProtocolVersion();
	check(`the negotiated revision is ${want}`, got === want, `got ${got}`);
}
if (modern) {
	const d = client.getDiscoverResult();
	check("server/discover lists 2026-07-28 and the initialize revisions",
		show(d?.supportedVersions) === show(["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"]),
		show(d));
	check("server/discover says tools are served", d?.capabilities?.tools !== undefined, show(d));
}
check("the instructions say how refusals arrive",
	(client.getInstructions() ?? "").includes('_meta["toolgate/decision"]'), show(client.getInstructions()));

// --- tools/list across pages ---------------------------------------------
// Page by page with the cursor, as the protocol has it.  (v2's listTools()
// without a cursor follows nextCursor itself and returns the whole list, so
// v2 walks the pages with a plain tools/list request, then also checks what
// listTools() put together.)
const listPage = (cursor) => v1
	? client.listTools(cursor === undefined ? {} : { cursor })
	: client.request({ method: "tools/list", params: cursor === undefined ? {} : { cursor } });
try {
	const names = [];
	const sizes = [];
	let cursor;
	do {
		const r = await listPage(cursor);
		sizes.push(r.tools.length);
		names.push(...r.tools.map((t) => t.name));
		cursor = r.nextCursor;
	} while (cursor !== undefined && sizes.length < 100);
	const want = [];
	for (let left = cfg.tools.length; left > 0; left -= cfg.pageSize) want.push(Math.min(left, cfg.pageSize));
	check(`tools/list gives every tool once, in order, in pages of ${show(want)}`,
		show(names) === show(cfg.tools) && show(sizes) === show(want),
		`page sizes: ${show(sizes)}\nwant: ${show(cfg.tools)}\ngot:  ${show(names)}`);
	if (!v1) {
		const all = await client.listTools();
		check("the SDK's listTools() follows nextCursor to the whole list",
			show(all.tools.map((t) => t.name)) === show(cfg.tools), show(all.tools.map((t) => t.name)));
	}
} catch (e) {
	fail("tools/list across pages", e.stack);
}

// --- a permitted call ----------------------------------------------------
try {
	const r = await client.callTool({ name: "echo", arguments: { msg: "hello from the SDK" } });
	const d = r._meta?.["toolgate/decision"];
	check("a permitted call returns the tool's output",
		r.isError !== true && show(JSON.parse(textOf(r))) === show({ msg: "hello from the SDK" }),
		show(r));
	check("a permitted call carries _meta toolgate/decision permit by rule sdk-read",
		d?.decision === "permit" && d?.rule === "sdk-read" && Number.isInteger(d?.audit_seq), show(r._meta));
	check("a permitted call carries _meta toolgate/execution exit 0",
		r._meta?.["toolgate/execution"]?.exit === 0, show(r._meta));
} catch (e) {
	fail("a permitted call", e.stack);
}

// --- a denial: a tool result with isError, not a protocol error ----------
try {
	const r = await client.callTool({ name: "refund", arguments: { amount: 500 } });
	const d = r._meta?.["toolgate/decision"];
	const reason = "no rule permits sdk-agent to call refund with these arguments " +
		"(rule small-refunds: args.amount <= 100 does not hold)";
	check("a denial arrives as a result with isError", r.isError === true, show(r));
	check("the denial's _meta toolgate/decision says deny and why",
		d?.decision === "deny" && d?.reason === reason && d?.rule === null, show(d));
	check("the denial's text tells the model what was refused and why",
		textOf(r) === `toolgate refused the call to refund: ${reason}`, show(textOf(r)));
} catch (e) {
	fail("a denial", e.stack);
}

// --- cancellation: the SDK's AbortSignal sends notifications/cancelled ---
try {
	const ac = new AbortController();
	const pending = callTool({ name: "sleeper.long", arguments: {} }, { signal: ac.signal });
	const caught = pending.then(() => null, (e) => e);
	const running = await waitUntil(() => processesWith(cfg.marker).length === 2, 10000);
	check("the long tool and its child run", running, `processes: ${show(processesWith(cfg.marker))}`);
	ac.abort("the user pressed stop");
	const err = await caught;
	check("the aborted callTool rejects", err !== null, "it resolved");
	const gone = await waitUntil(() => processesWith(cfg.marker).length === 0, 5000);
	check("the cancelled tool and its child are killed", gone, `left: ${show(processesWith(cfg.marker))}`);
} catch (e) {
	fail("cancellation", e.stack);
}

// --- an oversize request fails at once, with its id ----------------------
try {
	const big = "x".repeat(cfg.maxMessage + 1);
	let err = null;
	const t0 = Date.now();
	try {
		await callTool({ name: "echo", arguments: { msg: big } }, { timeout: 20000 });
	} catch (e) {
		err = e;
	}
	check("an oversize request is answered with -32600 and the limit, not left to time out",
		err !== null && err.code === -32600 &&
		String(err.message).includes(`Invalid Request: message exceeds the ${cfg.maxMessage}-byte limit`) &&
		Date.now() - t0 < 15000,
		err ? `code ${err.code}: ${err.message}` : "no error");
	const r = await client.callTool({ name: "echo", arguments: { msg: "still here" } });
	check("the bridge goes on after an oversize line",
		r.isError !== true && JSON.parse(textOf(r)).msg === "still here", show(r));
} catch (e) {
	fail("oversize request", e.stack);
}

await client.close();
check("the bridge said nothing on stderr", bridgeStderr === "", bridgeStderr);
console.log(`${failed} failed`);
process.exit(failed ? 1 : 0);
