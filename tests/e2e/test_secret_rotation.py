# test_secret_rotation.py - secret rotation through a real broker (issue 12,
# docs/secrets.md "Rotation"): against a real PostgreSQL cluster the
# password changes, the new one logs in, the old one is refused, a workload
# reads the new value; a NOLOGIN role fails the verification and rolls back
# until the role may log in again; with an exec target that keeps two
# credentials the old one works through the grace period and is refused
# after it; a verify answering ok:false and every exec protocol error
# (garbage, non-zero exit, timeout) roll back with a clear error, the old
# credential still works, and the back-off holds the retry; a broker
# SIGKILLed at each driver step (the exec driver blocks on a FIFO at the
# chosen step) resumes after a restart with store and target agreeing on a
# working current credential; a rotation waits for the change window its
# policy names unless asked for with now; the CLI; bad input to the API.
import json
import os
import signal
import time
from pathlib import Path

import pytest

from pg_cluster import pg_cluster  # noqa: F401  (fixture)
from tollgate_e2e import SLOW, assert_problem, audit_records, cli_env, run_cli, unique, wait_for

READ = "secret.read@Secret:{}"
WAIT = 60 * SLOW

# An exec driver emulating a target that holds several credentials (like an
# API with two keys): state.json {"original", "accepts": [...], "last_set"}.
# config: "state" (path), "fail_verify_new" (verify of a value other
# than the original answers ok:false), "answer" ("garbage" | "exit3" |
# "hang": how a set of a value other than the original answers), "block" {"op", "which": "new"|"old"|"restore", "fifo",
# "pidfile", "marker"}: blocks once on the FIFO at that step (after doing it).
FAKE_TARGET = r'''#!/usr/bin/python3
import json, os, sys, time
req = json.loads(sys.stdin.read())
cfg = req["target"]
path = cfg["state"]
st = json.load(open(path))
op, new, old = req["op"], req.get("new"), req.get("old")
setting_new = op == "set" and new != st["original"]
if setting_new and cfg.get("answer") == "garbage":
    print("this is not json"); sys.exit(0)
if setting_new and cfg.get("answer") == "exit3":
    sys.exit(3)
if setting_new and cfg.get("answer") == "hang":
    time.sleep(600)
ok = True
if op == "set":
    which = "restore" if new == st["original"] else "new"
    if new not in st["accepts"]:
        st["accepts"].append(new)
    st["last_set"] = new
    if cfg.get("single"):
        st["accepts"] = [new]
elif op == "revoke":
    which = "old"
    st["accepts"] = [v for v in st["accepts"] if v != old]
else:
    which = "new" if new == st.get("last_set") and new != st["original"] else "old"
    ok = new in st["accepts"]
    if cfg.get("fail_verify_new") and new != st["original"]:
        ok = False
tmp = path + ".tmp"
json.dump(st, open(tmp, "w")); os.replace(tmp, path)
b = cfg.get("block")
if b and b["op"] == op and b["which"] == which and not os.path.exists(b["marker"]):
    open(b["marker"], "w").close()
    open(b["pidfile"], "w").write(str(os.getpid()))
    open(b["fifo"]).read()
print(json.dumps({"ok": True} if ok else {"ok": False, "error": "credential refused by the fake target"}))
'''


@pytest.fixture(scope="module")
def rb(broker_factory):
    return broker_factory(name="rotation")


def put_secret(b, name, value, rotate_every="30d", grace=0):
    r = b.api("PUT", f"/v1/secrets/{name}", {"value": value, "metadata": {
        "owner": "team-db", "rotation": {"rotate_every": rotate_every, "grace": grace}}})
    assert r.status_code == 201, r.text


def set_target(b, name, target, status=200):
    r = b.api("PUT", f"/v1/secrets/{name}/rotation", target)
    assert r.status_code == status, r.text
    return r.json()


def rotation(b, name) -> dict:
    r = b.api("GET", f"/v1/secrets/{name}/rotation")
    assert r.status_code == 200, r.text
    return r.json()


