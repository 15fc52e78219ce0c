# test_audit.py - the tamper-evident audit chain end to end (docs/audit.md):
# every operation that succeeded or was refused is recorded with the right
# type, actor and jti and without any secret; `tollgate audit verify` and
# the independent docs/audit_verify.py agree on a clean export and name the
# same record and reason for each kind of tampering done to the SQLite
# store (edit, delete, swap, truncate, consistent rewrite, forged
# checkpoint, cut beginning) or to an export; partial (--since) and OCSF
# exports verify; a SIGKILL in a burst loses no token.issued record of a
# token a client received; GET /v1/audit filters, pages and refuses bad
# input; `audit trace` and `tail` tell the story in order; periodic
# checkpoints. Regression tests pin the bugs found while writing them.
import calendar
import hashlib
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from types import SimpleNamespace

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tollgate_e2e import (ASSERTION_TYPE, AUDIT_VERIFY_PY, SLOW, Broker, Key, assert_oauth_error, assert_problem,
                          audit_canonical, audit_checkpoints, audit_hash, audit_records, b64u, b64u_decode,
                          cli_env, jwt_parts, run_cli, session)

EVERY = 5
RECORD_MEMBERS = {"action", "actor", "decision", "details", "edge", "grant", "hash", "jti", "policies",
                  "prev", "resource", "seq", "src", "time", "type"}
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def cli(b, *args):
    return run_cli(["audit"] + list(args), env_extra=cli_env(b))


def py_verify(export, keys):
    return subprocess.run([sys.executable, str(AUDIT_VERIFY_PY), str(export), str(keys)],
                          capture_output=True, text=True, timeout=60)


def save_keys(b, path):
    r = b.get("/.well-known/tollgate-audit-keys.json")
    assert r.status_code == 200, r.text
    path.write_text(r.text)
    return r.json()


def export(b, path):
    p = cli(b, "export", "--out", str(path))
    assert p.returncode == 0, p.stdout + p.stderr
    return path


def jti(token):
    return jwt_parts(token)[1]["jti"]


# ---- (a) what is recorded ----

@pytest.fixture(scope="module")
def ab(broker_factory):
    return broker_factory(args=["--set", f"audit_checkpoint_every={EVERY}"], name="audit")


@pytest.fixture(scope="module")
def story(ab):
    """One identity's life, every step checked as the client saw it; the
    secrets that went over the wire are kept to be looked for later."""
    s = SimpleNamespace(secrets=[ab.admin_token], start=audit_records(ab)[-1]["seq"])
    a = s.a = ab.create_identity()
    s.other = ab.create_identity()
    s.secrets += [a.key.pem_body(), b64u(a.key.raw_seed), (ab.data / "master.key").read_text().strip()]

    def keep(*values):
        s.secrets.extend(values)
        return values[0]

    s.t1 = keep(ab.issue(a))
    dkey = s.dkey = Key()
    proof = keep(ab.dpop_proof(dkey), dkey.pem_body())
    r = ab.token(a, dpop=proof)
    assert r.status_code == 200 and r.json()["token_type"] == "DPoP", r.text
    s.t2 = keep(r.json()["access_token"])
    assert_oauth_error(ab.token(a, dpop=proof), 400, "invalid_dpop_proof")          # DPoP replay
    assert_oauth_error(ab.token(a, scope="secrets.read@Vault:x"), 400, "invalid_scope")
    bad = keep(ab.assertion(a, key=Key()))
    assert_oauth_error(ab.token(assertion=bad), 401, "invalid_client")            # wrong key
    once = keep(ab.assertion(a))
    s.t3 = keep(ab.issue(a, assertion=once))
    assert_oauth_error(ab.token(assertion=once), 401, "invalid_client")           # replay
    assert ab.revoke(s.t1).status_code == 200
    assert ab.introspect(s.t1) == {"active": False}
    s.t_other = keep(ab.issue(s.other))
    for patch in ({"owner": "team-audit"}, {"status": "suspended"}, {"status": "active"}):
        r = ab.api("PATCH", f"/v1/identities/{a.id}", patch)
        assert r.status_code == 200, r.text
    s.old_kid = jwt_parts(s.t1)[0]["kid"]
    r = ab.api("POST", "/v1/keys/rotate")
    assert r.status_code == 200, r.text
    s.new_kid = r.json()["current_kid"]
    assert_problem(ab.api("GET", "/v1/identities", token=""), 401)
    r = ab.api("POST", f"/v1/identities/{a.id}/offboard")
    assert r.status_code == 200, r.text
    for t in (s.t1, s.t2, s.t3, s.t_other):  # no part of a token either
        s.secrets += t.split(".")[1:]
    s.records = audit_records(ab, after=s.start)
    return s


