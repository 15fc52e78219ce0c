# test_cli_quickstart.py - the quickstart flow through the `tollgate` CLI
# against a running broker: keys gen -> policy set -> identity create (with
# a role the policy names) -> token issue -> inspect -> introspect -> revoke
# -> introspect shows it inactive.
import json
import os
import stat

import pytest

from tollgate_e2e import assert_oauth_error, jwt_parts, run_cli, unique, verify_pyjwt


QUICKSTART_POLICY = """\
// Services with the role orders-readers may read the orders API, for 10 minutes at most.
@id("orders-readers")
@max_ttl("600")
permit(principal in Role::"orders-readers", action == Action::"orders.read", resource == Api::"orders");

@id("line-3-readers")
permit(principal in Role::"line-3-readers", action == Action::"modbus.read", resource == Zone::"line-3");
"""


@pytest.fixture(scope="module")
def qb(broker_factory):
    """A broker as it comes up the first time: no policy at all."""
    return broker_factory(name="quickstart", policy=None)


@pytest.fixture
def cli(qb):
    env = {"TOLLGATE_ADDR": qb.url, "TOLLGATE_TOKEN": qb.admin_token}
    return lambda *args, **kw: run_cli(args, env_extra=env, **kw)


@pytest.fixture(scope="module")
def policy_file(qb, tmp_path_factory):
    path = tmp_path_factory.mktemp("qs") / "tollgate.cedar"
    path.write_text(QUICKSTART_POLICY)
    p = run_cli(["policy", "set", str(path), "--comment", "quickstart"],
                env_extra={"TOLLGATE_ADDR": qb.url, "TOLLGATE_TOKEN": qb.admin_token})
    assert p.returncode == 0, p.stderr
    assert "policy version 1 in force: 2 policies" in p.stdout, p.stdout
    return path


def test_quickstart(qb, cli, tmp_path, policy_file):
    broker = qb
    key = tmp_path / "orders-svc.key"
    ident = unique("orders-svc")

    p = cli("keys", "gen", "--out", str(key))
    assert p.returncode == 0, p.stderr
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert key.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert (tmp_path / "orders-svc.key.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    kid = next(l.split()[-1] for l in p.stdout.splitlines() if l.startswith("kid:"))

    p = cli("identity", "create", ident, "--kind", "workload", "--owner", "team-payments",
            "--public-key", str(tmp_path / "orders-svc.key.pub"), "--role", "orders-readers",
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


def test_cli_issue_json_dpop_and_stdin(qb, cli, tmp_path, policy_file):
    key = tmp_path / "k"
    assert cli("keys", "gen", "--out", str(key)).returncode == 0
    ident = unique("cli-dpop")
    assert cli("identity", "create", ident, "--kind", "agent", "--owner", "ops", "--public-key",
               str(tmp_path / "k.pub"), "--role", "line-3-readers").returncode == 0
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


def test_cli_refuses_scope_not_permitted(qb, cli, tmp_path, policy_file):
    key = tmp_path / "k"
    assert cli("keys", "gen", "--out", str(key)).returncode == 0
    ident = unique("cli-narrow")
    assert cli("identity", "create", ident, "--kind", "workload", "--owner", "ops", "--public-key",
               str(tmp_path / "k.pub"), "--role", "orders-readers").returncode == 0
    p = cli("token", "issue", "--identity", ident, "--key", str(key), "--scope", "orders.write@Api:orders")
    assert p.returncode != 0
    assert "invalid_scope" in p.stderr
    assert p.stdout.strip() == ""


def test_no_policy_denies_everything(broker_factory, tmp_path):
    # A fresh broker has no policy: every scope is refused until one is set.
    b = broker_factory(name="nopolicy", policy=None)
    assert b.get_policy()["version"] == 0
    ident = b.create_identity(permit=[])
    assert_oauth_error(b.token(ident, "orders.read@Api:orders"), 400, "invalid_scope")


def test_identity_allow_flag_is_gone(cli, tmp_path):
    p = cli("identity", "create", unique("x"), "--kind", "workload", "--owner", "o", "--allow",
            "orders.read@Api:orders")
    assert p.returncode == 2, p.stdout + p.stderr
