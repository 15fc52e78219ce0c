// policy_gen.mjs - the inputs of the policy benchmark, written once and read
// by both bench/policy_bench (Tollgate's engine) and bench/cedar_wasm_bench.mjs
// (the reference), so both decide exactly the same requests.
//
// Shape (docs/architecture.md, "Scope" and "Policy"): workloads in roles, devices in zones in a site,
// APIs; per-identity permits on Action::"modbus.read"/"modbus.write"/the
// http actions with Device/Zone/Api resources, some with conditions on the
// Modbus or HTTP context and @max_ttl; a few role permits; three forbids
// with conditions on context.hour, context.src_ip and context.token_age_s
// that apply to (nearly) every request. Each request names a workload, an
// action and a resource that one of its permits covers (most of the time),
// so a handful of policies apply to each decision and most are allowed.
//
// Usage: node bench/policy_gen.mjs OUT_DIR [SIZES] [REQUESTS] [SEED]
//   SIZES: comma-separated policy counts (default 10,1000,100000)
// Writes OUT_DIR/p<SIZE>/{policies.cedar,entities.json,requests.jsonl}.
import fs from 'node:fs';
import path from 'node:path';

function makeRng(seed) {
	let a = seed >>> 0;
	const next = () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
	return { int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)), chance: (p) => next() < p, pick: (a2) => a2[Math.floor(next() * a2.length)] };
}

const uid = (type, id) => ({ type, id });
const ref = (u) => `${u.type}::"${u.id}"`;

const FORBIDS = [
	'@id("night-writes")\nforbid(principal, action == Action::"modbus.write", resource in Zone::"z0")\n  when { context.hour < 6 || context.hour >= 22 };',
	'@id("outside-ot-network")\nforbid(principal, action, resource)\n  unless { context.src_ip.isInRange(ip("10.0.0.0/8")) };',
	'@id("stale-token")\nforbid(principal is Workload, action in Action::"modbus", resource)\n  when { context.token_age_s > 3600 };',
];

