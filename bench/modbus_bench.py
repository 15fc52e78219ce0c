#!/usr/bin/env python3
"""modbus_bench.py - the Modbus/TCP proxy benchmark (issue 11): round trips
of FC3 read_holding_registers(0, 10) at 1 and 50 concurrent clients, three
ways: straight to the device, through a plain TCP proxy that inspects
nothing (nginx `stream`, the fair floor) and through the edge's Modbus
proxy (src/edge/edge_modbus.c) deciding every request.

  run     starts a broker (tollgate serve --dev, the policy and grant of
          tests/e2e/test_modbus_proxy.py: a grant with source 127.0.0.1/32
          and modbus.read on Device:plc-7), bench/modbus_server (the
          device: an epoll FC3 responder), one `tollgate edge run` with a
          modbus line in front of it (max_conn=64, log_level=info) and one
          nginx (worker_processes 1, as the edge's one event-loop thread,
          access log off) whose stream server proxies to it; then ROUNDS
          rounds, each running every client count and every way in turn
          with bench/modbus_load (WARMUP s, then a DURATION s window), and
          appends one JSON line per window to OUT.
  report  prints docs/benchmarks.md's table from OUT: each way's median
          over the rounds of each figure, the bars (Tollgate within 1.1x of nginx's p50 and p99,
          >= 90 % of its requests/s) and whether they are met.

Every process is started and stopped by the script, on free loopback
ports. Needs Debian's python3 with python3-requests, -cryptography, -pytest
(the e2e helpers), oathtool, nginx and libnginx-mod-stream."""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
E2E_DIR = REPO / "tests" / "e2e"
WAYS = ("direct", "nginx", "tollgate")
WAY_NAMES = {"direct": "direct to the device", "nginx": "nginx `stream` (plain TCP proxy)",
             "tollgate": "Tollgate edge (per-request policy)"}
CLIENTS = (1, 50)
BAR_LATENCY = 1.1
BAR_RPS = 0.9
STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"


