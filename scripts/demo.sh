#!/usr/bin/env bash
# `make demo`: the end-to-end story on a throw-away data directory, narrated.
# Grows with each capability. Today: a Cedar policy and the plant's entities
# say what an OT gateway may do; it gets a narrowly scoped, short-lived,
# sender-bound token without any shared secret (what it may not hold is
# refused, and the audit trail names the rule); the token is verified,
# introspected, revoked and refused; a write needs a just-in-time grant that
# two operators other than the requester approve (password + TOTP, oathtool
# standing in for their authenticator apps), and ends with the task; the
# identity is offboarded.
set -euo pipefail
bin=$(realpath "${1:-build/tollgate}")
work=$(mktemp -d)
# A port nobody listens on (bash's /dev/tcp connects when one does).
port=
for _ in $(seq 1 50); do
  p=$(( 20000 + RANDOM % 40000 ))
  (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { port=$p; break; }
done
[ -n "$port" ] || { echo "demo: no free port found on 127.0.0.1" >&2; exit 1; }
export TOLLGATE_ADDR=http://127.0.0.1:$port
cleanup() { [ -n "${pid:-}" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

say()  { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# Shows the command with long arguments (tokens) shortened, then runs it.
run()  {
  local shown=() a
  for a in "$@"; do [ ${#a} -gt 60 ] && a="${a:0:24}…"; shown+=("$a"); done
  printf '\033[2m$ %s\033[0m\n' "${shown[*]}" >&2
  "$@"
}
fail() { printf '\033[31mdemo failed: %s\033[0m\n' "$*"; exit 1; }

say "1. Start a broker (dev mode, throw-away store in $work)"
"$bin" serve --dev --data "$work/data" --listen "127.0.0.1:$port" 2>"$work/broker.log" &
pid=$!
until curl -fsS --max-time 2 "$TOLLGATE_ADDR/healthz" >/dev/null 2>&1; do
  kill -0 "$pid" 2>/dev/null || { cat "$work/broker.log" >&2; fail "the broker did not start"; }
  sleep 0.1
done
export TOLLGATE_TOKEN=$(cat "$work/data/admin.token")
echo "broker up at $TOLLGATE_ADDR"

say "2. The workload gets a key pair. Only its public key is registered: no shared secret exists."
run "$bin" keys gen --out "$work/plc-gw.key"

say "3. Policy: line-3 readers may read line 3 (300 s at most); writes need a JIT grant; never the safety PLC"
cat >"$work/plant.cedar" <<'CEDAR'
@id("line-3-read")
@max_ttl("300")
permit(principal in Role::"line-3-readers", action == Action::"modbus.read", resource in Zone::"line-3");

@id("line-3-write")
@requires_grant("2")
permit(principal in Role::"line-3-operators", action == Action::"modbus.write", resource in Zone::"line-3");

@id("no-safety-plc")
forbid(principal, action, resource == Device::"sis-1");

@id("line-3-approvers")
permit(principal in Role::"approver", action == Action::"grant.approve", resource in Zone::"line-3");
CEDAR
cat >"$work/plant.json" <<'JSON'
[{"uid": {"type": "Zone", "id": "line-3"}, "attrs": {"site": "plant-1"}},
 {"uid": {"type": "Device", "id": "plc-7"}, "parents": [{"type": "Zone", "id": "line-3"}]},
 {"uid": {"type": "Device", "id": "sis-1"}, "parents": [{"type": "Zone", "id": "line-3"}]}]
JSON
cat "$work/plant.cedar"
run "$bin" policy set "$work/plant.cedar" --comment "line 3"
run "$bin" entities set "$work/plant.json"

say "4. Register the identity with an owner and a role: policy decides what the role may do"
run "$bin" identity create plc-gw --kind ot-device --owner team-ot \
  --public-key "$work/plc-gw.key.pub" --role line-3-readers --role line-3-operators >/dev/null
echo 'plc-gw is the entity Workload::"plc-gw", a member of Role::"line-3-readers" and Role::"line-3-operators"'

say "5. It asks for more than it may hold: refused (a write; the safety PLC)"
if "$bin" token issue --identity plc-gw --key "$work/plc-gw.key" --scope "modbus.write@Device:plc-7"; then
  fail "a write scope was issued"
fi
if "$bin" token issue --identity plc-gw --key "$work/plc-gw.key" --scope "modbus.read@Device:sis-1"; then
  fail "the safety PLC was readable"
fi
echo "the audit trail names the rule that refused it:"
run "$bin" audit tail -n 1

say "6. It asks for what the task needs, bound to its key (DPoP), for 60 s (plc-7 is in line 3)"
TOKEN=$(run "$bin" token issue --identity plc-gw --key "$work/plc-gw.key" \
  --scope modbus.read@Device:plc-7 --ttl 60 --dpop)
run "$bin" token inspect "$TOKEN"

say "7. An enforcement point asks the broker whether the token is active"
run "$bin" token introspect "$TOKEN"

say "8. The workflow ends: revoke"
run "$bin" token revoke "$TOKEN"

say "9. The revoked token is refused"
if "$bin" token introspect "$TOKEN"; then fail "revoked token still active"; fi

say "10. A write needs a JIT grant: three approvers enrol (password + TOTP) and log in"
for op in alice bob carol; do
  printf 'demo passphrase for %s\n' "$op" |
    "$bin" operator create "$op" --role approver --password-stdin >"$work/$op.enrol"
  secret=$(grep -o 'secret=[A-Z2-7]*' "$work/$op.enrol" | cut -d= -f2)
  "$bin" operator confirm "$op" --totp "$(oathtool --totp -b "$secret")" >/dev/null
  printf 'demo passphrase for %s\n' "$op" | "$bin" login "$op" --password-stdin \
    --totp "$(oathtool --totp -b "$secret" -N 'now + 30 seconds')" >"$work/$op.session"
  echo "$op: enrolled and logged in"
done
ALICE=$(cat "$work/alice.session") BOB=$(cat "$work/bob.session") CAROL=$(cat "$work/carol.session")

say "11. Alice asks for the write for one task; she may not approve it herself; Bob and Carol do"
G=$(TOLLGATE_TOKEN=$ALICE run "$bin" grant request --identity plc-gw --scope modbus.write@Device:plc-7 \
  --duration 30m --reason "replace valve V-12" --ticket CHG-7 -q)
if TOLLGATE_TOKEN=$ALICE "$bin" grant approve "$G" 2>/dev/null; then fail "the requester approved her own grant"; fi
echo "alice approving her own request: refused"
TOLLGATE_TOKEN=$BOB run "$bin" grant approve "$G" --comment "valve job planned"
TOLLGATE_TOKEN=$CAROL run "$bin" grant approve "$G"

say "12. Under the grant, plc-gw gets a write token; it carries the grant and ends with it"
WTOKEN=$(run "$bin" token issue --identity plc-gw --key "$work/plc-gw.key" --scope modbus.write@Device:plc-7)
run "$bin" token introspect "$WTOKEN" | grep -E '"(grant|scope|active)"'

say "13. The task is done: plc-gw ends the grant itself, and the write token is refused at once"
TOLLGATE_TOKEN=$WTOKEN run "$bin" grant end "$G" --reason "valve replaced"
if "$bin" token introspect "$WTOKEN" >/dev/null; then fail "a token outlived its grant"; fi
echo "write token after the grant ended: inactive"
run "$bin" audit trace --grant "$G"

say "14. The device is decommissioned: offboard it. Every key is disabled and every token revoked."
run "$bin" identity offboard plc-gw | grep '"status"'
if "$bin" token issue --identity plc-gw --key "$work/plc-gw.key" --scope modbus.read@Device:plc-7 2>/dev/null; then
  fail "offboarded identity got a token"
fi
echo "token request after offboarding: refused"

say "15. Nothing secret reached the log"
if grep -qF "$TOKEN" "$work/broker.log" || grep -qF "$TOLLGATE_TOKEN" "$work/broker.log" ||
   grep -qF "$WTOKEN" "$work/broker.log" || grep -qF "$ALICE" "$work/broker.log" ||
   grep -qF "demo passphrase" "$work/broker.log"; then
  fail "a secret is in the broker log"
fi
echo "the broker log names tokens by jti and SHA-256 only ($(wc -l <"$work/broker.log") lines checked)"

say "Demo complete."
