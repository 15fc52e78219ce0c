# test_operators.py - operators with password + TOTP (issue 9): enrolment
# prints an otpauth:// URI whose secret a real authenticator (oathtool, the
# OATH Toolkit's CLI) turns into codes the broker accepts; login needs the
# password and a code not used before, and answers the same 401 whatever was
# wrong; the session token it returns is a /v1 bearer credential with the
# operator's roles, and audit records name the operator as the actor;
# disabling an operator ends its sessions; sessions expire; failed logins
# are throttled and audited like failed client authentication; bad input is
# 400 problem+json. Passwords, TOTP secrets and session tokens never reach
# the broker's log or the audit trail.
#
# Codes: the confirm call uses the current step's code and the first login
# the next step's (`oathtool -N "now + 30 seconds"`, inside the +-1 step
# window), so no test sleeps for a step boundary.
import base64
from concurrent.futures import ThreadPoolExecutor
import json
import os
import subprocess
import time
import urllib.parse

import pytest
import requests

from tollgate_e2e import BIN, assert_problem, audit_records, run_cli, unique, wait_for

PASSWORD = "correct horse battery"
FAST_HASH = ["--set", "operator_pwhash_ops=1", "--set", "operator_pwhash_mem=8388608"]


def totp(secret, when=None):
    cmd = ["oathtool", "--totp", "-b", secret]
    if when:
        cmd += ["-N", when]
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()


def secret_of(uri):
    u = urllib.parse.urlparse(uri)
    assert u.scheme == "otpauth" and u.netloc == "totp", uri
    q = urllib.parse.parse_qs(u.query)
    assert q["issuer"] == ["Tollgate"] and q["algorithm"] == ["SHA1"], uri
    assert q["digits"] == ["6"] and q["period"] == ["30"], uri
    return q["secret"][0]


@pytest.fixture(scope="module")
def b(broker_factory):
    return broker_factory(args=FAST_HASH + ["--set", "log_level=debug"], name="operators")


def create(b, user=None, roles=("admin",), password=PASSWORD):
    user = user or unique("op")
    r = b.api("POST", "/v1/operators", {"username": user, "roles": list(roles), "password": password})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "pending_totp" and body["roles"] == list(roles), body
    uri = body["otpauth_uri"]
    assert uri.startswith(f"otpauth://totp/Tollgate:{user}?secret="), uri
    return user, secret_of(uri)


def confirm(b, user, secret):
    r = b.api("POST", f"/v1/operators/{user}/confirm", {"totp": totp(secret)})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "active"


def login(b, user, secret=None, password=PASSWORD, code=None):
    code = code or totp(secret, "now + 30 seconds")
    return b.http.post(b.url + "/v1/login", json={"username": user, "password": password, "totp": code})


def enrolled(b, roles=("admin",)):
    """An active operator and a session of it: (user, secret, session token)."""
    user, secret = create(b, roles=roles)
    confirm(b, user, secret)
    r = login(b, user, secret)
    assert r.status_code == 200, r.text
    return user, secret, r.json()["session_token"]


def test_enrol_login_and_act_as_operator(b):
    user, secret = create(b)
    listed = {o["username"]: o for o in b.api("GET", "/v1/operators").json()["operators"]}
    assert listed[user]["status"] == "pending_totp" and "otpauth_uri" not in listed[user]
    confirm(b, user, secret)
    r = login(b, user, secret)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["amr"] == ["pwd", "otp"] and body["expires_in"] == 900, body
    assert abs(body["auth_time"] - time.time()) < 30, body
    tok = body["session_token"]
    # The session is a /v1 bearer credential of an admin.
    r = b.api("GET", "/v1/identities", token=tok)
    assert r.status_code == 200, r.text
    ident = unique("by-op")
    r = b.api("POST", "/v1/identities", {"id": ident, "kind": "workload", "owner": "team"}, token=tok)
    assert r.status_code == 201, r.text
    [rec] = audit_records(b, type="identity.created", resource=f"Identity:{ident}")
    assert rec["actor"] == user, rec
    [rec] = audit_records(b, type="login", actor=user)
    assert rec["details"]["amr"] == ["pwd", "otp"] and rec["resource"] == f"Operator:{user}", rec
    created = [r for r in audit_records(b, type="operator.created") if r["resource"] == f"Operator:{user}"]
    confirmed = [r for r in audit_records(b, type="operator.confirmed") if r["resource"] == f"Operator:{user}"]
    assert created[0]["actor"] == "admin" and confirmed[0]["actor"] == "admin"


