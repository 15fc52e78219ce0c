#!/usr/bin/env bash
# Installs every Debian package and npm test peer that Tollgate's build and
# tests need. Idempotent: quiet and quick when everything is present.
#   scripts/deps.sh          build + run deps
#   scripts/deps.sh --test   also the test peers (pytest, PyJWT, pymodbus, oathtool, npm jose, clang for fuzzing,
#                            nginx (with its stream module), Caddy and wrk for the edge's tests and benchmarks,
#                            PostgreSQL: tests/e2e/pg_cluster.py starts throw-away clusters of its own,
#                            Chromium: renders the HTML posture report headless)
set -euo pipefail
cd "$(dirname "$0")/.."

# Build, plus what `make run` and `make demo` call (curl; oathtool stands in
# for the demo operators' authenticator apps; tzdata: the zones of change
# windows).
build_pkgs=(gcc make cmake pkg-config libmicrohttpd-dev libgnutls28-dev libsodium-dev
            libjansson-dev libsqlite3-dev libcurl4-openssl-dev liboath-dev zlib1g-dev libqrencode-dev libuv1-dev libpq-dev curl ca-certificates oathtool tzdata)
test_pkgs=(libcmocka-dev python3 python3-pytest python3-pytest-xdist python3-jwt python3-cryptography
           python3-requests oathtool clang libclang-rt-14-dev sqlite3 curl openssl jq tzdata nginx libnginx-mod-stream caddy wrk python3-pymodbus python3-serial-asyncio postgresql
           chromium)
# Daemons the tests start themselves, on loopback ports of their own; their
# packages must leave no system service running (nor bound to port 80).
daemon_pkgs=(nginx caddy postgresql)

want=("${build_pkgs[@]}")
[ "${1:-}" = "--test" ] && want+=("${test_pkgs[@]}")

# Node.js and npm may come from the image rather than from Debian; install
# Debian's only when there is none (mixing them breaks apt).
if [ "${1:-}" = "--test" ] && ! { command -v node && command -v npm; } >/dev/null 2>&1; then
  want+=(nodejs npm)
fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  if [ "$(id -u)" != 0 ]; then
    echo "deps: missing packages and not root; run: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # No package starts a service while apt runs (invoke-rc.d and
  # deb-systemd-invoke ask policy-rc.d), unless the system has its own policy.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  log=$(mktemp)
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "deps: apt-get could not install: ${missing[*]} (output above)" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
  # The daemons just installed stay off at boot too, where systemd runs.
  for p in "${daemon_pkgs[@]}"; do
    if [[ " ${missing[*]} " == *" $p "* ]] && [ -d /run/systemd/system ]; then
      systemctl disable --now "$p.service" >/dev/null 2>&1 || true
    fi
  done
fi

if [ "${1:-}" = "--test" ] && { [ ! -d tests/e2e/node_modules/jose ] || [ ! -d tests/e2e/node_modules/@cedar-policy/cedar-wasm ] || [ ! -d tests/e2e/node_modules/oauth4webapi ]; }; then
  echo "deps: installing npm test peers (jose, cedar-wasm, oauth4webapi)"
  (cd tests/e2e && npm install --no-audit --no-fund --silent >/dev/null)
fi
