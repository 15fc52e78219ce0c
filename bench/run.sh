#!/usr/bin/env bash
# run.sh BUILD_DIR - builds the benchmarks if needed, runs them and rewrites
# docs/benchmarks.md from what they printed (`make bench` runs this). Starts
# throwaway dev brokers on 127.0.0.1 with data in mktemp directories; every
# broker is stopped and every temporary file removed on exit, even on
# failure. docs/benchmarks.md is replaced only when every benchmark ran.
# SECTIONS (default "all"): a comma-separated subset of verify, issuance,
# audit, policy, connflood, authflood, grants, login, edge, secrets, ...; only those are run,
# and only their "## " sections of the existing docs/benchmarks.md are
# replaced (a section it lacks is appended), each then saying when and on
# what it was measured; every other line of the file stays as it is.
# Knobs (environment): DURATION (s, default 10), WARMUP (s, 2),
# CLIENTS (default "16,64"), VERIFY_N (iterations per round, 10000),
# POLICY_SIZES (default "10,1000,100000"), POLICY_SECONDS (s per size and
# phase for Tollgate's engine, 3), REF_SECONDS (s per size for cedar-wasm,
# 10). The policy section needs node and tests/e2e/node_modules
# (scripts/deps.sh --test). The failed-authentication flood
# (bench/auth_flood_bench.py, python3 with cryptography) sends FLOOD
# (default 10000) bad assertions from 127.0.0.2, for at most 30 s. The
# connection flood (bench/conn_flood_bench.py, Debian's python3 with
# python3-requests, -jwt and -cryptography: scripts/deps.sh --test) opens
# 4,300 idle connections from 127.0.0.1, twice, for at most 120 s in all.
# JIT grants and operator logins (bench/grant_bench.py, the same python3,
# and oathtool): GRANTS (default 200) round trips at GRANT_WORKFLOWS
# (default "1,8") concurrent workflows; LOGINS (default 100) logins at each
# of LOGIN_CLIENTS (default "1,2,4") concurrent clients at the default
# Argon2id cost, against bench/pwhash_bench, the bare hash, as the peer.
# The edge (bench/edge_bench.py, the same python3, nginx and wrk): wrk
# through nginx auth_request (a static 204, a proxied 204, the edge with one
# token and with 1,000) and straight at the edge, EDGE_ROUNDS (default 3)
# alternating rounds of WARMUP + DURATION s each; then revocation
# propagation to EDGE_EDGES (default 10) edges, EDGE_REVOCATIONS (default
# 100) revocations, without and with EDGE_FEED_CLIENTS (default 1000) feed
# long polls held by the broker (about 6 minutes in all); and, when the tree
# has it, bench/edge_cache_bench (cached token checks per core).
# Issuance (bench/issue_bench): ISSUE_ROUNDS (default 3) alternating rounds
# of Tollgate (full+audit, a fresh broker each round) and its peer, node
# oidc-provider (bench/oidc_peer.mjs; bench/package.json and its lockfile,
# installed here with npm ci when missing), each at every CLIENTS count;
# then one round each of Tollgate with audit=off and sqlite_synchronous=normal.
# The Modbus/TCP proxy (SECTIONS=modbus; bench/modbus_bench.py, the same
# python3, nginx with libnginx-mod-stream, and bench/modbus_server and
# bench/modbus_load built here): FC3 read(0, 10) round trips at 1 and 50
# clients straight to the device, through nginx `stream` and through the
# edge, MODBUS_ROUNDS (default 3) alternating rounds of WARMUP + DURATION s.
# The posture report (SECTIONS=posture; bench/posture_bench.py, the same
# python3): GET /v1/reports/posture, JSON and HTML, for fleets of
# POSTURE_SIZES (default "1000,10000") identities, POSTURE_ROUNDS (default
# 3) runs each.
set -euo pipefail

BUILD=${1:?usage: bench/run.sh BUILD_DIR}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CLIENTS=${CLIENTS:-16,64}
VERIFY_N=${VERIFY_N:-10000}
POLICY_SIZES=${POLICY_SIZES:-10,1000,100000}
POLICY_SECONDS=${POLICY_SECONDS:-3}
REF_SECONDS=${REF_SECONDS:-10}
FLOOD=${FLOOD:-10000}
GRANTS=${GRANTS:-200}
GRANT_WORKFLOWS=${GRANT_WORKFLOWS:-1,8}
LOGINS=${LOGINS:-100}
LOGIN_CLIENTS=${LOGIN_CLIENTS:-1,2,4}
EDGE_ROUNDS=${EDGE_ROUNDS:-3}
EDGE_EDGES=${EDGE_EDGES:-10}
EDGE_REVOCATIONS=${EDGE_REVOCATIONS:-100}
EDGE_FEED_CLIENTS=${EDGE_FEED_CLIENTS:-1000}
MODBUS_ROUNDS=${MODBUS_ROUNDS:-3}
POSTURE_SIZES=${POSTURE_SIZES:-1000,10000}
POSTURE_ROUNDS=${POSTURE_ROUNDS:-3}
ISSUE_ROUNDS=${ISSUE_ROUNDS:-3}
# The behaviour monitor (SECTIONS=monitor; bench/monitor_bench, built
# here): records/s one monitor thread parses and judges, MONITOR_RECORDS
# (default 1,000,000) records of 1,000 identities, 3 rounds.
# Secret rotation (SECTIONS=rotation; bench/rotation_bench.py, the same python3, and
# the postgresql package): ROTATION_N (default 20) rotations of PostgreSQL role
# passwords one at a time and all at once, against the driver's work alone.
ROTATION_N=${ROTATION_N:-20}
# Secret reads (SECTIONS=secrets; bench/secrets_bench.py, the same python3,
# and wrk): GET /v1/secrets/{name} against the broker's POST /v1/authorize
# as the baseline, SECRETS_ROUNDS (default 3) alternating rounds of WARMUP +
# DURATION s at each of SECRETS_CONNS (default "16,64") connections.
SECRETS_ROUNDS=${SECRETS_ROUNDS:-3}
SECRETS_CONNS=${SECRETS_CONNS:-16,64}
# Dynamic database credentials (SECTIONS=leases; bench/leases_bench.py, the
# same python3, and the postgresql package): LEASES_N (default 200) leases
# created by 1 and by 8 clients and revoked through the API, and
# LEASES_REVOKE_N (default 10,000) revoked at once, against PostgreSQL's own
# DROP ROLE of as many roles.
LEASES_N=${LEASES_N:-200}
LEASES_REVOKE_N=${LEASES_REVOKE_N:-10000}
SECTIONS=${SECTIONS:-all}
ALL_SECTIONS="verify issuance audit policy connflood authflood grants login edge modbus posture monitor rotation secrets leases"
BAR_TOKENS=6000

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
WORK=$(mktemp -d)
BROKER_PID=""
CHILD_PID=""

stop_broker() {
	[ -n "$BROKER_PID" ] || return 0
	kill -TERM "$BROKER_PID" 2>/dev/null || true
	for _ in $(seq 50); do
		kill -0 "$BROKER_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$BROKER_PID" 2>/dev/null || true
	wait "$BROKER_PID" 2>/dev/null || true
	BROKER_PID=""
}

# run CMD...: runs a benchmark in the background and waits, so that a
# signal reaches the trap at once rather than after the benchmark ends.
run() {
	"$@" &
	CHILD_PID=$!
	wait "$CHILD_PID"
	CHILD_PID=""
}

cleanup() {
	if [ -n "$CHILD_PID" ]; then
		kill -TERM "$CHILD_PID" 2>/dev/null || true
		wait "$CHILD_PID" 2>/dev/null || true
	fi
	stop_broker
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf 'bench: %s\n' "$*" >&2; }