def say(msg):
    print(f"modbus_bench: {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what, timeout=20):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"modbus_bench: {what} exited with {proc.returncode} at start")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"modbus_bench: {what} did not listen on {port}")


def stop(proc, sig=signal.SIGTERM):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def children(pid):
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


# ---- the peers ----

def start_device(bench_dir: Path):
    proc = subprocess.Popen([str(bench_dir / "modbus_server"), "0"], stdout=subprocess.PIPE, text=True)
    port = int(proc.stdout.readline())
    return proc, port


def start_nginx(workdir: Path, device_port):
    if not Path(STREAM_MODULE).exists():
        raise SystemExit(f"modbus_bench: {STREAM_MODULE} missing: apt-get install libnginx-mod-stream "
                         "(scripts/deps.sh --test)")
    d = workdir / "nginx"
    d.mkdir()
    port = free_port()
    (d / "nginx.conf").write_text(f"""load_module {STREAM_MODULE};
worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
stream {{
    server {{
        listen 127.0.0.1:{port};
        proxy_pass 127.0.0.1:{device_port};
    }}
}}
""")
    proc = subprocess.Popen(["nginx", "-p", str(d), "-c", str(d / "nginx.conf")], stderr=subprocess.DEVNULL)
    wait_port(port, proc, "nginx")
    return proc, port


def start_tollgate(workdir: Path, device_port):
    """Broker, grant and edge; (broker, edge, modbus port) once the edge admits 127.0.0.1."""
    sys.path.insert(0, str(E2E_DIR))
    import test_modbus_proxy as mp
    from edge_e2e import edge_broker
    from tollgate_e2e import Broker

    def factory(args, name, policy):
        return Broker(workdir / name, args=args, policy=policy).start(timeout=30)

    class Device:
        port = device_port
    b = edge_broker(factory, name="broker", extra_policy=mp.POLICY, args=mp.ops.FAST_HASH, entities=mp.ENTITIES)
    edge = mp.ModbusEdge(b, workdir, Device, options="units=1 max_conn=64", log_level="info")
    edge.start(timeout=30)
    mp.grant(b)
    mp.admitted(edge, timeout=60).close()
    return b, edge, edge.mb_port


# ---- the runs ----

def pids_of(proc):
    return [proc.pid] + children(proc.pid)


def window(load, port, clients, a, pids):
    cmd = [str(load), "-P", str(port), "-c", str(clients), "-d", str(a.duration), "-w", str(a.warmup)]
    for p in pids:
        cmd += ["-p", str(p)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=a.duration + a.warmup + 60)
    f = out.stdout.split()
    if out.returncode != 0 or len(f) < 10:
        raise SystemExit(f"modbus_bench: modbus_load failed ({out.returncode}): {out.stdout} {out.stderr}")
    cpu = {}
    if len(f) > 11:
        for item in f[11].split(","):
            pid, secs = item.split(":")
            cpu[int(pid)] = float(secs)
    return {"rps": float(f[1]), "p50_us": float(f[3]), "p99_us": float(f[5]), "requests": int(f[7]),
            "errors": int(f[9]), "cpu": cpu}


def run(a):
    bench_dir = Path(a.bench_dir)
    os.environ["TOLLGATE_BIN"] = str(Path(a.bin).resolve())
    workdir = Path(tempfile.mkdtemp(prefix="modbus_bench."))
    device = nginx = b = edge = None
    try:
        device, device_port = start_device(bench_dir)
        nginx, nginx_port = start_nginx(workdir, device_port)
        say("starting the broker and the edge, granting 127.0.0.1")
        b, edge, edge_port = start_tollgate(workdir, device_port)
        ports = {"direct": device_port, "nginx": nginx_port, "tollgate": edge_port}
        proxies = {"direct": [], "nginx": pids_of(nginx), "tollgate": [edge.proc.pid]}
        with open(a.out, "w") as out:
            for rnd in range(1, a.rounds + 1):
                for clients in a.clients:
                    for way in a.ways:
                        pids = proxies[way] + [device.pid]
                        r = window(bench_dir / "modbus_load", ports[way], clients, a, pids)
                        proxy_cpu = sum(r["cpu"].get(p, 0) for p in proxies[way])
                        row = {"round": rnd, "clients": clients, "way": way, "rps": r["rps"],
                               "p50_us": r["p50_us"], "p99_us": r["p99_us"], "requests": r["requests"],
                               "errors": r["errors"], "proxy_cpu": proxy_cpu,
                               "device_cpu": r["cpu"].get(device.pid, 0)}
                        say(f"round {rnd}, {clients} clients, {way}: {r['rps']:.0f}/s p50 {r['p50_us']} us "
                            f"p99 {r['p99_us']} us, proxy CPU {proxy_cpu:.2f}")
                        out.write(json.dumps(row) + "\n")
                        out.flush()
    finally:
        if edge is not None:
            edge.stop()
        if b is not None:
            b.stop()
        stop(nginx, signal.SIGQUIT)
        stop(device)
        shutil.rmtree(workdir, ignore_errors=True)


# ---- the report ----

def report(a):
    rows = [json.loads(line) for line in open(a.out) if line.strip()]
    print("| clients | way | requests/s | p50 (µs) | p99 (µs) | proxy CPU (cores) | device CPU (cores) "
          "| every round's requests/s |")
    print("|---|---|---|---|---|---|---|---|")
    verdicts = []
    for clients in CLIENTS:
        med = {}
        for way in WAYS:
            mine = [r for r in rows if r["clients"] == clients and r["way"] == way]
            if not mine:
                continue
            m = med[way] = {k: statistics.median(r[k] for r in mine) for k in ("rps", "p50_us", "p99_us",
                                                                            "proxy_cpu", "device_cpu")}
            rounds = ", ".join(f"{r['rps']:,.0f}" for r in sorted(mine, key=lambda r: r["round"]))
            errors = sum(r["errors"] for r in mine)
            proxy = "–" if way == "direct" else f"{m['proxy_cpu']:.2f}"
            print(f"| {clients} | {WAY_NAMES[way]} | {m['rps']:,.0f} | {m['p50_us']:.1f} | {m['p99_us']:.1f} "
                  f"| {proxy} | {m['device_cpu']:.2f} | {rounds}{f' ({errors} errors)' if errors else ''} |")
        if "nginx" in med and "tollgate" in med:
            verdicts.append(verdict(clients, med["nginx"], med["tollgate"]))
    print()
    print("Bars (Tollgate against nginx `stream`: p50 and p99 ≤ 1.1×, requests/s ≥ 90 %):")
    print()
    for v in verdicts:
        print(v)


def verdict(clients, n, t):
    parts = []
    for key, name in (("p50_us", "p50"), ("p99_us", "p99")):
        ratio = t[key] / n[key]
        parts.append(f"{name} {ratio:.2f}× ({'met' if ratio <= BAR_LATENCY else '**missed**'})")
    share = t["rps"] / n["rps"]
    parts.append(f"requests/s {100 * share:.0f} % ({'met' if share >= BAR_RPS else '**missed**'})")
    return f"- {clients} client{'s' if clients > 1 else ''}: " + ", ".join(parts)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--bin", required=True)
    r.add_argument("--bench-dir", required=True, help="where modbus_server and modbus_load are")
    r.add_argument("--duration", type=float, default=10)
    r.add_argument("--warmup", type=float, default=2)
    r.add_argument("--rounds", type=int, default=3)
    r.add_argument("--out", required=True)
    r.add_argument("--ways", type=lambda v: v.split(","), default=list(WAYS), help="a subset of " + ",".join(WAYS))
    r.add_argument("--clients", type=lambda v: [int(c) for c in v.split(",")], default=list(CLIENTS))
    q = sub.add_parser("report")
    q.add_argument("out")
    a = p.parse_args()
    run(a) if a.cmd == "run" else report(a)


if __name__ == "__main__":
    main()