def rotate(b, name, now=False):
    r = b.api("POST", f"/v1/secrets/{name}/rotate", {"now": True} if now else None)
    assert r.status_code == 202, r.text
    return r.json()


def versions(b, name) -> dict:
    r = b.api("GET", f"/v1/secrets/{name}/versions")
    assert r.status_code == 200, r.text
    doc = r.json()
    return {v["version"]: v["state"] for v in (doc["versions"] if isinstance(doc, dict) else doc)}


def read_value(b, name) -> str:
    ident = b.create_identity(permit=[READ.format(name)])
    tok = b.issue(ident, READ.format(name))
    r = b.api("GET", f"/v1/secrets/{name}", token=tok)
    assert r.status_code == 200, r.text
    return r.json()["value"]


def wait_phase(b, name, pred, what):
    return wait_for(what, lambda: (lambda s: s if pred(s) else None)(rotation(b, name)), WAIT, interval=0.2)


def types_for(b, name):
    return [r["type"] for r in audit_records(b) if r.get("resource") == f"Secret:{name}"]


# ---- PostgreSQL ---------------------------------------------------------------


def pg_target(pg, tmp_path, role):
    return {"driver": "postgres", "dsn": pg.dsn(), "role": role,
            "password_file": str(pg.admin_password_file(tmp_path)), "timeout": 10, "retry_base": 1,
            "retry_max": 2}


def test_pg_rotation(rb, pg_cluster, tmp_path):
    pg, name = pg_cluster, unique("app-db")
    pg.create_role("rot_app", "initial-pass")
    put_secret(rb, name, "initial-pass")
    state = set_target(rb, name, pg_target(pg, tmp_path, "rot_app"))
    assert state["phase"] == "idle" and state["target"]["role"] == "rot_app"
    rotate(rb, name)
    wait_phase(rb, name, lambda s: s["phase"] == "idle" and not s["requested"], "the rotation to finish")
    assert versions(rb, name) == {1: "retired", 2: "current"}
    new = read_value(rb, name)
    assert new != "initial-pass" and len(new) >= 40
    assert pg.can_login("rot_app", new)
    assert not pg.can_login("rot_app", "initial-pass")
    types = types_for(rb, name)
    for t in ("secret.rotation.configured", "secret.rotation.requested", "secret.rotation.started",
              "secret.rotated", "secret.rotation.step"):
        assert t in types, (t, types)
    assert "secret.rotation.failed" not in types
    # Neither value in the audit trail, the broker's log or the server's statement log.
    trail = json.dumps(audit_records(rb))
    assert new not in trail and "initial-pass" not in trail.replace('"initial-pass"', "")
    assert new not in rb.log_text() and new not in pg.log_text()
    # The schedule moved on: next due a rotation period after this one.
    meta = rb.api("GET", f"/v1/secrets/{name}/meta").json()
    assert meta["next_due"] == meta["last_rotated"] + 30 * 86400


def test_pg_nologin_rolls_back(rb, pg_cluster, tmp_path):
    """The new password is set but the role may not log in: verification
    fails, the old password is set back; while the role stays NOLOGIN the
    rollback retries with back-off, and once it may log in again the old
    credential works and the next attempt rotates."""
    pg, name = pg_cluster, unique("nl-db")
    pg.create_role("rot_nl", "nl-initial")
    put_secret(rb, name, "nl-initial")
    set_target(rb, name, pg_target(pg, tmp_path, "rot_nl"))
    pg.sql('ALTER ROLE "rot_nl" NOLOGIN')
    rotate(rb, name)
    s = wait_phase(rb, name, lambda s: s["phase"] in ("rollback", "restored") and s["failures"] >= 2,
                   "the rollback to retry")
    assert "not permitted to log in" in (s["last_error"] or ""), s
    assert versions(rb, name)[1] == "current"
    pg.sql('ALTER ROLE "rot_nl" LOGIN')
    wait_phase(rb, name, lambda s: s["phase"] == "idle" and not s["requested"], "the retried rotation")
    v = versions(rb, name)
    assert v[2] == "failed" and v[1] == "retired" and v[3] == "current", v
    new = read_value(rb, name)
    assert pg.can_login("rot_nl", new) and not pg.can_login("rot_nl", "nl-initial")
    types = types_for(rb, name)
    assert "secret.rotation.failed" in types and "secret.rotation.rolled_back" in types