def test_every_operation_is_recorded(ab, story):
    a, recs = story.a, story.records
    other = story.other.id
    expected = [  # (type, actor, decision, jti, resource)
        ("identity.created", "admin", "allow", None, f"Identity:{a.id}"),
        ("identity.created", "admin", "allow", None, f"Identity:{other}"),
        ("token.issued", a.id, "allow", jti(story.t1), "orders.read@Api:orders"),
        ("token.issued", a.id, "allow", jti(story.t2), "orders.read@Api:orders"),
        ("token.refused", a.id, "deny", None, None),                        # DPoP proof replayed
        ("token.refused", a.id, "deny", None, "secrets.read@Vault:x"),
        ("auth.failed", a.id, "deny", None, "/oauth/token"),                # wrong key
        ("token.issued", a.id, "allow", jti(story.t3), "orders.read@Api:orders"),
        ("auth.failed", a.id, "deny", None, None),                          # assertion replayed
        ("token.revoked", "admin", "allow", jti(story.t1), None),
        ("token.introspected", "admin", "deny", jti(story.t1), None),
        ("token.issued", other, "allow", jti(story.t_other), "orders.read@Api:orders"),
        ("identity.updated", "admin", "allow", None, f"Identity:{a.id}"),
        ("identity.suspended", "admin", "allow", None, f"Identity:{a.id}"),
        ("identity.reactivated", "admin", "allow", None, f"Identity:{a.id}"),
        ("key.rotated", "admin", None, None, story.new_kid),
        ("auth.failed", None, "deny", None, "/v1/identities"),
        ("identity.offboarded", "admin", "allow", None, f"Identity:{a.id}"),
    ]
    got = [(r["type"], r["actor"], r["decision"], r["jti"], r["resource"]) for r in recs]
    # The replayed assertion is caught either by the assertion cache (the
    # request path) or by the store (action oauth.token, no resource).
    if recs[8]["action"] == "client_assertion":
        expected[8] = expected[8][:4] + ("/oauth/token",)
    assert got == expected
    assert [r["seq"] for r in recs] == list(range(story.start + 1, story.start + 1 + len(expected)))

    for r in recs:
        assert set(r) == RECORD_MEMBERS, r
        assert TIME_RE.match(r["time"]), r["time"]
        # token.issued names the permits that decided it (E2E_POLICY's first one).
        assert r["policies"] == (["e2e-0"] if r["type"] == "token.issued" else []), r
        assert r["edge"] is None and r["grant"] is None
        assert r["hash"] == audit_hash(r)
        if r["type"] != "key.rotated":  # the rotation event is built without the request
            assert r["src"] == "127.0.0.1", r
    for prev, r in zip(recs, recs[1:]):
        assert r["prev"] == prev["hash"]

    by_jti = {r["jti"]: r for r in recs if r["type"] == "token.issued"}
    for tok, binding in ((story.t1, "none"), (story.t2, "dpop"), (story.t3, "none")):
        d = by_jti[jti(tok)]["details"]
        assert d["token_sha256"] == hashlib.sha256(tok.encode()).hexdigest()
        assert d["binding"] == binding and d["auth"] == "private_key_jwt" and d["ttl"] == 300
        assert d["kid"] == jwt_parts(tok)[0]["kid"] and d["scope"] == "orders.read@Api:orders"
    assert by_jti[jti(story.t2)]["details"]["cnf_jkt"] == story.dkey.thumbprint
    assert "replayed" in recs[4]["details"]["reason"] and "DPoP" in recs[4]["details"]["reason"]
    assert recs[5]["details"]["reason"] == "no policy permits it"
    assert recs[5]["details"]["scope"] == "secrets.read@Vault:x" and recs[5]["details"]["decision"] == "deny"
    assert recs[6]["action"] == "client_assertion" and recs[6]["details"]["reason"]
    assert "replayed" in recs[8]["details"]["reason"]
    assert recs[9]["details"] == {"sub": a.id, "exp": jwt_parts(story.t1)[1]["exp"]}
    assert recs[10]["details"]["reason"] and recs[10]["details"]["sub"] == a.id
    assert recs[12]["details"]["changed"] == ["owner"] and recs[12]["details"]["owner"] == "team-audit"
    assert recs[13]["details"]["status"] == "suspended" and recs[14]["details"]["status"] == "active"
    created = recs[0]["details"]
    assert created["kids"] == [a.key.thumbprint] and created["kind"] == "workload"
    assert recs[15]["details"] == {"purpose": "token", "kid": story.new_kid, "retired_kid": story.old_kid}
    assert recs[16]["action"] == "admin_token" and recs[16]["details"] == {"reason": "no bearer token", "count": 1}


