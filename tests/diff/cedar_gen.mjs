// cedar_gen.mjs - seeded random Cedar test cases for the differential test
// (cedar_diff.mjs): a policy set, an entity graph and a batch of requests,
// all drawn from one small universe of entity types, ids and attribute names
// so that scopes match, attributes exist and conditions are true, false and
// erroring in useful proportions.
//
// WHAT IT COVERS (issue 3): scopes with ==, in, is, is-in and action in
// [...] (also []); when/unless; literals (bool, long up to the limits,
// strings with every escape, entity references, sets, records); &&, ||, !,
// if-then-else, == != < <= > >=, + - * and unary minus (overflow included),
// in over the hierarchy and over sets, has, like with * and \* escapes,
// .contains/.containsAll/.containsAny/.isEmpty, attribute access on
// entities, records and context (present, missing, on missing entities),
// ip/decimal/datetime/duration constructors and every method,
// getTag/hasTag, and ill-typed operands everywhere (a fraction of the
// subexpressions is deliberately of the wrong type). Entities carry
// attributes of every kind (extension values through __extn, entity
// references through __entity, records that look like {"type","id"}) and
// tags; the parent graph is acyclic (the reference refuses cycles), with
// some parents that are not in the entity set.
//
// A case is structured (policies are objects rendered to text on demand)
// so that the differential test can shrink a failing case by dropping
// policies, conditions, entities, attributes and context keys.
//
// Usage as a script: node cedar_gen.mjs [SEED] prints one case as JSON.

import path from 'node:path';
import { pathToFileURL } from 'node:url';

// ---- random numbers ---------------------------------------------------------

// mulberry32: small, fast, good enough, and the same on every platform.
export function makeRng(seed) {
	let a = seed >>> 0;
	const next = () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
	const rng = {
		next,
		int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)), // inclusive
		chance: (p) => next() < p,
		pick: (arr) => arr[Math.floor(next() * arr.length)],
		// pick from [[weight, value], ...]
		weighted: (pairs) => {
			let total = 0;
			for (const [w] of pairs) total += w;
			let x = next() * total;
			for (const [w, v] of pairs) {
				if ((x -= w) < 0) return v;
			}
			return pairs[pairs.length - 1][1];
		},
		shuffle: (arr) => {
			const a2 = arr.slice();
			for (let i = a2.length - 1; i > 0; i--) {
				const j = Math.floor(next() * (i + 1));
				[a2[i], a2[j]] = [a2[j], a2[i]];
			}
			return a2;
		},
	};
	return rng;
}

// ---- the universe -----------------------------------------------------------

const TYPES = ['Workload', 'Operator', 'Role', 'Device', 'Zone', 'Api', 'Secret'];
const RARE_TYPES = ['Tg::Device', 'Thing'];
const IDS = ['a', 'b', 'c', 'plc-7', 'line-3', '', 'ü', 'q"t', 'back\\slash', 'x y'];
const ACTIONS = ['read', 'write', 'modbus.read', 'modbus.write', 'rw', 'all', 'admin'];
// Action hierarchy: read, write in rw; rw, modbus.* in all. admin alone.
const ACTION_PARENTS = { read: ['rw'], write: ['rw'], rw: ['all'], 'modbus.read': ['all'], 'modbus.write': ['all', 'rw'] };

// Attribute names and the kind each usually has (a few percent of values get
// another kind, so that well-typed-looking expressions also error).
const ATTRS = {
	n: 'long', m: 'long', s: 'string', b: 'bool', owner: 'entity', set: 'setlong', strs: 'setstr',
	ents: 'setent', rec: 'record', ip: 'ip', dec: 'decimal', dt: 'datetime', dur: 'duration',
	'sp ace': 'string',
};
const ATTR_NAMES = Object.keys(ATTRS);
const TAG_KEYS = ['k1', 'k2', 'zone', 'missing'];
const STRINGS = ['', 'a', 'ab', 'abc', 'plc-7', 'a*b', 'zone/3', 'ü', 'line\n2', 'ñé', 'A', 'aaa', '*', 'q"t'];
// Extension literals: the first list parses everywhere; the second holds
// edge cases and malformed ones, used in policy text (where they make the
// call error) and rarely in context (where the reference refuses the
// request).
const IPS = ['10.0.0.1', '10.0.0.0/8', '192.168.1.20', '127.0.0.1', '::1', '224.0.0.1', 'ff02::1', '2001:db8::/32',
	'2001:db8::5', '0.0.0.0/0', '127.0.0.0/8', '255.255.255.255', '::', '10.0.0.1/32', '::1/128'];
const IPS_ODD = ['1.2.3.256', '10.0.0.1/33', 'fe80::1%eth0', '01.2.3.4', '1:2:3:4:5:6:7:8', '1::2::3',
	'::ffff:10.0.0.1', '10.1.2.3/24', '10.0.0.0/08', '', ' 10.0.0.1', '::1/129', '1.2.3', 'ABCD::EF',
	'1:2:3:4:5:6:7::', '::1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '0:0:0:0:0:0:0:1', '::ffff:0:0/96', '1.2.3.4/024',
	'2001:DB8::1', '::ffff:127.0.0.1', '::ffff:224.0.0.1', '127.255.255.255/32', '::2', '10.0.0.1/-1', '10.0.0.1/',
	'::ffff:1.2.3.4/128', '1::', '::1.2.3.4', '12345::', '1:2:3:4:5:6:1.2.3.4', '0.0.0.0', '240.0.0.1', '239.255.255.255'];
const DECIMALS = ['0.0', '1.5', '-1.5', '12.3456', '922337203685477.5807', '-922337203685477.5808', '0.1', '2.00',
	'-0.0001', '3.14'];
const DECIMALS_ODD = ['1.23456', '1', '1.', '.5', '922337203685477.5808', '-0.0', '+1.0', '1e2', '', '00.10',
	'-922337203685477.5809', '1.0000', '0.00000', '1_0.0', '١.٠', ' 1.0', '--1.0', '1.-1'];
const DATETIMES = ['2024-10-15', '2024-10-15T11:35:00Z', '2024-10-15T11:35:00.123Z', '2024-10-15T11:35:00+0100',
	'2024-10-15T11:35:00-0230', '1970-01-01', '1969-12-31T23:59:59Z', '2024-02-29', '9999-12-31T23:59:59.999Z',
	'2024-10-15T00:00:00Z'];
const DATETIMES_ODD = ['2023-02-29', '2024-10-15T25:00:00Z', '2024-1-5', '0000-01-01', '2024-10-15T11:35:00',
	'2024-10-15T11:35:00.12Z', '2024-10-15 11:35:00Z', '2024-10-15T11:35:60Z', '2024-13-01', '-2024-01-01',
	'2024-10-15T11:35:00+2400', '2024-10-15T11:35:00+0160', '2024-10-15T11:35:00.123+0100', '2024-10-15T11:35:00.1234Z',
	'2024-10-15T11:35:00+2359', '2024-10-15T11:35:00-2359', '2024-10-15T23:59:60Z', '2024-10-15T11:35Z', '2024-10-15Z',
	'20241015', '2024-10-15t11:35:00z', '1900-02-29', '2000-02-29', '2024-04-31', '2024-10-15T11:35:00+01:00'];