# ---- exec: grace, rollback, protocol errors --------------------------------------


def fake_target(tmp_path, original, **config):
    prog = tmp_path / "fake_target.py"
    prog.write_text(FAKE_TARGET)
    prog.chmod(0o755)
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"original": original, "accepts": [original], "last_set": original}))
    target = {"driver": "exec", "command": str(prog), "timeout": 3, "retry_base": 3600, "retry_max": 3600,
              "config": dict({"state": str(state)}, **config)}
    return target, state


def accepts(state: Path):
    return json.loads(state.read_text())["accepts"]


def test_exec_grace_then_old_refused(rb, tmp_path):
    name = unique("api-key")
    put_secret(rb, name, "key-one", grace=4)
    target, state = fake_target(tmp_path, "key-one")
    set_target(rb, name, target)
    rotate(rb, name)
    s = wait_phase(rb, name, lambda s: s["phase"] == "promoted", "the promotion")
    new = read_value(rb, name)
    assert versions(rb, name) == {1: "previous", 2: "current"}
    assert s["retire_after"] is not None
    # During the grace period both keys work at the target.
    assert set(accepts(state)) == {"key-one", new}
    wait_phase(rb, name, lambda s: s["phase"] == "idle", "the old key's retirement")
    assert accepts(state) == [new]
    assert versions(rb, name) == {1: "retired", 2: "current"}


@pytest.mark.parametrize("config,error", [
    ({"fail_verify_new": True}, "the credential was refused: credential refused by the fake target"),
    ({"answer": "garbage"}, "protocol error: the answer is not one JSON object"),
    ({"answer": "exit3"}, "set: exited with status 3"),
    ({"answer": "hang"}, "set: no answer within 3s; killed"),
])
def test_exec_failure_rolls_back(rb, tmp_path, config, error):
    name = unique("rb-key")
    put_secret(rb, name, "orig-key")
    target, state = fake_target(tmp_path, "orig-key", **config)
    set_target(rb, name, target)
    rotate(rb, name)
    s = wait_phase(rb, name, lambda s: s["phase"] == "idle" and s["failures"] >= 1, "the rollback")
    assert error in s["last_error"], s
    assert s["retry_at"] is not None and s["retry_at"] > time.time() + 1000  # retry_base 3600
    assert s["requested"]  # retried after the back-off
    assert versions(rb, name) == {1: "current", 2: "failed"}
    assert read_value(rb, name) == "orig-key"
    assert "orig-key" in accepts(state)
    recs = [r for r in audit_records(rb) if r.get("resource") == f"Secret:{name}"]
    failed = [r for r in recs if r["type"] == "secret.rotation.failed"]
    assert failed and error in failed[0]["details"]["error"]
    assert any(r["type"] == "secret.rotation.rolled_back" for r in recs)
    # --now ends the back-off: the engine tries again at once (and fails the same way).
    rotate(rb, name, now=True)
    wait_phase(rb, name, lambda s: s["failures"] >= 2 and s["phase"] == "idle", "the immediate retry")


