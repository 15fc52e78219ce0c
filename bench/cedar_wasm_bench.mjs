// cedar_wasm_bench.mjs - the reference side of the policy benchmark: the same
// inputs as bench/policy_bench (written by bench/policy_gen.mjs) decided by
// @cedar-policy/cedar-wasm, the Cedar reference, in its fastest
// configuration: the policy set pre-parsed once (preparsePolicySet, timed as
// the load time) and each decision one statefulIsAuthorized call. The
// reference takes the entities with every call, so each request gets only
// its slice (principal, action and resource with their ancestors, built
// before timing): the policies read nothing else, and handing it the whole
// store would measure JSON conversion rather than authorization.
//
// Usage: node bench/cedar_wasm_bench.mjs [-t SECONDS] DIR...
// Prints one line per DIR in the format bench/policy_bench reads with -R:
//   size=N load_ms=X decisions=N seconds=S dps=X p50_us=X p99_us=X allow=N sample=ADDA...
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const WASM = path.join(HERE, '..', 'tests', 'e2e', 'node_modules', '@cedar-policy', 'cedar-wasm', 'nodejs', 'cedar_wasm.js');

const key = (u) => `${u.type}\u0000${u.id}`;

function slice(byUid, req) {
	const out = new Map();
	const visit = (u) => {
		const k = key(u);
		if (out.has(k)) return;
		const e = byUid.get(k);
		if (!e) return;
		out.set(k, e);
		for (const p of e.parents) visit(p);
	};
	visit(req.principal);
	visit(req.action);
	visit(req.resource);
	return [...out.values()];
}

function quantile(sorted, q) {
	if (sorted.length === 0) return 0;
	const i = Math.min(sorted.length - 1, Math.floor(q * sorted.length));
	return sorted[i];
}

async function main() {
	const args = process.argv.slice(2);
	let seconds = 5;
	const dirs = [];
	for (let i = 0; i < args.length; i++) {
		if (args[i] === '-t') seconds = Number(args[++i]);
		else dirs.push(args[i]);
	}
	if (dirs.length === 0 || !(seconds > 0)) {
		process.stderr.write('usage: node bench/cedar_wasm_bench.mjs [-t SECONDS] DIR...\n');
		process.exit(2);
	}
	if (!fs.existsSync(WASM)) {
		process.stderr.write(`cedar_wasm_bench: ${WASM} missing: run scripts/deps.sh --test\n`);
		process.exit(2);
	}
	const cedar = await import(WASM);
	for (const dir of dirs) {
		const text = fs.readFileSync(path.join(dir, 'policies.cedar'), 'utf8');
		const entities = JSON.parse(fs.readFileSync(path.join(dir, 'entities.json'), 'utf8'));
		const requests = fs.readFileSync(path.join(dir, 'requests.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
		const size = (text.match(/^(permit|forbid)\(/gm) || []).length;
		const byUid = new Map(entities.map((e) => [key(e.uid), e]));
		const id = `bench-${size}`;
		const calls = requests.map((r) => ({
			principal: r.principal, action: r.action, resource: r.resource, context: r.context,
			preparsedPolicySetId: id, entities: slice(byUid, r),
		}));

		const t0 = process.hrtime.bigint();
		const pre = cedar.preparsePolicySet(id, { staticPolicies: text });
		const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
		if (pre.type !== 'success') {
			process.stderr.write(`cedar_wasm_bench: ${dir}: the reference refuses the policies: ${JSON.stringify(pre.errors).slice(0, 500)}\n`);
			process.exit(1);
		}
		// Warm-up: a few decisions (JIT, caches), not counted.
		for (let i = 0; i < Math.min(20, calls.length); i++) cedar.statefulIsAuthorized(calls[i]);

		const lat = [];
		let allow = 0, sample = '';
		const budget = BigInt(Math.round(seconds * 1e9));
		const start = process.hrtime.bigint();
		let now = start;
		for (let i = 0; now - start < budget; i++) {
			const c = calls[i % calls.length];
			const a = process.hrtime.bigint();
			const ans = cedar.statefulIsAuthorized(c);
			now = process.hrtime.bigint();
			lat.push(Number(now - a) / 1e3);
			if (ans.type !== 'success') {
				process.stderr.write(`cedar_wasm_bench: ${dir}: request ${i % calls.length} failed: ${JSON.stringify(ans.errors).slice(0, 500)}\n`);
				process.exit(1);
			}
			const allowed = ans.response.decision === 'allow';
			if (allowed) allow++;
			if (i < calls.length) sample += allowed ? 'A' : 'D';
		}
		const total = Number(now - start) / 1e9;
		lat.sort((x, y) => x - y);
		process.stdout.write(`size=${size} load_ms=${loadMs.toFixed(3)} decisions=${lat.length} seconds=${total.toFixed(3)} ` +
			`dps=${(lat.length / total).toFixed(1)} p50_us=${quantile(lat, 0.5).toFixed(2)} p99_us=${quantile(lat, 0.99).toFixed(2)} ` +
			`allow=${allow} sample=${sample}\n`);
		process.stderr.write(`cedar_wasm_bench: ${size} policies: ${lat.length} decisions in ${total.toFixed(1)} s, ` +
			`p50 ${quantile(lat, 0.5).toFixed(1)} us\n`);
	}
}

main().catch((e) => {
	process.stderr.write(`cedar_wasm_bench: ${e.stack || e}\n`);
	process.exit(2);
});