const DURATIONS = ['1h', '1d2h3m4s5ms', '-1h', '0ms', '90m', '2d', '1s', '5ms', '-3d4h', '100000000d'];
const DURATIONS_ODD = ['1h1h', 'h', '', '1m1h', '1.5h', '- 1h', '+1h', '9223372036854775807ms', '106751991167d',
	'1d-2h', '1H', '1s1m', '0d', '-0ms', '1ms1s', '1d1h1m1s1ms', '-1d-1h', '01h', '1h ', '9223372036854775808ms',
	'-9223372036854775808ms', '106751991167d7h12m55s807ms', '-106751991167d7h12m55s808ms', '2562047788015215h'];
const LONG_EDGES = ['9223372036854775807', '-9223372036854775808', '4611686018427387904', '3037000500',
	'-4611686018427387905', '9223372036854775806'];

export const KNOWN_FEATURES = ['core', 'ext', 'datetime', 'tags', 'errors', 'probes'];

// ---- rendering helpers ------------------------------------------------------

// A Cedar string literal for s, sometimes spelling ordinary characters with
// the \u{...}, \x.. and \' escapes so that unescaping is exercised too.
export function cedarString(s, rng = null) {
	let out = '"';
	for (const ch of s) {
		const cp = ch.codePointAt(0);
		if (ch === '"') out += '\\"';
		else if (ch === '\\') out += '\\\\';
		else if (ch === '\n') out += rng && rng.chance(0.3) ? '\\u{a}' : '\\n';
		else if (ch === '\r') out += '\\r';
		else if (ch === '\t') out += '\\t';
		else if (cp === 0) out += '\\0';
		else if (cp < 0x20 || cp === 0x7f) out += `\\u{${cp.toString(16)}}`;
		else if (ch === "'" && rng && rng.chance(0.5)) out += "\\'";
		else if (rng && rng.chance(0.04)) out += `\\u{${cp.toString(16)}}`;
		else if (rng && cp < 0x80 && rng.chance(0.03)) out += '\\x' + cp.toString(16).padStart(2, '0');
		else out += ch;
	}
	return out + '"';
}

function euidText(e, rng) {
	return `${e.type}::${cedarString(e.id, rng)}`;
}

// A like pattern: an array of {lit: string} and '*' elements.
function patternText(elems, rng) {
	let out = '"';
	for (const el of elems) {
		if (el === '*') {
			out += '*';
			continue;
		}
		for (const ch of el.lit) {
			if (ch === '*') out += '\\*';
			else out += cedarString(ch, rng).slice(1, -1);
		}
	}
	return out + '"';
}

// ---- values (JSON side) -----------------------------------------------------

const extn = (fn, arg) => ({ __extn: { fn, arg } });

function genValue(rng, ctx, kind, depth = 2) {
	switch (kind) {
	case 'long':
		return rng.weighted([[6, rng.int(-3, 12)], [1, rng.pick([0, 1, -1, 255, 2 ** 31, -(2 ** 31), 2 ** 53 - 1, -(2 ** 53) + 1])]]);
	case 'string':
		return rng.pick(STRINGS);
	case 'bool':
		return rng.chance(0.5);
	case 'entity': {
		const e = rng.pick(ctx.refPool);
		return rng.chance(0.9) ? { __entity: { type: e.type, id: e.id } } : { type: e.type, id: e.id }; // the latter is a record
	}
	case 'setlong':
		return Array.from({ length: rng.int(0, 3) }, () => rng.int(-2, 6));
	case 'setstr':
		return Array.from({ length: rng.int(0, 3) }, () => rng.pick(STRINGS));
	case 'setent':
		return Array.from({ length: rng.int(0, 3) }, () => genValue(rng, ctx, 'entity', depth));
	case 'record': {
		const r = {};
		if (depth > 0) {
			for (const k of rng.shuffle(['n', 's', 'b', 'owner', 'rec', 'ip']).slice(0, rng.int(0, 4)))
				r[k] = genValue(rng, ctx, k === 'rec' ? 'record' : ATTRS[k], depth - 1);
		}
		return r;
	}
	case 'ip':
		return extn('ip', rng.pick(IPS));
	case 'decimal':
		return extn('decimal', rng.pick(DECIMALS));
	case 'datetime':
		return extn('datetime', rng.pick(DATETIMES));
	case 'duration':
		return extn('duration', rng.pick(DURATIONS));
	case 'any':
	default:
		return genValue(rng, ctx, rng.pick(['long', 'string', 'bool', 'entity', 'setlong', 'record', 'ip', 'decimal', 'datetime', 'duration']), depth);
	}
}

// Attributes: most names present with their usual kind, some missing, a few
// of another kind.
function genAttrs(rng, ctx, pPresent = 0.75) {
	const attrs = {};
	for (const name of ATTR_NAMES) {
		if (!rng.chance(pPresent)) continue;
		const kind = rng.chance(0.06) ? 'any' : ATTRS[name];
		attrs[name] = genValue(rng, ctx, kind);
	}
	return attrs;
}

// ---- entities ---------------------------------------------------------------

function genEntities(rng, features) {
	const uids = [];
	const types = TYPES.concat(RARE_TYPES);
	for (const type of types) {
		for (const id of rng.shuffle(IDS).slice(0, rng.int(1, 3))) uids.push({ type, id });
	}
	// Referenced but absent entities: requests and attributes may name them.
	const absent = [];
	for (let i = 0; i < 3; i++) {
		const u = { type: rng.pick(TYPES), id: 'ghost' + i };
		absent.push(u);
	}
	const actions = ACTIONS.map((id) => ({ type: 'Action', id }));
	const ctx = { refPool: uids.concat(absent), uids, absent, actions };
	const order = rng.shuffle(uids);
	const entities = [];
	order.forEach((uid, i) => {
		const parents = [];
		const np = i === 0 ? 0 : rng.weighted([[3, 0], [4, 1], [2, 2], [1, 3]]);
		for (let k = 0; k < np; k++) {
			const p = rng.chance(0.9) ? order[rng.int(0, i - 1)] : rng.pick(absent);
			if (!parents.some((q) => q.type === p.type && q.id === p.id)) parents.push(p);
		}
		const ent = { uid, attrs: genAttrs(rng, ctx), parents };
		if (features.has('tags') && rng.chance(0.5)) {
			ent.tags = {};
			for (const k of TAG_KEYS.slice(0, 3)) if (rng.chance(0.5)) ent.tags[k] = genValue(rng, ctx, rng.chance(0.5) ? 'string' : 'any');
		}
		entities.push(ent);
	});
	for (const a of actions) {
		const parents = (ACTION_PARENTS[a.id] || []).map((id) => ({ type: 'Action', id }));
		entities.push({ uid: a, attrs: rng.chance(0.2) ? genAttrs(rng, ctx, 0.3) : {}, parents });
	}
	// Entity order in the file should not matter.
	return { entities: rng.shuffle(entities), ctx };
}

