# test_init.py - `tollgate init` (issue 9): the first admin operator of a
# fresh broker, created from the broker's own machine with nothing but a
# password and an authenticator (oathtool here): POST /v1/init works once,
# while the store has no operator; POST /v1/init/confirm completes the
# enrolment with the password and a code (a wrong one gets the login's
# 401, through the login's throttling); afterwards the admin logs in, and init is
# closed (409) for good.
import pytest

import test_operators as ops
from tollgate_e2e import assert_problem, audit_records, cli_env, run_cli

PASSWORD = "a long enough passphrase"


@pytest.fixture(scope="module")
def b(broker_factory):
    return broker_factory(args=ops.FAST_HASH, name="init")


def test_init_once_then_closed(b):
    env = cli_env(b)
    env.pop("TOLLGATE_TOKEN", None)  # nobody is logged in on a fresh broker
    r = run_cli(["init", "root", "--password-stdin"], env_extra=env, stdin=PASSWORD + "\n")
    assert r.returncode == 0, r.stderr
    uri = next(line for line in r.stdout.splitlines() if line.startswith("otpauth://"))
    secret = ops.secret_of(uri)
    assert "--confirm --totp CODE" in r.stdout
    # confirming needs the password and a current code
    bad = run_cli(["init", "root", "--confirm", "--password-stdin", "--totp", ops.totp(secret)], env_extra=env,
                  stdin="wrong password\n")
    assert bad.returncode == 1 and "401" in bad.stderr, bad.stderr
    ok = run_cli(["init", "root", "--confirm", "--password-stdin", "--totp", ops.totp(secret)], env_extra=env,
                 stdin=PASSWORD + "\n")
    assert ok.returncode == 0 and "tollgate login root" in ok.stdout, ok.stderr
    r = ops.login(b, "root", secret, password=PASSWORD)
    assert r.status_code == 200, r.text
    session = r.json()["session_token"]
    assert b.api("GET", "/v1/operators", token=session).json()["operators"][0]["roles"] == ["admin"]
    # closed from now on, over HTTP and the CLI
    problem = assert_problem(b.api("POST", "/v1/init", {"username": "eve", "password": PASSWORD}, token=""), 409)
    assert "operators already" in problem["detail"], problem
    again = run_cli(["init", "eve", "--password-stdin"], env_extra=env, stdin=PASSWORD + "\n")
    assert again.returncode == 1 and "409" in again.stderr, again.stderr
    # the records name the operator itself as the actor
    created = [x for x in audit_records(b, type="operator.created") if x["resource"] == "Operator:root"]
    assert created and created[0]["actor"] == "root" and created[0]["details"]["init"] is True, created


def test_init_bad_input(b):
    for body in ({"username": "x"}, {"password": PASSWORD}, {"username": "a b", "password": PASSWORD},
                 {"username": "root2", "password": "short"},
                 {"username": "root2", "password": PASSWORD, "roles": ["auditor"]}):
        assert_problem(b.api("POST", "/v1/init", body, token=""), 400)
    assert_problem(b.api("POST", "/v1/init/confirm", {"username": "root"}, token=""), 400)


def test_admin_tokens_are_audited(b):
    # The dev-mode admin token (and --bootstrap-admin's, the recovery path)
    # is written to the data directory; its creation is on the record, the
    # token itself never is.
    [rec] = audit_records(b, type="admin_token.created")
    assert rec["details"]["mode"] == "dev" and rec["resource"].endswith("admin.token"), rec
    assert b.admin_token not in str(rec)
