# test_secrets.py - the secret store (issue 12, docs/secrets.md) through a
# real broker: values go in by an admin and come out only to a workload
# whose token's scope covers secret.read@Secret:NAME and whom policy
# permits at request time; every read is audited, values appear in no
# record, log or database page in plaintext; one-time wrap handles unwrap
# once, a second unwrap is refused, recorded and alerted to a real webhook
# receiver; bad input changes nothing.
import json
import secrets
import threading
import time

import pytest

from tollgate_e2e import SLOW, assert_problem, audit_records, cli_env, run_cli, unique, wait_for

READ = "secret.read@Secret:{}"


@pytest.fixture(scope="module")
def sb(broker_factory, alert_webhook):
    url = alert_webhook.url
    return broker_factory(args=["--set", f"alert_webhook={url}"], name="secrets")


def put(b, name, value=None, metadata=None, status=None):
    body = {}
    if value is not None:
        body["value"] = value
    if metadata is not None:
        body["metadata"] = metadata
    r = b.api("PUT", f"/v1/secrets/{name}", body)
    if status is not None:
        assert r.status_code == status, r.text
    return r


def reader(b, name):
    """A workload permitted to read the secret name, and a token for it."""
    ident = b.create_identity(permit=[READ.format(name)])
    return ident, b.issue(ident, READ.format(name))


def read(b, name, token, **params):
    return b.api("GET", f"/v1/secrets/{name}", token=token, params=params)


def test_put_get_versions_roundtrip(sb):
    name = unique("erp-db")
    r = put(sb, name, "s3cr3t-one", {"owner": "team-erp", "target": "postgres://erp", "consumers": ["svc-a"],
                                     "rotation": {"rotate_every": "30d", "grace": "1h"}}, status=201)
    doc = r.json()
    assert doc["current_version"] == 1 and doc["metadata"]["rotation"] == {"rotate_every": 2592000, "grace": 3600}
    assert doc["next_due"] == doc["last_rotated"] + 2592000
    assert "value" not in json.dumps(doc) and "s3cr3t" not in r.text
    _, tok = reader(sb, name)
    r = read(sb, name, tok)
    assert r.status_code == 200, r.text
    assert r.json() == {"name": name, "version": 1, "value": "s3cr3t-one"}
    assert r.headers["Cache-Control"] == "no-store"
    put(sb, name, 'two "quoted"\n\\ \u00e9\u0001', status=200)
    assert read(sb, name, tok).json()["value"] == 'two "quoted"\n\\ \u00e9\u0001'
    assert read(sb, name, tok, version=1).json() == {"name": name, "version": 1, "value": "s3cr3t-one"}
    v = sb.api("GET", f"/v1/secrets/{name}/versions").json()["versions"]
    assert [(x["version"], x["state"]) for x in v] == [(2, "current"), (1, "previous")]
    meta = sb.api("GET", f"/v1/secrets/{name}/meta").json()
    assert meta["current_version"] == 2 and meta["metadata"]["owner"] == "team-erp"
    assert [x["state"] for x in meta["versions"]] == ["current", "previous"]
    # metadata alone
    r = put(sb, name, metadata={"owner": "team-b"}, status=200)
    assert r.json()["metadata"] == {"owner": "team-b"} and r.json()["next_due"] is None
    listed = sb.api("GET", "/v1/secrets", params={"limit": 1000}).json()["secrets"]
    assert name in [s["name"] for s in listed] and "value" not in json.dumps(listed)
    kinds = [a["type"] for a in audit_records(sb, resource=f"Secret:{name}")]
    assert kinds.count("secret.created") == 1 and kinds.count("secret.updated") == 2
    assert kinds.count("secret.read") == 3


def test_value_never_stored_or_logged_in_plaintext(sb):
    name, value = unique("plain"), "PLAINTEXT-" + unique("marker")
    put(sb, name, value, status=201)
    _, tok = reader(sb, name)
    assert read(sb, name, tok).json()["value"] == value
    r = read(sb, name, tok, wrap=60)
    assert sb.http.post(sb.url + "/v1/secrets/unwrap", json={"handle": r.json()["wrap"]["handle"]}).status_code == 200
    for f in sb.data.iterdir():
        if f.is_file():
            assert value.encode() not in f.read_bytes(), f
    assert value not in sb.log_text()
    assert value not in json.dumps(audit_records(sb))


