# test_secret_drivers.py - the rotation drivers (src/broker/secret_driver_*.c)
# against real peers, outside the broker through tests/tools/rotation_driver_probe:
# the postgres driver on a throw-away PostgreSQL cluster (set changes the
# password with a client-side SCRAM hash, the statement log never holds the
# plaintext; verify logs in; a NOLOGIN role and a wrong password are refused;
# an unreachable server is an error, not a refusal), the exec driver with
# real programs (the request it receives, its minimal environment, every
# protocol error: garbage, oversized answer, non-zero exit, timeout with the
# whole process group killed, echoed credentials redacted), and the webhook
# driver with a local HTTP receiver.
import http.server
import json
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from pg_cluster import pg_cluster  # noqa: F401  (fixture)
from tollgate_e2e import BIN, SLOW, wait_for

PROBE = BIN.parent / "rotation_driver_probe"


def probe(tmp_path, target: dict, op: str, first="", second="", secret="app-db"):
    assert PROBE.exists(), f"{PROBE} missing: build the rotation_driver_probe target"
    doc = tmp_path / "target.json"
    doc.write_text(json.dumps(target))
    r = subprocess.run([str(PROBE), str(doc), secret, op], input=f"{first}\n{second}\n", capture_output=True,
                       text=True, timeout=120 * SLOW)
    assert r.returncode in (0, 2), r.stderr
    if r.returncode == 2:
        return {"rc": "usage", "error": r.stderr}
    return json.loads(r.stdout)


# ---- postgres --------------------------------------------------------------------------


def pg_target(pg, tmp_path, role, **kw):
    return dict({"driver": "postgres", "dsn": pg.dsn(), "role": role,
                 "password_file": str(pg.admin_password_file(tmp_path)), "timeout": 10}, **kw)


def test_pg_set_verify(pg_cluster, tmp_path):
    pg = pg_cluster
    pg.create_role("app_rw", "old-pass-1")
    t = pg_target(pg, tmp_path, "app_rw")
    assert probe(tmp_path, t, "verify", "old-pass-1")["rc"] == "ok"
    new = "N3w-pass-" + os.urandom(8).hex()
    assert probe(tmp_path, t, "set", new, "old-pass-1") == {"rc": "ok", "error": ""}
    assert pg.can_login("app_rw", new)
    assert not pg.can_login("app_rw", "old-pass-1")
    assert probe(tmp_path, t, "verify", new)["rc"] == "ok"
    r = probe(tmp_path, t, "verify", "old-pass-1")
    assert r["rc"] == "refused" and "password authentication failed" in r["error"]
    # revoke: a role holds one password, set already replaced it.
    assert probe(tmp_path, t, "revoke", "old-pass-1", new)["rc"] == "ok"
    # The statement log (log_statement = all) holds the SCRAM hash, never the password.
    log = pg.log_text()
    assert "ALTER ROLE" in log and "SCRAM-SHA-256$" in log
    assert new not in log
    assert pg.sql("SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = 'app_rw'") == "t"


def test_pg_quoted_role(pg_cluster, tmp_path):
    """A role name that needs quoting is quoted, never interpolated."""
    pg = pg_cluster
    pg.sql('CREATE ROLE "App.rw-2" LOGIN PASSWORD \'p-one\'')
    t = pg_target(pg, tmp_path, "App.rw-2")
    assert probe(tmp_path, t, "set", "p-two", "p-one")["rc"] == "ok"
    assert pg.can_login("App.rw-2", "p-two")
    bad = probe(tmp_path, pg_target(pg, tmp_path, 'x" PASSWORD NULL; --'), "set", "p", "q")
    assert bad["rc"] == "usage" and "role must" in bad["error"]


def test_pg_nologin_refused(pg_cluster, tmp_path):
    pg = pg_cluster
    pg.create_role("app_nl", "nl-pass")
    t = pg_target(pg, tmp_path, "app_nl")
    pg.sql('ALTER ROLE "app_nl" NOLOGIN')
    r = probe(tmp_path, t, "verify", "nl-pass")
    assert r["rc"] == "refused" and "not permitted to log in" in r["error"]
    pg.sql('ALTER ROLE "app_nl" LOGIN')
    assert probe(tmp_path, t, "verify", "nl-pass")["rc"] == "ok"
    # An unknown role is refused too (the server answered).
    assert probe(tmp_path, pg_target(pg, tmp_path, "no_such_role"), "verify", "x")["rc"] == "refused"