def test_replayed_code_refused(b):
    user, secret = create(b)
    first = totp(secret)
    r = b.api("POST", f"/v1/operators/{user}/confirm", {"totp": first})
    assert r.status_code == 200, r.text
    # The code of the step used at enrolment: refused.
    assert_problem(login(b, user, code=first), 401)
    nxt = totp(secret, "now + 30 seconds")
    r = login(b, user, code=nxt)
    assert r.status_code == 200, r.text
    # The same code again: refused, though password and code are right.
    assert_problem(login(b, user, code=nxt), 401)


def test_concurrent_logins_with_one_code_one_wins(b):
    # The step is used and the session opened in one store write: of logins
    # racing with the same right code, exactly one gets a session.
    from concurrent.futures import ThreadPoolExecutor
    user, secret = create(b)
    confirm(b, user, secret)
    code = totp(secret, "now + 30 seconds")

    def one(_):
        with requests.Session() as s:
            return s.post(b.url + "/v1/login", json={"username": user, "password": PASSWORD, "totp": code}).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(one, range(8)))
    assert sorted(statuses) == [200] + [401] * 7, statuses


def test_code_from_a_wrong_secret_refused(b):
    user, secret = create(b)
    confirm(b, user, secret)
    other = base64.b32encode(os.urandom(20)).decode()
    assert_problem(login(b, user, code=totp(other, "now + 30 seconds")), 401)
    assert_problem(login(b, user, code="12345"), 401)  # malformed: the same answer
    r = b.api("POST", f"/v1/operators/{unique('nobody')}/confirm", {"totp": "123456"})
    assert_problem(r, 404)


def test_wrong_password_and_unknown_user_indistinguishable(b):
    user, secret = create(b)
    confirm(b, user, secret)
    code = totp(secret, "now + 30 seconds")
    bad_pw = login(b, user, password="wrong password", code=code)
    unknown = login(b, unique("ghost"), password=PASSWORD, code=code)
    bad_code = login(b, user, code="000000" if code != "000000" else "111111")
    bodies = [assert_problem(r, 401) for r in (bad_pw, unknown, bad_code)]
    assert bodies[0] == bodies[1] == bodies[2], bodies
    assert bad_pw.headers.get("WWW-Authenticate") == unknown.headers.get("WWW-Authenticate")
    # The code was never used: the right login still works.
    assert login(b, user, code=code).status_code == 200


def test_login_before_confirm_refused(b):
    user, secret = create(b)
    assert_problem(login(b, user, secret), 401)
    r = b.api("POST", f"/v1/operators/{user}/confirm", {"totp": "000000"})
    assert_problem(r, 400 if totp(secret) != "000000" else 200)


def test_disabled_operator_refused_and_sessions_end(b):
    user, secret, tok = enrolled(b)
    assert b.api("GET", "/v1/identities", token=tok).status_code == 200
    r = b.api("POST", f"/v1/operators/{user}/disable")
    assert r.status_code == 200 and r.json()["status"] == "disabled", r.text
    assert_problem(b.api("GET", "/v1/identities", token=tok), 401)
    assert_problem(login(b, user, secret), 401)
    assert_problem(b.api("POST", f"/v1/operators/{user}/disable"), 409)
    [rec] = [r for r in audit_records(b, type="operator.disabled") if r["resource"] == f"Operator:{user}"]
    assert rec["actor"] == "admin"


def test_auditor_reads_audit_but_may_not_administer(b):
    user, _, tok = enrolled(b, roles=("auditor",))
    assert b.api("GET", "/v1/audit", token=tok, params={"limit": 5}).status_code == 200
    assert b.api("GET", "/v1/audit/checkpoints", token=tok).status_code == 200
    r = b.api("POST", "/v1/identities", {"id": unique("x"), "kind": "workload", "owner": "t"}, token=tok)
    assert_problem(r, 403)
    assert_problem(b.api("GET", "/v1/identities", token=tok), 403)
    assert_problem(b.api("GET", "/v1/operators", token=tok), 403)