// ---- expressions ------------------------------------------------------------

// Precedence of a rendered expression, loosest first, so that the renderer
// knows where parentheses are needed (and sometimes adds needless ones).
const P = { IF: 0, OR: 1, AND: 2, REL: 3, ADD: 4, MUL: 5, UNARY: 6, MEMBER: 7, PRIMARY: 8 };
const X = (text, prec) => ({ text, prec });

class ExprGen {
	constructor(rng, ctx, features) {
		this.rng = rng;
		this.ctx = ctx;
		this.features = features;
		this.pErr = features.has('errors') ? 0.04 : 0;
	}

	wrap(e, need) {
		if (e.prec < need || (e.prec < P.PRIMARY && this.rng.chance(0.15))) return `(${e.text})`;
		return e.text;
	}

	kinds() {
		const k = ['bool', 'long', 'string', 'entity', 'set', 'record'];
		if (this.features.has('ext')) k.push('ip', 'decimal');
		if (this.features.has('datetime')) k.push('datetime', 'duration');
		return k;
	}

	// An expression of the given kind (sometimes of another kind, so that
	// the operator it feeds raises a type error).
	gen(kind, d) {
		const r = this.rng;
		if (this.pErr > 0 && r.chance(this.pErr)) kind = r.pick(this.kinds());
		if (d <= 0 || r.chance(0.25)) return this.leaf(kind);
		switch (kind) {
		case 'bool': return this.bool(d);
		case 'long': return this.long(d);
		case 'string': return this.string(d);
		case 'entity': return this.entity(d);
		case 'set': return this.set(d);
		case 'record': return this.record(d);
		case 'ip': return this.ip(d);
		case 'decimal': return this.decimal(d);
		case 'datetime': return this.datetime(d);
		case 'duration': return this.duration(d);
		default: return this.leaf(kind);
		}
	}

	// An attribute of kind `kind` read from an entity, a record or context.
	attrOf(kind) {
		const r = this.rng;
		const names = ATTR_NAMES.filter((n) => ATTRS[n] === kind || (kind === 'set' && ATTRS[n].startsWith('set')));
		let name = names.length && r.chance(0.92) ? r.pick(names) : r.pick(ATTR_NAMES.concat(['nope']));
		const base = r.weighted([
			[4, X('context', P.PRIMARY)], [4, X('principal', P.PRIMARY)], [4, X('resource', P.PRIMARY)],
			[1, X('action', P.PRIMARY)], [2, X('context.rec', P.MEMBER)], [1, X('principal.owner', P.MEMBER)],
			[1, X('resource.rec', P.MEMBER)], [1, X(euidText(r.pick(this.ctx.refPool), r), P.PRIMARY)],
		]);
		return this.access(base, name);
	}