function generate(n, nreq, seed) {
	const rng = makeRng(seed + n);
	const nRolePermits = Math.max(1, Math.ceil(n * 0.02));
	const nPerIdentity = Math.max(1, n - FORBIDS.length - nRolePermits);
	const nWorkloads = Math.max(1, Math.ceil(nPerIdentity / 4));
	const nDevices = Math.max(8, Math.ceil(n / 10));
	const nZones = Math.max(2, Math.ceil(nDevices / 25));
	const nRoles = Math.max(2, Math.ceil(nRolePermits / 2));
	const nApis = Math.max(2, Math.ceil(n / 200));

	const site = uid('Zone', 'site');
	const zones = Array.from({ length: nZones }, (_, i) => uid('Zone', `z${i}`));
	const devices = Array.from({ length: nDevices }, (_, i) => uid('Device', `plc-${i}`));
	const roles = Array.from({ length: nRoles }, (_, i) => uid('Role', `r${i}`));
	const workloads = Array.from({ length: nWorkloads }, (_, i) => uid('Workload', `w${i}`));
	const apis = Array.from({ length: nApis }, (_, i) => uid('Api', `api${i}`));
	const zoneOf = devices.map((_, i) => zones[i % nZones]);
	const roleOf = workloads.map(() => rng.pick(roles));

	const entities = [];
	const actionGroups = { modbus: ['modbus.read', 'modbus.write', 'modbus.diag'], http: ['http.get', 'http.post'] };
	for (const [g, members] of Object.entries(actionGroups)) {
		entities.push({ uid: uid('Action', g), attrs: {}, parents: [] });
		for (const m of members) entities.push({ uid: uid('Action', m), attrs: {}, parents: [uid('Action', g)] });
	}
	entities.push({ uid: site, attrs: { name: 'plant' }, parents: [] });
	for (const z of zones) entities.push({ uid: z, attrs: { name: z.id }, parents: [site] });
	devices.forEach((d, i) => entities.push({ uid: d, attrs: { zone: zoneOf[i].id, unit: i % 247 }, parents: [zoneOf[i]] }));
	for (const r of roles) entities.push({ uid: r, attrs: {}, parents: [] });
	workloads.forEach((w, i) => entities.push({ uid: w, attrs: { owner: 'ops', kind: 'service' }, parents: [roleOf[i]] }));
	for (const a of apis) entities.push({ uid: a, attrs: {}, parents: [] });

	// Per-identity permits: what each workload may do, remembered so that
	// requests can aim at them.
	const grants = workloads.map(() => []);
	const policies = [];
	for (let i = 0; i < nPerIdentity; i++) {
		const wi = Math.floor(i / 4), w = workloads[wi];
		const d = rng.pick(devices), di = Number(d.id.slice(4));
		const who = `principal == ${ref(w)}`;
		switch (i % 4) {
		case 0:
			policies.push(`@id("${w.id}-read-zone")\npermit(${who}, action == Action::"modbus.read", resource in ${ref(zoneOf[di])});`);
			grants[wi].push({ action: 'modbus.read', resource: () => rng.pick(devices.filter((_, k) => zoneOf[k] === zoneOf[di]).slice(0, 50)) });
			break;
		case 1:
			policies.push(`@id("${w.id}-rw-${d.id}")\npermit(${who}, action in [Action::"modbus.read", Action::"modbus.write"], resource == ${ref(d)})\n  when { context.hour >= 6 && context.hour < 20 };`);
			grants[wi].push({ action: rng.pick(['modbus.read', 'modbus.write']), resource: () => d });
			break;
		case 2:
			policies.push(`@id("${w.id}-write-${d.id}")\n@max_ttl("300")\npermit(${who}, action == Action::"modbus.write", resource == ${ref(d)})\n  when { context.function == 6 && context.address < 1000 };`);
			grants[wi].push({ action: 'modbus.write', resource: () => d });
			break;
		default: {
			const a = rng.pick(apis);
			policies.push(`@id("${w.id}-http-${a.id}")\npermit(${who}, action in Action::"http", resource == ${ref(a)})\n  when { context.method == "GET" || context.path like "/v1/status*" };`);
			grants[wi].push({ action: 'http.get', resource: () => a });
		}
		}
	}
	for (let i = 0; i < nRolePermits; i++) {
		const r = roles[i % nRoles], z = zones[(i * 7) % nZones];
		policies.push(`@id("role-${r.id}-read-${z.id}-${i}")\npermit(principal in ${ref(r)}, action == Action::"modbus.read", resource in ${ref(z)});`);
	}
	policies.push(...FORBIDS);

	const requests = [];
	for (let k = 0; k < nreq; k++) {
		const wi = rng.int(0, nWorkloads - 1);
		let action, resource;
		if (grants[wi].length && rng.chance(0.85)) {
			const g = rng.pick(grants[wi]);
			action = g.action;
			resource = g.resource();
		} else {
			action = rng.pick(['modbus.read', 'modbus.write', 'modbus.diag']);
			resource = rng.pick(devices);
		}
		const http = action.startsWith('http');
		const context = {
			src_ip: { __extn: { fn: 'ip', arg: rng.chance(0.95) ? `10.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}` : `192.168.1.${rng.int(1, 254)}` } },
			now: 1767225600 + rng.int(0, 86400 * 30),
			hour: rng.chance(0.85) ? rng.int(6, 19) : rng.int(0, 23),
			weekday: rng.int(0, 6),
			token_age_s: rng.chance(0.97) ? rng.int(0, 600) : rng.int(3601, 7200),
		};
		if (http) Object.assign(context, { method: rng.chance(0.9) ? 'GET' : 'POST', path: rng.pick(['/v1/status', '/v1/orders', '/v1/status/x']) });
		else Object.assign(context, { function: action === 'modbus.write' ? rng.pick([6, 6, 16]) : 3, unit: rng.int(1, 247), address: rng.int(0, 1200), count: rng.int(1, 10) });
		requests.push({ principal: workloads[wi], action: uid('Action', action), resource, context });
	}
	return { policies: policies.join('\n\n') + '\n', entities, requests };
}

function main() {
	const [out, sizesArg, nreqArg, seedArg] = process.argv.slice(2);
	if (!out) {
		process.stderr.write('usage: node bench/policy_gen.mjs OUT_DIR [SIZES] [REQUESTS] [SEED]\n');
		process.exit(2);
	}
	const sizes = (sizesArg || '10,1000,100000').split(',').map(Number);
	const nreq = Number(nreqArg || 2000), seed = Number(seedArg || 7);
	for (const n of sizes) {
		const dir = path.join(out, `p${n}`);
		fs.mkdirSync(dir, { recursive: true });
		const g = generate(n, nreq, seed);
		fs.writeFileSync(path.join(dir, 'policies.cedar'), g.policies);
		fs.writeFileSync(path.join(dir, 'entities.json'), JSON.stringify(g.entities) + '\n');
		fs.writeFileSync(path.join(dir, 'requests.jsonl'), g.requests.map((r) => JSON.stringify(r)).join('\n') + '\n');
		process.stderr.write(`policy_gen: ${dir}: ${n} policies, ${g.entities.length} entities, ${g.requests.length} requests\n`);
	}
}

main();