def test_large_bodies_for_admin_operators_only(b):
    # PUT /v1/policies may exceed max_body (64 KiB) for admins only: an admin
    # operator's oversized body reaches the handler (400: not a policy
    # document), an auditor's is refused before it is read (413).
    _, _, admin_tok = enrolled(b)
    _, _, auditor_tok = enrolled(b, roles=("auditor",))
    big = json.dumps({"junk": "x" * 100000})
    hdrs = {"Content-Type": "application/json"}
    assert_problem(b.api("PUT", "/v1/policies", data=big, headers=hdrs, token=admin_tok), 400)
    assert_problem(b.api("PUT", "/v1/policies", data=big, headers=hdrs, token=auditor_tok), 413)


def test_admin_operator_manages_operators(b):
    admin, _, tok = enrolled(b)
    r = b.api("POST", "/v1/operators", {"username": unique("op"), "roles": ["approver"],
                                         "password": PASSWORD}, token=tok)
    assert r.status_code == 201, r.text
    [rec] = [x for x in audit_records(b, type="operator.created") if x["resource"] == "Operator:" + r.json()["username"]]
    assert rec["actor"] == admin


@pytest.mark.parametrize("body", [
    {},
    {"username": "a", "password": PASSWORD},
    {"username": "a", "password": PASSWORD, "totp": 123456},
    {"username": ["a"], "password": PASSWORD, "totp": "123456"},
    {"username": "a", "password": None, "totp": "123456"},
    {"username": "a", "password": "x" * 2000, "totp": "123456"},
    {"username": "a" * 200, "password": PASSWORD, "totp": "123456"},
    {"username": "a", "password": PASSWORD, "totp": "1" * 100},
    {"username": "a", "password": PASSWORD, "totp": "123456", "extra": 1},
])
def test_bad_login_input(b, body):
    assert_problem(b.http.post(b.url + "/v1/login", json=body), 400)


def test_bad_login_not_json(b):
    assert_problem(b.http.post(b.url + "/v1/login", data=b"{nope", headers={"Content-Type": "application/json"}), 400)
    assert_problem(b.http.post(b.url + "/v1/login", data=b"[]", headers={"Content-Type": "application/json"}), 400)


@pytest.mark.parametrize("body", [
    {},
    {"username": "bad name", "roles": ["admin"], "password": PASSWORD},
    {"username": "ok", "roles": [], "password": PASSWORD},
    {"username": "ok", "roles": ["root"], "password": PASSWORD},
    {"username": "ok", "roles": ["admin", "admin"], "password": PASSWORD},
    {"username": "ok", "roles": "admin", "password": PASSWORD},
    {"username": "ok", "roles": ["admin"], "password": "short"},
    {"username": "ok", "roles": ["admin"], "password": "x" * 2000},
    {"username": "ok", "roles": ["admin"], "password": 12345678},
    {"username": "ok", "roles": ["admin"], "password": PASSWORD, "totp_secret": "AAAA"},
])
def test_bad_operator_input(b, body):
    assert_problem(b.api("POST", "/v1/operators", body), 400)


def test_bad_confirm_input(b):
    user, _ = create(b)
    for body in ({}, {"totp": 123456}, {"totp": "12345"}, {"totp": "abcdef"}, {"totp": "123456", "x": 1}):
        assert_problem(b.api("POST", f"/v1/operators/{user}/confirm", body), 400)


def test_duplicate_operator_conflicts(b):
    user, _ = create(b)
    r = b.api("POST", "/v1/operators", {"username": user, "roles": ["admin"], "password": PASSWORD})
    assert_problem(r, 409)


def test_session_expires(broker_factory):
    b = broker_factory(args=FAST_HASH + ["--set", "operator_session_ttl=10"], name="opttl")
    _, _, tok = enrolled(b)
    assert b.api("GET", "/v1/identities", token=tok).status_code == 200
    wait_for("the session to expire", lambda: b.api("GET", "/v1/identities", token=tok).status_code == 401,
             timeout=20, interval=0.5)
    assert_problem(b.api("GET", "/v1/identities", token=tok), 401)


def test_brute_force_throttled_and_audited(broker_factory):
    b = broker_factory(args=FAST_HASH + ["--set", "auth_throttle_client_failures=3",
                                         "--set", "auth_throttle_hold=0"], name="opbrute")
    user, secret = create(b)
    confirm(b, user, secret)
    statuses = []
    for i in range(6):
        statuses.append(login(b, user, password=f"guess-{i}xx", code="123456").status_code)
    assert statuses[:3] == [401, 401, 401] and 429 in statuses[3:], statuses
    r = login(b, user, secret)  # right, but throttled: no check, no session
    assert r.status_code == 429 and r.headers.get("Retry-After"), r.text
    recs = wait_for("auth.failed records for the logins",
                    lambda: [x for x in audit_records(b, type="auth.failed") if x["action"] == "login"],
                    timeout=10)
    assert all(x["actor"] == user for x in recs), recs