def test_no_secret_in_any_record(ab, story, tmp_path):
    api_text = ab.api("GET", "/v1/audit", params={"limit": 1000}).text
    cps_text = ab.api("GET", "/v1/audit/checkpoints").text
    export_text = export(ab, tmp_path / "all.jsonl").read_text()
    db = sqlite3.connect(f"file:{ab.data / 'tollgate.db'}?mode=ro", uri=True)
    db_text = "\n".join(r[0] for r in db.execute("SELECT record FROM audit UNION ALL "
                                                 "SELECT record FROM audit_checkpoints"))
    db.close()
    assert len(story.secrets) >= 20
    for secret in story.secrets:
        assert len(secret) >= 20, secret
        for where, text in (("API", api_text), ("checkpoints", cps_text), ("export", export_text),
                            ("store", db_text)):
            assert secret not in text, f"a secret ({secret[:12]}…) is in the audit log ({where})"


def test_audit_keys_are_public_and_separate(ab):
    keys = ab.get("/.well-known/tollgate-audit-keys.json").json()["keys"]
    assert len(keys) == 1 and keys[0]["crv"] == "Ed25519" and "d" not in keys[0]
    token_kids = {k["kid"] for k in ab.get("/.well-known/jwks.json").json()["keys"]}
    assert keys[0]["kid"] not in token_kids
    assert_problem(ab.api("GET", "/v1/audit/checkpoints", token=""), 401)
    assert_problem(ab.api("GET", "/v1/audit", token="0" * 64), 401)


# ---- (b) verification ----

def quiet_export_and_online_verify(b, tmp_path):
    """An export and an online verification of the same log: the broker
    signs a checkpoint for the tail every audit_checkpoint_interval, which
    may fall between the two, so both are taken between two identical
    exports."""
    for attempt in range(5):
        f = export(b, tmp_path / f"audit-{attempt}.jsonl")
        online = cli(b, "verify")
        if export(b, tmp_path / "audit-after.jsonl").read_bytes() == f.read_bytes():
            return f, online
    pytest.fail("the audit log changed during each of 5 export + verify attempts")


def test_cli_and_python_verifiers_agree_on_a_clean_log(ab, story, tmp_path):
    f, online = quiet_export_and_online_verify(ab, tmp_path)
    assert online.returncode == 0, online.stdout + online.stderr
    n = audit_records(ab)[-1]["seq"]
    assert online.stdout.startswith(f"ok: {n} records (seq 1 to {n}), "), online.stdout
    keys = tmp_path / "audit-keys.json"
    save_keys(ab, keys)
    offline = run_cli(["audit", "verify", "--file", str(f), "--keys", str(keys)])  # no broker needed
    py = py_verify(f, keys)
    assert offline.returncode == 0 and py.returncode == 0, offline.stdout + py.stdout + py.stderr
    assert offline.stdout == online.stdout == py.stdout

    # The export: every record in order, each checkpoint right after the
    # record it names, and at least one checkpoint per EVERY records.
    lines = [json.loads(x) for x in f.read_text().splitlines()]
    records = [x for x in lines if "checkpoint" not in x]
    assert records == audit_records(ab)
    last = 0
    for x in lines:
        if "checkpoint" in x:
            assert x["checkpoint"]["seq"] == last, x
        else:
            last = x["seq"]
    cps = [x["checkpoint"]["seq"] for x in lines if "checkpoint" in x]
    assert len(cps) >= n // EVERY and all(b - a <= EVERY for a, b in zip(cps, cps[1:]))


