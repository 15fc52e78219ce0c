#!/usr/bin/env bash
# `make run`: start the broker in --dev mode on the embedded SQLite store
# (./var), print a quickstart that works when pasted in another terminal,
# and keep the broker in the foreground until Ctrl-C.
set -euo pipefail
bin=${1:-build/tollgate}
cd "$(dirname "$0")/.."
addr=127.0.0.1:8420

if curl -fsS "http://$addr/healthz" >/dev/null 2>&1; then
  echo "A broker already answers on $addr; stop it first (or use it: see the quickstart in README.md)." >&2
  exit 1
fi

"$bin" serve --dev &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null' INT TERM EXIT
for _ in $(seq 1 50); do
  curl -fsS "http://$addr/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done

cat <<QS

Tollgate broker (dev mode) is running on http://$addr with its store in ./var
Paste this in another terminal in $(pwd):

  export PATH=\$PWD/build:\$PATH TOLLGATE_TOKEN=\$(cat var/admin.token)
  tollgate keys gen --out var/orders-svc.key
  printf '%s\\n' '@id("orders-readers")' '@max_ttl("600")' \\
      'permit(principal in Role::"orders-readers", action == Action::"orders.read", resource == Api::"orders");' \\
      > var/tollgate.cedar
  tollgate policy set var/tollgate.cedar --comment quickstart
  tollgate identity create orders-svc --kind workload --owner team-payments \\
      --public-key var/orders-svc.key.pub --role orders-readers
  TOKEN=\$(tollgate token issue --identity orders-svc --key var/orders-svc.key \\
      --scope orders.read@Api:orders --ttl 120)
  tollgate token inspect "\$TOKEN"
  tollgate token introspect "\$TOKEN"
  tollgate token revoke "\$TOKEN"
  tollgate token introspect "\$TOKEN"     # now {"active": false}

Press Ctrl-C here to stop the broker. \`make demo\` runs the whole story by itself.
QS
wait $pid