def test_cli_contract(b):
    env = {"TOLLGATE_ADDR": b.url, "TOLLGATE_TOKEN": b.admin_token}
    user = unique("cli")
    p = run_cli(["operator", "create", user, "--role", "admin", "--role", "auditor", "--password-stdin"],
                env, stdin=PASSWORD + "\n")
    assert p.returncode == 0, p.stderr
    [uri] = [l for l in p.stdout.splitlines() if l.startswith("otpauth://")]
    secret = secret_of(uri)
    p = run_cli(["operator", "list"], env)
    assert p.returncode == 0 and user in p.stdout and "pending_totp" in p.stdout, p.stdout
    p = run_cli(["operator", "create", user + "-qr", "--role", "approver", "--password-stdin", "--qr"],
                env, stdin=PASSWORD + "\n")
    assert p.returncode == 0 and "otpauth://" in p.stdout, p.stderr
    if "\u2580" not in p.stdout and "\u2584" not in p.stdout:
        pytest.skip("built without libqrencode: no QR code")
    noenv = {"TOLLGATE_ADDR": b.url, "TOLLGATE_TOKEN": ""}
    p = run_cli(["login", user, "--password-stdin", "--totp", totp(secret)], noenv, stdin=PASSWORD + "\n")
    assert p.returncode == 1 and p.stderr.startswith("tollgate login:"), p.stderr
    p = run_cli(["operator", "confirm", user, "--totp", totp(secret)], env)
    assert p.returncode == 0 and "active" in p.stdout, p.stderr
    p = run_cli(["login", user, "--password-stdin", "--totp", totp(secret, "now + 30 seconds"), "--json"],
                noenv, stdin=PASSWORD + "\n")
    assert p.returncode == 0, p.stderr
    tok = json.loads(p.stdout)["session_token"]
    p = run_cli(["operator", "list", "--json"], {"TOLLGATE_ADDR": b.url, "TOLLGATE_TOKEN": tok})
    assert p.returncode == 0 and user in [o["username"] for o in json.loads(p.stdout)["operators"]]
    p = run_cli(["operator", "disable", user], env)
    assert p.returncode == 0 and "disabled" in p.stdout, p.stderr
    p = run_cli(["operator", "create", user + "x", "--password-stdin"], env, stdin=PASSWORD + "\n")
    assert p.returncode == 2 and p.stderr.startswith("tollgate operator"), p.stderr
    p = run_cli(["operator", "confirm", user], env)
    assert p.returncode == 2 and "--totp" in p.stderr, p.stderr
    p = run_cli(["operator", "creat"], env)
    assert p.returncode == 2 and "create" in p.stderr, p.stderr
    for args in (["operator", "--help"], ["login", "--help"]):
        p = run_cli(args)
        assert p.returncode == 0 and "Usage: tollgate" in p.stdout, p.stderr


def test_no_secrets_in_log_or_audit(b):
    user, secret, tok = enrolled(b)
    b.api("GET", "/v1/identities", token=tok)
    login(b, user, password="another secret pw", code="123456")
    records = json.dumps(audit_records(b))
    log = b.log_text()
    for what, s in {"password": PASSWORD, "wrong password": "another secret pw", "TOTP secret": secret,
                    "session token": tok}.items():
        assert s not in log, f"{what} in the broker log"
        assert s not in records, f"{what} in the audit trail"


def _on_a_terminal(args, env, answers, timeout=20):
    """Runs the CLI with a pseudo-terminal as its controlling terminal (so
    /dev/tty is the pty), answering each prompt in answers once it appears;
    returns (exit status, everything the terminal showed)."""
    import fcntl
    import select
    import termios
    master, slave = os.openpty()

    def ctty():
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    p = subprocess.Popen([str(BIN)] + args, stdin=slave, stdout=slave, stderr=slave, env=dict(os.environ, **env),
                         start_new_session=True, preexec_fn=ctty)
    os.close(slave)
    shown, pending, pos = b"", list(answers), 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 0.1)
        if r:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
        while pending and shown.find(pending[0][0].encode(), pos) >= 0:
            pos = shown.find(pending[0][0].encode(), pos) + len(pending[0][0])
            os.write(master, pending.pop(0)[1].encode() + b"\n")
        if p.poll() is not None and not r:
            break
    p.wait(timeout=5)
    os.close(master)
    return p.returncode, shown.decode(errors="replace")


