// cedar_diff.mjs - differential test of Tollgate's Cedar engine against the
// reference implementation, the npm package @cedar-policy/cedar-wasm.
//
// For each case from cedar_gen.mjs (a policy set, an entity graph and a
// batch of requests) the reference decides every request (isAuthorized on
// the policy set pre-parsed with preparsePolicySet) and Tollgate decides the
// same requests in one run of
//   $TOLLGATE_BIN policy eval --json --cedar-entities --policies P --entities E --requests R
// and the two must agree on: whether the policy set parses; per request,
// whether the request can be decided at all; the decision; the set of
// determining policies; the set of policies that errored. Policy ids are
// compared through the index: the reference numbers policies policy0,
// policy1, ... by position and ignores @id; Tollgate uses @id when present.
//
// On a disagreement the case is shrunk (requests, policies, conditions,
// scopes, annotations, entities, attributes, parents, tags, context keys,
// each dropped while the same kind of disagreement remains) and written to
// the regressions folder as NNNN/ with policies.cedar, entities.json,
// requests.jsonl, expected.jsonl (the reference's answers, in Tollgate's
// JSON form; {"parse_error": ...} when the reference refuses the set),
// tollgate.jsonl (what Tollgate answered) and info.json (seed, kind,
// both raw answers). tests/e2e/test_cedar_differential.py replays those.
//
// Usage: node cedar_diff.mjs [--cases N] [--seed S] [--forever]
//        [--requests N] [--policies LO-HI] [--out DIR] [--keep-going]
//        [--max-failures N] [--quiet] [--reference-only] [--no-probes]
// Bounded mode (the default): --cases cases (300) from seed --seed
// (CEDAR_DIFF_SEED, else a fixed seed, so CI runs are reproducible); stops
// at the first disagreement unless --keep-going. --forever: until
// interrupted, from a random seed unless one is given, going past
// disagreements (at most --max-failures, default 20), with progress every
// 1,000 cases. Case i uses seed S+i, so `--seed S+i --cases 1` replays it.
// --no-probes leaves out the fixed edge cases of the grammar and of the JSON
// formats (cedar_gen.mjs EXPR_PROBES ...), so that only generated
// expressions are compared.
// --reference-only runs only the reference and prints statistics (to tune
// the generator without a Tollgate build).
//        node cedar_diff.mjs --expect DIR...
// (re)writes DIR/expected.jsonl from the reference and DIR/tollgate.jsonl
// from Tollgate for a hand-written case (DIR with policies.cedar,
// entities.json and requests.jsonl), so that a case can be added to the
// regressions by hand; exit 1 when they disagree.
// Environment: TOLLGATE_BIN (default build/tollgate), CEDAR_DIFF_SEED.
// Exit status: 0 when every case agreed, 1 on a disagreement, 2 on a usage
// or setup error.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { KNOWN_FEATURES, generateCase, policySetText, tollgateIds } from './cedar_gen.mjs';

const FEATURES_NO_PROBES = new Set(KNOWN_FEATURES.filter((f) => f !== 'probes'));

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');

function usage(msg) {
	if (msg) process.stderr.write(`cedar_diff: ${msg}\n`);
	process.stderr.write('usage: node cedar_diff.mjs [--cases N] [--seed S] [--forever] [--requests N]\n' +
		'       [--policies LO-HI] [--out DIR] [--keep-going] [--max-failures N] [--quiet] [--reference-only] [--no-probes]\n' +
		'       node cedar_diff.mjs --expect DIR...\n');
	process.exit(2);
}

function parseArgs(argv) {
	const o = {
		cases: 300, seed: null, forever: false, requests: 16, policies: [1, 8],
		out: path.join(HERE, 'regressions'), keepGoing: false, maxFailures: 20, quiet: false,
	};
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i], v = () => (i + 1 < argv.length ? argv[++i] : usage(`${a} needs a value`));
		if (a === '--cases') o.cases = Number(v());
		else if (a === '--seed') o.seed = Number(v());
		else if (a === '--forever') o.forever = true;
		else if (a === '--requests') o.requests = Number(v());
		else if (a === '--policies') o.policies = v().split('-').map(Number);
		else if (a === '--out') o.out = path.resolve(v());
		else if (a === '--keep-going') o.keepGoing = true;
		else if (a === '--max-failures') o.maxFailures = Number(v());
		else if (a === '--quiet') o.quiet = true;
		else if (a === '--reference-only') o.referenceOnly = true;
		else if (a === '--no-probes') o.noProbes = true;
		else if (a === '--expect') {
			o.expect = argv.slice(i + 1);
			break;
		} else if (a === '--help' || a === '-h') usage();
		else usage(`unknown option ${a}`);
	}
	if (o.seed === null) {
		const env = process.env.CEDAR_DIFF_SEED;
		// Bounded runs are reproducible by default; --forever explores.
		o.seed = env ? Number(env) : o.forever ? Math.floor(Math.random() * 2 ** 31) : 20240601;
	}
	if (!Number.isInteger(o.seed) || !(o.cases > 0) || !(o.requests > 0) || o.policies.length !== 2) usage('bad number');
	if (o.forever) o.keepGoing = true;
	return o;
}