def test_pg_unreachable_is_an_error(pg_cluster, tmp_path):
    pg = pg_cluster
    t = pg_target(pg, tmp_path, "app_rw", dsn=f"host=127.0.0.1 port=1 dbname=postgres user={pg.admin}",
                  timeout=2)
    r = probe(tmp_path, t, "verify", "anything")
    assert r["rc"] == "error" and "login as the role failed" in r["error"]
    r = probe(tmp_path, t, "set", "new", "old")
    assert r["rc"] == "error" and "admin connection failed" in r["error"]


def test_pg_admin_password_file(pg_cluster, tmp_path):
    pg = pg_cluster
    pg.create_role("app_pf", "pf-pass")
    t = pg_target(pg, tmp_path, "app_pf")
    Path(t["password_file"]).chmod(0o644)
    r = probe(tmp_path, t, "set", "pf-new", "pf-pass")
    assert r["rc"] == "error" and "chmod 600" in r["error"]
    Path(t["password_file"]).chmod(0o600)
    Path(t["password_file"]).write_text("wrong-admin-password\n")
    r = probe(tmp_path, t, "set", "pf-new", "pf-pass")
    assert r["rc"] == "error" and "admin connection failed" in r["error"]
    assert "wrong-admin-password" not in r["error"]
    assert pg.can_login("app_pf", "pf-pass")
    # A dsn with a password in it is refused before any connection.
    bad = probe(tmp_path, dict(t, dsn=pg.dsn() + " password=x"), "set", "a", "b")
    assert bad["rc"] == "usage" and "must not hold a password" in bad["error"]


# ---- exec --------------------------------------------------------------------------------


def program(tmp_path, body: str, name="driver.py") -> Path:
    """An executable python3 program (run directly, no shell)."""
    p = tmp_path / name
    p.write_text("#!/usr/bin/python3\nimport json, os, sys, time\n" + body)
    p.chmod(0o755)
    return p


def exec_target(prog, **kw):
    return dict({"driver": "exec", "command": str(prog), "config": {"host": "plc-7"}, "timeout": 5}, **kw)


def test_exec_protocol(tmp_path):
    seen = tmp_path / "seen.json"
    prog = program(tmp_path, f"""
req = json.loads(sys.stdin.read())
json.dump({{"req": req, "env": dict(os.environ), "argv": sys.argv[1:],
           "fds": sorted(int(f) for f in os.listdir('/proc/self/fd'))}}, open({str(seen)!r}, "w"))
ok = not (req["op"] == "verify" and req["new"] == "bad")
print(json.dumps({{"ok": ok}} if ok else {{"ok": False, "error": "login refused"}}))
""")
    t = exec_target(prog, args=["--flag", "two words"])
    assert probe(tmp_path, t, "set", "n3w", "0ld") == {"rc": "ok", "error": ""}
    got = json.loads(seen.read_text())
    assert got["req"] == {"op": "set", "secret": "app-db", "target": {"host": "plc-7"}, "new": "n3w", "old": "0ld"}
    assert got["argv"] == ["--flag", "two words"]
    assert set(got["env"]) <= {"PATH", "LANG", "LC_CTYPE", "PWD"}, got["env"]
    assert got["fds"][:3] == [0, 1, 2] and len(got["fds"]) <= 4  # stdio (+ the listdir fd)
    assert probe(tmp_path, t, "verify", "n3w")["rc"] == "ok"
    assert json.loads(seen.read_text())["req"] == {"op": "verify", "secret": "app-db", "target": {"host": "plc-7"},
                                                   "new": "n3w"}
    r = probe(tmp_path, t, "verify", "bad")
    assert r["rc"] == "refused" and "login refused" in r["error"]
    assert probe(tmp_path, t, "revoke", "0ld", "n3w")["rc"] == "ok"
    assert json.loads(seen.read_text())["req"]["old"] == "0ld"


@pytest.mark.parametrize("body,expect", [
    ('print("garbage")', "protocol error: the answer is not one JSON object"),
    ('print(json.dumps({"ok": "yes"}))', "protocol error: the answer must be a JSON object with a boolean"),
    ('print(json.dumps({"ok": True, "extra": 1}))', "protocol error: the answer has an unknown member"),
    ('print(json.dumps({"ok": True})); sys.exit(3)', "exited with status 3"),
    ('sys.stdout.write("x" * 100000)', "protocol error: the answer is larger than 4096 bytes; killed"),
    ('print(json.dumps({"ok": False, "error": "no such account"}))', "the target refused the set: no such account"),
    ('os.kill(os.getpid(), 9)', "exited with status 137"),
])
def test_exec_errors(tmp_path, body, expect):
    prog = program(tmp_path, "sys.stdin.read()\n" + body + "\n")
    r = probe(tmp_path, exec_target(prog), "set", "n3w", "0ld")
    assert r["rc"] == "error" and expect in r["error"], r


