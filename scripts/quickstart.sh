#!/usr/bin/env bash
# `make run`: start the broker in --dev mode on the embedded SQLite store
# (./var), and once it answers /healthz print the README's quickstart (the
# one source of it) to paste in another terminal. The broker stays in the
# foreground; Ctrl-C stops it and is a normal end (exit 0).
#   scripts/quickstart.sh [BINARY]      LISTEN=HOST:PORT picks the address
set -euo pipefail
bin=${1:-build/tollgate}
cd "$(dirname "$0")/.."
listen=${LISTEN:-127.0.0.1:8420}
default_listen=127.0.0.1:8420
url=http://$listen

# The README's Quickstart block: the first ```sh block after "## Quickstart".
readme_quickstart() {
  awk '/^## Quickstart/ {inside = 1; next}
       inside && /^```sh$/ {block = 1; next}
       block && /^```$/ {exit}
       block {print}' README.md
}

in_use() {
  echo "make run: $listen is in use: $1." >&2
  echo "  Stop it, or pick another address: make run LISTEN=127.0.0.1:8421" >&2
  exit 1
}
# A broker already there would answer the health check below for ours.
curl -fsS --max-time 2 "$url/healthz" >/dev/null 2>&1 && in_use "a Tollgate broker already answers there"

# On a terminal the broker runs as a job of its own (set -m) and is brought
# to the foreground once it is up, so that Ctrl-C reaches the broker (which
# stops cleanly) and not make (which would report an error).
interactive=0
[ -t 0 ] && interactive=1 && set -m
"$bin" serve --dev --listen "$listen" &
pid=$!
stop() {
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  echo "tollgate: broker stopped"
  exit 0
}
trap stop INT TERM

# Wait for the broker to answer, or for it to exit (address in use, bad
# configuration): it has then said why on stderr.
until curl -fsS --max-time 2 "$url/healthz" >/dev/null 2>&1; do
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid" || true
    echo "make run: the broker did not start (it said why above)." >&2
    exit 1
  fi
  sleep 0.1
done

echo
echo "Tollgate broker (dev mode) is running on $url with its store in ./var"
echo "Paste this in another terminal in $(pwd):"
echo
[ "$listen" = "$default_listen" ] || echo "export TOLLGATE_ADDR=$url"
readme_quickstart
echo
echo "Press Ctrl-C here to stop the broker. \`make demo\` runs the whole story by itself."

set +e
if [ "$interactive" = 1 ]; then fg %1 >/dev/null; else wait "$pid"; fi
rc=$?
[ "$rc" = 0 ] && echo "tollgate: broker stopped"
exit "$rc"