def test_partial_and_ocsf_exports_verify(ab, story, tmp_path):
    keys = tmp_path / "audit-keys.json"
    save_keys(ab, keys)
    recs = audit_records(ab)
    since = recs[-4]["time"][:19] + "Z"
    f = tmp_path / "since.jsonl"
    p = cli(ab, "export", "--since", since, "--out", str(f))
    assert p.returncode == 0, p.stderr
    lines = [json.loads(x) for x in f.read_text().splitlines()]
    first = lines[0]["seq"]  # a signed record at or before `since`, so the export verifies on its own
    cps = audit_checkpoints(ab)
    assert first > 1 and lines[1] == {"checkpoint": next(c for c in cps if c["seq"] == first)}
    assert lines[1]["checkpoint"]["time"][:19] <= since[:19]
    assert not any(c["time"][:19] < since[:19] for c in cps if c["seq"] > first)  # the newest such
    assert [x for x in lines if "checkpoint" not in x] == [r for r in recs if r["seq"] >= first]
    assert all(r["seq"] >= first for r in recs if r["time"][:19] > since[:19])
    o = tmp_path / "ocsf.jsonl"
    p = cli(ab, "export", "--format", "ocsf", "--out", str(o))
    assert p.returncode == 0, p.stderr
    events = [json.loads(x) for x in o.read_text().splitlines()]
    issued = next(e for e in events if e.get("activity_name") == "token.issued")
    assert issued["class_uid"] == 3002 and issued["status"] == "Success" and issued["actor"]["user"]["name"]
    assert [e["unmapped"]["tollgate_record"] for e in events if "unmapped" in e] == recs
    for path in (f, o):
        offline = run_cli(["audit", "verify", "--file", str(path), "--keys", str(keys)])
        py = py_verify(path, keys)
        assert offline.returncode == 0 and py.returncode == 0 and offline.stdout == py.stdout, \
            offline.stdout + offline.stderr + py.stdout + py.stderr
    assert cli(ab, "export", "--format", "csv").returncode == 2


# ---- (c) tampering in the store ----

@pytest.fixture(scope="module")
def tb(broker_factory, tmp_path_factory):
    """A stopped broker with 27 records and a checkpoint every 5, and a
    pristine copy of its store to tamper with afresh for each case."""
    b = broker_factory(args=["--set", f"audit_checkpoint_every={EVERY}"], name="tamper")
    a = b.create_identity()
    for _ in range(20):
        b.issue(a)
    assert_oauth_error(b.token(a, scope="secrets.read@Vault:x"), 400, "invalid_scope")
    b.revoke(b.issue(a))
    b.checkpoints = [c["seq"] for c in audit_checkpoints(b)]
    b.n = audit_records(b)[-1]["seq"]
    b.ident = a
    b.stop()
    b.pristine = tmp_path_factory.mktemp("pristine") / "tollgate.db"
    shutil.copy(b.data / "tollgate.db", b.pristine)
    assert len(b.checkpoints) >= 4, b.checkpoints
    return b


def rows(c):
    return {seq: json.loads(rec) for seq, rec in c.execute("SELECT seq, record FROM audit")}


def put(c, rec, seq=None):
    text = json.dumps(rec, separators=(",", ":"), ensure_ascii=False)
    c.execute("UPDATE audit SET record = ?, hash = ? WHERE seq = ?", (text, rec["hash"], seq or rec["seq"]))


def rewrite_from(c, k, n):
    """Edits record k and re-chains k..n consistently (hashes recomputed):
    without the audit key, only a signed checkpoint can tell."""
    recs = rows(c)
    recs[k]["actor"] = "mallory"
    for seq in range(k, n + 1):
        r = recs[seq]
        r["prev"] = recs[seq - 1]["hash"]
        r["hash"] = audit_hash(r)
        put(c, r)
    return recs


def forge(c, k, n):
    """A rewrite whose checkpoints are re-signed by the forger's own key
    under the audit key's kid."""
    recs = rewrite_from(c, k, n)
    forger = Ed25519PrivateKey.generate()
    for seq, text in list(c.execute("SELECT seq, record FROM audit_checkpoints WHERE seq >= ?", (k,))):
        cp = json.loads(text)
        cp["hash"] = recs[seq]["hash"]
        cp["sig"] = b64u(forger.sign(audit_canonical({"hash": cp["hash"], "seq": seq, "time": cp["time"]})))
        c.execute("UPDATE audit_checkpoints SET record = ? WHERE seq = ?", (json.dumps(cp), seq))


def swap(c, k):
    recs = rows(c)
    put(c, recs[k + 1], seq=k)
    put(c, recs[k], seq=k + 1)