def test_prompts_do_not_echo(b):
    env = {"TOLLGATE_ADDR": b.url, "TOLLGATE_TOKEN": b.admin_token}
    user, pw = unique("tty"), "typed-password-" + unique("x")
    rc, shown = _on_a_terminal(["operator", "create", user, "--role", "admin"], env,
                               [("Password: ", pw), ("Password again: ", pw)])
    assert rc == 0, shown
    assert pw not in shown, shown
    [uri] = [l.strip() for l in shown.splitlines() if l.strip().startswith("otpauth://")]
    assert "\u2580" in shown or "\u2584" in shown or "\u2588" in shown  # a QR code on a terminal
    secret = secret_of(uri)
    confirm(b, user, secret)
    rc, shown = _on_a_terminal(["login", user], {"TOLLGATE_ADDR": b.url, "TOLLGATE_TOKEN": ""},
                               [("Password: ", pw), ("TOTP code: ", totp(secret, "now + 30 seconds"))])
    assert rc == 0, shown
    assert pw not in shown, shown
    rc, shown = _on_a_terminal(["operator", "create", unique("tty"), "--role", "admin"], env,
                               [("Password: ", pw), ("Password again: ", pw + "x")])
    assert rc == 1 and "the passwords differ" in shown and pw not in shown, shown


def test_guessing_one_user_from_many_addresses_throttled(broker_factory):
    # Per (address, user) the limit is out of reach here; per user, from any
    # address, it is 4 (auth_throttle_user_failures): the fifth address gets
    # 429 for that user, while other users still get their answers.
    import http.client
    b = broker_factory(args=FAST_HASH + ["--set", "auth_throttle_client_failures=1000",
                                         "--set", "auth_throttle_user_failures=4",
                                         "--set", "auth_throttle_hold=0"], name="opusers")
    user, secret = create(b)
    confirm(b, user, secret)
    other, other_secret = create(b)
    confirm(b, other, other_secret)

    def from_addr(i, username, password, code):
        c = http.client.HTTPConnection("127.0.0.1", b.port, timeout=10, source_address=(f"127.0.0.{i}", 0))
        c.request("POST", "/v1/login", json.dumps({"username": username, "password": password, "totp": code}),
                  {"Content-Type": "application/json"})
        status = c.getresponse().status
        c.close()
        return status

    statuses = [from_addr(10 + i, user, f"guess-{i}-xx", "123456") for i in range(6)]
    assert statuses[:4] == [401] * 4 and statuses[4:] == [429, 429], statuses
    # Another user is not affected, from any of those addresses.
    assert from_addr(12, other, PASSWORD, totp(other_secret, "now + 30 seconds")) == 200


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))


def test_argon2_runs_at_most_pwhash_parallel_at_once(broker_factory):
    # Each Argon2id holds operator_pwhash_mem; a burst of logins (wrong ones
    # cost the same) must not hold it once per request. With 64 MiB and
    # operator_pwhash_parallel=1, four logins at once raise the broker's
    # peak memory by about one hash's worth, not four. (Four, not more: they
    # run one after another, and each waits at most 10 s for its turn before
    # a 503, which a loaded CI machine can reach with eight.)
    mem = 64 * 1024 * 1024
    b = broker_factory(args=["--set", f"operator_pwhash_mem={mem}", "--set", "operator_pwhash_ops=1",
                             "--set", "operator_pwhash_parallel=1"], name="pwhash-parallel")
    with open(f"/proc/{b.proc.pid}/clear_refs", "w") as f:
        f.write("5")  # reset the peak (VmHWM) to the current RSS
    before = peak_rss_kib(b.proc.pid)

    def attempt(i):
        return b.http.post(b.url + "/v1/login", json={"username": f"nobody{i}", "password": "wrong password",
                                                     "totp": "123456"}).status_code
    with ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(attempt, range(4)))
    assert codes == [401] * 4, codes
    grown = peak_rss_kib(b.proc.pid) - before
    assert grown < 2 * mem // 1024, f"peak RSS grew by {grown} KiB for 4 logins at once"
