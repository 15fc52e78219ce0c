# test_secret_leases.py - dynamic PostgreSQL credentials through a real
# broker and a real PostgreSQL cluster (issue 12, docs/secrets.md "Dynamic
# database credentials"): a lease's role logs in and reads schema app
# during its TTL; when the TTL passes its open session is terminated, the
# role is dropped and the login refused; a lease under a JIT grant ends when
# the grant ends; revoking with the CLI; a restarted broker still revokes
# the leases it made; a target that refuses the revocation (the admin
# password no longer works) makes the lease failed - retried, alerted to a
# real webhook receiver, listed with --state failed - until it is fixed and
# the role revoked; bad input (templates with unknown placeholders or
# placeholders inside quotes, names with SQL in them, oversized templates,
# leases without scope) is refused and changes nothing. The password never
# reaches the server's statement log.
import json
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import test_grants as tg
import test_operators as ops
from pg_cluster import pg_cluster  # noqa: F401  (fixture)
from tollgate_e2e import SLOW, assert_problem, audit_records, cli_env, run_cli, unique, wait_for

READ = "secret.read@Secret:{}"
WAIT = 60 * SLOW
CREATE = ("CREATE ROLE {{name}} LOGIN PASSWORD {{password}} VALID UNTIL {{expiry}};\n"
          "GRANT USAGE ON SCHEMA app TO {{name}}; GRANT SELECT ON ALL TABLES IN SCHEMA app TO {{name}};")


@pytest.fixture(scope="module")
def lb(broker_factory, alert_webhook, pg_cluster):
    url = alert_webhook.url
    pg_cluster.sql("CREATE SCHEMA IF NOT EXISTS app; CREATE TABLE IF NOT EXISTS app.orders (id int);"
                   "INSERT INTO app.orders VALUES (42)")
    return broker_factory(args=ops.FAST_HASH + ["--set", f"alert_webhook={url}"], name="leases")


def define(b, pg, tmp_path, name=None, status=200, **kw):
    """A dynamic secret over the cluster's admin connection; its name."""
    name = name or unique("pgdyn")
    doc = {"driver": "postgres", "dsn": pg.dsn(), "password_file": str(pg.admin_password_file(tmp_path)),
           "creation": CREATE, "max_ttl": 600}
    doc.update(kw)
    r = b.api("PUT", f"/v1/secrets/{name}/dynamic", doc)
    assert r.status_code == status, r.text
    return name


def workload(b, name):
    ident = b.create_identity(permit=[READ.format(name)])
    return ident, b.issue(ident, READ.format(name))


def lease(b, name, token, status=201, **params):
    r = b.api("POST", f"/v1/secrets/{name}/lease", token=token, params=params)
    assert r.status_code == status, r.text
    return r.json()


def lease_state(b, lid):
    r = b.api("GET", f"/v1/leases/{lid}")
    assert r.status_code == 200, r.text
    return r.json()


def wait_state(b, lid, state, timeout=WAIT):
    return wait_for(f"lease {lid} {state}", lambda: (lambda s: s if s["state"] == state else None)(lease_state(b, lid)),
                    timeout=timeout, interval=0.2)


def select_as(pg, user, password):
    env = {"PATH": "/usr/bin:/bin", "PGPASSWORD": password, "LC_ALL": "C", "PGCONNECT_TIMEOUT": "10"}
    return subprocess.run(["/usr/bin/psql", "-X", "-At", "-w", pg.dsn(user=user), "-c", "SELECT id FROM app.orders"],
                          env=env, capture_output=True, text=True, timeout=60)