# want SECTION: whether this run measures it.
want() {
	[ "$SECTIONS" = all ] || [[ ",$SECTIONS," == *",$1,"* ]]
}

check_sections() {
	local s
	[ "$SECTIONS" = all ] && return 0
	for s in ${SECTIONS//,/ }; do
		if [[ " $ALL_SECTIONS " != *" $s "* ]]; then
			say "unknown section '$s' in SECTIONS (known: ${ALL_SECTIONS// /, }; or all)"
			exit 2
		fi
	done
}

# edge_cache_present: whether the tree has bench/edge_cache_bench.
edge_cache_present() {
	[ -f bench/edge_cache_bench.c ] && grep -q '^add_executable(edge_cache_bench' bench/CMakeLists.txt
}

build() {
	local extra=()
	if [ ! -f "$BUILD/CMakeCache.txt" ]; then
		cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	fi
	if want edge && edge_cache_present; then
		extra+=(edge_cache_bench)
	fi
	cmake --build "$BUILD" -j "$(nproc)" --target tollgate verify_bench issue_bench audit_bench policy_bench \
		pwhash_bench "${extra[@]}" >/dev/null
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_broker DATA_DIR [serve flags...]: sets BROKER_PID and BASE.
start_broker() {
	local data=$1 port
	shift
	port=$(free_port)
	BASE="http://127.0.0.1:$port"
	"$BUILD/tollgate" serve --dev --data "$data" --listen "127.0.0.1:$port" "$@" \
		2>"$data/broker.log" &
	BROKER_PID=$!
	for _ in $(seq 100); do
		if curl -sf --max-time 1 "$BASE/healthz" >/dev/null 2>&1 && [ -s "$data/admin.token" ]; then
			return 0
		fi
		kill -0 "$BROKER_PID" 2>/dev/null || break
		sleep 0.1
	done
	say "broker did not come up; its log:"
	cat "$data/broker.log" >&2
	return 1
}

# issuance LABEL [serve flags...]: one broker, every client count, results appended.
issuance() {
	local label=$1 data
	shift
	data=$(mktemp -d "$WORK/data.XXXXXX")
	start_broker "$data" "$@"
	say "issuance, $label, clients $CLIENTS, ${WARMUP}+${DURATION} s each"
	run timeout 120 "$BUILD/bench/issue_bench" -u "$BASE" -t "$data/admin.token" -l "$label" \
		-c "$CLIENTS" -d "$DURATION" -w "$WARMUP" -p "$BROKER_PID" -o "$WORK/issue.txt"
	stop_broker
	FS_TYPE=$(df -PT "$data" | awk 'NR == 2 { print $2 " on " $1 }')
}

# issuance_peer: node oidc-provider with the clients of $WORK/clients.json,
# the same load; its process is BROKER_PID while it runs.
issuance_peer() {
	local port
	port=$(free_port)
	node bench/oidc_peer.mjs "$WORK/clients.json" "$port" >"$WORK/peer.log" 2>&1 &
	BROKER_PID=$!
	for _ in $(seq 300); do # node takes seconds to load oidc-provider on a busy machine
		grep -q '^ready$' "$WORK/peer.log" && break
		kill -0 "$BROKER_PID" 2>/dev/null || break
		sleep 0.1
	done
	if ! grep -q '^ready$' "$WORK/peer.log"; then
		say "oidc-provider did not come up; its log:"
		cat "$WORK/peer.log" >&2
		return 1
	fi
	say "issuance, oidc-provider, clients $CLIENTS, ${WARMUP}+${DURATION} s each"
	run timeout 120 "$BUILD/bench/issue_bench" -u "http://127.0.0.1:$port" -K "$WORK/clients.json" \
		-l oidc-provider -c "$CLIENTS" -d "$DURATION" -w "$WARMUP" -p "$BROKER_PID" -o "$WORK/issue.txt"
	stop_broker
}

# peer_install: bench/node_modules as bench/package-lock.json has it.
peer_install() {
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		say "the issuance peer needs node and npm (scripts/deps.sh --test)"
		return 1
	fi
	if [ ! -f bench/node_modules/oidc-provider/package.json ] ||
		[ bench/package-lock.json -nt bench/node_modules/.package-lock.json ]; then
		say "installing the issuance peer (npm ci in bench/)"
		(cd bench && npm ci --no-audit --no-fund --silent >/dev/null)
	fi
	PEER_VERSION=$(node -p 'require("./bench/node_modules/oidc-provider/package.json").version')
}

# issuance_rounds: Tollgate and the peer in alternating rounds, then the
# other configurations once.
issuance_rounds() {
	local round
	peer_install
	run "$BUILD/bench/issue_bench" -G "$WORK/clients.json" -i 32
	for round in $(seq "$ISSUE_ROUNDS"); do
		say "issuance round $round of $ISSUE_ROUNDS"
		issuance full+audit
		issuance_peer
	done
	issuance full+no-audit --set audit=off
	issuance normal+audit --set sqlite_synchronous=normal
}

# policy_decisions: one set of generated inputs per size, decided by
# Tollgate's engine and by the reference (cedar-wasm) in turn.
policy_decisions() {
	local dirs=() n
	if ! command -v node >/dev/null || [ ! -d tests/e2e/node_modules/@cedar-policy/cedar-wasm ]; then
		say "policy decisions need node and @cedar-policy/cedar-wasm: run scripts/deps.sh --test"
		return 1
	fi
	run node bench/policy_gen.mjs "$WORK/policy" "$POLICY_SIZES" 2000
	for n in ${POLICY_SIZES//,/ }; do
		dirs+=("$WORK/policy/p$n")
	done
	say "policy decisions, Tollgate, ${POLICY_SECONDS} s per size and phase"
	run timeout 600 "$BUILD/bench/policy_bench" -t "$POLICY_SECONDS" "${dirs[@]}" >"$WORK/policy_tollgate.txt"
	say "policy decisions, cedar-wasm, ${REF_SECONDS} s per size"
	run timeout 1200 node bench/cedar_wasm_bench.mjs -t "$REF_SECONDS" "${dirs[@]}" >"$WORK/policy_reference.txt"
	POLICY_REF_VERSION=$(node -p 'require("./tests/e2e/node_modules/@cedar-policy/cedar-wasm/package.json").version')
}

machine() {
	local model
	model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	printf '%s CPUs (nproc), %s, Linux %s, %s MiB RAM' "$(nproc)" "${model:-unknown CPU}" \
		"$(uname -r)" "$(awk '/^MemTotal/ { print int($2 / 1024) }' /proc/meminfo)"
}

# serve_value KEY: VALUE as the broker's defaults have it.
serve_value() {
	"$BUILD/tollgate" serve --print-config | awk -v k="$1" '$1 == k { v = $3; gsub(/"/, "", v); print v }'
}

# serve_setting KEY: "KEY = VALUE" as the broker's defaults have it.
serve_setting() {
	"$BUILD/tollgate" serve --print-config |
		awk -v k="$1" '$1 == k { v = $3; gsub(/"/, "", v); print k " = " v }'
}

# build_desc: "CMake TYPE (flags)" of the build directory.
build_desc() {
	local type flags
	type=$(awk -F= '/^CMAKE_BUILD_TYPE:/ { print $2 }' "$BUILD/CMakeCache.txt")
	flags=$(awk -F= -v k="CMAKE_C_FLAGS_${type^^}:" 'index($0, k) == 1 { print $2 }' "$BUILD/CMakeCache.txt")
	printf 'CMake %s (%s)' "${type:-default}" "$flags"
}

commit() {
	local c
	c=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
	if [ "$c" != unknown ] && [ -n "$(git status --porcelain -- src bench CMakeLists.txt 2>/dev/null)" ]; then
		c="$c (with uncommitted changes in src/ or bench/)"
	fi
	printf '%s' "$c"
}

# ---- docs/benchmarks.md: one function per "## " section, each printing
# the section from its heading to its last line. ----

doc_header() {
	cat <<EOF
# Benchmarks

Generated by \`bench/run.sh\` from the figures the benchmarks printed in one
run; do not edit by hand. Reproduce with \`make bench\` (which runs
\`bench/run.sh build\`). Bars: docs/architecture.md, "Performance bars".
A section regenerated on its own (\`SECTIONS=...\`) says when and on what.

- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')
- machine: $(machine)
- commit: $(commit)
- load average before the run: $LOAD_BEFORE
- build: $(build_desc)
EOF
}

doc_verify() {
	cat <<EOF
## Token verification at the edge (uncached)

\`bench/verify_bench\`: \`tok_verify\` (src/core/access_token.h) against its
peer, raw libsodium \`crypto_sign_verify_detached\` over the same signing
input, same process, one thread.

EOF
	cat "$WORK/verify.md"
	cat <<EOF

Cached verification (bar: ≥ 1 M/s per core) is the edge's token cache:
see "Cached token checks per core" in the edge section below.
EOF
}

doc_issuance() {
	cat <<EOF
## Token issuance (durable audit)

\`bench/issue_bench\` against \`tollgate serve --dev\` on 127.0.0.1 (fresh data
directory, $FS_TYPE; broker log on stderr to a file there; defaults:
$(serve_setting threads), $(serve_setting log_level)) and against its peer, node
\`oidc-provider\` $PEER_VERSION (\`bench/oidc_peer.mjs\`, node $(node --version),
its in-memory adapter: nothing durable, replay detection in a bounded
in-memory cache), both driven by the same load generator. 32 clients:
created in Tollgate through \`POST /v1/identities\` (role \`bench\`, one Cedar
permit), registered in the peer with the same Ed25519 public keys
(\`issue_bench -G\`). Each request is \`POST /oauth/token\`
(client_credentials, scope \`orders.read@Api:orders\`) with a fresh
private_key_jwt client assertion (EdDSA, kid, iss = sub = client id, aud =
token_endpoint from the server's metadata, unique jti, exp now+60), spread
over the clients; both answer a JWT access token signed EdDSA (the peer:
\`accessTokenFormat: 'jwt'\` for its one resource server). **Assertions are
pre-generated before the timed window** (that isolates the server; any
signed inline because the pool ran dry are counted in the table). Clients:
that many keep-alive HTTP/1.1 connections driven by one libcurl multi
thread. ${WARMUP} s warm-up, then a ${DURATION} s window; tokens/s and latencies count
only 200 answers carrying an access_token completed in the window; errors
count every other answer in the whole phase (warm-up, window, drain).
$ISSUE_ROUNDS alternating rounds (Tollgate, then the peer, at each client count;
a fresh broker each round); the table shows each server's median round and
every round's tokens/s. **The load generator and the server share the
machine's $(nproc) cores**; the CPU column splits the cores busy in the window
between the server process, the load generator and every other process,
and the last column is the server's CPU time per token (a figure that
holds when other work shares the machine; tokens/s does not).

EOF
	"$BUILD/bench/issue_bench" -R "$WORK/issue.txt" -b "$BAR_TOKENS"
	cat <<EOF

full+audit is the default: \`sqlite_synchronous=full\` (fsync of the WAL on
every commit group) with every token's \`token.issued\` audit record in the
same transaction, a token answered only once both are durable, and every
client assertion's jti kept until it expires (exact replay refusal, no
bounded cache). The other rows are the same broker, one round each, with
\`--set audit=off\` (allowed in \`--dev\` only, for this comparison) or
\`--set sqlite_synchronous=normal\`.

**Where the time went, and the fix** (issue 14, measured on 2026-12-06 on
this machine while other builds and tests kept its load average between 18
and 27: the figures below are counts and CPU time per token, which hold
under load, not throughput). An HTTP worker thread used to wait for the
store inside the handler: \`store_issue\` blocks until the commit group
holding the token is durable. libmicrohttpd's internal thread pool serves
each connection on one of \`threads\` (16) epoll threads, so every other
connection of that thread waited as well: at most 16 token requests could
reach the store writer at once, each paid a whole commit cycle (SQL, WAL
\`pwrite\`s, \`fdatasync\`), and the broker sat idle in between. Counted
over whole runs with \`perf stat\` (a uprobe on the store's \`apply_issue\`,
and the \`fdatasync\` system calls): **2.2 tokens per commit at 64 clients
(1.9 at 16), 4.4 context switches and 645 µs of broker CPU per token**.
The writer thread's profile (\`perf record\`) was three quarters \`COMMIT\`
(\`sqlite3WalFrames\`: \`pwrite\` and \`fdatasync\`, in this VM mostly the
hypervisor's interrupt and device notification costs), a fixed cost per
commit that small groups pay per token. Now the handler suspends the
connection (\`MHD_suspend_connection\`), queues the issuance with
\`store_issue_start\` and returns, so the thread serves its other
connections; after the group's \`COMMIT\` the store writer resumes the
connection and its handler answers (src/broker/oauth_token.c
\`oauth_issue_held\`, src/store/sqlite.c \`sq_write_start\`). Under the
same load: **14.1 tokens per commit at 64 clients (5.3 at 16), 1.6 context
switches and 476 µs of broker CPU per token**, and 1.7× the tokens in the
same windows. Nothing was weakened: a token is still answered only after
its row, its single-use jtis and its \`token.issued\` record committed in
one transaction; the one writer still appends the audit chain in commit
order; replay refusal is still the \`used_jtis\` primary key. What remains
per token (\`perf record\` of the whole broker at 64 clients): the writer's
SQL and commit about a quarter, the assertion's Ed25519 verification about
a fifth, the token's signature a tenth, the identity read a tenth, HTTP,
JSON and the log line the rest.
EOF
}

doc_audit() {
	cat <<EOF
## Audit chain

\`bench/audit_bench\` against a SQLite store in a fresh directory
($FS_TYPE): 16 threads append \`token.issued\`-shaped events through
\`store_audit_append\`, each call returning once its record is durable
(group commit, \`synchronous=full\`), with a signed checkpoint every 1,000
records; then the whole log is read back and verified by the core verifier
(every hash, link and checkpoint signature; reading is not timed).

EOF
	cat "$WORK/audit.md"
}

doc_policy() {
	cat <<EOF
## Policy decisions (Cedar)

\`bench/policy_bench\` (Tollgate's engine, src/core/policy/) against the
reference, \`@cedar-policy/cedar-wasm\` $POLICY_REF_VERSION
(\`bench/cedar_wasm_bench.mjs\`, node $(node --version)), on the same inputs:
\`bench/policy_gen.mjs\` writes, per size, one policy set, one entities file
and 2,000 requests that both programs read. Shape: workloads in roles,
devices in zones in a site, APIs; about four per-identity permits per
workload (\`modbus.read\` on a zone, \`modbus.read\`/\`modbus.write\` on a
device during the day, \`modbus.write\` with a Modbus function/address
condition and \`@max_ttl\`, the http actions on an API), 2 % role permits,
and three forbids with conditions on \`context.hour\`, \`context.src_ip\`
(\`isInRange\`) and \`context.token_age_s\` that apply to nearly every
request; each request aims at one of its workload's permits most of the
time, so a handful of policies apply to each decision.

Load: the policy set from text to ready to decide (Tollgate: parse and
compile the index, median of 3; reference: \`preparsePolicySet\`). Tollgate:
one thread, requests parsed before timing, no obligations (plain Cedar);
decisions/s over a ${POLICY_SECONDS} s window with no per-call clock, then
p50/p99 over another ${POLICY_SECONDS} s window timing each decision. Reference: the
policy set pre-parsed, one \`statefulIsAuthorized\` per decision, each
request given only its entity slice (principal, action and resource with
their ancestors, prepared before timing: the policies read no other
entity, and the reference converts every entity it is given on every
call), ${REF_SECONDS} s per size, each call timed (at 100,000 policies it decides
about two a second, so its p99 rests on a few samples). "Same decisions"
compares the allow/deny of every request both decided.

EOF
	"$BUILD/bench/policy_bench" -R "$WORK/policy_tollgate.txt" "$WORK/policy_reference.txt"
}

doc_connflood() {
	cat <<EOF
## Connection flood

\`bench/conn_flood_bench.py\` against \`tollgate serve --dev\` (fresh data
directory, default configuration: $(serve_setting max_connections_per_ip),
$(serve_setting header_timeout) s, $(serve_setting idle_timeout) s, the last 10 % of
$(serve_setting max_connections) kept for new addresses; configuration.md,
Capacity), a new broker for each flood. 4,300 idle TCP connections from
127.0.0.1 that send nothing; then, one after the other, 20 \`GET /healthz\`
and 20 token requests (\`private_key_jwt\`) from 127.0.0.2, each on a new
connection, each given 5 s. "Opened once": the flood is opened before the
requests and left alone. "Kept up": before each pair of requests the flood
reopens every connection the broker closed, as an attacker keeping the
flood up does. The time runs from the flood being open to the last answer,
reopening included. Both floods together get at most 120 s (a pair of
requests is not started when it could end after its flood's share; the
table says so). The flooding and the requesting client share the $(nproc)
cores with the broker.

EOF
	python3 bench/conn_flood_bench.py --report "$WORK/connflood.txt"
	cat <<EOF

Before and after the connection limits, measured by hand on 2026-12-06
against commit cb7dc31 (one 30 s timeout for all connections, 4,096
connections at most, no limit per address) and the limits of commit
64cad4a, with the same floods and requests (2 CPUs, load average about 10
from other work): opened once, 17/20 \`/healthz\` and 18/20 token requests
answered in 29.5 s before, 20/20 and 20/20 in 0.2 s after; kept up, 6/20
and 10/20 in 141.0 s before, 20/20 and 20/20 in 11.2 s after. Before, a
flood opened once starved every other client until its own connections
timed out (the first five requests, 25 s, all failed); kept up, it refilled
the freed places first, and requests succeeded only when they won a race
for one. \`python3 bench/conn_flood_bench.py --bin BINARY --baseline
OTHER_BINARY\` measures two builds the same way in one run.
EOF
}

doc_authflood() {
	cat <<EOF
## Failed-authentication flood

\`bench/auth_flood_bench.py\` against \`tollgate serve --dev\` (fresh data
directory, defaults). 8 issuing clients (2 processes of 4 threads, python3,
each a keep-alive connection from 127.0.0.1) sign a fresh private_key_jwt
assertion and request a token, back to back. After 1 s of warm-up, 5 s
without a flood give the baseline; then 8 connections from 127.0.0.2 send
$FLOOD pre-generated assertions for an existing identity, signed with a key
it does not have, 32 pipelined at a time, as fast as the broker answers
(for at most 30 s: a throttled request is held up to 1 s before its 429,
so the broker answers the flood at the pace of its connections), and the
issuers' tokens/s is taken over the flood's duration. The last column
reads the \`auth.failed\` records from 127.0.0.2 back through
\`GET /v1/audit\` and adds up their \`details.count\` (1 for a record
without one): every failure sent is recorded. The flooding and the
issuing clients share the $(nproc) cores with the broker.

EOF
	python3 bench/auth_flood_bench.py --report "$WORK/flood.txt"
}

doc_grants() {
	cat <<EOF
## JIT grant round trip

\`bench/grant_bench.py grants\` against \`tollgate serve --dev\` (fresh data
directory, defaults but \`--set stepup_max_age=3600\`, so that the
approver's one login stays fresh enough for approvals however long the run
takes; the default, 300 s, asks for a new login after five minutes), on
$(machine). The policy is the Walkthrough's of docs/grants.md:
\`orders.write@Api:orders\` needs a grant with one approval
(\`@requires_grant("1")\`), and the role \`approver\` may approve grants on
\`Api::"orders"\`. Two operators in that role (created with the admin
token, confirmed with an \`oathtool\` code, logged in once with the next
step's code) and one workload identity per workflow (Ed25519 key). One
round trip, each answer checked: **request** (\`POST /v1/grants\`, the first
operator), **approve** (\`POST /v1/grants/{id}/approve\`, the second; the
grant is then active), **token** (the workload signs a fresh
private_key_jwt assertion with PyJWT and gets a token under the grant:
\`POST /oauth/token\`, client_credentials, \`grant_id\`) and **end**
(\`POST /v1/grants/{id}/end\` with that token; the grant is then ended).
Each is a durable write with its audit record (the token's too). $GRANTS
round trips per row, one after the other in each workflow; a workflow is
one python3 process (requests, one keep-alive connection) that made one
untimed round trip first; grants/s is the round trips divided by the time
from the common start to the last answer. Afterwards the last token issued
is introspected: inactive, its grant having ended. The workflows share the
$(nproc) cores with the broker; the CPU column splits the cores busy in the
window between the broker, the workflows and every other process.

EOF
	python3 bench/grant_bench.py report grants "$WORK/grants.txt"
	cat <<EOF

A round trip is four requests that each wait for an fsync of the WAL
(\`sqlite_synchronous=full\`): one workflow measures the latency of the
whole approval path, about what an operator or a deploy pipeline waits
beyond its own think time; concurrent workflows measure how many grants
the broker carries at once, their writes sharing commit groups. The
python3 clients run on the same $(nproc) cores, so the concurrent row
measures them as well as the broker: the CPU column says how the cores
were shared.
EOF
}

doc_login() {
	cat <<EOF
## Operator login (Argon2id)

\`bench/grant_bench.py login\` against \`tollgate serve --dev\` (fresh data
directory, defaults: Argon2id, $(serve_value operator_pwhash_ops) passes over $(($(serve_value operator_pwhash_mem) >> 20)) MiB:
$(serve_setting operator_pwhash_ops), $(serve_setting operator_pwhash_mem)), on
$(machine). A TOTP step can be used once per operator, so every login
has an operator of its own: all of them are created through
\`POST /v1/operators\` (one Argon2id hash each) and confirmed with their
current \`oathtool\` code before the first timed window. Each row: that
many python3 client threads log in $LOGINS operators in all
(\`POST /v1/login\`: password and the next step's TOTP code, computed
in-process and checked against \`oathtool\`), back to back, each on a new
connection as a CLI login is; every answer must be 200 with a session.
"CPU cores busy" and "CPU per op" are the broker's utime + stime
(/proc/PID/stat) over the window; the memory is the broker's peak RSS in
the window (VmHWM, cleared through /proc/PID/clear_refs before it) above
its idle RSS; the next column is what the python3 client and every other
process took in the same window (near 0 on a quiet machine: more leaves
fewer cores to the broker or the peer). The peer: \`bench/pwhash_bench\`, the bare libsodium
\`crypto_pwhash_str_verify\` (what a login computes) at the same cost in a
process of its own, as many threads as clients and as many verifications,
the broker stopped.

EOF
	python3 bench/grant_bench.py report login "$WORK/login.txt"
	cat <<EOF

A login costs one Argon2id verification, $(serve_value operator_pwhash_ops) passes over $(($(serve_value operator_pwhash_mem) >> 20)) MiB,
one core busy for about the time the peer shows; the TOTP check, the session and its durable audit record add
little next to it (compare the two rows of each client count). At most
\`operator_pwhash_parallel\` ($(serve_value operator_pwhash_parallel)) Argon2id computations run at once, so the
broker's memory grows by at most $(($(serve_value operator_pwhash_parallel) * ($(serve_value operator_pwhash_mem) >> 20))) MiB however many logins arrive
(right or wrong: an unknown user costs the same hash), and logins/s are
bounded by those slots and the cores ($(nproc) here): with more clients, a
login waits for a slot, its latency grows with the clients and the
logins/s stay at about the cores' worth.
EOF
}

doc_edge() {
	cat <<EOF
## Edge: forward-auth and revocation propagation

\`bench/edge_bench.py\` on $(machine): \`tollgate serve --dev\` (fresh data
directory, defaults), edges (\`tollgate edge run\`, defaults but the route
\`$(sed -n 's/^ROUTE = "\(.*\)"$/\1/p' bench/edge_bench.py)\` with an injected
upstream header), nginx $(nginx -v 2>&1 | sed 's|.*/||') and wrk, every process
started and stopped by the script, on free loopback ports. Workload tokens:
Bearer, \`orders.read@Api:orders\`, issued by the broker to 10 workloads
(those wrk presents for 1 h).

**Forward-auth.** One nginx (\`worker_processes auto\`, access log off)
with a server per variant, all with the same \`location /\`: the
\`auth_request\`, \`auth_request_set\` and \`proxy_set_header\` lines of
docs/edge.md and \`proxy_pass\` with keep-alive to an origin server of the
same nginx that answers \`return 200\` (so the upstream costs the same
everywhere). The variants differ only in the auth subrequest's location:
(a) an internal \`return 204\` (the peer of the bar: forward-auth that costs
nothing); (a′) proxied to an nginx server answering \`return 204\` (the
hop to another process, without any work); (b) and (c) proxied to the
edge's \`/auth\`; (a′), (b) and (c) with the same proxy headers (those of
docs/edge.md) and the same keep-alive (\`upstream { keepalive 128; }\`,
\`proxy_http_version 1.1\`, \`Connection ""\`), so (a′) is (b) without the
edge's work; (d) wrk straight at the edge's \`/auth\` with
\`X-Original-Method\`/\`X-Original-URI\` (the edge's decisions/s). wrk -t2
-c64 with a Lua script cycling prebuilt requests: the same hot token in
(a), (a′), (b) and (d), 1,000 tokens in (c). Each window: ${WARMUP} s of
warm-up, then ${DURATION} s; ${EDGE_ROUNDS} rounds, each running every variant
in turn; the table shows each variant's median round (200 answers per
second, wrk's p50/p99 latency, CPU) and every round's figure; the last
column counts the answers that were not 200 and socket errors in all
rounds. The CPU column splits the cores busy in the window (utime + stime
from /proc): wrk, nginx (master and workers), the edge, the broker (which
takes the edge's audit records: the edge writes one per decision to its
spool and ships them) and every other process of the machine. The spool is
left to drain before each window and after it. Before the first window
each variant is checked to answer 200 to the token, and the edge variant
401 without one.

EOF
	python3 bench/edge_bench.py report "$WORK/edge.txt" --only forward
	cat <<EOF

Everything runs on the same $(nproc) cores, so each variant's requests/s is
about the busy cores divided by the CPU all its processes spend on a
request; the CPU column says where that goes. (a′) is the hop alone, with
no work behind it: proxying the subrequest to another process over
loopback (nginx's upstream module, a TCP round trip each way, the other
process) already leaves it far below 90 % of (a), so no forward-auth
service outside nginx can meet that bar on these cores. (b) and (c) add
the edge's own work (the next column, per decision, its audit record
included) and the broker's, appending each decision's record to its
chain. While the edge decides faster than the broker takes its records
(the rate in the spool bullet), the spool grows; at \`spool_max\` (64 MiB,
some 200,000 records) the edge refuses privileged decisions
(\`audit_unavailable\`: it fails closed), which the last column would count.

**The broker's audit intake.** Each time the spool was left to drain after
a window that left at least 10,000 records in it (the edge's shipper: one
batch in flight, up to \`audit_batch\` = 500 records and 64 KiB, on one
kept-alive connection; the broker appends a batch in one transaction),
the records, the seconds until the backlog was 0, and the broker's CPU
over them:

EOF
	python3 bench/edge_bench.py report "$WORK/edge.txt" --only intake
	cat <<EOF

**Where the time goes, and what changed** (issue 10's bench; measured by
hand on 2026-12-06, 13:40–13:50 UTC, with perf and the processes' CPU
times from /proc, **while other work kept the 2 cores busy**: load average
23–25, about 1.3 of the 2 cores taken by other processes, so requests/s
are not comparable between runs and the CPU per request is the figure to
compare). Before: commit 395c178; after: commits a4619e9 and 004d6dd.
Both builds ran side by side (RelWithDebInfo), measured in turn, 4 rounds
of 5 s each through nginx (variant b), medians:

| per forward-auth decision through nginx | before | after |
|---|---:|---:|
| the edge's CPU (its shipper thread included) | 39.3 µs | 30.6 µs (−22 %) |
| the edge's CPU to ship a record | ≈ 15 µs | ≈ 3.5 µs |
| the broker's CPU per record taken | 53.9 µs | 45.6 µs (−15 %) |
| the broker's audit intake (spool drained, nothing else of the bench running) | 3,543 records/s | 5,621 records/s |

A run of this section's forward-auth part under the same load (2 rounds
each, the builds one after the other) agrees: the edge's CPU per request
(b) 34.6 → 30.4 µs, (c) 41.4 → 28.6 µs, (d) 27.8 → 23.1 µs, the intake
(median of 5 drains) 1,766 → 4,921 records/s.

Where the edge's CPU goes now (perf, samples of the edge process by the
first of these on the stack, one hot token through nginx):

| part of a decision | share |
|---|---:|
| epoll and scheduling (libmicrohttpd's worker threads waiting and waking) | 17 % |
| sending the answer (loopback TCP; the kernel charges the receiving side's work to the sender) | 16 % |
| libmicrohttpd: parsing the request, its connection buffer, the rest | 14 % |
| the audit record's text (details and policies as jansson values, \`edge_audit_body\`, the spool line) | 12 % |
| the decision: request headers, route, cached token, revocation, scope, Cedar | 12 % |
| the spool's \`write(2)\` | 10 % |
| receiving the request (loopback TCP) | 8 % |
| the audit shipper thread (16 % before) | 5 % |
| answer headers, the spool's lock, other | 5 % |

About 55 % is what any request to another process costs (the kernel's
TCP, epoll, libmicrohttpd), which the hop (a′) pays in nginx too; the
decision itself is an eighth. Where the broker's CPU goes while it takes
records (perf, steady intake):

| part of taking a record | share |
|---|---:|
| SQLite commit: WAL frames, fsync, checkpoints | 20 % |
| SQLite insert: the row and the \`audit_actor\` and \`audit_jti\` indexes | 20 % |
| parsing the batch (jansson) | 17 % |
| the record's canonical JSON (\`audit_prepare\`) | 8 % |
| its hash and stored text (\`audit_finish\`) | 7 % |
| checking the records, the chain's details (\`edge_seq\`, \`edge_time\`) | 7 % |
| freeing the parsed batch | 6 % |
| libmicrohttpd | 6 % |
| authenticating the batch (token, DPoP proof) | 3 % |
| other | 5 % |

What changed (none of it weakens the audit: every deny and privileged
allow is written to the spool before the answer, shipped in order,
appended once to the one chain; decisions are unchanged):

- **Keep-alive from the edge to the broker** (one curl handle per
  thread): every audit batch and feed poll opened a new connection; on
  the broker libmicrohttpd maps a new connection's memory pool and unmaps
  it at close, and the unmap's TLB shootdown alone was 5 % of the
  broker's CPU while it took records.
- **The spool's cursor file is written lazily**: after every batch the
  shipper wrote it durably (temporary file, fsync, rename, fsync of the
  directory: two fsyncs of about 1.2 ms each here), waiting longer than
  the broker took to record the batch. It is now written when the
  backlog empties (so under light load as before), before the spool file
  drops anything, at exit, and otherwise at most once a second; after a
  crash the records acknowledged since are shipped again and the broker
  skips them (docs/edge.md, Staleness, restarts and the spool).
- **A batch fills 64 KiB** (was 48 KiB), the largest body the broker
  takes: about 240 records instead of 180 per authentication, transaction
  and fsync.
- **Appends wake the shipper only when it is idle**: while it lingered
  between batches every decision woke it (a futex wake and a context
  switch each).
- **libmicrohttpd's connection buffer is 32 KiB** (was 64 KiB):
  libmicrohttpd 0.9.75 zeroes it when a kept-alive connection starts its
  next request and again when it shrinks the read buffer, 8 % of the
  edge's CPU at 64 KiB; a subrequest's head must now fit in 32 KiB
  (docs/edge.md).

Checked and left as they were: libmicrohttpd already runs a thread per
core with epoll, and with nginx's kept-alive connections it calls
\`epoll_wait\` about once per 25 requests and \`recv\`/\`send\` once each per
request (strace), so its mode and options leave little; (a′), (b) and (c)
use the same upstream keep-alive and headers, and the edge keeps nginx's
connections open (HTTP/1.1, 30 s idle), so the comparison is fair both
ways; the spool append is one \`write(2)\` per record without fsync (the
file is fdatasynced every 200 ms), which the durability contract needs
with the file API; the broker already appends a batch in one transaction
with cached prepared statements. Left open: an mmap'd spool (a copy
instead of a system call per record, as safe against a crash of the
process) would save most of the 10 % of the \`write(2)\`; the audit
record's text could be written without jansson values (part of the
12 %); the broker could read a batch with a dedicated parser instead of
jansson and \`edge_audit_parse\` (17 % + 7 %); batches over 64 KiB would
need the broker to authenticate an edge before reading its body (only an
administrator may send a larger one today).

**Revocation propagation.** A broker and ${EDGE_EDGES} edges (each its own
process and identity, long-polling the feed). ${EDGE_REVOCATIONS} times: a
token is issued, every edge must allow it, it is revoked (\`POST
/oauth/revoke\` with the admin token), and from the moment that call
returns one thread per edge asks its edge's \`/auth\` in a tight loop (its
own keep-alive connection, the request nginx would send) until the edge
refuses with \`X-Tollgate-Reason: revoked\`; the sample is the time until
the last of the ${EDGE_EDGES} refused. A separate process measures the broker
meanwhile: \`GET /healthz\`, then a token issuance (private_key_jwt), every
50 ms. The second row repeats it with ${EDGE_FEED_CLIENTS} more feed long polls
held by the broker (\`GET /v1/feed?since=HEAD&wait=30\`, each on its own
connection, with one more edge identity's Bearer token, asked again as soon
as answered, from an asyncio child process), the broker started with
\`--set max_connections_per_ip=0 --set max_connections=8192\` and the
open-files limit raised to its hard limit ($(ulimit -Hn)); the polls are
checked to be held (established at the broker, none answered) before the
first revocation. Everything shares the $(nproc) cores.

EOF
	python3 bench/edge_bench.py report "$WORK/edge.txt" --only propagation
	cat <<EOF

An edge enforces a revocation as soon as its held poll is answered. With
the feed clients, a feed entry's commit answers every held poll at once:
the broker reads and sends the entries for each, and authenticates each
new poll that follows (a token verification and store lookups), on the
same cores as everything else; the ${EDGE_EDGES} edges are answered somewhere
in that burst, whose length the bullet "from the revoke call's return to
the feed clients' last answer" gives.

EOF
	if [ -s "$WORK/edge_cache.md" ]; then
		printf '**Cached token checks per core.** `bench/edge_cache_bench`:\n\n'
		cat "$WORK/edge_cache.md"
	else
		cat <<EOF
**Cached token checks per core** (bar: ≥ 1 M/s): not measured in this run;
\`bench/edge_cache_bench\` (not in this tree yet) will print its table here.
EOF
	fi
}

doc_modbus() {
	cat <<EOF
## Modbus/TCP proxy

\`bench/modbus_bench.py\` on $(machine): round trips of FC3
\`read_holding_registers(0, 10)\` (unit 1) at 1 and 50 concurrent clients,
three ways: straight to the device; through nginx $(nginx -v 2>&1 | sed 's|.*/||')
\`stream\` (\`proxy_pass\` and nothing else: a plain TCP proxy that inspects
nothing, the fair floor); and through the edge's Modbus proxy
(\`tollgate edge run\`, one \`modbus\` line with \`units=1 max_conn=64\`,
\`log_level=info\`), which decodes every request and decides it against
the grant and Cedar policy. The device is \`bench/modbus_server\` (one
epoll thread answering FC3), the client \`bench/modbus_load\` (one thread
and one TCP connection per client, each sending a request and waiting for
its answer, every answer checked); nginx runs \`worker_processes 1\` as the
edge runs one event-loop thread for its Modbus listeners. The edge's
broker is \`tollgate serve --dev\` with the policy and grant of
tests/e2e/test_modbus_proxy.py (source 127.0.0.1/32, \`modbus.read\` on
\`Device:plc-7\`). Each window: ${WARMUP} s of warm-up, then ${DURATION} s;
${MODBUS_ROUNDS} rounds, each running both client counts and the three ways
in turn; the table shows each way's median over the rounds (requests/s,
p50/p99, CPU) and every round's requests/s. CPU: utime + stime of the
proxy process (nginx: master and worker; the edge: its whole process) and
of the device during the window, in cores. **Everything shares the
$(nproc) cores** with the client threads (and with whatever else the
machine runs: see the load average).

EOF
	python3 bench/modbus_bench.py report "$WORK/modbus.txt"
	cat <<EOF

Where the time goes (\`perf record\` over a whole run and \`strace -c\` on
the edge and on nginx's worker during a window, 2026-12-06, this machine):
the edge spends about four fifths of its CPU in the kernel (socket reads and
writes) and about 5 % in its own code (framing, \`mb_decide\`, Cedar
\`pol_authorize\`, context building): the policy decision is not what costs.
What differs from nginx is the system calls per round trip: nginx's worker
makes 2 \`recvfrom\`, 2 \`writev\` and 2 \`epoll_wait\`; the edge 2
\`read\`, 2 \`write\`, 2 \`epoll_wait\` and 2 \`epoll_ctl\` (libuv changing
a watcher's events at every wake-up), plus a \`malloc\`/\`free\` per write
(\`send_bytes\`). At 50 clients the edge sends each forwarded request to the
one shared device connection in a write of its own (about two writes per
read), where one \`uv_write\` per loop pass of everything queued for the
device would do.
EOF
}

doc_posture() {
	cat <<EOF
## Posture report

\`bench/posture_bench.py\` on $(machine): the time of one
\`GET /v1/reports/posture\` (the NHI hygiene report, docs/report.md) as JSON
and as HTML, from request to the last byte, on one keep-alive connection,
${POSTURE_ROUNDS} runs per fleet (median and slowest wall time; the broker's
CPU time for the request, utime + stime, median: on this shared machine the
wall time mostly says how busy it was, see the load average). The fleet: 10 zones of
9 devices, 4 actions, one role per zone permitting read and write on its
zone, a grant-only permit and one with a long \`@max_ttl\`; N identities
written into the stopped broker's store (a tenth without an owner, a tenth
with a key 200 days old, a tenth unused for 200 days) plus 50 created over
the API that were issued 4 tokens each. Every report is computed from
scratch: identities, grants and the window's \`token.issued\` and
\`authz.allow\` records read from the store, and policy evaluated for every
identity on every candidate (action, resource) pair (the "policy decisions"
column), then the document built, its shares stored and the answer sent.

EOF
	python3 bench/posture_bench.py report "$WORK/posture.txt"
}

doc_leases() {
	cat <<EOF
## Dynamic database credentials

\`bench/leases_bench.py\` on $(machine): leases of PostgreSQL roles
(docs/secrets.md, "Dynamic database credentials") against a real PostgreSQL
15 cluster on the same machine. Creation is timed by the client per
\`POST /v1/secrets/{name}/lease\` (scope and policy check, the lease row
with its audit record, a client-side SCRAM hash, \`CREATE ROLE\` and two
\`GRANT\`s over the admin connection the previous creation kept); revocation through the API from the first
\`DELETE /v1/leases/{id}\` until \`GET /v1/leases\` shows none left. For
the ${LEASES_REVOKE_N} leases, as many roles were created in the cluster and
as many lease rows put into the stopped broker's store in state revoking;
the time runs from the broker's start until the last was revoked (sessions
terminated, roles dropped 100 per transaction, verified gone, one audit
record per batch), and every role was checked gone. The peers are the
database's own work in one DO block: \`DROP ROLE\` of as many roles, and
\`REASSIGN OWNED\`, \`DROP OWNED\` and \`DROP ROLE\` of each, one by one.

EOF
	python3 bench/leases_bench.py report "$WORK/leases.json"
}

doc_rotation() {
	cat <<EOF
## Secret rotation

\`bench/rotation_bench.py\` on $(machine): secret rotation end to end against
a real PostgreSQL 15 cluster on the same machine (docs/secrets.md,
"Rotation"). ${ROTATION_N} secrets, each the password of its own LOGIN role,
postgres driver, no grace period. "One rotation" is timed by the client from
\`POST /v1/secrets/{name}/rotate\` until \`GET .../rotation\` (polled every
5 ms) shows it over: generate and seal the value, store it pending,
\`ALTER ROLE\` with a client-side SCRAM hash, a login with the new password,
promote (\`secret.rotated\`), a refused login with the old one, retire - each
step persisted with its audit record. The peer is the same PostgreSQL work
alone: the driver's set, verify new and verify old run as three
\`rotation_driver_probe\` processes. Every rotated password was checked to
log in and the old one to be refused. Both columns make the same three
connections (admin, new password, old password); the peer's also pays three
process starts, which on this machine, loaded by other work (the load
average below), cost more than the engine's sealing, store writes and audit
records. Read the two as "the engine adds no visible cost to the database
work", not as a speed-up.

EOF
	python3 bench/rotation_bench.py report "$WORK/rotation.txt"
}

doc_secrets() {
	cat <<EOF
## Secret reads

\`bench/secrets_bench.py\` on $(machine): secret reads per second with their
audit records (docs/secrets.md): \`GET /v1/secrets/{name}\` of a 32-byte
value with a workload's Bearer token whose scope covers
\`secret.read@Secret:NAME\`, beside the same broker's \`POST /v1/authorize\`
of the same workload's token as the baseline (no secret manager is packaged
for this machine, and a PostgreSQL row read over libpq would skip what makes
a read governed). Both verify the token, check its scope, decide Cedar
policy at request time and commit an audit record before they answer; the
read also verifies the token at dispatch, reads the secret and its version
from the store, unwraps the data key and opens the value. wrk -t2 at each
connection count, ${SECRETS_ROUNDS} alternating rounds of ${WARMUP} + ${DURATION} s; every
answer was 2xx and the audit trail holds a record for every request (the
records counted include the requests in flight when wrk stopped).

EOF
	python3 bench/secrets_bench.py report "$WORK/secrets.json"
	cat <<EOF

On this shared, loaded machine (other work ran beside it; see the load
average) both columns are far below what the broker does alone, but their
ratio holds: a secret read costs about 1.5-2 times a decision. The extra is
the token verified twice (once at dispatch with its sender binding, once
more for its scope: \`workload_bearer\` keeps no claims), two store reads (the
secret, its version) and the unwrap and open, about 2 us of
XChaCha20-Poly1305. Handing the dispatch's claims to the handler would
remove the second verification.
EOF
}

doc_monitor() {
	cat <<EOF
## Behaviour monitor

\`bench/monitor_bench\` on $(machine): the records per second one thread of
the monitor (docs/monitoring.md) gets through, in process: each record's
stored JSON text (about 515 bytes, shaped like an edge's shipped
\`authz.allow\`/\`authz.deny\` and the broker's \`token.issued\`) parsed, read
into an event and judged by every detector against its identity's
baseline, and the detectors alone on events already read. The traffic:
1,000 identities, a token every 50 requests, 95 % allowed and 5 % denied
requests over 4 actions and 20 resources, one record per millisecond of
record time and a learning window of a quarter of the run, so that most
records are judged; 1 % use an action never used before (after learning,
each is a finding: the findings column). The line under the table counts
the full run's findings by detector against the ones the traffic
injects: anything else reported on this normal traffic is a false
positive.
The store read that precedes this in the broker (\`store_audit_list\`,
batches of 500) is not included; the broker's own append rate (the audit
section) bounds what there is to read.

EOF
	cat "$WORK/monitor.md"
	cat <<EOF

The bar: more than the edges' combined decision rate. The edge section's
(d) measures one edge's \`/auth\` decisions per second on this machine, and
the broker's intake of the edges' shipped records; every edge decision is
one record, so the monitor keeps up while its records/s above exceeds the
records the broker appends.

**Time to containment.** \`bench/monitor_contain_bench.py\`: a broker with
the monitor in enforce mode (\`monitor_deny_burst = 5\`, rule
\`deny_burst:high=suspend+revoke_tokens\`); for each of 30 identities, 5
denied \`/v1/authorize\` requests, timed from the 5th answer until the
\`identity.suspended\` entry is in the feed (the long poll every edge
holds: from there an edge applies it as in the revocation propagation
above) and until the API shows the identity suspended.

EOF
	python3 bench/monitor_contain_bench.py report "$WORK/monitor_contain.json"
}

# splice_sections FILE...: replaces in docs/benchmarks.md the "## "
# sections whose headings the files start with (a section it lacks is
# appended), each followed by a line saying when and on what it ran.
splice_sections() {
	local note
	note="Section regenerated on its own on $(date -u '+%Y-%m-%d %H:%M UTC') (\`SECTIONS=$SECTIONS bench/run.sh\`): commit $(commit), $(build_desc), load average before the run $LOAD_BEFORE."
	python3 - "$note" docs/benchmarks.md "$@" <<'EOF'
import sys
note, doc, files = sys.argv[1], sys.argv[2], sys.argv[3:]
lines = open(doc).read().split("\n")
starts = [i for i, l in enumerate(lines) if l.startswith("## ")]
head = lines[:starts[0]] if starts else lines
blocks = [lines[a:b] for a, b in zip(starts, starts[1:] + [len(lines)])]
for f in files:
    new = open(f).read().rstrip("\n").split("\n") + ["", note]
    at = [k for k, b in enumerate(blocks) if b[0] == new[0]]
    if at:
        blocks[at[0]] = new
    else:
        blocks.append(new)
out = "\n".join(head).rstrip("\n") + "\n"
for b in blocks:
    out += "\n" + "\n".join(b).rstrip("\n") + "\n"
open(doc, "w").write(out)
EOF
}

write_doc() {
	local out=$WORK/benchmarks.md s files=()
	for s in $ALL_SECTIONS; do
		want "$s" || continue
		"doc_$s" >"$WORK/section-$s.md"
		files+=("$WORK/section-$s.md")
	done
	if [ "$SECTIONS" != all ]; then
		cp docs/benchmarks.md "$out"
		splice_sections "${files[@]}"
		return
	fi
	{
		doc_header
		for s in "${files[@]}"; do
			echo
			cat "$s"
		done
	} >"$out"
	mv "$out" docs/benchmarks.md
}

grants_and_login() {
	if want grants; then
		say "JIT grants: $GRANTS round trips at $GRANT_WORKFLOWS concurrent workflows"
		run timeout 600 /usr/bin/python3 bench/grant_bench.py grants --bin "$BUILD/tollgate" \
			--grants "$GRANTS" --concurrency "$GRANT_WORKFLOWS" --label "$(commit)" --out "$WORK/grants.txt"
	fi
	if want login; then
		say "operator logins: $LOGINS at each of $LOGIN_CLIENTS clients, and the bare Argon2id peer"
		run timeout 900 /usr/bin/python3 bench/grant_bench.py login --bin "$BUILD/tollgate" \
			--logins "$LOGINS" --clients "$LOGIN_CLIENTS" --pwhash-bench "$BUILD/bench/pwhash_bench" \
			--label "$(commit)" --out "$WORK/login.txt"
	fi
}

main() {
	check_sections
	say "building in $BUILD"
	build
	LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
	if want verify; then
		say "token verification"
		run timeout 120 "$BUILD/bench/verify_bench" -n "$VERIFY_N" >"$WORK/verify.md"
	fi
	: >"$WORK/issue.txt"
	if want audit; then
		say "audit chain: durable append and verification"
		mkdir -p "$WORK/audit"
		run timeout 120 "$BUILD/bench/audit_bench" -d "$DURATION" "$WORK/audit" >"$WORK/audit.md"
		FS_TYPE=$(df -PT "$WORK/audit" | awk 'NR == 2 { print $2 " on " $1 }')
	fi
	if want policy; then
		say "policy decisions: Tollgate's engine and cedar-wasm"
		policy_decisions
	fi
	if want issuance; then
		issuance_rounds
	fi
	if want connflood; then
		say "connection flood: 4,300 idle connections from 127.0.0.1, opened once and kept up"
		run timeout 180 /usr/bin/python3 bench/conn_flood_bench.py --bin "$BUILD/tollgate" --label "$(commit)" \
			--out "$WORK/connflood.txt"
	fi
	if want authflood; then
		say "failed-authentication flood: $FLOOD bad assertions from 127.0.0.2"
		run timeout 180 /usr/bin/python3 bench/auth_flood_bench.py --bin "$BUILD/tollgate" --label "$(commit)" \
			--flood "$FLOOD" --out "$WORK/flood.txt"
	fi
	grants_and_login
	if want edge; then
		say "edge: forward-auth through nginx ($EDGE_ROUNDS rounds, ${WARMUP}+${DURATION} s per variant), propagation to $EDGE_EDGES edges ($EDGE_REVOCATIONS revocations) without and with $EDGE_FEED_CLIENTS feed clients"
		run timeout 1800 /usr/bin/python3 bench/edge_bench.py run --bin "$BUILD/tollgate" --duration "$DURATION" \
			--warmup "$WARMUP" --rounds "$EDGE_ROUNDS" --edges "$EDGE_EDGES" --revocations "$EDGE_REVOCATIONS" \
			--feed-clients "$EDGE_FEED_CLIENTS" --out "$WORK/edge.txt"
		if edge_cache_present; then
			say "edge: cached token checks (bench/edge_cache_bench)"
			run timeout 600 "$BUILD/bench/edge_cache_bench" >"$WORK/edge_cache.md"
		fi
	fi
	if want modbus; then
		say "Modbus/TCP proxy: direct, nginx stream and the edge at 1 and 50 clients ($MODBUS_ROUNDS rounds, ${WARMUP}+${DURATION} s per window)"
		cmake --build "$BUILD" -j "$(nproc)" --target modbus_server modbus_load >/dev/null
		run timeout 1200 /usr/bin/python3 bench/modbus_bench.py run --bin "$BUILD/tollgate" --bench-dir "$BUILD/bench" \
			--duration "$DURATION" --warmup "$WARMUP" --rounds "$MODBUS_ROUNDS" --out "$WORK/modbus.txt"
	fi
	if want posture; then
		say "posture report: fleets of $POSTURE_SIZES identities, $POSTURE_ROUNDS runs each"
		run timeout 1800 /usr/bin/python3 bench/posture_bench.py run --bin "$BUILD/tollgate" \
			--sizes "$POSTURE_SIZES" --rounds "$POSTURE_ROUNDS" --out "$WORK/posture.txt"
	fi
	if want secrets; then
		say "secret reads: GET /v1/secrets/{name} and POST /v1/authorize at $SECRETS_CONNS connections ($SECRETS_ROUNDS rounds)"
		run timeout 1800 /usr/bin/python3 bench/secrets_bench.py run --bin "$BUILD/tollgate" --duration "$DURATION" \
			--warmup "$WARMUP" --rounds "$SECRETS_ROUNDS" --conns "$SECRETS_CONNS" --out "$WORK/secrets.json"
	fi
	if want leases; then
		say "dynamic credentials against PostgreSQL: $LEASES_N leases, and $LEASES_REVOKE_N revoked at once"
		run timeout 1800 /usr/bin/python3 bench/leases_bench.py run --bin "$BUILD/tollgate" --n "$LEASES_N" \
			--revoke-n "$LEASES_REVOKE_N" --out "$WORK/leases.json"
	fi
	if want monitor; then
		say "behaviour monitor: records/s through the detectors (bench/monitor_bench)"
		cmake --build "$BUILD" -j "$(nproc)" --target monitor_bench >/dev/null
		run timeout 900 "$BUILD/bench/monitor_bench" -n "${MONITOR_RECORDS:-1000000}" -i 1000 -r 3 >"$WORK/monitor.md"
		say "behaviour monitor: from a deny burst to its containment, 30 identities"
		run timeout 600 /usr/bin/python3 bench/monitor_contain_bench.py run --bin "$BUILD/tollgate" --n 30 --out "$WORK/monitor_contain.json"
	fi
	if want rotation; then
		say "secret rotation against PostgreSQL: $ROTATION_N secrets"
		cmake --build "$BUILD" -j "$(nproc)" --target tollgate rotation_driver_probe >/dev/null
		run timeout 1800 /usr/bin/python3 bench/rotation_bench.py run --bin "$BUILD/tollgate" --n "$ROTATION_N" \
			--out "$WORK/rotation.txt"
	fi
	write_doc
	say "wrote docs/benchmarks.md"
	cat docs/benchmarks.md
}

main
