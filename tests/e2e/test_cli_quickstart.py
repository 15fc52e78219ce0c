# test_cli_quickstart.py - the quickstart flow through the `tollgate` CLI
# against a running broker: keys gen -> identity create -> token issue ->
# inspect -> introspect -> revoke -> introspect shows it inactive.
import json
import os
import stat

import pytest

from tollgate_e2e import jwt_parts, run_cli, unique, verify_pyjwt


@pytest.fixture
def cli(broker):
    env = {"TOLLGATE_ADDR": broker.url, "TOLLGATE_TOKEN": broker.admin_token}
    return lambda *args, **kw: run_cli(args, env_extra=env, **kw)


def test_quickstart(broker, cli, tmp_path):
    key = tmp_path / "orders-svc.key"
    ident = unique("orders-svc")

    p = cli("keys", "gen", "--out", str(key))
    assert p.returncode == 0, p.stderr
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert key.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert (tmp_path / "orders-svc.key.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    kid = next(l.split()[-1] for l in p.stdout.splitlines() if l.startswith("kid:"))

    p = cli("identity", "create", ident, "--kind", "workload", "--owner", "team-payments",
            "--public-key", str(tmp_path / "orders-svc.key.pub"), "--allow", "orders.read@Api:orders",
            "--max-ttl", "600")
    assert p.returncode == 0, p.stderr
    shown = broker.api("GET", f"/v1/identities/{ident}").json()
    assert shown["status"] == "active" and shown["owner"] == "team-payments" and shown["max_ttl"] == 600
    assert [k["kid"] for k in shown["public_keys"]] == [kid]

    p = cli("token", "issue", "--identity", ident, "--key", str(key), "--scope", "orders.read@Api:orders",
            "--ttl", "120")
    assert p.returncode == 0, p.stderr
    token = p.stdout.strip()
    header, claims = jwt_parts(token)
    assert header["kid"] and claims["sub"] == ident and claims["exp"] - claims["iat"] == 120
    assert verify_pyjwt(broker, token)["scope"] == "orders.read@Api:orders"

    p = cli("token", "inspect", token)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "signature:  valid" in p.stdout

    p = cli("token", "introspect", token)
    assert p.returncode == 0, p.stderr
    info = json.loads(p.stdout)
    assert info["active"] is True and info["sub"] == ident and info["scope"] == "orders.read@Api:orders"

    # The identity may introspect its own token too.
    p = cli("token", "introspect", "--identity", ident, "--key", str(key), token)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["active"] is True

    p = cli("token", "revoke", token)
    assert p.returncode == 0, p.stderr

    p = cli("token", "introspect", token)
    assert p.returncode != 0
    assert json.loads(p.stdout) == {"active": False}
    assert broker.introspect(token) == {"active": False}

    # 6. Decommissioned: offboard it; its other tokens die and it gets no new ones.
    other = cli("token", "issue", "--identity", ident, "--key", str(key), "--scope", "orders.read@Api:orders")
    assert other.returncode == 0, other.stderr
    p = cli("identity", "offboard", ident)
    assert p.returncode == 0, p.stderr
    assert broker.introspect(other.stdout.strip()) == {"active": False}
    p = cli("token", "issue", "--identity", ident, "--key", str(key), "--scope", "orders.read@Api:orders")
    assert p.returncode != 0 and "invalid_client" in p.stderr
    assert broker.api("GET", f"/v1/identities/{ident}").json()["status"] == "offboarded"


def test_cli_issue_json_dpop_and_stdin(broker, cli, tmp_path):
    key = tmp_path / "k"
    assert cli("keys", "gen", "--out", str(key)).returncode == 0
    ident = unique("cli-dpop")
    assert cli("identity", "create", ident, "--kind", "agent", "--owner", "ops", "--public-key",
               str(tmp_path / "k.pub"), "--allow", "modbus.read@Zone:line-3").returncode == 0
    p = cli("token", "issue", "--identity", ident, "--key", str(key), "--scope", "modbus.read@Zone:line-3",
            "--dpop", "--json")
    assert p.returncode == 0, p.stderr
    body = json.loads(p.stdout)
    assert body["token_type"] == "DPoP"
    assert jwt_parts(body["access_token"])[1]["cnf"]["jkt"]
    # `-` reads the token from stdin (keeps it out of the process list).
    p = cli("token", "introspect", "-", stdin=body["access_token"] + "\n")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["token_type"] == "DPoP"


def test_cli_refuses_scope_not_allowed(broker, cli, tmp_path):
    key = tmp_path / "k"
    assert cli("keys", "gen", "--out", str(key)).returncode == 0
    ident = unique("cli-narrow")
    assert cli("identity", "create", ident, "--kind", "workload", "--owner", "ops", "--public-key",
               str(tmp_path / "k.pub"), "--allow", "orders.read@Api:orders").returncode == 0
    p = cli("token", "issue", "--identity", ident, "--key", str(key), "--scope", "orders.write@Api:orders")
    assert p.returncode != 0
    assert "invalid_scope" in p.stderr
    assert p.stdout.strip() == ""