def test_api_bad_input(rb):
    name = unique("bad")
    put_secret(rb, name, "v")
    for body, needle in [({"driver": "exec", "command": "rel"}, "absolute"),
                         ({"driver": "postgres", "dsn": "host=h password=x", "role": "r", "password_file": "/f"},
                          "must not hold a password"),
                         ({"driver": "nope"}, "driver must be"),
                         ({"driver": "webhook", "url": "http://x", "timeout": "5"}, "timeout"),
                         ({"driver": "exec", "command": "/x", "config": {"a": "b" * 9000}}, "too large")]:
        r = rb.api("PUT", f"/v1/secrets/{name}/rotation", body)
        assert_problem(r, 400)
        assert needle in r.json()["detail"], (body, r.text)
    assert_problem(rb.api("PUT", f"/v1/secrets/{name}/rotation", data="[1]",
                          headers={"Content-Type": "application/json"}), 400)
    assert_problem(rb.api("PUT", f"/v1/secrets/{name}/rotation", data="{",
                          headers={"Content-Type": "application/json"}), 400)
    assert_problem(rb.api("PUT", f"/v1/secrets/{name}/rotation", data="x" * (1 << 20),
                          headers={"Content-Type": "application/json"}), 413)
    assert_problem(rb.api("GET", f"/v1/secrets/{name}/rotation"), 404)
    assert_problem(rb.api("POST", f"/v1/secrets/{name}/rotate"), 404)
    assert_problem(rb.api("PUT", "/v1/secrets/no-such-secret/rotation", {"driver": "exec", "command": "/x"}), 404)
    assert_problem(rb.api("GET", "/v1/secrets/bad%20name/rotation"), 400)
    rb.api("PUT", f"/v1/secrets/{name}/rotation", {"driver": "exec", "command": "/bin/false"})
    for body in ({"now": "yes"}, {"later": True}, [True]):
        assert_problem(rb.api("POST", f"/v1/secrets/{name}/rotate", body), 400)
    assert rotation(rb, name)["requested"] is False
    assert_problem(rb.api("POST", f"/v1/secrets/{name}/rotate", token=""), 401)


# ---- the rotation window ----------------------------------------------------------


def test_rotation_waits_for_its_window(rb, tmp_path):
    """A secret whose rotation policy names a change window starts rotating
    only while that window is open; asked for with now, it does not wait."""
    name, window = unique("win-key"), unique("rot-window")
    year = time.gmtime().tm_year + 1
    r = rb.api("PUT", f"/v1/change-windows/{window}", {
        "resources": [f"Secret:{name}"], "timezone": "UTC",
        "schedule": {"start": f"{year}-01-01T00:00", "end": f"{year}-01-01T01:00"}})
    assert r.status_code in (200, 201), r.text
    r = rb.api("PUT", f"/v1/secrets/{name}", {"value": "win-one", "metadata": {
        "rotation": {"rotate_every": "30d", "grace": 0, "window": window}}})
    assert r.status_code == 201, r.text
    target, state = fake_target(tmp_path, "win-one", single=True)
    set_target(rb, name, target)
    rotate(rb, name)
    s = wait_phase(rb, name, lambda s: "waiting for the rotation window" in (s["last_error"] or ""),
                   "the rotation to wait for its window")
    assert s["phase"] == "idle" and s["requested"] and versions(rb, name) == {1: "current"}
    rotate(rb, name, now=True)
    s = wait_phase(rb, name, lambda s: s["phase"] == "idle" and not s["requested"], "the rotation asked with now")
    assert s["last_error"] is None and versions(rb, name) == {1: "retired", 2: "current"}
    # A window that does not exist holds scheduled rotations, and says so.
    other = unique("nowin-key")
    r = rb.api("PUT", f"/v1/secrets/{other}", {"value": "x", "metadata": {
        "rotation": {"rotate_every": "30d", "window": "no-such-window"}}})
    assert r.status_code == 201, r.text
    (tmp_path / "other").mkdir()
    set_target(rb, other, fake_target(tmp_path / "other", "x")[0])
    rotate(rb, other)
    wait_phase(rb, other, lambda s: "no-such-window, does not exist" in (s["last_error"] or ""),
               "the missing window to be reported")


# ---- the CLI -------------------------------------------------------------------