	access(base, name) {
		const r = this.rng;
		if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || r.chance(0.1)) return X(`${this.wrap(base, P.MEMBER)}[${cedarString(name, r)}]`, P.MEMBER);
		return X(`${this.wrap(base, P.MEMBER)}.${name}`, P.MEMBER);
	}

	leaf(kind) {
		const r = this.rng;
		switch (kind) {
		case 'bool':
			return r.chance(0.4) ? X(r.chance(0.5) ? 'true' : 'false', P.PRIMARY) : this.attrOf('bool');
		case 'long':
			if (r.chance(0.45)) return this.attrOf('long');
			return this.longLit();
		case 'string':
			return r.chance(0.5) ? X(cedarString(r.pick(STRINGS), r), P.PRIMARY) : this.attrOf('string');
		case 'entity':
			return r.weighted([
				[3, X('principal', P.PRIMARY)], [3, X('resource', P.PRIMARY)], [1, X('action', P.PRIMARY)],
				[3, X(euidText(r.pick(this.ctx.refPool), r), P.PRIMARY)],
				[1, X(euidText(r.pick(this.ctx.actions), r), P.PRIMARY)], [2, this.attrOf('entity')],
			]);
		case 'set':
			return r.chance(0.5) ? this.set(0) : this.attrOf('set');
		case 'record':
			return r.chance(0.4) ? X('context', P.PRIMARY) : r.chance(0.5) ? this.attrOf('record') : this.record(0);
		case 'ip':
			return r.chance(0.5) ? this.attrOf('ip') : X(`ip(${cedarString(r.pick(r.chance(0.8) ? IPS : IPS_ODD), r)})`, P.MEMBER);
		case 'decimal':
			return r.chance(0.5) ? this.attrOf('decimal') : X(`decimal(${cedarString(r.pick(r.chance(0.8) ? DECIMALS : DECIMALS_ODD), r)})`, P.MEMBER);
		case 'datetime':
			return r.chance(0.5) ? this.attrOf('datetime') : X(`datetime(${cedarString(r.pick(r.chance(0.8) ? DATETIMES : DATETIMES_ODD), r)})`, P.MEMBER);
		case 'duration':
			return r.chance(0.5) ? this.attrOf('duration') : X(`duration(${cedarString(r.pick(r.chance(0.8) ? DURATIONS : DURATIONS_ODD), r)})`, P.MEMBER);
		default:
			return X('true', P.PRIMARY);
		}
	}

	longLit() {
		const r = this.rng;
		const v = r.weighted([[8, String(r.int(-3, 12))], [1, r.pick(LONG_EDGES)]]);
		return X(v, v.startsWith('-') ? P.UNARY : P.PRIMARY);
	}

	ifThen(kind, d) {
		return X(`if ${this.gen('bool', d - 1).text} then ${this.gen(kind, d - 1).text} else ${this.gen(kind, d - 1).text}`, P.IF);
	}

	getTag(d) {
		const r = this.rng;
		const key = r.chance(0.8) ? X(cedarString(r.pick(TAG_KEYS), r), P.PRIMARY) : this.gen('string', d - 1);
		return X(`${this.wrap(this.gen('entity', d - 1), P.MEMBER)}.getTag(${key.text})`, P.MEMBER);
	}

	bool(d) {
		const r = this.rng, g = (k) => this.gen(k, d - 1);
		const choices = [
			[3, () => X(`${this.wrap(g('bool'), P.AND)} && ${this.wrap(g('bool'), P.AND)}`, P.AND)],
			[3, () => X(`${this.wrap(g('bool'), P.OR)} || ${this.wrap(g('bool'), P.OR)}`, P.OR)],
			[2, () => X(`!${this.wrap(g('bool'), P.UNARY)}`, P.UNARY)],
			[1, () => this.ifThen('bool', d)],
			[4, () => { // == and != between two of the same kind mostly
				const k = r.pick(this.kinds());
				return X(`${this.wrap(g(k), P.ADD)} ${r.pick(['==', '!='])} ${this.wrap(g(r.chance(0.85) ? k : r.pick(this.kinds())), P.ADD)}`, P.REL);
			}],
			[4, () => {
				const ks = ['long', 'long', 'long'];
				if (this.features.has('ext')) ks.push('decimal');
				if (this.features.has('datetime')) ks.push('datetime', 'duration');
				const k = r.pick(ks);
				return X(`${this.wrap(g(k), P.ADD)} ${r.pick(['<', '<=', '>', '>='])} ${this.wrap(g(k), P.ADD)}`, P.REL);
			}],
			[4, () => { // in over the hierarchy, and over sets of entities
				const rhs = r.chance(0.7) ? g('entity') : X(`[${Array.from({ length: r.int(0, 3) }, () => g('entity').text).join(', ')}]`, P.PRIMARY);
				return X(`${this.wrap(g('entity'), P.ADD)} in ${this.wrap(rhs, P.ADD)}`, P.REL);
			}],
			[3, () => {
				const base = r.weighted([[3, g('entity')], [2, X('context', P.PRIMARY)], [2, g('record')]]);
				const name = r.pick(ATTR_NAMES.concat(['nope', 'type', 'id']));
				const attr = /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && r.chance(0.8) ? name : cedarString(name, r);
				return X(`${this.wrap(base, P.ADD)} has ${attr}`, P.REL);
			}],
			[3, () => X(`${this.wrap(g('string'), P.ADD)} like ${this.pattern()}`, P.REL)],
			[3, () => {
				const t = r.chance(0.9) ? r.pick(TYPES.concat(['Action'])) : r.pick(RARE_TYPES);
				const lhs = this.wrap(g('entity'), P.ADD);
				if (r.chance(0.4)) return X(`${lhs} is ${t} in ${this.wrap(r.chance(0.8) ? g('entity') : X(`[${g('entity').text}]`, P.PRIMARY), P.ADD)}`, P.REL);
				return X(`${lhs} is ${t}`, P.REL);
			}],
			[3, () => X(`${this.wrap(g('set'), P.MEMBER)}.contains(${g(r.pick(['long', 'string', 'entity'])).text})`, P.MEMBER)],
			[2, () => X(`${this.wrap(g('set'), P.MEMBER)}.${r.pick(['containsAll', 'containsAny'])}(${g('set').text})`, P.MEMBER)],
			[1, () => X(`${this.wrap(g('set'), P.MEMBER)}.isEmpty()`, P.MEMBER)],
		];
		if (this.features.has('tags')) {
			choices.push([2, () => {
				const key = r.chance(0.8) ? X(cedarString(r.pick(TAG_KEYS), r), P.PRIMARY) : g('string');
				return X(`${this.wrap(g('entity'), P.MEMBER)}.hasTag(${key.text})`, P.MEMBER);
			}]);
			choices.push([1, () => this.getTag(d)]);
		}
		if (this.features.has('ext')) {
			choices.push([2, () => X(`${this.wrap(g('ip'), P.MEMBER)}.${r.pick(['isIpv4', 'isIpv6', 'isLoopback', 'isMulticast'])}()`, P.MEMBER)]);
			choices.push([2, () => X(`${this.wrap(g('ip'), P.MEMBER)}.isInRange(${g('ip').text})`, P.MEMBER)]);
			choices.push([2, () => X(`${this.wrap(g('decimal'), P.MEMBER)}.${r.pick(['lessThan', 'lessThanOrEqual', 'greaterThan', 'greaterThanOrEqual'])}(${g('decimal').text})`, P.MEMBER)]);
		}
		choices.push([2, () => this.attrOf('bool')]);
		return r.weighted(choices)();
	}

	long(d) {
		const r = this.rng, g = (k) => this.gen(k, d - 1);
		const choices = [
			[3, () => X(`${this.wrap(g('long'), P.ADD)} ${r.pick(['+', '-'])} ${this.wrap(g('long'), P.MUL)}`, P.ADD)],
			[2, () => X(`${this.wrap(g('long'), P.MUL)} * ${this.wrap(r.chance(0.6) ? this.longLit() : g('long'), P.UNARY)}`, P.MUL)],
			[2, () => X(`-${this.wrap(g('long'), P.UNARY)}`, P.UNARY)],
			[1, () => this.ifThen('long', d)],
			[3, () => this.attrOf('long')],
		];
		if (this.features.has('datetime')) {
			choices.push([2, () => X(`${this.wrap(g('duration'), P.MEMBER)}.${r.pick(['toDays', 'toHours', 'toMinutes', 'toSeconds', 'toMilliseconds'])}()`, P.MEMBER)]);
		}
		if (this.features.has('tags')) choices.push([1, () => this.getTag(d)]);
		return r.weighted(choices)();
	}

	string(d) {
		const r = this.rng;
		return r.weighted([[2, () => this.ifThen('string', d)], [3, () => this.attrOf('string')],
			[1, () => (this.features.has('tags') ? this.getTag(d) : this.leaf('string'))]])();
	}

	entity(d) {
		const r = this.rng;
		return r.weighted([[1, () => this.ifThen('entity', d)], [3, () => this.attrOf('entity')],
			[2, () => this.leaf('entity')]])();
	}

	set(d) {
		const r = this.rng;
		const k = r.pick(['long', 'string', 'entity', 'long', 'any']);
		const n = r.int(0, 3);
		const items = Array.from({ length: n }, () => (k === 'any' ? this.gen(r.pick(this.kinds()), d - 1) : this.gen(k, d - 1)).text);
		return X(`[${items.join(', ')}]`, P.PRIMARY);
	}

	record(d) {
		const r = this.rng;
		const keys = r.shuffle(['n', 's', 'b', 'owner', 'sp ace', 'type', 'id']).slice(0, r.int(0, 3));
		const fields = keys.map((k) => {
			const key = /^[A-Za-z_]\w*$/.test(k) && r.chance(0.6) ? k : cedarString(k, r);
			const kind = k === 'n' ? 'long' : k === 'b' ? 'bool' : k === 'owner' ? 'entity' : 'string';
			return `${key}: ${this.gen(kind, d - 1).text}`;
		});
		if (d > 0 && r.chance(0.3)) return this.access(X(`{${fields.join(', ')}}`, P.PRIMARY), r.pick(keys.concat(['nope'])));
		return X(`{${fields.join(', ')}}`, P.PRIMARY);
	}

	ip(d) {
		const r = this.rng;
		if (r.chance(0.3)) return X(`ip(${this.gen('string', d - 1).text})`, P.MEMBER);
		return this.leaf('ip');
	}

	decimal(d) {
		const r = this.rng;
		if (r.chance(0.3)) return X(`decimal(${this.gen('string', d - 1).text})`, P.MEMBER);
		return this.leaf('decimal');
	}

	datetime(d) {
		const r = this.rng, g = (k) => this.gen(k, d - 1);
		return r.weighted([
			[2, () => this.leaf('datetime')],
			[2, () => X(`${this.wrap(g('datetime'), P.MEMBER)}.offset(${g('duration').text})`, P.MEMBER)],
			[1, () => X(`${this.wrap(g('datetime'), P.MEMBER)}.toDate()`, P.MEMBER)],
		])();
	}

	duration(d) {
		const r = this.rng, g = (k) => this.gen(k, d - 1);
		return r.weighted([
			[2, () => this.leaf('duration')],
			[1, () => X(`${this.wrap(g('datetime'), P.MEMBER)}.toTime()`, P.MEMBER)],
			[2, () => X(`${this.wrap(g('datetime'), P.MEMBER)}.durationSince(${g('datetime').text})`, P.MEMBER)],
		])();
	}

	// A like pattern, often built from one of the strings so that it matches.
	pattern() {
		const r = this.rng;
		const src = r.pick(STRINGS);
		const elems = [];
		let lit = '';
		for (const ch of src) {
			if (r.chance(0.25)) {
				if (lit) elems.push({ lit });
				lit = '';
				elems.push('*');
				if (r.chance(0.5)) continue; // the wildcard replaces the character
			}
			lit += ch;
		}
		if (lit) elems.push({ lit });
		if (r.chance(0.2)) elems.push('*');
		if (r.chance(0.1)) elems.unshift('*', '*');
		return patternText(elems, r);
	}
}