// ---- the two engines --------------------------------------------------------

async function loadReference() {
	const p = path.join(REPO, 'tests', 'e2e', 'node_modules', '@cedar-policy', 'cedar-wasm', 'nodejs', 'cedar_wasm.js');
	if (!fs.existsSync(p)) {
		process.stderr.write(`cedar_diff: ${p} is missing: run scripts/deps.sh --test\n`);
		process.exit(2);
	}
	return import(p);
}

const sorted = (a) => [...a].sort();

// The reference's answers: {parseError} or {answers: [{decision, reasons,
// errors} | {error}]}.
function referenceDecide(cedar, c, ids) {
	const text = policySetText(c.policies);
	const pre = cedar.preparsePolicySet('diff', { staticPolicies: text });
	if (pre.type !== 'success') return { parseError: pre.errors.map((e) => e.message).join('; ') };
	const mapId = (id) => {
		const m = /^policy(\d+)$/.exec(id);
		return m && Number(m[1]) < ids.length ? ids[Number(m[1])] : `?${id}`;
	};
	const answers = c.requests.map((r) => {
		const a = cedar.statefulIsAuthorized({
			principal: r.principal, action: r.action, resource: r.resource, context: r.context,
			preparsedPolicySetId: 'diff', entities: c.entities,
		});
		if (a.type !== 'success') return { error: a.errors.map((e) => e.message).join('; ') };
		const d = a.response;
		return {
			decision: d.decision,
			reasons: sorted(d.diagnostics.reason.map(mapId)),
			errors: sorted(d.diagnostics.errors.map((e) => mapId(e.policyId))),
			messages: d.diagnostics.errors.map((e) => `${mapId(e.policyId)}: ${e.error.message}`),
		};
	});
	return { answers };
}