def run_tampered(tb, tmp_path, edit):
    """Restores the pristine store, tampers with it while the broker is
    stopped, restarts it, and verifies three ways: online, the CLI on an
    export, and docs/audit_verify.py on the same export."""
    db = tb.data / "tollgate.db"
    for suffix in ("-wal", "-shm"):
        (tb.data / f"tollgate.db{suffix}").unlink(missing_ok=True)
    shutil.copy(tb.pristine, db)
    c = sqlite3.connect(db)
    edit(c)
    c.commit()
    c.close()
    tb.start()
    try:
        online = cli(tb, "verify")
        f = export(tb, tmp_path / "tampered.jsonl")
        keys = tmp_path / "audit-keys.json"
        save_keys(tb, keys)
    finally:
        tb.stop()
    offline = run_cli(["audit", "verify", "--file", str(f), "--keys", str(keys)])
    return online, offline, py_verify(f, keys)


def assert_detected(results, seq, keyword):
    for how, p in zip(("online", "CLI --file", "audit_verify.py"), results):
        out = p.stdout + p.stderr
        assert p.returncode == 1, f"{how}: exit {p.returncode}: {out}"
        assert p.stdout.startswith(f"FAILED at seq {seq}: "), f"{how}: {out}"
        assert keyword in p.stdout, f"{how}: no '{keyword}' in {out}"