// ---- scopes and policies ----------------------------------------------------

function scopeFor(rng, ctx, v) {
	const ent = () => rng.pick(rng.chance(0.9) ? ctx.uids : ctx.refPool);
	const type = () => (rng.chance(0.95) ? rng.pick(TYPES) : rng.pick(RARE_TYPES));
	if (v === 'action') {
		const act = () => rng.pick(ctx.actions);
		return rng.weighted([
			[3, { op: 'any' }], [4, { op: '==', e: act() }], [3, { op: 'in', e: act() }],
			[3, { op: 'in[]', set: Array.from({ length: rng.weighted([[1, 0], [4, 1], [4, 2], [2, 3]]) }, act) }],
		]);
	}
	return rng.weighted([
		[4, { op: 'any' }], [3, { op: '==', e: ent() }], [3, { op: 'in', e: ent() }],
		[2, { op: 'is', t: type() }], [2, { op: 'is in', t: type(), e: ent() }],
	]);
}

export function scopeText(v, s, rng = null) {
	switch (s.op) {
	case 'any': return v;
	case '==': return `${v} == ${euidText(s.e, rng)}`;
	case 'in': return `${v} in ${euidText(s.e, rng)}`;
	case 'in[]': return `${v} in [${s.set.map((e) => euidText(e, rng)).join(', ')}]`;
	case 'is': return `${v} is ${s.t}`;
	case 'is in': return `${v} is ${s.t} in ${euidText(s.e, rng)}`;
	default: throw new Error('bad scope ' + s.op);
	}
}

// Renders a policy object to Cedar text (deterministically: escapes were
// chosen when the conditions were generated; scopes use plain escapes).
export function policyText(p) {
	if (p.raw !== undefined) return p.raw;
	const annots = p.annotations.map(([k, v]) => (v === null ? `@${k}\n` : `@${k}(${cedarString(v)})\n`)).join('');
	const scope = [scopeText('principal', p.principal), scopeText('action', p.action), scopeText('resource', p.resource)];
	const sep = p.comment ? ` // ${p.comment}\n  ` : ' ';
	const conds = p.conds.map((c) => `\n  ${c.when ? 'when' : 'unless'} { ${c.expr} }`).join('');
	return `${annots}${p.effect}(${scope.join(',' + sep)})${conds};`;
}

export function policySetText(policies) {
	return policies.map(policyText).join('\n\n') + '\n';
}

// The id each engine gives policy i: the reference numbers policies by
// position and ignores @id; Tollgate uses @id when present.
export function tollgateIds(policies) {
	return policies.map((p, i) => {
		const a = p.annotations.find(([k]) => k === 'id');
		return a ? a[1] : `policy${i}`;
	});
}

function genPolicy(rng, ctx, features, idx, usedIds) {
	const eg = new ExprGen(rng, ctx, features);
	const annotations = [];
	if (rng.chance(0.25)) {
		let id;
		do id = `p-${idx}-${rng.int(0, 999)}`; while (usedIds.has(id));
		usedIds.add(id);
		annotations.push(['id', id]);
	}
	// Obligation annotations: Cedar ignores them, Tollgate validates them
	// (without facts they do not change the decision).
	if (rng.chance(0.1)) annotations.push(['max_ttl', String(rng.pick([60, 300, 3600]))]);
	if (rng.chance(0.05)) annotations.push(['audit', 'full']);
	if (rng.chance(0.05)) annotations.push(['note', rng.pick(['a "quoted" note', 'ü', ''])]);
	if (rng.chance(0.03)) annotations.push(['bare', null]);
	const conds = [];
	const nconds = rng.weighted([[2, 0], [5, 1], [2, 2], [1, 3]]);
	for (let i = 0; i < nconds; i++) conds.push({ when: rng.chance(0.75), expr: eg.gen('bool', rng.int(1, 4)).text });
	return {
		effect: rng.chance(0.7) ? 'permit' : 'forbid',
		annotations,
		principal: scopeFor(rng, ctx, 'principal'),
		action: scopeFor(rng, ctx, 'action'),
		resource: scopeFor(rng, ctx, 'resource'),
		conds,
		comment: rng.chance(0.05) ? 'a comment' : null,
	};
}

// ---- requests ---------------------------------------------------------------

function genContext(rng, ctx, features) {
	const c = genAttrs(rng, ctx, 0.7);
	if (rng.chance(0.1)) c.extra = genValue(rng, ctx, 'any');
	if (!features.has('datetime')) {
		delete c.dt;
		delete c.dur;
	}
	return c;
}

// Ancestors of every entity in the graph (a DAG), for requests that should
// fall inside a policy's `in` scope.
function ancestorMap(entities) {
	const key = (u) => `${u.type}::${JSON.stringify(u.id)}`;
	const parents = new Map(entities.map((e) => [key(e.uid), e.parents.map(key)]));
	const memo = new Map();
	const anc = (k) => {
		if (memo.has(k)) return memo.get(k);
		const out = new Set();
		memo.set(k, out);
		for (const p of parents.get(k) || []) {
			out.add(p);
			for (const q of anc(p)) out.add(q);
		}
		return out;
	};
	return { key, anc };
}