function writeCaseFiles(dir, c) {
	fs.mkdirSync(dir, { recursive: true });
	fs.writeFileSync(path.join(dir, 'policies.cedar'), policySetText(c.policies));
	fs.writeFileSync(path.join(dir, 'entities.json'), JSON.stringify(c.entities, null, 1) + '\n');
	fs.writeFileSync(path.join(dir, 'requests.jsonl'), c.requests.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

// Tollgate's answers: {parseError} (the policy file was refused),
// {setError} (the entities were), {crash} or {answers}.
function tollgateDecide(bin, work, c) {
	writeCaseFiles(work, c);
	const P = path.join(work, 'policies.cedar');
	// --cedar-entities: the entities as the reference reads them (not the broker's defaults).
	const res = spawnSync(bin, ['policy', 'eval', '--json', '--cedar-entities', '--policies', P, '--entities', path.join(work, 'entities.json'),
		'--requests', path.join(work, 'requests.jsonl')], { encoding: 'utf8', timeout: 20000, maxBuffer: 64 << 20 });
	if (res.error && res.error.code === 'ENOENT') {
		process.stderr.write(`cedar_diff: ${bin} not found: build Tollgate or set TOLLGATE_BIN\n`);
		process.exit(2);
	}
	if (res.status === 2) {
		process.stderr.write(`cedar_diff: ${bin} does not run \`policy eval\` (usage error):\n${res.stderr}`);
		process.exit(2);
	}
	if (/AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:/.test(res.stderr || ''))
		return { crash: `sanitizer report: ${res.stderr.slice(0, 4000)}` };
	if (res.signal || res.error) return { crash: `${res.signal || res.error.message}; stderr: ${(res.stderr || '').slice(0, 2000)}` };
	const lines = res.stdout.split('\n').filter((l) => l.length > 0);
	if (lines.length === 0 && res.status !== 0) {
		if (res.stderr.startsWith(P + ':')) return { parseError: res.stderr.trim() };
		return { setError: res.stderr.trim() };
	}
	if (lines.length !== c.requests.length)
		return { crash: `${lines.length} answers for ${c.requests.length} requests (exit ${res.status}); stderr: ${res.stderr.slice(0, 2000)}` };
	return {
		answers: lines.map((l) => {
			let j;
			try {
				j = JSON.parse(l);
			} catch {
				return { error: `not JSON: ${l}` };
			}
			if ('error' in j) return { error: j.error };
			return {
				decision: j.decision, reasons: sorted(j.reasons || []), errors: sorted(j.errors || []),
				messages: j.error_messages,
			};
		}),
	};
}

// ---- comparing ----------------------------------------------------------------

const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

// The kind of disagreement of one request, or null when both agree.
function compareAnswer(ref, tg) {
	if ('error' in ref || 'error' in tg) return 'error' in ref && 'error' in tg ? null : 'decidable';
	if (ref.decision !== tg.decision) return 'decision';
	if (!same(ref.reasons, tg.reasons)) return 'reasons';
	if (!same(ref.errors, tg.errors)) return 'errors';
	return null;
}

// Compares a whole case: [] when everything agrees, else a list of
// {kind, index} (index: the request, or -1 for the whole set).
function compareCase(ref, tg) {
	if (tg.crash) return [{ kind: 'crash', index: -1 }];
	if (ref.parseError !== undefined || tg.parseError !== undefined)
		return (ref.parseError !== undefined) === (tg.parseError !== undefined) ? [] : [{ kind: 'parse', index: -1 }];
	if (tg.setError !== undefined) {
		// Tollgate refused the entities; the reference must refuse every request.
		return ref.answers.every((a) => 'error' in a) ? [] : [{ kind: 'entities', index: -1 }];
	}
	const out = [];
	ref.answers.forEach((a, i) => {
		const k = compareAnswer(a, tg.answers[i]);
		if (k) out.push({ kind: k, index: i });
	});
	return out;
}

// ---- shrinking --------------------------------------------------------------

const clone = (x) => JSON.parse(JSON.stringify(x));

class Shrinker {
	constructor(cedar, bin, work, kind) {
		Object.assign(this, { cedar, bin, work, kind, runs: 0 });
	}

	// True when c still shows the same kind of disagreement.
	fails(c) {
		this.runs++;
		const ids = tollgateIds(c.policies);
		const ref = referenceDecide(this.cedar, c, ids), tg = tollgateDecide(this.bin, this.work, c);
		return compareCase(ref, tg).some((d) => d.kind === this.kind);
	}

	// Tries each candidate list-removal in turn; keeps those that still fail.
	dropEach(c, get, set, min = 0) {
		let changed = false;
		for (let i = get(c).length - 1; i >= 0 && get(c).length > min; i--) {
			const t = clone(c);
			const list = get(t).slice();
			list.splice(i, 1);
			set(t, list);
			if (this.fails(t)) {
				Object.assign(c, t);
				changed = true;
			}
		}
		return changed;
	}

	dropKeys(c, getObj) {
		let changed = false;
		for (const k of Object.keys(getObj(c) || {})) {
			const t = clone(c);
			delete getObj(t)[k];
			if (this.fails(t)) {
				Object.assign(c, t);
				changed = true;
			}
		}
		return changed;
	}

	shrink(c0) {
		const c = clone(c0);
		for (let round = 0; round < 4; round++) {
			let ch = false;
			// One request stays, so that a replay has something to decide.
			ch = this.dropEach(c, (x) => x.requests, (x, l) => { x.requests = l; }, 1) || ch;
			ch = this.dropEach(c, (x) => x.policies, (x, l) => { x.policies = l; }) || ch;
			for (let p = 0; p < c.policies.length; p++) {
				ch = this.dropEach(c, (x) => x.policies[p].conds, (x, l) => { x.policies[p].conds = l; }) || ch;
				ch = this.dropEach(c, (x) => x.policies[p].annotations, (x, l) => { x.policies[p].annotations = l; }) || ch;
				if (c.policies[p].raw !== undefined) continue;
				for (const v of ['principal', 'action', 'resource']) {
					if (c.policies[p][v].op === 'any') continue;
					const t = clone(c);
					t.policies[p][v] = { op: 'any' };
					if (this.fails(t)) {
						Object.assign(c, t);
						ch = true;
					}
				}
				if (c.policies[p].effect === 'forbid') {
					const t = clone(c);
					t.policies[p].effect = 'permit';
					if (this.fails(t)) {
						Object.assign(c, t);
						ch = true;
					}
				}
			}
			ch = this.dropEach(c, (x) => x.entities, (x, l) => { x.entities = l; }) || ch;
			for (let e = 0; e < c.entities.length; e++) {
				ch = this.dropKeys(c, (x) => x.entities[e].attrs) || ch;
				ch = this.dropKeys(c, (x) => x.entities[e].tags) || ch;
				ch = this.dropEach(c, (x) => x.entities[e].parents, (x, l) => { x.entities[e].parents = l; }) || ch;
			}
			for (let r = 0; r < c.requests.length; r++) ch = this.dropKeys(c, (x) => x.requests[r].context) || ch;
			if (!ch) break;
		}
		return c;
	}
}

// ---- saving -----------------------------------------------------------------

function nextCaseDir(out) {
	fs.mkdirSync(out, { recursive: true });
	let n = 1;
	for (const name of fs.readdirSync(out)) if (/^\d{4}$/.test(name)) n = Math.max(n, Number(name) + 1);
	return path.join(out, String(n).padStart(4, '0'));
}

const tollgateForm = (a) => ('error' in a ? { error: a.error } : { decision: a.decision, reasons: a.reasons, errors: a.errors });

function saveRegression(out, c, kind, ref, tg, seed, extra = null) {
	const dir = nextCaseDir(out);
	writeCaseFiles(dir, c);
	let expected;
	if (ref.parseError !== undefined) expected = [{ parse_error: ref.parseError }];
	else expected = ref.answers.map(tollgateForm);
	fs.writeFileSync(path.join(dir, 'expected.jsonl'), expected.map((e) => JSON.stringify(e)).join('\n') + '\n');
	const got = tg.answers ? tg.answers.map(tollgateForm) : [tg];
	fs.writeFileSync(path.join(dir, 'tollgate.jsonl'), got.map((e) => JSON.stringify(e)).join('\n') + '\n');
	fs.writeFileSync(path.join(dir, 'info.json'), JSON.stringify({
		kind, seed, found: new Date().toISOString(),
		reference: ref, tollgate: tg,
		note: 'found by tests/diff/cedar_diff.mjs; expected.jsonl holds the reference answers (@cedar-policy/cedar-wasm)',
		...(extra || {}),
	}, null, 1) + '\n');
	return dir;
}

// ---- main -------------------------------------------------------------------

// A hand-written case: the policies as text. Tollgate's ids come from the
// reference's own reading of each policy's @id annotation.
function expectDir(cedar, bin, dir) {
	const text = fs.readFileSync(path.join(dir, 'policies.cedar'), 'utf8');
	const entities = JSON.parse(fs.readFileSync(path.join(dir, 'entities.json'), 'utf8'));
	const requests = fs.readFileSync(path.join(dir, 'requests.jsonl'), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
	const parts = cedar.policySetTextToParts(text);
	const ids = parts.type === 'success'
		? parts.policies.map((p, i) => {
			const j = cedar.policyToJson(p);
			return (j.type === 'success' && j.json.annotations && j.json.annotations.id) || `policy${i}`;
		})
		: [];
	const c = { policies: [{ raw: text, annotations: [], conds: [] }], entities, requests };
	const ref = referenceDecide(cedar, c, ids);
	const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cedar-expect-'));
	const tg = tollgateDecide(bin, work, c);
	fs.rmSync(work, { recursive: true, force: true });
	const expected = ref.parseError !== undefined ? [{ parse_error: ref.parseError }] : ref.answers.map(tollgateForm);
	fs.writeFileSync(path.join(dir, 'expected.jsonl'), expected.map((e) => JSON.stringify(e)).join('\n') + '\n');
	const got = tg.answers ? tg.answers.map(tollgateForm) : [tg];
	fs.writeFileSync(path.join(dir, 'tollgate.jsonl'), got.map((e) => JSON.stringify(e)).join('\n') + '\n');
	const diffs = compareCase(ref, tg);
	process.stderr.write(`cedar_diff: ${dir}: ${diffs.length ? `DISAGREE (${diffs.map((d) => `${d.kind}${d.index >= 0 ? ` on request ${d.index + 1}` : ''}`).join(', ')})` : 'agree'}\n`);
	return diffs.length === 0;
}

async function main() {
	const o = parseArgs(process.argv.slice(2));
	const bin = path.resolve(process.env.TOLLGATE_BIN || path.join(REPO, 'build', 'tollgate'));
	const cedar = await loadReference();
	if (o.expect) {
		let ok = true;
		for (const d of o.expect) ok = expectDir(cedar, bin, path.resolve(d)) && ok;
		process.exit(ok ? 0 : 1);
	}
	const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cedar-diff-'));
	const stats = { cases: 0, requests: 0, allow: 0, deny: 0, errored: 0, refused: 0, setRefused: 0, failures: 0 };
	const t0 = Date.now();
	const say = (s) => process.stderr.write(`cedar_diff: ${s}\n`);
	say(`seed ${o.seed}, ${o.forever ? 'forever' : `${o.cases} cases`}, cedar-wasm ${cedar.getCedarVersion()}, tollgate ${bin}`);
	let failed = false, stop = false;
	// Ctrl-C or SIGTERM ends the run after the current case, with the summary.
	const onSignal = () => {
		if (stop) process.exit(130);
		stop = true;
	};
	process.on('SIGINT', onSignal);
	process.on('SIGTERM', onSignal);
	try {
		for (let i = 0; (o.forever || i < o.cases) && !stop; i++) {
			await new Promise((resolve) => setImmediate(resolve)); // lets signals in
			const seed = (o.seed + i) >>> 0;
			const c = generateCase(seed, { requests: o.requests, policies: o.policies, features: o.noProbes ? FEATURES_NO_PROBES : undefined });
			const ids = tollgateIds(c.policies);
			const ref = referenceDecide(cedar, c, ids);
			stats.cases++;
			if (ref.parseError !== undefined) stats.setRefused++;
			for (const a of ref.answers || []) {
				stats.requests++;
				if ('error' in a) stats.refused++;
				else {
					stats[a.decision]++;
					if (a.errors.length) stats.errored++;
				}
			}
			if (o.referenceOnly) {
				if (ref.parseError !== undefined && !o.quiet) say(`seed ${seed}: reference refuses the set: ${ref.parseError}`);
				continue;
			}
			const tg = tollgateDecide(bin, work, c);
			if (tg.crash) {
				// A signal to the whole process group (Ctrl-C, timeout) also
				// kills Tollgate: that is the end of the run, not a crash.
				await new Promise((resolve) => setImmediate(resolve));
				if (stop) break;
			}
			const diffs = compareCase(ref, tg);
			if (diffs.length > 0) {
				failed = true;
				stats.failures++;
				const d = diffs[0];
				say(`case seed ${seed}: ${d.kind} disagreement${d.index >= 0 ? ` on request ${d.index}` : ''}; shrinking`);
				const focus = clone(c);
				if (d.index >= 0) focus.requests = [c.requests[d.index]];
				const sh = new Shrinker(cedar, bin, work, d.kind);
				const again = sh.fails(focus);
				const small = again ? sh.shrink(focus) : c;
				const sids = tollgateIds(small.policies);
				const sref = referenceDecide(cedar, small, sids), stg = tollgateDecide(bin, work, small);
				const dir = saveRegression(o.out, small, d.kind, sref, stg, seed,
					again ? null : { firstTollgate: tg, note: 'did not happen again when re-run: flaky, or the binary changed during the run' });
				if (!again) say(`case seed ${seed}: the ${d.kind} disagreement did not happen again on a re-run (flaky?)`);
				say(`wrote ${dir}`);
				if (!o.quiet) {
					process.stderr.write(fs.readFileSync(path.join(dir, 'policies.cedar'), 'utf8'));
					process.stderr.write(`  reference: ${JSON.stringify(sref.answers ? sref.answers[0] : sref)}\n`);
					process.stderr.write(`  tollgate:  ${JSON.stringify(stg.answers ? stg.answers[0] : stg)}\n`);
				}
				if (!o.keepGoing || stats.failures >= o.maxFailures) break;
			}
			if (o.forever && stats.cases % 1000 === 0)
				say(`${stats.cases} cases, ${stats.requests} requests, ${stats.failures} disagreements, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
		}
	} finally {
		fs.rmSync(work, { recursive: true, force: true });
	}
	const s = ((Date.now() - t0) / 1000).toFixed(1);
	say(`${stats.cases} cases (${stats.setRefused} policy sets refused by both), ${stats.requests} requests: ` +
		`${stats.allow} allow, ${stats.deny} deny (${stats.errored} with errored policies), ${stats.refused} not decidable; ` +
		`${stats.failures} disagreements; ${s} s`);
	process.exit(failed ? 1 : 0);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
	main().catch((e) => {
		process.stderr.write(`cedar_diff: ${e.stack || e}\n`);
		process.exit(2);
	});
}