def test_read_needs_scope_and_policy(sb):
    name, other = unique("scoped"), unique("other")
    put(sb, name, "v1", status=201)
    put(sb, other, "v2", status=201)
    ident, tok = reader(sb, name)
    # scope covers another secret only
    r = read(sb, other, tok)
    assert_problem(r, 403)
    assert "scope" in r.json()["detail"]
    # scope covers it but policy forbids now
    sb.add_policy(f'@id("no-{name}")\nforbid(principal == Workload::"{ident.id}", action, resource == Secret::"{name}");\n')
    r = read(sb, name, tok)
    assert_problem(r, 403)
    assert "policy" in r.json()["detail"]
    recs = audit_records(sb, resource=f"Secret:{name}", type="secret.read")
    assert [x["decision"] for x in recs][-1:] == ["deny"]
    assert audit_records(sb, resource=f"Secret:{other}", type="secret.read")[-1]["decision"] == "deny"
    # admins manage secrets but never read values
    assert_problem(sb.api("GET", f"/v1/secrets/{name}"), 403)


def test_bad_tokens_are_401(sb, broker_factory):
    name = unique("tok")
    put(sb, name, "v", status=201)
    ident, tok = reader(sb, name)
    assert sb.revoke(tok).status_code == 200
    assert_problem(read(sb, name, tok), 401)
    short = sb.issue(ident, READ.format(name), ttl=1)
    time.sleep(2.2)
    assert_problem(read(sb, name, short), 401)
    # a token of another broker (another issuer and key)
    other = broker_factory(name="other")
    o_ident = other.create_identity(permit=[READ.format(name)])
    assert_problem(read(sb, name, other.issue(o_ident, READ.format(name))), 401)
    assert_problem(read(sb, name, ""), 401)
    assert_problem(read(sb, name, "garbage.garbage.garbage"), 401)


def test_wrap_unwrap_once_then_refused_and_alerted(sb, alert_webhook):
    name = unique("wrapped")
    put(sb, name, "wrapped-value", status=201)
    _, tok = reader(sb, name)
    r = read(sb, name, tok, wrap=120)
    assert r.status_code == 201, r.text
    w = r.json()
    assert w["version"] == 1 and w["wrap"]["ttl"] == 120 and "value" not in w
    handle = w["wrap"]["handle"]
    unwrap = sb.url + "/v1/secrets/unwrap"
    r = sb.http.post(unwrap, json={"handle": handle})
    assert r.status_code == 200 and r.json()["value"] == "wrapped-value", r.text
    r = sb.http.post(unwrap, json={"handle": handle})
    assert_problem(r, 410)
    assert_problem(sb.http.post(unwrap, json={"handle": handle[:-2] + "AA"}), 404)
    kinds = [x["type"] for x in audit_records(sb, resource=f"Secret:{name}")]
    assert "secret.wrapped" in kinds and "secret.unwrapped" in kinds and "secret.unwrap_refused" in kinds
    alert = wait_for("the unwrap alert", lambda: [a for a in alert_webhook.received if a.get("secret") == name],
                     10 * SLOW)[0]
    assert alert["alert"] == "secret.unwrap_refused" and alert["severity"] == "high"
    for bad in [{}, {"handle": 5}, {"handle": ""}, {"handle": "x" * 500}, {"handle": "a", "b": 1}, []]:
        assert_problem(sb.http.post(unwrap, json=bad), 400)
    assert_problem(read(sb, name, tok, wrap=0), 400)
    assert_problem(read(sb, name, tok, wrap=86401), 400)