def test_cli_rotate(rb, tmp_path):
    name = unique("cli-key")
    put_secret(rb, name, "cli-one")
    target, state = fake_target(tmp_path, "cli-one", single=True)
    doc = tmp_path / "target.json"
    doc.write_text(json.dumps(target))
    env = cli_env(rb)
    p = run_cli(["secret", "rotation", name, "--target-file", str(doc)], env)
    assert p.returncode == 0, p.stderr
    assert "driver      exec" in p.stdout and "phase       idle" in p.stdout
    p = run_cli(["secret", "rotate", name, "--wait", "60"], env, timeout=90 * SLOW)
    assert p.returncode == 0 and f"secret {name} rotated" in p.stdout, p.stderr
    current = read_value(rb, name)
    assert accepts(state) == [current]
    st = json.loads(state.read_text())
    state.write_text(json.dumps(dict(st, original=current)))  # the credential to roll back to
    p = run_cli(["secret", "rotation", name, "--json"], env)
    assert json.loads(p.stdout)["phase"] == "idle"
    # A rotation that rolls back: exit 1 with the step's error.
    target["config"]["fail_verify_new"] = True
    doc.write_text(json.dumps(target))
    assert run_cli(["secret", "rotation", name, "--target-file", str(doc)], env).returncode == 0
    p = run_cli(["secret", "rotate", name, "--now", "--wait", "60"], env, timeout=90 * SLOW)
    assert p.returncode == 1 and "rolled back" in p.stderr and "credential refused" in p.stderr, p.stderr
    # Usage errors.
    for args, needle in [(["secret", "rotate"], "NAME is required"), (["secret", "rotate", "a b"], "not a secret name"),
                         (["secret", "rotate", name, "--target-file", "x"], "does not apply"),
                         (["secret", "rotate", name, "--wait=0"], "--wait takes"),
                         (["secret", "rotation", name, "--target-file", str(tmp_path / "none.json")], "none.json")]:
        p = run_cli(args, env)
        assert p.returncode == 2 and needle in p.stderr, (args, p.stderr)
    assert "Usage: tollgate secret rotate" in run_cli(["secret", "rotate", "--help"], env).stdout
    assert run_cli(["secret", "rotate", "no-such", "--now"], env).returncode == 1


# ---- SIGKILL at each step --------------------------------------------------------


@pytest.mark.parametrize("op,which", [("set", "new"), ("verify", "new"), ("revoke", "old"), ("verify", "old"),
                                      ("set", "restore")])
def test_sigkill_at_each_step(broker_factory, tmp_path, op, which):
    b = broker_factory(name=f"kill-{op}-{which}")
    name = unique("kill")
    put_secret(b, name, "first-key")
    fifo = tmp_path / "block.fifo"
    os.mkfifo(fifo)
    block = {"op": op, "which": which, "fifo": str(fifo), "pidfile": str(tmp_path / "blocked.pid"),
             "marker": str(tmp_path / "blocked.marker")}
    extra = {"fail_verify_new": True} if which == "restore" else {}
    target, state = fake_target(tmp_path, "first-key", block=block, single=True, **extra)
    if which != "restore":
        target.update(retry_base=1, retry_max=1)
    set_target(b, name, target)
    rotate(b, name)
    pidfile = Path(block["pidfile"])
    wait_for(f"the driver to block at {op} {which}", pidfile.exists, WAIT)
    before = rotation(b, name)["phase"]
    b.kill()
    os.kill(int(pidfile.read_text()), signal.SIGKILL)  # the orphaned driver
    b.start()
    if which == "restore":
        # Verification keeps failing: the rotation rolls back to the first key.
        s = wait_phase(b, name, lambda s: s["phase"] == "idle" and s["failures"] >= 1, "the rollback")
        assert read_value(b, name) == "first-key"
        assert accepts(state) == ["first-key"]
        return
    s = wait_phase(b, name, lambda s: s["phase"] == "idle" and not s["requested"], "the resumed rotation")
    current = read_value(b, name)
    assert current != "first-key", (before, s)
    assert accepts(state) == [current], (before, accepts(state))
    v = versions(b, name)
    assert v[1] == "retired" and list(v.values()).count("current") == 1, v
    recs = [r for r in audit_records(b) if r.get("resource") == f"Secret:{name}"]
    resumed = [r for r in recs if r["type"] == "secret.rotation.step" and r["details"].get("step") == "reconcile"]
    assert resumed and resumed[0]["details"]["from"] == before, (before, resumed)
