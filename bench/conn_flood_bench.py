#!/usr/bin/env python3
"""conn_flood_bench.py - do thousands of idle connections from one address
keep other clients from the broker?

For each build (--bin, then --baseline when given) and each flood, starts
`tollgate serve --dev` with the default configuration (fresh data
directory, 127.0.0.1, free port) and creates one identity; opens FLOOD
(4,300) idle TCP connections from 127.0.0.1 that send nothing; then, one
after the other, sends 20 GET /healthz and 20 token requests
(private_key_jwt) from 127.0.0.2 (all of 127.0.0.0/8 is local on Linux),
each on a new connection, each given 5 s, and counts the answered ones
(200) and the time the 40 took. Floods: "opened once", and "kept up", where
before each pair of requests every flood connection the broker closed is
reopened, as an attacker keeping a flood up does.

    conn_flood_bench.py --bin build/tollgate [--label L]
        [--baseline OTHER_BINARY [--baseline-label L]] [--max-seconds 120]
        [--out RESULTS]
            appends one result line (JSON) per build and flood to RESULTS,
            or prints them
    conn_flood_bench.py --report RESULTS
            prints RESULTS as a Markdown table (stdlib only)

Bounded: the measurement shares --max-seconds among the floods still to
run (a quick one leaves its time to the next); a flood whose time is up
sends no further pair of requests, and the table says after how many pairs
it stopped. The flood helpers and the request loop are those of
tests/e2e/test_connection_flood.py (python3 with requests, PyJWT and
cryptography: Debian's python3-requests, python3-jwt, python3-cryptography)."""
import argparse
import json
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

E2E_DIR = Path(__file__).resolve().parents[1] / "tests" / "e2e"
PAIRS = 20
TIMEOUT = 5  # s per request
FLOODS = ("opened once", "kept up")


class TimeUp(Exception):
    """The flood's share of --max-seconds is spent."""


def refill(flood, port, closed_by_server):
    """Reopens the flood's connections that the server closed, as an
    attacker keeping up a flood does; returns how many it reopened."""
    n = 0
    for i, s in enumerate(flood):
        if closed_by_server(s):
            s.close()
            flood[i] = socket.socket()
            flood[i].setblocking(False)
            flood[i].connect_ex(("127.0.0.1", port))
            n += 1
    return n


def measure(cf, binary, label, flood_kind, end):
    """One broker, one flood, the requests until done or end (monotonic)."""
    import tollgate_e2e

    tollgate_e2e.BIN = Path(binary).resolve()
    with tempfile.TemporaryDirectory(prefix="tollgate-connflood-") as d:
        b = tollgate_e2e.Broker(Path(d)).start()
        flood = []
        try:
            ident = b.create_identity()
            b.http.close()  # its keep-alive connection would count for 127.0.0.1
            t0 = time.monotonic()
            flood = cf.open_flood(b.port, cf.raise_fd_limit(cf.FLOOD), deadline_s=max(5.0, (end - t0) / 3))
            t1 = time.monotonic()
            trace, reopened = [], [0]

            def before_each():
                # A pair takes at most 2 * TIMEOUT: none starts that could end after `end`.
                if time.monotonic() + 2 * TIMEOUT > end:
                    raise TimeUp
                if flood_kind == "kept up":
                    reopened[0] += refill(flood, b.port, cf.closed_by_server)

            try:
                cf.count_answered(b, ident, n=PAIRS, timeout=TIMEOUT, trace=trace, before_each=before_each)
                stopped = False
            except TimeUp:
                stopped = True
            t2 = time.monotonic()
            still_open = sum(not cf.closed_by_server(s) for s in flood)
            return {"build": label, "binary": str(binary), "flood": flood_kind, "connections": len(flood),
                    "open_s": t1 - t0, "reopened": reopened[0], "still_open": still_open,
                    "healthz": trace.count("h"), "tokens": trace.count("t"), "pairs": len(trace) // 2,
                    "of": PAIRS, "seconds": t2 - t1, "stopped_at_cap": stopped, "trace": "".join(trace)}
        finally:
            cf.close_all(flood)
            b.kill()


def run(a):
    sys.path.insert(0, str(E2E_DIR))
    import test_connection_flood as cf

    start = time.monotonic()
    runs = [(a.bin, a.label, f) for f in FLOODS]
    if a.baseline:
        runs += [(a.baseline, a.baseline_label, f) for f in FLOODS]
    results = []
    for i, (binary, label, kind) in enumerate(runs):
        now = time.monotonic()
        end = now + (start + a.max_seconds - now) / (len(runs) - i)
        print(f"conn_flood_bench: {label}, flood {kind}", file=sys.stderr)
        results.append(measure(cf, binary, label, kind, end))
    return results


def report(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    print("| flood | build | flood connections from 127.0.0.1 | `/healthz` answered | token requests answered "
          "| the 40 requests took | in order (h, t answered; H, T not) |")
    print("|---|---|---|---:|---:|---:|---|")
    for r in rows:
        conns = f"{r['connections']:,} opened in {r['open_s']:.1f} s"
        if r["flood"] == "kept up":
            conns += f", {r['reopened']:,} reopened"
        conns += f", {r['still_open']:,} open at the end"
        took = f"{r['seconds']:.1f} s"
        if r["stopped_at_cap"]:
            took += f" (time cap: stopped after {r['pairs']} of {r['of']} pairs)"
        print(f"| {r['flood']} | {r['build']} | {conns} | {r['healthz']}/{r['of']} | {r['tokens']}/{r['of']} "
              f"| {took} | {'`' + r['trace'] + '`' if r['trace'] else 'none'} |")


def _raise_exit(signum, frame):
    raise SystemExit(f"conn_flood_bench: stopped by signal {signum}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bin")
    p.add_argument("--label", default="this build")
    p.add_argument("--baseline", help="another tollgate binary, measured the same way after --bin")
    p.add_argument("--baseline-label", default="baseline")
    p.add_argument("--max-seconds", type=float, default=120)
    p.add_argument("--out")
    p.add_argument("--report")
    a = p.parse_args()
    if a.report:
        report(a.report)
        return
    if not a.bin:
        p.error("--bin is required")
    # SIGTERM (bench/run.sh's cleanup) and the hard cap unwind through the
    # finally blocks, so that no broker outlives the script.
    signal.signal(signal.SIGTERM, _raise_exit)
    signal.signal(signal.SIGALRM, _raise_exit)
    signal.alarm(int(a.max_seconds) + 20)
    lines = [json.dumps(r) for r in run(a)]
    signal.alarm(0)
    if a.out:
        with open(a.out, "a") as f:
            f.write("".join(line + "\n" for line in lines))
    else:
        print("\n".join(lines))


if __name__ == "__main__":
    main()