def middle_record(tb):
    """A record in the middle, not named by a checkpoint, nor next to one."""
    return next(s for s in range(tb.n // 2, tb.n) if not {s - 1, s, s + 1} & set(tb.checkpoints))


def test_tamper_edit(tb, tmp_path):
    k = middle_record(tb)
    results = run_tampered(tb, tmp_path, lambda c: c.execute(
        "UPDATE audit SET record = replace(record, '\"actor\":\"' || actor || '\"', '\"actor\":\"mallory\"') "
        "WHERE seq = ?", (k,)))
    assert_detected(results, k, "edited")


def test_tamper_delete(tb, tmp_path):
    k = middle_record(tb)
    assert_detected(run_tampered(tb, tmp_path, lambda c: c.execute("DELETE FROM audit WHERE seq = ?", (k,))),
                    k, "missing")


def test_tamper_swap(tb, tmp_path):
    k = middle_record(tb)
    assert_detected(run_tampered(tb, tmp_path, lambda c: swap(c, k)), k, "reordered")


# A cut tail below a checkpoint: on restart the broker notices it, records
# audit.integrity_failed and continues the chain after the checkpoint (it
# never reuses a seq a checkpoint vouches for), so the cut shows as a gap.
def test_tamper_truncate_below_a_checkpoint(tb, tmp_path):
    k = tb.checkpoints[-1] - 1  # the last checkpoint names a record that will be gone
    assert_detected(run_tampered(tb, tmp_path, lambda c: c.execute("DELETE FROM audit WHERE seq > ?", (k,))),
                    k + 1, "missing")


def test_tamper_rewrite_caught_by_checkpoint(tb, tmp_path):
    k, cp = tb.checkpoints[-2] + 1, tb.checkpoints[-1]  # every hash and link fits again up to the end
    assert_detected(run_tampered(tb, tmp_path, lambda c: rewrite_from(c, k, tb.n)), cp, "rewritten")


def test_tamper_forged_checkpoint(tb, tmp_path):
    k, cp = tb.checkpoints[-2] + 1, tb.checkpoints[-1]
    assert_detected(run_tampered(tb, tmp_path, lambda c: forge(c, k, tb.n)), cp, "forged")


def test_tamper_delete_the_beginning(tb, tmp_path):
    k = next(s for s in range(3, tb.n) if s not in tb.checkpoints and s - 1 not in tb.checkpoints)
    assert_detected(run_tampered(tb, tmp_path, lambda c: c.execute("DELETE FROM audit WHERE seq < ?", (k,))),
                    k, "missing")


def test_tamper_truncate_across_two_checkpoints(tb, tmp_path):
    k = tb.checkpoints[-3] + 1
    assert_detected(run_tampered(tb, tmp_path, lambda c: c.execute("DELETE FROM audit WHERE seq > ?", (k,))),
                    k + 1, "missing")


def test_export_file_edits_are_detected(ab, story, tmp_path):
    """Editing the export itself (not the store): a nested field, and a
    checkpoint's signature."""
    f = export(ab, tmp_path / "audit.jsonl")
    keys = tmp_path / "audit-keys.json"
    save_keys(ab, keys)
    lines = [json.loads(x) for x in f.read_text().splitlines()]
    issued = next(x for x in lines if x.get("type") == "token.issued")
    issued["details"]["scope"] = "orders.write@Api:orders"
    (tmp_path / "edited.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    issued["details"]["scope"] = "orders.read@Api:orders"
    cp = next(x["checkpoint"] for x in lines[5:] if "checkpoint" in x)
    cp["sig"] = b64u(bytes(64))
    (tmp_path / "forged.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    for name, seq, keyword in (("edited", issued["seq"], "edited"), ("forged", cp["seq"], "forged")):
        path = tmp_path / f"{name}.jsonl"
        results = (run_cli(["audit", "verify", "--file", str(path), "--keys", str(keys)]), py_verify(path, keys))
        for p in results:
            assert p.returncode == 1 and p.stdout.startswith(f"FAILED at seq {seq}: ") and keyword in p.stdout, \
                p.stdout + p.stderr


def test_unparsable_export_line_is_named(ab, story, tmp_path):
    lines = export(ab, tmp_path / "audit.jsonl").read_text().splitlines()
    keys = tmp_path / "audit-keys.json"
    save_keys(ab, keys)
    f = tmp_path / "garbled.jsonl"
    f.write_text("\n".join(lines[:3] + ["{garbage"] + lines[3:]) + "\n")
    seq = json.loads(lines[2]).get("seq") or json.loads(lines[2])["checkpoint"]["seq"]
    py = py_verify(f, keys)
    assert py.returncode == 1 and py.stdout.startswith(f"FAILED at seq {seq + 1}: line 4 "), py.stdout
    p = run_cli(["audit", "verify", "--file", str(f), "--keys", str(keys)])
    assert p.returncode == 1 and p.stdout.startswith(f"FAILED at seq {seq + 1}: ") and "line 4" in p.stdout, \
        p.stdout + p.stderr


# ---- (d) crash ----

def test_sigkill_mid_burst_keeps_every_issued_record(broker_factory):
    b = broker_factory(args=["--set", "audit_checkpoint_every=7"], name="audit-crash")
    ident = b.create_identity()
    threads_n, per_thread, kill_after = 8, 40, 50
    assertions = [[b.assertion(ident, lifetime=290) for _ in range(per_thread)] for _ in range(threads_n)]
    ok, lock, enough = [], threading.Lock(), threading.Event()

    def worker(mine):
        s = session()
        for a in mine:
            try:
                r = s.post(b.token_endpoint, timeout=10, data={
                    "grant_type": "client_credentials", "scope": "orders.read@Api:orders",
                    "client_assertion_type": ASSERTION_TYPE, "client_assertion": a})
            except requests.RequestException:
                return  # the broker is gone
            if r.status_code == 200:
                with lock:
                    ok.append(r.json()["access_token"])
                    if len(ok) >= kill_after:
                        enough.set()

    threads = [threading.Thread(target=worker, args=(mine,)) for mine in assertions]
    for t in threads:
        t.start()
    assert enough.wait(30 * SLOW), f"the burst never reached {kill_after} tokens"
    b.kill()
    for t in threads:
        t.join(30)
    assert kill_after <= len(ok) < threads_n * per_thread, "the kill came after the burst"
    b.start()
    p = cli(b, "verify")
    assert p.returncode == 0, p.stdout + p.stderr
    recorded = {r["jti"] for r in audit_records(b, type="token.issued")}
    lost = [t for t in ok if jti(t) not in recorded]
    assert not lost, f"{len(lost)} of {len(ok)} tokens a client received have no token.issued record"
    # ... and no record of a token that was not committed with it
    db = sqlite3.connect(f"file:{b.data / 'tollgate.db'}?mode=ro", uri=True)
    stored = {r[0] for r in db.execute("SELECT jti FROM tokens")}
    db.close()
    assert recorded <= stored
    # The chain goes on from the recovered head.
    b.issue(ident)
    p = cli(b, "verify")
    assert p.returncode == 0, p.stdout + p.stderr


# ---- (e) reading: filters, pagination, bad input ----

def test_filters(ab, story):
    everything = audit_records(ab)
    a = story.a.id

    def only(**q):
        return [r["seq"] for r in audit_records(ab, **q)]

    assert only(type="token") == [r["seq"] for r in everything if r["type"].startswith("token.")]
    assert {r["type"] for r in audit_records(ab, type="token")} == {
        "token.issued", "token.refused", "token.revoked", "token.introspected"}
    assert only(type="token.issued") == [r["seq"] for r in everything if r["type"] == "token.issued"]
    assert only(type="tok") == [] and only(type="token.iss") == []
    assert only(actor=a) == [r["seq"] for r in everything if r["actor"] == a]
    assert [r["type"] for r in audit_records(ab, jti=jti(story.t1))] == [
        "token.issued", "token.revoked", "token.introspected"]
    assert only(resource=f"Identity:{a}") == [r["seq"] for r in everything if r["resource"] == f"Identity:{a}"]
    deny = audit_records(ab, decision="deny")
    assert deny and all(r["decision"] == "deny" for r in deny)
    assert only(decision="deny", actor=a, type="auth") == [
        r["seq"] for r in everything if r["decision"] == "deny" and r["actor"] == a and r["type"] == "auth.failed"]
    assert only(grant="nope") == []

    assert only(since="2000-01-01T00:00:00Z") == [r["seq"] for r in everything]
    assert only(since="2099-01-01T00:00:00Z") == [] and only(until="2000-01-01T00:00:00Z") == []
    # A whole second in which nothing happened, then a record after it: the
    # second splits the log exactly in two.
    last = calendar.timegm(time.strptime(everything[-1]["time"][:19], "%Y-%m-%dT%H:%M:%S"))
    while time.time() < last + 2:
        time.sleep(0.02)
    quiet = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(last + 1))
    assert_problem(ab.api("GET", "/v1/identities", token=""), 401)  # auth.failed, after the quiet second
    after = audit_records(ab, after=everything[-1]["seq"])
    assert [r["type"] for r in after] == ["auth.failed"]
    assert only(since=quiet) == [after[0]["seq"]]
    assert only(until=quiet) == [r["seq"] for r in everything]


def test_since_until_are_exact_at_second_boundaries(ab, story):
    r = next(x for x in story.records if not x["time"].endswith(".000000Z"))
    t = r["time"][:19] + "Z"  # the whole second r falls in: r is after it
    assert r["seq"] in [x["seq"] for x in audit_records(ab, since=t)]
    assert r["seq"] not in [x["seq"] for x in audit_records(ab, until=t)]


def test_type_filter_is_literal(ab, story):
    for pattern in ("%", "t_ken", "TOKEN", "Token.issued"):
        assert audit_records(ab, type=pattern) == [], pattern


def test_pagination(ab, story):
    everything = audit_records(ab)
    seen, after, pages = [], 0, 0
    while True:
        r = ab.api("GET", "/v1/audit", params={"after": after, "limit": 3})
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["records"]) <= 3
        seen += body["records"]
        pages += 1
        if body["next"] is None:
            break
        assert body["next"] == body["records"][-1]["seq"]
        after = body["next"]
    assert seen == everything and pages >= len(everything) // 3
    r = ab.api("GET", "/v1/audit", params={"after": story.start, "limit": 2, "type": "identity"}).json()
    assert [x["type"] for x in r["records"]] == ["identity.created", "identity.created"]
    assert r["next"] == r["records"][-1]["seq"]
    tail = ab.api("GET", "/v1/audit", params={"after": everything[-1]["seq"]}).json()
    assert tail == {"records": [], "next": None}


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "abc"}, {"limit": "1001"}, {"limit": ""},
                                   {"after": "-1"}, {"after": "1x"}, {"after": "99999999999999999999"},
                                   {"since": "garbage"}, {"since": "2026-11-28"}, {"until": "2026-02-31T00:00:00Z"},
                                   {"since": "2026-11-28T14:00:00+01:00"}])