// An entity that a scope admits (often), or any entity.
function admitted(rng, scope, pool, am) {
	const fits = pool.filter((u) => {
		switch (scope.op) {
		case '==': return am.key(u) === am.key(scope.e);
		case 'in': return am.key(u) === am.key(scope.e) || am.anc(am.key(u)).has(am.key(scope.e));
		case 'is': return u.type === scope.t;
		case 'is in': return u.type === scope.t && (am.key(u) === am.key(scope.e) || am.anc(am.key(u)).has(am.key(scope.e)));
		case 'in[]': return scope.set.some((e) => am.key(u) === am.key(e) || am.anc(am.key(u)).has(am.key(e)));
		default: return true;
		}
	});
	return fits.length ? rng.pick(fits) : rng.pick(pool);
}

function genRequest(rng, ctx, features, policies, am) {
	const who = () => rng.pick(rng.chance(0.9) ? ctx.uids : ctx.refPool);
	const req = {
		principal: who(),
		action: rng.chance(0.97) ? rng.pick(ctx.actions) : { type: 'Action', id: 'unknown' },
		resource: who(),
		context: genContext(rng, ctx, features),
	};
	// Most requests aim at one policy's scope, so that conditions run.
	if (policies.length && rng.chance(0.75)) {
		const p = rng.pick(policies);
		req.principal = admitted(rng, p.principal, ctx.uids.concat(ctx.absent), am);
		req.action = admitted(rng, p.action, ctx.actions, am);
		req.resource = admitted(rng, p.resource, ctx.uids.concat(ctx.absent), am);
	}
	return req;
}

// ---- probes: edge cases of the language and of the JSON formats -------------

// Conditions at the edges of the grammar and of the semantics, injected into
// a policy as an extra `when`. Some do not parse (then the whole set must be
// refused by both engines), some error, some are plain true or false.
export const EXPR_PROBES = [
	'principal has owner.n', 'context has rec.n', 'context has rec.rec.n', '!!!!!true', '!!!!true', '- - 5 == 5', '-(-5) == 5',
	'-(-9223372036854775808) == 0', '--9223372036854775808 == 0', '9223372036854775808 == 0',
	'-9223372036854775809 == 0', '-9223372036854775808 == -9223372036854775807 - 1', '1 < 2 < 3',
	'1 == 1 == true', 'if true then 1', 'context.if == 1', 'context.true', '{if: 1}.if == 1', '{"a": 1, "a": 2}.a == 1',
	'{a: 1, a: 2}.a == 1', '[1, 2,].contains(1)', '{a: 1,}.a == 1', '"\\q" == ""', '"\\u{110000}" == ""',
	'"\\u{D800}" == ""', '"\\x80" == ""', '"\\x7f" == "\\u{7f}"', '"\\u{}" == ""', '"\\u{0000041}" == "A"', '"\\u{41}" == "A"',
	'"a" like "\\q"', '"a\\\\" like "a\\\\*"', '"*" like "\\*"', '"a*b" like "a\\**"', '"ab" like "a\\*b"',
	'ip("1.2.3.4", "x").isIpv4()', 'ip().isIpv4()', 'decimal(1).lessThan(decimal("1.0"))', 'context.foo()',
	'context.n.isEmpty', '[].isEmpty()', '[].contains()', '[].containsAll([], [])', 'isEmpty([])', 'contains([1], 1)',
	'__cedar::ip("1.2.3.4").isIpv4()', 'ipaddr("1.2.3.4").isIpv4()', 'principal is Workload is Workload',
	'principal is Workload in [Role::"a"]', 'principal in [Role::"a", 1]', 'principal == ?principal', 'Workload::"a" .n == 1',
	'Workload :: "a" == Workload::"a"', 'Action::"read" in Action::"all"', 'true && (false || )', '(((((((((((true)))))))))))',
	'context["sp ace"] == ""', 'context . s == ""', 'resource.n * resource.m == 0', '2 * 3 * context.n == 0',
	'context.n * 2 == 0', '(context.n + 1) * (context.m - 1) == 0', 'if context.b then 1 else "a" == 1',
	'datetime("2024-10-15").toDate() == datetime("2024-10-15")', 'duration("1h") < duration("2h")',
	'datetime("2024-10-15") < datetime("2024-10-16")', 'decimal("1.0") < decimal("2.0")', 'decimal("1.0") <= decimal("1.00")',
	'ip("10.0.0.1") < ip("10.0.0.2")', '"a" < "b"', '1 < true', 'Workload::"a" < Workload::"b"', '[1] < [2]',
	'datetime("2024-10-15") < duration("1h")', 'duration("1h") > 5', 'decimal("1.0") > 1',
	'9223372036854775807 + 1 == 0', '-9223372036854775808 - 1 == 0', '-(-9223372036854775807 - 1) == 0',
	'9223372036854775807 * 2 == 0', '-9223372036854775808 * -1 == 0', '4611686018427387904 * 2 == 0', '3037000500 * 3037000500 > 0',
	'-(context.n - 9223372036854775807 - 1) == 0', 'duration("1ms") + duration("1ms") == duration("2ms")',
	'datetime("9999-12-31").offset(duration("100000000d")) == datetime("1970-01-01")',
	'datetime("1970-01-01").offset(duration("-106751991167d")) == datetime("1970-01-01")',
	'duration("-9223372036854775808ms").toDays() < 0', 'duration("9223372036854775807ms").toDays() > 0',
	'datetime("1969-12-31T23:59:59.999Z").toDate() == datetime("1969-12-31")',
	'datetime("1969-12-31T23:59:59.999Z").toTime() == duration("86399999ms")',
	'datetime("2024-10-15T11:35:00Z").durationSince(datetime("2024-10-15")) == duration("11h35m")',
	'datetime("2024-10-15T11:35:00+0100") == datetime("2024-10-15T10:35:00Z")',
	'datetime("2024-10-15T11:35:00.1Z") == datetime("2024-10-15T11:35:00Z")', 'datetime("+2024-10-15") == datetime("2024-10-15")',
	'duration("1d") == duration("24h")', 'duration("-0ms") == duration("0ms")', 'duration("1d1d") == duration("2d")',
	'duration("1ms1s") == duration("1001ms")', 'duration("1h").toHours() == 1', 'duration("-90m").toHours() == -1',
	'ip("::1").isLoopback() && ip("::ffff:127.0.0.1").isLoopback()', 'ip("127.0.0.1/8").isLoopback()',
	'ip("10.0.0.0/8").isInRange(ip("10.0.0.0/8"))', 'ip("0.0.0.0/0").isInRange(ip("::/0"))', 'ip("::ffff:10.0.0.1").isIpv4()',
	'ip("224.0.0.0/4").isMulticast()', 'ip("224.0.0.0/3").isMulticast()', 'ip("10.0.0.1") == ip("10.0.0.1/32")',
	'ip("10.0.0.1/24") == ip("10.0.0.0/24")', 'ip("10.0.0.1/24").isInRange(ip("10.0.0.0/24"))',
	'ip("10.0.0.0/24").isInRange(ip("10.0.0.1/32"))', 'ip("::/0").isInRange(ip("::/1"))', 'ip("1:2::3:4") == ip("1:2:0:0:0:0:3:4")',
	'ip("1.2.3.4/0") == ip("0.0.0.0/0")', 'ip("127.0.0.1").isIpv6()', 'ip("::").isLoopback()', 'ip("ff00::/8").isMulticast()',
	'decimal("1.0") == decimal("1.00")', 'decimal("-0.0") == decimal("0.0")', 'decimal("0.0001").greaterThan(decimal("0.0"))',
	'decimal("-922337203685477.5808").lessThan(decimal("0.0"))', 'decimal("922337203685477.5807").greaterThanOrEqual(decimal("922337203685477.5807"))',
	'datetime("2024-10-15T00:00:00Z") == datetime("2024-10-15")', 'duration("60m") == duration("1h")',
	'{a: 1} == {a: 1, b: 2}', '[1, 1] == [1]', '[1, [2]] == [[2], 1]', '{a: [1, 2]} == {a: [2, 1]}', '[] == {}',
	'Workload::"a" == {type: "Workload", id: "a"}', 'context == {}', 'context has "sp ace"', 'principal has ""', '"" like ""',
	'"" like "*"', '"abc" like "a**c"', '"a\\nb" like "a*b"', '"ü" like "*ü*"', '"ü" like "?"', 'context.set.containsAll(context.set)',
	'[context.n, 1].contains(1)', '[1, "a", true, Workload::"a"].contains(Workload::"a")', '[ip("10.0.0.1")].contains(ip("10.0.0.1/32"))',
	'[decimal("1.0")].contains(decimal("1.00"))', '[1, 2].containsAny([])', '[].containsAll([])', '[1].containsAll(1)',
	'principal.getTag("k1") == principal.getTag("k1")', 'context.getTag("k1") == 1', 'Action::"read".getTag("k1") == 1',
	'principal.hasTag(1)', 'principal.hasTag("")', 'principal in principal', 'principal in [principal]', 'principal in []',
	'principal in [Workload::"ghost0"]', 'Workload::"ghost0" in Workload::"ghost0"', 'Workload::"ghost0".n == 1',
	'Workload::"ghost0" has n', 'Workload::"ghost0".hasTag("k1")', 'action in Action::"all"', 'action in [Action::"rw", 1]',
	'context in context', '1 in [1]', 'principal.owner in resource', 'principal.ents.contains(resource)',
	'if context.n then true else false', 'if context has n then context.n > 0 else false', 'context.rec.owner.n == 1',
	'true || 1', 'false && 1', 'false || 1', 'true && 1', '!1', '-true == 0', 'context.s like "*"', '1 like "*"',
	'"a" + "b" == "ab"', '[1] + [2] == [1, 2]', 'resource is Device && resource.n > 0', 'principal.s == principal["s"]',
	'principal["sp ace"] like "*"', '{"sp ace": 1}["sp ace"] == 1', 'Tg::Device::"a" is Tg::Device', 'Tg::Device::"a" is Device',
	'Workload::"\\u{0}" == Workload::"\\0"', 'Workload::"a" in Role::"a"', 'action == Action::"read"',
	'context.ip.isInRange(context.ip)', 'context.dt.offset(context.dur) > context.dt',
	'context.dec.lessThan(context.dec) || context.dec == context.dec',
	'context has is', 'context has if', 'context.like == 1', 'principal.in == 1', '{then: 1} == {}', 'context has __cedar',
	'context.permit == 1', 'context has when', '{principal: 1}.principal == 1', 'context.context == 1',
];