def test_exec_timeout_kills_the_group(tmp_path):
    pidfile = tmp_path / "grandchild.pid"
    prog = program(tmp_path, f"""
import subprocess
p = subprocess.Popen(["/bin/sleep", "300"])
open({str(pidfile)!r}, "w").write(str(p.pid))
time.sleep(300)
""")
    t0 = time.monotonic()
    r = probe(tmp_path, exec_target(prog, timeout=1), "verify", "x")
    assert r["rc"] == "error" and "no answer within 1s; killed" in r["error"]
    assert time.monotonic() - t0 < 60
    pid = int(pidfile.read_text())
    wait_for("the grandchild killed", lambda: not Path(f"/proc/{pid}").exists() or
             Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z", timeout=10)


def test_exec_program_that_does_not_read(tmp_path):
    """A program that answers without reading its stdin: no SIGPIPE kills the caller."""
    prog = program(tmp_path, 'print(json.dumps({"ok": True}))\n')
    big = "v" * 200000  # more than a pipe holds
    assert probe(tmp_path, exec_target(prog), "set", big, "0ld")["rc"] == "ok"


def test_exec_redacts_echoed_credentials(tmp_path):
    prog = program(tmp_path, """
req = json.loads(sys.stdin.read())
print(json.dumps({"ok": False, "error": "bad password " + req["new"] + " (was " + req["old"] + ")"}))
""")
    r = probe(tmp_path, exec_target(prog), "set", "S3cr3t-new", "S3cr3t-old")
    assert r["rc"] == "error"
    assert "S3cr3t" not in r["error"] and "bad password [redacted] (was [redacted])" in r["error"]


def test_exec_missing_program(tmp_path):
    r = probe(tmp_path, exec_target(tmp_path / "nope"), "verify", "x")
    assert r["rc"] == "error" and "exited with status 127" in r["error"]
    bad = probe(tmp_path, {"driver": "exec", "command": "rot.sh"}, "verify", "x")
    assert bad["rc"] == "usage" and "absolute path" in bad["error"]


# ---- webhook ---------------------------------------------------------------------------


class Receiver(http.server.ThreadingHTTPServer):
    daemon_threads = True


@pytest.fixture
def receiver():
    seen = []

    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append((self.path, self.headers.get("Content-Type"), body))
            status, answer = {
                "/ok": (200, b'{"ok":true}'),
                "/refuse": (200, b'{"ok":false,"error":"nope"}'),
                "/500": (500, b'{"ok":true}'),
                "/garbage": (200, b"<html>"),
                "/big": (200, b" " * 10000 + b'{"ok":true}'),
                "/slow": (200, b'{"ok":true}'),
                "/redirect": (302, b""),
            }[self.path]
            if self.path == "/slow":
                time.sleep(3)
            self.send_response(status)
            if status == 302:
                self.send_header("Location", "/ok")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            try:
                self.wfile.write(answer)
            except OSError:
                pass

    srv = Receiver(("127.0.0.1", 0), H)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    srv.seen = seen
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}"
    yield srv
    srv.shutdown()
    srv.server_close()


def test_webhook(tmp_path, receiver):
    t = {"driver": "webhook", "url": receiver.url + "/ok", "config": {"account": "svc"}, "timeout": 2}
    assert probe(tmp_path, t, "set", "n3w", "0ld") == {"rc": "ok", "error": ""}
    path, ctype, body = receiver.seen[-1]
    assert ctype == "application/json"
    assert body == {"op": "set", "secret": "app-db", "target": {"account": "svc"}, "new": "n3w", "old": "0ld"}
    assert probe(tmp_path, dict(t, url=receiver.url + "/refuse"), "verify", "x")["rc"] == "refused"
    for path, expect in [("/refuse", "the target refused the set: nope"), ("/500", "answered HTTP 500"),
                         ("/garbage", "protocol error"), ("/big", "larger than 4096 bytes"),
                         ("/slow", "Timeout"), ("/redirect", "answered HTTP 302")]:
        r = probe(tmp_path, dict(t, url=receiver.url + path), "set", "n3w", "0ld")
        assert r["rc"] == "error" and expect in r["error"], (path, r)