def test_bad_queries(ab, query):
    assert_problem(ab.api("GET", "/v1/audit", params=query), 400)


def test_bad_checkpoint_queries(ab):
    assert_problem(ab.api("GET", "/v1/audit/checkpoints", params={"limit": "0"}), 400)
    assert_problem(ab.api("GET", "/v1/audit/checkpoints", params={"after": "-5"}), 400)


def test_reading_needs_admin(ab):
    assert_problem(ab.api("GET", "/v1/audit", token=""), 401)
    assert_problem(ab.api("GET", "/v1/audit", params={"limit": "0"}, token="x" * 64), 401)


# ---- (f) the CLI's readable views ----

def test_trace_identity(ab, story):
    a = story.a.id
    p = cli(ab, "trace", "--identity", a)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    got = [(int(m.group(1)), m.group(2)) for m in (re.search(r" #(\d+)\s+(\S+)", x) for x in lines)]
    jtis = {jti(t) for t in (story.t1, story.t2, story.t3)}
    want = [(r["seq"], r["type"]) for r in audit_records(ab)
            if r["actor"] == a or r["resource"] == f"Identity:{a}" or r["jti"] in jtis]
    assert got == want
    types = [t for _, t in got]
    assert types[0] == "identity.created" and types[-1] == "identity.offboarded"
    for t in ("token.issued", "token.refused", "auth.failed", "token.revoked", "identity.suspended"):
        assert t in types, t
    assert types.index("token.issued") < types.index("token.revoked") < types.index("identity.offboarded")
    assert jti(story.t_other) not in p.stdout and story.other.id not in p.stdout
    assert "reason=no policy permits it" in p.stdout

    p = cli(ab, "trace", "--jti", jti(story.t1))
    assert [re.search(r" #\d+\s+(\S+)", x).group(1) for x in p.stdout.splitlines()] == [
        "token.issued", "token.revoked", "token.introspected"]
    assert cli(ab, "trace", "--identity", "nobody-here").stdout.strip() == "no audit records match"
    assert cli(ab, "trace").returncode == 2
    assert cli(ab, "trace", "--identity", a, "--jti", "x").returncode == 2