// Whole policies at the edges of the grammar.
export const POLICY_PROBES = [
	'permit(principal, action, resource) when { true } unless { false };',
	'permit(principal in [Role::"a"], action, resource);',
	'permit(principal, action in Action::"all", resource in [Zone::"a"]);',
	'permit(principal is Action, action, resource);',
	'permit(principal, action is Action, resource);',
	'permit(principal, action == Workload::"a", resource);',
	'permit(principal, action in [Action::"read", Workload::"a"], resource);',
	'permit(principal, action in Workload::"a", resource);',
	'permit(principal == Action::"read", action, resource);',
	'forbid(principal, action, resource) when {};',
	'permit(principal, action, resource) when { true }',
	'permit(principal, action);',
	'permit(principal, action, resource, context);',
	'permit(resource, action, principal);',
	'@id("x") @id("y") permit(principal, action, resource);',
	'@ann permit(principal, action, resource);',
	'@ann() permit(principal, action, resource);',
	'@1a("x") permit(principal, action, resource);',
	'@if("x") permit(principal, action, resource);',
	'@a::b("x") permit(principal, action, resource);',
	'@a("x") @a("x") permit(principal, action, resource);',
	'permit(principal == ?principal, action, resource);',
	'permit(principal is Ns::Workload, action, resource);',
	'permit(principal is Workload in Role::"a", action == Action::"read", resource is Device in Zone::"a");',
	'permit ( principal , action , resource ) ;',
	'permit(principal,action,resource)when{true};',
	'/* block */ permit(principal, action, resource);',
	'permit(principal, action, resource); // trailing comment',
	'Permit(principal, action, resource);',
	'permit(Principal, action, resource);',
	'permit(principal, action, resource) when { true } when { true };',
	'permit(principal == Workload::"a\\u{0}", action, resource);',
	'permit(principal, action in [], resource);',
	'permit(principal, action in [Action::"read",], resource);',
	'permit(principal == Workload::"a", action == Action::"read", resource == Device::"a", );',
	'permit(principal is Workload, action, resource is Device) when { principal.n == resource.n };',
	'permit(principal, action, resource) when { context.s == "\\u{1F600}" };',
	'permit(principal, action, resource) when { "\\u{1F600}" like "*" };',
	'permit(principal in Workload::"a", action in Action::"read", resource in Device::"a");',
	'permit(principal, action, resource) unless { false } when { true } unless { false };',
	'permit(principal == Workload::"", action == Action::"", resource == Device::"");',
	'permit(principal == Workload::"a", action == Action::"read", resource) when { if true then true else false };',
	'permit(principal, action == Action::"read", resource) when { principal == principal };',
	'permit(principal, action, resource is if);',
	'permit(principal, action, resource is Device in Zone::"a") when { resource is Device in Zone::"a" };',
	'permit(principal, action, resource) when { true };;',
];