def open_session(pg, user, password):
    """A session of the role that would stay for two minutes."""
    env = {"PATH": "/usr/bin:/bin", "PGPASSWORD": password, "LC_ALL": "C"}
    p = subprocess.Popen(["/usr/bin/psql", "-X", "-At", "-w", pg.dsn(user=user), "-c", "SELECT pg_sleep(120)"],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for("the role's session", lambda: pg.sql(f"SELECT count(*) FROM pg_stat_activity WHERE usename = '{user}'")
             == "1", timeout=WAIT, interval=0.2)
    return p


def role_exists(pg, role):
    return pg.sql(f"SELECT count(*) FROM pg_roles WHERE rolname = '{role}'") == "1"


def test_lease_works_during_ttl_and_is_revoked_after(lb, pg_cluster, tmp_path):
    pg = pg_cluster
    name = define(lb, pg, tmp_path)
    ident, tok = workload(lb, name)
    got = lease(lb, name, tok, ttl=5)
    user, pw = got["username"], got["password"]
    assert got["lease_id"].startswith("ls-") and user.startswith("tg_pgdyn_") and len(pw) >= 43
    assert got["ttl"] == 5 and got["expires_at"] - int(time.time()) <= 5
    r = select_as(pg, user, pw)
    assert r.returncode == 0 and r.stdout.strip() == "42", r.stderr
    session = open_session(pg, user, pw)
    shown = lease_state(lb, got["lease_id"])
    # on a loaded machine the 5 s may be over already
    assert shown["state"] != "failed" and shown["identity"] == ident.id and "password" not in shown
    done = wait_state(lb, got["lease_id"], "revoked")
    assert done["reason"] == "ttl"
    assert session.wait(timeout=WAIT) != 0  # terminated by the revocation
    assert not pg.can_login(user, pw)
    assert not role_exists(pg, user)
    # audited without the password; the server's statement log saw the verifier only
    kinds = [a["type"] for a in audit_records(lb, resource=f"Secret:{name}")]
    assert "secret.lease.created" in kinds and "secret.lease.revoked" in kinds
    assert pw not in json.dumps(audit_records(lb)) and pw not in lb.log_text()
    assert pw not in pg.log_text() and "SCRAM-SHA-256$" in pg.log_text()


def test_concurrent_leases(lb, pg_cluster, tmp_path):
    """Concurrent GRANTs on one table collide in PostgreSQL ("tuple
    concurrently updated"): the broker serializes a secret's creations."""
    name = define(lb, pg_cluster, tmp_path)
    _, tok = workload(lb, name)
    with ThreadPoolExecutor(8) as ex:
        got = list(ex.map(lambda _: lease(lb, name, tok, ttl=600), range(16)))
    assert len({g["username"] for g in got}) == 16 and len({g["password"] for g in got}) == 16
    for g in got[:3]:
        assert select_as(pg_cluster, g["username"], g["password"]).stdout.strip() == "42"


def test_lease_ttl_is_capped_by_the_token(lb, pg_cluster, tmp_path):
    name = define(lb, pg_cluster, tmp_path, max_ttl=60)
    ident = lb.create_identity(permit=[READ.format(name)])
    tok = lb.issue(ident, READ.format(name), ttl=20)
    got = lease(lb, name, tok, ttl=500)
    assert got["ttl"] <= 20
    got = lease(lb, name, lb.issue(ident, READ.format(name)), ttl=500)
    assert got["ttl"] == 60


def test_lease_ends_with_its_grant(lb, pg_cluster, tmp_path):
    pg = pg_cluster
    name = define(lb, pg, tmp_path)
    scope = READ.format(name)
    wl = lb.create_identity(permit=[])
    lb.add_policy(f'@id("grant-{name}")\n@requires_grant("1")\npermit(principal == Workload::"{wl.id}", '
                  f'action == Action::"secret.read", resource == Secret::"{name}");\n'
                  f'@id("approve-{name}")\npermit(principal, action == Action::"grant.approve", '
                  f'resource == Secret::"{name}");\n')
    g = tg.active_grant(lb, wl, scope=scope)
    tok = lb.issue(wl, scope, form={"grant_id": g["id"]})
    got = lease(lb, name, tok, ttl=600)
    assert lease_state(lb, got["lease_id"])["grant"] == g["id"]
    assert pg.can_login(got["username"], got["password"])
    r = tg.act(lb, g["id"], "end", body={"reason": "done"})
    assert r.status_code == 200, r.text
    done = wait_state(lb, got["lease_id"], "revoked")
    assert done["reason"] in ("grant", "token")
    assert not pg.can_login(got["username"], got["password"])


def test_lease_ends_when_its_token_is_revoked(lb, pg_cluster, tmp_path):
    name = define(lb, pg_cluster, tmp_path)
    _, tok = workload(lb, name)
    got = lease(lb, name, tok, ttl=600)
    assert lb.revoke(tok).status_code == 200
    assert wait_state(lb, got["lease_id"], "revoked")["reason"] == "token"
    assert not pg_cluster.can_login(got["username"], got["password"])


def test_lease_ends_when_its_identity_is_suspended(lb, pg_cluster, tmp_path):
    name = define(lb, pg_cluster, tmp_path)
    ident, tok = workload(lb, name)
    got = lease(lb, name, tok, ttl=600)
    r = lb.api("PATCH", f"/v1/identities/{ident.id}", {"status": "suspended"})
    assert r.status_code == 200, r.text
    assert wait_state(lb, got["lease_id"], "revoked")["reason"] == "identity"
    assert not pg_cluster.can_login(got["username"], got["password"])


def test_revoke_with_the_cli(lb, pg_cluster, tmp_path):
    pg = pg_cluster
    name = define(lb, pg, tmp_path)
    _, tok = workload(lb, name)
    got = lease(lb, name, tok, ttl=600)
    env = cli_env(lb)
    p = run_cli(["secret", "lease", "list", "--secret", name, "--state", "active"], env)
    assert p.returncode == 0 and got["lease_id"] in p.stdout and got["password"] not in p.stdout, p.stderr
    p = run_cli(["secret", "lease", "revoke", got["lease_id"], "--json"], env)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["state"] in ("revoking", "revoked")
    done = wait_state(lb, got["lease_id"], "revoked")
    assert done["reason"] == "operator"
    assert not pg.can_login(got["username"], got["password"])
    p = run_cli(["secret", "lease", "revoke", got["lease_id"]], env)
    assert p.returncode != 0  # revoked already: 409
    # a lease made with the CLI and a workload token
    _, tok2 = workload(lb, name)
    p = run_cli(["secret", "lease", "create", name, "--ttl", "30", "--json"],
                {"TOLLGATE_ADDR": lb.url, "TOLLGATE_TOKEN": tok2})
    assert p.returncode == 0, p.stderr
    made = json.loads(p.stdout)
    assert pg.can_login(made["username"], made["password"])
    p = run_cli(["secret", "dynamic", name], env)
    assert p.returncode == 0 and "max_ttl" in p.stdout, p.stderr


def test_revocation_template(lb, pg_cluster, tmp_path):
    pg = pg_cluster
    name = define(lb, pg, tmp_path, revocation="ALTER ROLE {{name}} NOLOGIN; DROP OWNED BY {{name}}; "
                  "DROP ROLE {{name}};")
    _, tok = workload(lb, name)
    got = [lease(lb, name, tok, ttl=600) for _ in range(3)]
    for g in got:
        assert lb.api("DELETE", f"/v1/leases/{g['lease_id']}").status_code == 202
    for g in got:
        wait_state(lb, g["lease_id"], "revoked")
        assert not role_exists(pg, g["username"])
        assert f'ALTER ROLE "{g["username"]}" NOLOGIN' in pg.log_text()  # the statement log


def test_restart_keeps_leases_and_revokes_them(lb, pg_cluster, tmp_path):
    pg = pg_cluster
    name = define(lb, pg, tmp_path)
    _, tok = workload(lb, name)
    got = lease(lb, name, tok, ttl=4)
    lb.stop()
    time.sleep(5)  # the lease ends while no broker runs
    lb.start()
    wait_state(lb, got["lease_id"], "revoked")
    assert not role_exists(pg, got["username"])


def test_failed_revocation_is_retried_alerted_and_shown(lb, pg_cluster, tmp_path, alert_webhook):
    pg = pg_cluster
    pwfile = pg.admin_password_file(tmp_path)
    name = define(lb, pg, tmp_path)
    _, tok = workload(lb, name)
    got = lease(lb, name, tok, ttl=600)
    pwfile.write_text("not-the-admin-password\n")  # the target refuses the admin connection now
    assert lb.api("DELETE", f"/v1/leases/{got['lease_id']}").status_code == 202
    failed = wait_state(lb, got["lease_id"], "failed")
    assert failed["attempts"] >= 1 and "admin connection failed" in failed["last_error"]
    assert failed["retry_at"] > int(time.time()) - 5
    assert role_exists(pg, got["username"])  # still there, and said so
    wait_for("the revoke_failed alert", lambda: [a for a in alert_webhook.received if a.get("alert") ==
                                                  "secret.lease.revoke_failed" and a["lease"] == got["lease_id"]],
             timeout=WAIT)
    p = run_cli(["secret", "lease", "list", "--state", "failed"], cli_env(lb))
    assert p.returncode == 0 and got["lease_id"] in p.stdout, p.stderr
    assert audit_records(lb, type="secret.lease.revoke_failed")
    pwfile.write_text(pg.admin_password + "\n")  # fixed: the next retry revokes it
    wait_state(lb, got["lease_id"], "revoked", timeout=WAIT + 30)
    assert not role_exists(pg, got["username"])


@pytest.mark.parametrize("member,value,what", [
    ("creation", "CREATE ROLE {{user}} PASSWORD {{password}}", "unknown placeholder"),
    ("creation", "CREATE ROLE '{{name}}' PASSWORD {{password}}", "inside a quoted"),
    ("creation", "CREATE ROLE {{name}} PASSWORD {{password}}; -- {{name}}", "comment"),
    ("creation", "CREATE ROLE {{name}} LOGIN", "{{password}}"),
    ("creation", "CREATE ROLE {name} PASSWORD {{password}}", "brace"),
    ("creation", "CREATE ROLE {{name}} PASSWORD {{password}}" + " " * 9000, "8192"),
    ("revocation", "ALTER ROLE {{name}} PASSWORD {{password}}", "not {{password}}"),
    ("max_ttl", 0, "max_ttl"),
    ("max_ttl", "60", "max_ttl"),
    ("role", "admin", "role"),
    ("dsn", "host=127.0.0.1 password=x", "password"),
])
def test_bad_definitions_are_refused(lb, pg_cluster, tmp_path, member, value, what):
    name = unique("baddyn")
    doc = {"driver": "postgres", "dsn": pg_cluster.dsn(), "password_file": "/nonexistent", "creation": CREATE,
           "max_ttl": 60, member: value}
    r = lb.api("PUT", f"/v1/secrets/{name}/dynamic", doc)
    body = assert_problem(r, 400)
    assert what in body["detail"], body
    assert_problem(lb.api("GET", f"/v1/secrets/{name}/dynamic"), 404)


def test_bad_lease_requests(lb, pg_cluster, tmp_path):
    name = define(lb, pg_cluster, tmp_path)
    other = define(lb, pg_cluster, tmp_path)
    _, tok = workload(lb, name)
    # names with SQL in them are not secret names
    for bad in ["x'; DROP ROLE tollgate_admin; --", 'a"b', "a b"]:
        assert lb.api("POST", f"/v1/secrets/{bad}/lease", token=tok).status_code in (400, 404)
        assert lb.api("PUT", f"/v1/secrets/{bad}/dynamic", {}).status_code in (400, 404)
    body = assert_problem(lb.api("POST", f"/v1/secrets/{other}/lease", token=tok), 403)  # no scope for it
    assert "scope" in body["detail"]
    assert_problem(lb.api("POST", f"/v1/secrets/{name}/lease"), 403)  # the admin reads no credentials
    assert_problem(lb.api("POST", f"/v1/secrets/{name}/lease", token=tok, params={"ttl": "0"}), 400)
    assert_problem(lb.api("POST", f"/v1/secrets/{name}/lease", token=tok, params={"ttl": "abc"}), 400)
    assert_problem(lb.api("POST", f"/v1/secrets/{name}/lease", {"ttl": [1]}, token=tok), 400)
    undefined = unique("nodyn")
    ident = lb.create_identity(permit=[READ.format(undefined)])
    assert_problem(lb.api("POST", f"/v1/secrets/{undefined}/lease", token=lb.issue(ident, READ.format(undefined))),
                   404)
    assert_problem(lb.api("GET", "/v1/leases", params={"state": "bogus"}), 400)
    assert_problem(lb.api("GET", "/v1/leases", params={"limit": "x"}), 400)
    assert_problem(lb.api("GET", "/v1/leases/ls-nope"), 404)
    assert_problem(lb.api("GET", "/v1/leases/not'an-id"), 400)
    assert_problem(lb.api("DELETE", "/v1/leases/ls-nope"), 404)
    r = lb.http.put(lb.url + f"/v1/secrets/{name}/dynamic", data="{not json",
                    headers={"Authorization": f"Bearer {lb.admin_token}", "Content-Type": "application/json"})
    assert_problem(r, 400)
    assert_problem(lb.api("PUT", f"/v1/secrets/{name}/dynamic", [1, 2]), 400)
    # nothing was made for the refusals
    assert [x["lease_id"] for x in lb.api("GET", "/v1/leases", params={"secret": other}).json()["leases"]] == []