def test_tail(ab, story):
    last = audit_records(ab)[-3:]
    p = cli(ab, "tail", "-n", "3")
    assert p.returncode == 0, p.stderr
    assert [int(re.search(r" #(\d+) ", x).group(1)) for x in p.stdout.splitlines()] == [r["seq"] for r in last]


# ---- (g) periodic checkpoints ----

def test_periodic_checkpoint(broker_factory, tmp_path):
    b = broker_factory(args=["--set", "audit_checkpoint_interval=1"], name="audit-periodic")

    def wait_for(seq):
        deadline = time.monotonic() + 5 * SLOW
        while time.monotonic() < deadline:
            cps = audit_checkpoints(b)
            if cps and cps[-1]["seq"] >= seq:
                return cps
            time.sleep(0.1)
        pytest.fail(f"no checkpoint at {seq} within {5 * SLOW}s: {audit_checkpoints(b)}")

    wait_for(audit_records(b)[-1]["seq"])
    b.create_identity()
    head = audit_records(b)[-1]
    cps = wait_for(head["seq"])
    cp = cps[-1]
    assert cp["seq"] == head["seq"] and cp["hash"] == head["hash"] and TIME_RE.match(cp["time"])
    jwk = b.get("/.well-known/tollgate-audit-keys.json").json()["keys"][0]
    assert cp["kid"] == jwk["kid"]
    Ed25519PublicKey.from_public_bytes(b64u_decode(jwk["x"])).verify(
        b64u_decode(cp["sig"]), audit_canonical({"hash": cp["hash"], "seq": cp["seq"], "time": cp["time"]}))
    time.sleep(1.5)  # no activity: no new checkpoint
    assert audit_checkpoints(b) == cps


def test_tampered_tail_is_reported_at_start(tmp_path):
    # The broker checks the records since the newest checkpoint before it
    # extends the chain: an edit made while it was down is logged loudly and
    # recorded as audit.integrity_failed (and still fails `audit verify`).
    b = Broker(tmp_path / "tail")
    b.start()
    try:
        b.create_identity()
        b.create_identity()
        b.stop()  # a graceful stop signs a checkpoint of the last record
        db = sqlite3.connect(b.data / "tollgate.db")
        last = db.execute("SELECT seq, record FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        db.execute("UPDATE audit SET record = ? WHERE seq = ?",
                   (last[1].replace('"owner":"team-e2e"', '"owner":"someone-else"'), last[0]))
        db.commit()
        db.close()
        b.start()
        assert "AUDIT CHAIN TAMPERED" in b.log_text(), b.log_text()
        flagged = [r for r in audit_records(b) if r["type"] == "audit.integrity_failed"]
        assert flagged and f"record {last[0]} was edited" in flagged[-1]["details"]["reason"], flagged
    finally:
        b.stop()