def test_bad_input_changes_nothing(sb):
    name = unique("bad")
    put(sb, name, "keep", status=201)
    before = sb.api("GET", f"/v1/secrets/{name}/meta").json()
    cases = [
        ({"value": "x" * (64 * 1024 + 1)}, 413),
        ({"value": 5}, 400),
        ({"value": "a\u0000b"}, 400),
        ({"metadata": []}, 400),
        ({"metadata": {"owner": 7}}, 400),
        ({"metadata": {"colour": "red"}}, 400),
        ({"metadata": {"consumers": [f"c{i}" for i in range(65)]}}, 400),
        ({"metadata": {"description": "d" * 2000}}, 400),
        ({"metadata": {"rotation": {"rotate_every": "1h", "grace": "2h"}}}, 400),
        ({"value": "v", "extra": 1}, 400),
        ({}, 400),
    ]
    for body, status in cases:
        assert_problem(sb.api("PUT", f"/v1/secrets/{name}", body), status)
    assert_problem(sb.api("PUT", f"/v1/secrets/{name}", data="not json",
                          headers={"Content-Type": "application/json"}), 400)
    assert sb.api("GET", f"/v1/secrets/{name}/meta").json() == before
    for bad in ["a%20b", "a:b", "a%7Cb", "%C3%A4"]:
        assert_problem(sb.api("PUT", f"/v1/secrets/{bad}", {"value": "v"}), 400)
    assert_problem(sb.api("PUT", "/v1/secrets/" + "x" * 129, {"value": "v"}), 404)  # longer than any path id
    assert_problem(sb.api("GET", f"/v1/secrets/{unique('none')}/meta"), 404)
    assert_problem(sb.api("PUT", f"/v1/secrets/{unique('none')}", {"metadata": {}}), 404)
    huge = {"value": "v", "metadata": {"description": "d" * (600 * 1024)}}
    assert sb.api("PUT", f"/v1/secrets/{name}", huge).status_code == 413


def test_delete_is_soft_and_audited(sb):
    name = unique("gone")
    put(sb, name, "bye", status=201)
    _, tok = reader(sb, name)
    w = read(sb, name, tok, wrap=60).json()["wrap"]["handle"]
    r = sb.api("DELETE", f"/v1/secrets/{name}")
    assert r.status_code == 200, r.text
    assert_problem(sb.api("DELETE", f"/v1/secrets/{name}"), 404)
    assert_problem(read(sb, name, tok), 404)
    assert_problem(sb.api("GET", f"/v1/secrets/{name}/meta"), 404)
    assert sb.http.post(sb.url + "/v1/secrets/unwrap", json={"handle": w}).status_code == 404
    assert audit_records(sb, resource=f"Secret:{name}", type="secret.deleted")
    # the name can be used again: a new data key, the old versions retired
    put(sb, name, "again", status=201)
    assert read(sb, name, tok).json() == {"name": name, "version": 2, "value": "again"}


def test_cli_put_get_unwrap_list_show_delete(sb, tmp_path):
    env = cli_env(sb)
    name = unique("cli")
    p = run_cli(["secret", "put", name, "--value-stdin", "--owner", "team-cli", "--consumer", "svc-a",
                 "--rotate-every", "7d", "--grace", "1h"], env, stdin="cli-value-1\n")
    assert p.returncode == 0 and "version 1 is current" in p.stdout, p.stderr
    ident = sb.create_identity(permit=[READ.format(name)])
    keyfile = tmp_path / "wl.pem"
    keyfile.write_text(ident.key.priv_pem)
    keyfile.chmod(0o600)
    get = ["secret", "get", name, "--identity", ident.id, "--key", str(keyfile)]
    for extra in ([], ["--dpop"]):
        p = run_cli(get + extra, env)
        assert p.returncode == 0 and p.stdout == "cli-value-1", (p.stdout, p.stderr)
    vf = tmp_path / "v2"
    vf.write_bytes(b"line1\nline2\n")
    assert run_cli(["secret", "put", name, "--value-file", str(vf)], env).returncode == 0
    assert run_cli(get, env).stdout == "line1\nline2\n"
    assert run_cli(get + ["--version", "1"], env).stdout == "cli-value-1"
    assert json.loads(run_cli(get + ["--json"], env).stdout)["version"] == 2
    # a workload's token in TOLLGATE_TOKEN
    tok = sb.issue(ident, READ.format(name))
    assert run_cli(["secret", "get", name], dict(env, TOLLGATE_TOKEN=tok)).stdout == "line1\nline2\n"
    # wrap, unwrap once
    handle = run_cli(get + ["--wrap", "60"], env).stdout.strip()
    p = run_cli(["secret", "unwrap", "-"], {"TOLLGATE_ADDR": sb.url}, stdin=handle + "\n")
    assert p.returncode == 0 and p.stdout == "line1\nline2\n", p.stderr
    p = run_cli(["secret", "unwrap", handle], {"TOLLGATE_ADDR": sb.url})
    assert p.returncode != 0 and "unwrapped already" in p.stderr
    # generated, never printed
    p = run_cli(["secret", "put", name, "--generate", "32"], env)
    assert p.returncode == 0 and "version 3" in p.stdout
    assert len(run_cli(get, env).stdout) == 32
    p = run_cli(["secret", "show", name], env)
    assert p.returncode == 0 and "team-cli" in p.stdout and "previous" in p.stdout and "current" in p.stdout
    assert name in run_cli(["secret", "list"], env).stdout
    assert "VERSION" in run_cli(["secret", "versions", name], env).stdout
    assert run_cli(["secret", "delete", name], env).returncode == 0
    assert run_cli(get, env).returncode != 0


