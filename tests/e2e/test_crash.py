# test_crash.py - crash consistency: SIGKILL the broker in the middle of a
# burst of concurrent token requests, restart it on the same data
# directory, and require an intact store (PRAGMA integrity_check) in which
# every token a client received a 200 for is still active (the signing key
# survives too: it is sealed in the store). And a SIGTERM in the middle of
# such a burst, while token requests wait for their commit group (their
# connections suspended), stops the broker cleanly: each is answered or
# its connection closed, and every token answered is in the audit chain.
import subprocess
import threading

import requests

from tollgate_e2e import ASSERTION_TYPE, audit_records, jwt_parts, session, verify_pyjwt

THREADS = 8
PER_THREAD = 50
KILL_AFTER = 60  # successful issuances before the SIGKILL


def burst(b, ident, stop_broker, per_thread=PER_THREAD):
    """THREADS clients request tokens back to back until stop_broker (the
    broker's kill or stop) ends the broker after KILL_AFTER tokens; returns
    the (assertion, token) pairs answered 200 and every other outcome."""
    # Pre-sign the assertions so that the burst is limited by the broker.
    assertions = [[b.assertion(ident, lifetime=290) for _ in range(per_thread)] for _ in range(THREADS)]
    ok, failed, lock = [], [], threading.Lock()
    enough = threading.Event()

    def worker(mine):
        s = session()
        for a in mine:
            try:
                r = s.post(b.token_endpoint, timeout=10,
                           data={"grant_type": "client_credentials", "scope": "orders.read@Api:orders",
                                 "client_assertion_type": ASSERTION_TYPE,
                                 "client_assertion": a})
            except requests.RequestException as e:
                with lock:
                    failed.append(repr(e))
                return  # the broker is gone
            with lock:
                if r.status_code == 200:
                    ok.append((a, r.json()["access_token"]))
                    if len(ok) >= KILL_AFTER:
                        enough.set()
                else:
                    failed.append(f"{r.status_code} {r.text}")

    threads = [threading.Thread(target=worker, args=(mine,)) for mine in assertions]
    for t in threads:
        t.start()
    assert enough.wait(60), f"the burst never reached {KILL_AFTER} tokens: {failed[:3]}"
    stop_broker()
    for t in threads:
        t.join(30)
    return ok, failed


def test_sigkill_mid_burst_loses_no_acknowledged_token(broker_factory):
    b = broker_factory(name="crash")
    ident = b.create_identity()
    ok, failed = burst(b, ident, b.kill)
    acknowledged = [t for _, t in ok]
    print(f"acknowledged {len(acknowledged)}, failed {len(failed)}")
    assert len(acknowledged) < THREADS * PER_THREAD, "the kill came after the burst: nothing was in flight"
    assert all("RequestException" in f or "Connection" in f or "Error" in f for f in failed), failed[:3]

    b.start()
    p = subprocess.run(["sqlite3", str(b.data / "tollgate.db"), "PRAGMA integrity_check"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout.strip() == "ok", p.stdout + p.stderr

    inactive = [t for t in acknowledged if b.introspect(t).get("active") is not True]
    assert not inactive, f"{len(inactive)} of {len(acknowledged)} acknowledged tokens were lost"
    p = subprocess.run(["sqlite3", str(b.data / "tollgate.db"),
                        f"SELECT count(*) FROM tokens WHERE identity_id = '{ident.id}'"],
                       capture_output=True, text=True, timeout=60)
    assert int(p.stdout) >= len(acknowledged)

    # Same signing key after the restart: old tokens verify with the JWKS,
    # and new tokens are signed by it.
    verify_pyjwt(b, acknowledged[0])
    fresh = b.issue(ident)
    assert jwt_parts(fresh)[0]["kid"] == jwt_parts(acknowledged[0])[0]["kid"]
    # Assertions that were spent before the crash stay spent.
    r = b.token(ident, assertion=ok[0][0])
    assert r.status_code == 401, r.text


def test_restart_keeps_identities_and_admin_state(broker_factory):
    b = broker_factory(name="restart")
    ident = b.create_identity()
    token = b.issue(ident)
    b.restart()
    assert b.api("GET", f"/v1/identities/{ident.id}").status_code == 200
    assert b.introspect(token)["active"] is True
    b.revoke(token)
    b.kill()
    b.start()
    assert b.introspect(token) == {"active": False}, "an acknowledged revocation was lost"


def test_sigterm_mid_burst_stops_cleanly(broker_factory):
    b = broker_factory(name="term")
    ident = b.create_identity()
    # stop(): exit 0, "stopped cleanly", no sanitizer report. The clients
    # keep sending on their connections during the stop's grace period, so
    # requests are held for their commit when libmicrohttpd stops (before
    # oauth_issue_release, that aborted the process).
    ok, failed = burst(b, ident, b.stop, per_thread=4 * PER_THREAD)
    acknowledged = [t for _, t in ok]
    assert all("RequestException" in f or "Connection" in f or "Error" in f for f in failed), failed[:3]
    b.start()
    issued = {r["jti"] for r in audit_records(b, type="token.issued", actor=ident.id)}
    missing = [t for t in acknowledged if jwt_parts(t)[1]["jti"] not in issued]
    assert not missing, f"{len(missing)} of {len(acknowledged)} answered tokens have no token.issued record"
    inactive = [t for t in acknowledged if b.introspect(t).get("active") is not True]
    assert not inactive, f"{len(inactive)} of {len(acknowledged)} answered tokens were lost"