// Entity-file mutations: each returns a changed copy (the reference refuses
// some of them whole, which Tollgate must do too). Inputs where Tollgate is
// deliberately stricter than the reference (unknown keys in an entity or an
// escape, an escape with extra keys or a malformed body read as a record by
// the reference) or accepts more (parents in the text forms Type::"id" and
// Type:id) are not probed here: docs/policy.md lists them and
// tests/unit/test_policy_json.c pins Tollgate's behaviour.
export const ENTITY_PROBES = [
	(es) => es.concat([JSON.parse(JSON.stringify(es[0]))]), // a duplicate uid
	(es) => es.map((e, i) => (i === 0 ? { ...e, parents: e.parents.map((p) => ({ __entity: p })) } : e)),
	(es) => es.map((e, i) => (i === 0 ? { ...e, attrs: { ...e.attrs, ip: { __extn: { fn: 'ip', arg: 'bad' } } } } : e)),
	(es) => es.map((e, i) => (i === 0 ? { ...e, attrs: { ...e.attrs, x: { __extn: { fn: 'nope', arg: 'x' } } } } : e)),
	(es) => es.map((e, i) => (i === 0 ? { ...e, attrs: { ...e.attrs, dt: { __extn: { fn: 'offset', args: [{ __extn: { fn: 'datetime', arg: '2024-10-15' } }, { __extn: { fn: 'duration', arg: '1h' } }] } } } } : e)),
	(es) => es.map((e, i) => (i === 0 ? { ...e, attrs: { ...e.attrs, x: { __expr: '1' } } } : e)),
	(es) => es.map((e, i) => (i === 0 ? { ...e, attrs: { ...e.attrs, x: null } } : e)),
	(es) => es.map((e, i) => (i === 0 ? { ...e, attrs: { ...e.attrs, x: 1.5 } } : e)),
	(es) => es.map((e, i) => (i === 0 ? { ...e, attrs: { ...e.attrs, '': 1 } } : e)),
	(es) => es.map((e, i) => (i === 0 ? { ...e, uid: { type: e.uid.type, id: 1 } } : e)),
	(es) => es.map((e, i) => (i === 0 ? { ...e, uid: { type: 'Bad Type', id: 'a' } } : e)),
	(es) => es.map((e, i) => (i === 0 ? { ...e, uid: { __entity: e.uid } } : e)),
	(es) => es.map((e, i) => { if (i !== 0) return e; const { parents, ...rest } = e; return rest; }),
	(es) => es.map((e, i) => { if (i !== 0) return e; const { attrs, ...rest } = e; return rest; }),
	(es) => es.map((e, i) => (i === 0 ? { ...e, tags: { k1: { __entity: { type: 'Workload', id: 'a' } }, k2: [1, 2] } } : e)),
	(es) => es.map((e, i) => (i === 0 ? { ...e, tags: [] } : e)),
	(es) => es.map((e, i) => (i === 0 ? { ...e, attrs: { ...e.attrs, deep: JSON.parse('['.repeat(40) + ']'.repeat(40)) } } : e)),
	(es) => es.map((e, i) => (i === 0 ? { ...e, attrs: { ...e.attrs, big: 9007199254740991, neg: -9007199254740991 } } : e)),
	(es) => es.map((e, i) => (i === 0 ? { ...e, attrs: { ...e.attrs, rec: { type: 'Workload', id: 'a' } } } : e)),
	(es) => es.map((e, i) => (i === 0 ? { ...e, parents: [{ type: 'Action', id: 'read' }] } : e)),
	(es) => es.map((e, i) => (i === 0 ? { ...e, attrs: { ...e.attrs, x: { __extn: { fn: 'decimal', arg: 1 } } } } : e)),
	// Cycles: the reference refuses them, and so does Tollgate.
	(es) => es.map((e, i) => (i === 0 ? { ...e, parents: e.parents.concat([e.uid]) } : e)),
	(es) => {
		const a = es.findIndex((e) => e.parents.some((p) => es.some((q) => q.uid.type === p.type && q.uid.id === p.id)));
		if (a < 0) return es;
		const p = es[a].parents.find((q) => es.some((r) => r.uid.type === q.type && r.uid.id === q.id));
		return es.map((e) => (e.uid.type === p.type && e.uid.id === p.id ? { ...e, parents: e.parents.concat([es[a].uid]) } : e));
	},
];

// Context mutations: the reference refuses some requests, Tollgate must too.
export const CONTEXT_PROBES = [
	(c) => ({ ...c, ip: { __extn: { fn: 'ip', arg: 'bad' } } }),
	(c) => ({ ...c, x: null }),
	(c) => ({ ...c, x: 1.5 }),
	(c) => ({ ...c, x: { __expr: 'true' } }),
	(c) => ({ __entity: { type: 'Workload', id: 'a' } }),
	(c) => ({ ...c, dec: { __extn: { fn: 'decimal', arg: '1.23456' } } }),
	(c) => ({ ...c, dur: { __extn: { fn: 'duration', arg: '1h1h' } } }),
	(c) => ({ ...c, dt: { __extn: { fn: 'datetime', arg: '2024-02-30' } } }),
	(c) => ({ ...c, '': 1, 'sp ace': 'x' }),
	(c) => ({ ...c, deep: JSON.parse('{"a":'.repeat(30) + '1' + '}'.repeat(30)) }),
	(c) => ({ ...c, n: 9007199254740991 }),
];

// ---- a case -----------------------------------------------------------------

// One case: {seed, policies, entities, requests}. opts: {policies: [lo, hi],
// requests: n, features: Set}.
export function generateCase(seed, opts = {}) {
	const rng = makeRng(seed);
	const features = opts.features || new Set(KNOWN_FEATURES);
	const [lo, hi] = opts.policies || [1, 8];
	const { entities, ctx } = genEntities(rng, features);
	const used = new Set();
	const policies = Array.from({ length: rng.int(lo, hi) }, (_, i) => genPolicy(rng, ctx, features, i, used));
	const am = ancestorMap(entities);
	const requests = Array.from({ length: opts.requests || 16 }, () => genRequest(rng, ctx, features, policies, am));
	let ents = entities;
	if (features.has('probes')) {
		if (policies.length && rng.chance(0.35)) rng.pick(policies).conds.push({ when: true, expr: rng.pick(EXPR_PROBES) });
		// A whole-policy probe goes last, so that the other policies keep their positions.
		if (rng.chance(0.05)) policies.push({ raw: rng.pick(POLICY_PROBES), annotations: [], conds: [] });
		if (rng.chance(0.04)) ents = rng.pick(ENTITY_PROBES)(ents);
		if (rng.chance(0.1)) {
			const r = rng.pick(requests);
			r.context = rng.pick(CONTEXT_PROBES)(r.context);
		}
	}
	return { seed, policies, entities: ents, requests };
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
	const seed = Number(process.argv[2] || 1);
	const c = generateCase(seed);
	process.stdout.write(policySetText(c.policies));
	process.stdout.write(JSON.stringify({ entities: c.entities, requests: c.requests }, null, 1) + '\n');
}