def test_cli_refuses_values_on_the_command_line(sb):
    env = cli_env(sb)
    p = run_cli(["secret", "put", unique("x"), "hunter2"], env)
    assert p.returncode == 2 and "never go on the command line" in p.stderr
    p = run_cli(["secret", "put", unique("x"), "--value-stdin", "--generate", "20"], env)
    assert p.returncode == 2
    p = run_cli(["secret", "put", "bad name", "--generate", "20"], env)
    assert p.returncode == 2 and "not a secret name" in p.stderr
    p = run_cli(["secret", "get", "x", "--identity", "a"], env)
    assert p.returncode == 2
    for verb in ["put", "get", "unwrap", "list", "show", "versions", "delete"]:
        p = run_cli(["secret", verb, "--help"], env)
        assert p.returncode == 0 and "Usage: tollgate secret " + verb in p.stdout


def test_rekey_keeps_every_secret_readable_and_retires_the_old_key(broker_factory, tmp_path):
    b = broker_factory(name="rekey")
    names = [unique("rk") for _ in range(25)]
    for i, n in enumerate(names):
        put(b, n, f"value-{i}", status=201)
    ident = b.create_identity(permit=[READ.format(n) for n in names])
    tok = b.issue(ident, " ".join(READ.format(n) for n in names[:5]))
    key_file = b.data / "master.key"
    old_key = key_file.read_text()
    # reads keep working while the rekey runs
    stop, failures, reads = threading.Event(), [], [0]

    def reader_loop():
        while not stop.is_set():
            r = read(b, names[reads[0] % 5], tok)
            reads[0] += 1
            if r.status_code != 200:
                failures.append(r.text)

    t = threading.Thread(target=reader_loop)
    t.start()
    try:
        p = run_cli(["rekey", "--json"], cli_env(b))
    finally:
        stop.set()
        t.join()
    assert p.returncode == 0, p.stderr
    rep = json.loads(p.stdout)
    assert rep["secrets_rewrapped"] == 25 and rep["signing_keys_resealed"] >= 2, rep
    assert rep["master_key_id"] != rep["previous_master_key_id"]
    assert failures == [] and reads[0] > 0, failures[:3]
    new_key = key_file.read_text()
    assert new_key != old_key and (key_file.stat().st_mode & 0o777) == 0o600
    assert not (b.data / "master.key.next").exists()
    for i, n in enumerate(names[:5]):
        assert read(b, n, tok).json()["value"] == f"value-{i}"
    recs = audit_records(b, type="secret.rekeyed")
    assert {r["resource"] for r in recs} >= {f"Secret:{n}" for n in names}
    assert audit_records(b, type="master_key.rekeyed")
    assert run_cli(["rekey"], cli_env(b)).returncode == 0  # again: every secret once more
    # after a restart with the new key everything opens; the old key opens nothing
    b.stop()
    newest = key_file.read_text()
    key_file.write_text(old_key)
    with pytest.raises(AssertionError, match="does not unseal"):
        b.start()
    key_file.write_text(newest)
    b.start()
    tok = b.issue(ident, READ.format(names[7]))
    assert read(b, names[7], tok).json()["value"] == "value-7"


def test_interrupted_rekey_is_completed_at_start(broker_factory):
    b = broker_factory(name="rekey-resume")
    name = unique("resume")
    put(b, name, "survives", status=201)
    ident = b.create_identity(permit=[READ.format(name)])
    b.stop()
    # as if the broker died right after writing the new key (step 1)
    nxt = b.data / "master.key.next"
    nxt.write_text(secrets.token_hex(32) + "\n")
    nxt.chmod(0o600)
    new_key = nxt.read_text()
    b.start()
    assert not nxt.exists() and (b.data / "master.key").read_text() == new_key
    assert read(b, name, b.issue(ident, READ.format(name))).json()["value"] == "survives"
    assert audit_records(b, type="secret.rekeyed", resource=f"Secret:{name}")
