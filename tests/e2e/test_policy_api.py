# test_policy_api.py - Cedar policies in the broker (issue 3): PUT/GET
# /v1/policies, versions and history, a bad set refused with its line and
# column while the previous set stays in force, the policy.changed audit
# record (ids added, removed, changed) verifying with `tollgate audit
# verify`, the `tollgate policy` CLI (set, get, history, diff, check, eval),
# and issuance decided by policy: roles as parents, forbid wins, determining
# ids in token.issued / token.refused, @max_ttl capping the TTL, unmet
# obligations named, request context (src_ip, hour, weekday), readers never
# failing while the set is replaced, metrics. Malformed, oversized and
# wrong-typed bodies are refused with RFC 9457 problems.
import hashlib
import json
import threading

import pytest

from tollgate_e2e import (assert_oauth_error, assert_problem, audit_records, cli_env, jwt_parts, run_cli,
                          parse_metrics, scope_permit, session, unique)

SHA_EMPTY = hashlib.sha256(b"").hexdigest()

V1 = """\
@id("readers")
permit(principal in Role::"readers", action == Action::"orders.read", resource == Api::"orders");

@id("writers")
@max_ttl("120")
permit(principal in Role::"writers", action == Action::"orders.write", resource == Api::"orders");
"""

V2 = """\
// readers unchanged (layout and comments do not count)
@id("readers")
permit(principal in Role::"readers",
       action == Action::"orders.read",
       resource == Api::"orders");

@id("writers")
@max_ttl("60")
permit(principal in Role::"writers", action == Action::"orders.write", resource == Api::"orders");

@id("no-night-writes")
forbid(principal, action == Action::"orders.write", resource) when { context.hour == 99 };
"""


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module")
def pb(broker_factory):
    """A broker that starts with no policy at all."""
    return broker_factory(name="policy", policy=None)


def put_text(b, text, comment=None, token=None, ctype="text/plain"):
    params = {"comment": comment} if comment is not None else None
    headers = {"Content-Type": ctype}
    return b.api("PUT", "/v1/policies", token=token, data=text.encode() if isinstance(text, str) else text,
                 headers=headers, params=params)


def cli(b, *args):
    return run_cli(list(args), env_extra=cli_env(b))


# ---- versions ----

def test_versions_history_and_get(pb):
    cur = pb.get_policy()
    assert cur["version"] == 0 and cur["text"] == "" and cur["sha256"] == SHA_EMPTY and cur["policies"] == 0

    r = put_text(pb, V1, comment="first")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["version"] == 1 and body["sha256"] == sha(V1) and body["policies"] == 2
    assert sorted(body["added"]) == ["readers", "writers"] and body["removed"] == body["changed"] == []

    body = pb.set_policy(V2, comment="second")
    assert body["version"] == 2 and body["policies"] == 3
    assert body["added"] == ["no-night-writes"] and body["changed"] == ["writers"] and body["removed"] == []

    cur = pb.get_policy()
    assert cur["version"] == 2 and cur["text"] == V2 and cur["sha256"] == sha(V2)
    assert cur["comment"] == "second" and cur["actor"] == "admin" and cur["policies"] == 3
    assert cur["created_at"].endswith("Z")
    old = pb.get_policy(1)
    assert old["text"] == V1 and old["version"] == 1 and old["comment"] == "first"

    r = pb.api("GET", "/v1/policies/history")
    assert r.status_code == 200, r.text
    hist = r.json()
    assert [v["version"] for v in hist["versions"][:2]] == [2, 1] and hist["next"] is None
    assert "text" not in hist["versions"][0]
    assert hist["versions"][1]["sha256"] == sha(V1) and hist["versions"][1]["policies"] == 2


def test_same_text_again_makes_no_version(pb):
    before = pb.get_policy()["version"]
    body = pb.set_policy(pb.get_policy()["text"])
    assert body["unchanged"] is True and body["version"] == before
    assert pb.get_policy()["version"] == before


def test_history_pages(pb):
    base = pb.get_policy()["version"]
    for i in range(3):
        pb.set_policy(V2 + f'@id("page-{i}")\npermit(principal == Workload::"p{i}", action, resource == Api::"x");\n')
    r = pb.api("GET", "/v1/policies/history", params={"limit": 2})
    page = r.json()
    assert [v["version"] for v in page["versions"]] == [base + 3, base + 2] and page["next"] == base + 2
    r = pb.api("GET", "/v1/policies/history", params={"limit": 2, "before": page["next"]})
    assert [v["version"] for v in r.json()["versions"]] == [base + 1, base]
    pb.set_policy(V2)


@pytest.mark.parametrize("path", ["/v1/policies/0", "/v1/policies/999999", "/v1/policies/abc",
                                  "/v1/policies/-1", "/v1/policies/1.5", "/v1/policies/%2B1",
                                  "/v1/policies/99999999999999999999999"])
def test_unknown_versions_are_404(pb, path):
    assert_problem(pb.api("GET", path), 404)


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "1001"}, {"limit": "x"}, {"before": "-1"},
                                   {"before": "1e3"}])
def test_history_refuses_bad_query(pb, query):
    assert_problem(pb.api("GET", "/v1/policies/history", params=query), 400)


# ---- bad sets ----

BAD_SETS = {
    "syntax": ('permit(principal, action, resource) when { 1 + };', 1, 48),
    "second policy": ('permit(principal, action, resource);\n\nforbid(principal action, resource);', 3, 18),
    "unknown function": ('permit(principal, action, resource) when { frob(1) };', 1, 44),
    "bad max_ttl": ('@max_ttl("soon")\npermit(principal, action, resource);', None, None),
    "duplicate id": ('@id("a")\npermit(principal, action, resource);\n@id("a")\nforbid(principal, action, resource);',
                     None, None),
    "unterminated string": ('permit(principal == Workload::"x, action, resource);', None, None),
}


@pytest.mark.parametrize("name", sorted(BAD_SETS))
def test_bad_set_is_refused_with_position_and_nothing_changes(pb, name):
    text, line, column = BAD_SETS[name]
    before = pb.get_policy()
    for r in (put_text(pb, text), pb.api("PUT", "/v1/policies", {"policies": text})):
        body = assert_problem(r, 400)
        assert isinstance(body["line"], int) and isinstance(body["column"], int), body
        assert f"line {body['line']}, column {body['column']}" in body["detail"], body
        if line is not None:
            assert (body["line"], body["column"]) == (line, column), body
    after = pb.get_policy()
    assert after["version"] == before["version"] and after["text"] == before["text"]


def test_bad_set_keeps_previous_set_in_force(pb):
    ident = pb.create_identity(permit=[], roles=["readers"])
    assert pb.token(ident, "orders.read@Api:orders").status_code == 200
    assert_problem(put_text(pb, "forbid(principal, action, resource);\npermit(("), 400)
    assert pb.token(ident, "orders.read@Api:orders").status_code == 200


def test_invalid_utf8_is_refused_with_position(pb):
    body = assert_problem(put_text(pb, b'permit(principal, action, resource) when { "\xff" == "x" };'), 400)
    assert body["line"] == 1 and "UTF-8" in body["detail"]


# ---- malformed, wrong-typed and oversized bodies ----

@pytest.mark.parametrize("body, status", [
    (b"[1]", 400),
    (b'"permit(principal, action, resource);"', 400),
    (b"{", 400),
    (b"{}", 400),
    (b'{"policies": 5}', 400),
    (b'{"policies": ["permit(principal, action, resource);"]}', 400),
    (b'{"policies": null}', 400),
    (b'{"policies": "", "comment": 5}', 400),
    (b'{"policies": "", "extra": 1}', 400),
    (b'{"policies": "", "policies": "x"}', 400),
    (('{"policies": "", "comment": "%s"}' % ("c" * 1025)).encode(), 400),
])
def test_malformed_json_bodies(pb, body, status):
    before = pb.get_policy()["version"]
    assert_problem(pb.api("PUT", "/v1/policies", data=body, headers={"Content-Type": "application/json"}),
                   status)
    assert pb.get_policy()["version"] == before


@pytest.mark.parametrize("ctype", [None, "application/x-www-form-urlencoded", "application/octet-stream",
                                   "text/html"])
def test_wrong_content_type_is_415(pb, ctype):
    headers = {"Content-Type": ctype} if ctype else {}
    r = pb.api("PUT", "/v1/policies", data=b"permit(principal, action, resource);", headers=headers)
    if ctype is None:
        r = pb.api("PUT", "/v1/policies", data=b"permit(principal, action, resource);",
                   headers={"Content-Type": ""})
    assert_problem(r, 415)


def test_policies_need_the_admin_token(pb):
    assert_problem(pb.api("GET", "/v1/policies", token=""), 401)
    assert_problem(pb.api("GET", "/v1/policies/history", token="nope"), 401)
    assert_problem(put_text(pb, "permit(principal, action, resource);", token=""), 401)
    assert pb.get_policy()["text"] != "permit(principal, action, resource);"


def test_large_bodies_only_for_the_admin(pb):
    # Past max_body (64 KiB) only an administrator's upload is read at all.
    big = "".join(f'@id("big-{i}")\npermit(principal == Workload::"w{i}", action == Action::"a.b", '
                  f'resource == Api::"r{i}");\n' for i in range(12000))
    assert len(big) > 1024 * 1024
    assert_problem(put_text(pb, big, token=""), 413)
    r = put_text(pb, big)
    assert r.status_code == 200, r.text[:500]
    assert r.json()["policies"] == 12000
    assert pb.get_policy()["policies"] == 12000
    pb.set_policy(V2)


def test_oversized_set_is_413(pb):
    huge = b"//" + b"x" * (32 * 1024 * 1024 + 64 * 1024)
    assert_problem(put_text(pb, huge), 413)


def test_wrong_methods(pb):
    assert_problem(pb.api("POST", "/v1/policies", {"policies": ""}), 405)
    assert_problem(pb.api("DELETE", "/v1/policies"), 405)
    assert_problem(pb.api("PUT", "/v1/policies/1", {"policies": ""}), 405)


# ---- audit ----

def test_policy_changed_records_verify(pb, tmp_path):
    start = audit_records(pb)[-1]["seq"]
    pb.set_policy(V1, comment="back to one")
    recs = [r for r in audit_records(pb, after=start) if r["type"] == "policy.changed"]
    assert len(recs) == 1
    r = recs[0]
    assert r["actor"] == "admin" and r["decision"] == "allow" and r["resource"] == "policies"
    d = r["details"]
    cur = pb.get_policy()
    assert d["version"] == cur["version"] and d["sha256"] == sha(V1) and d["policies"] == 2
    assert d["comment"] == "back to one"
    assert d["added"] == [] and d["changed"] == ["writers"] and "no-night-writes" in d["removed"]
    # Refused sets leave no policy.changed record.
    assert_problem(put_text(pb, "permit("), 400)
    assert not [x for x in audit_records(pb, after=r["seq"]) if x["type"] == "policy.changed"]
    p = cli(pb, "audit", "verify")
    assert p.returncode == 0, p.stdout + p.stderr
    pb.set_policy(V2)


LINTED = V1 + """\
@id("typo")
permit(principal is Workloda, action == Action::"orders.read", resource == Api::"orders");

@id("never")
permit(principal, action, resource == Api::"orders") when { 1 == 2 };

@id("wide")
permit(principal == Workload::"w", action == Action::"orders.read", resource);

@id("stop")
forbid(principal, action, resource == Api::"legacy");

@id("shadowed")
permit(principal == Workload::"w", action, resource == Api::"legacy");
"""


def test_put_answers_with_the_lint_warnings(pb, tmp_path):
    """PUT /v1/policies lints with the linter of `policy check`: the
    findings come back as "warnings" (they never refuse the set) and
    policy.changed counts them."""
    start = audit_records(pb)[-1]["seq"]
    r = put_text(pb, LINTED, comment="with warnings")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["added"] and body["policies"] == 7
    got = [(w["severity"], w["code"], w["policy"], w["line"]) for w in body["warnings"]]
    assert got == [("warning", "unknown-entity-type", "typo", 7),  # a policy starts at its @id
                   ("warning", "never-true", "never", 11),  # a condition where it is
                   ("warning", "unconstrained-resource", "wide", 13),
                   ("warning", "shadowed", "shadowed", 19)], got
    assert "warnings_truncated" not in body
    for w in body["warnings"]:
        assert w["column"] >= 1 and w["message"] and "line " not in w["message"][:5]
    # The CLI's check prints the same findings, at the same places.
    f = tmp_path / "linted.cedar"
    f.write_text(LINTED)
    p = cli(pb, "policy", "check", str(f))
    assert p.returncode == 0, p.stdout + p.stderr
    printed = [ln for ln in p.stdout.splitlines() if ": warning: " in ln]
    assert printed == [f"{f}:{w['line']}:{w['column']}: warning: policy `{w['policy']}`: {w['message']}"
                       for w in body["warnings"]]
    rec = [x for x in audit_records(pb, after=start) if x["type"] == "policy.changed"]
    assert len(rec) == 1 and rec[0]["details"]["warnings"] == 4
    # The same text again: nothing stored, the same warnings.
    again = put_text(pb, LINTED).json()
    assert again["unchanged"] is True and again["warnings"] == body["warnings"]
    # A clean set has none; errors still refuse.
    body = pb.set_policy(V2)
    assert body["warnings"] == []
    assert [x for x in audit_records(pb) if x["type"] == "policy.changed"][-1]["details"]["warnings"] == 0
    assert_problem(put_text(pb, LINTED + "permit("), 400)


# ---- CLI ----

def test_cli_set_get_history_diff(pb, tmp_path):
    f1, f2, bad = tmp_path / "one.cedar", tmp_path / "two.cedar", tmp_path / "bad.cedar"
    f1.write_text(V1)
    f2.write_text(V2)
    bad.write_text('permit(principal, action, resource);\nforbid(principal, action resource);\n')

    before = pb.get_policy()["version"]
    p = cli(pb, "policy", "set", str(bad))
    assert p.returncode == 1
    assert f"{bad}:2:26: expected ','" in p.stderr and "was not sent" in p.stderr, p.stderr
    assert pb.get_policy()["version"] == before

    p = cli(pb, "policy", "set", str(f1), "--comment", "from the CLI")
    assert p.returncode == 0, p.stderr
    v1 = pb.get_policy()["version"]
    assert f"policy version {v1} in force: 2 policies" in p.stdout, p.stdout
    p = cli(pb, "policy", "set", str(f2))
    assert p.returncode == 0, p.stderr
    assert "added: no-night-writes" in p.stdout and "changed: writers" in p.stdout, p.stdout
    v2 = v1 + 1

    p = cli(pb, "policy", "get")
    assert p.returncode == 0 and p.stdout == V2, p.stdout
    p = cli(pb, "policy", "get", "--version", str(v1))
    assert p.returncode == 0 and p.stdout == V1
    p = cli(pb, "policy", "get", "--json")
    assert json.loads(p.stdout)["version"] == v2

    p = cli(pb, "policy", "history")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].split()[:4] == ["VERSION", "CREATED", "ACTOR", "POLICIES"]
    assert lines[1].split()[0] == str(v2) and lines[2].split()[0] == str(v1) and "from the CLI" in lines[2]

    # No argument: the previous version to the one in force.
    p = cli(pb, "policy", "diff")
    assert p.returncode == 0, p.stderr
    assert f"--- version {v1}" in p.stdout and f"+++ version {v2} (in force)" in p.stdout
    assert "+ added no-night-writes" in p.stdout and "~ changed writers" in p.stdout
    assert '- @max_ttl("120")' in p.stdout and '+ @max_ttl("60")' in p.stdout
    assert "1 added, 0 removed, 1 changed" in p.stdout and "readers" not in p.stdout.split("+++")[1].split("\n\n")[0]

    # A version and a file; two versions; --json; --exit-code.
    p = cli(pb, "policy", "diff", str(v2), str(f1), "--json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert [x["id"] for x in d["removed"]] == ["no-night-writes"] and d["added"] == []
    assert d["removed"][0]["text"].startswith('@id("no-night-writes")')
    assert [x["id"] for x in d["changed"]] == ["writers"]
    assert '@max_ttl("60")' in d["changed"][0]["old"] and '@max_ttl("120")' in d["changed"][0]["new"]
    p = cli(pb, "policy", "diff", str(f2), "--exit-code")
    assert p.returncode == 0 and "0 added, 0 removed, 0 changed" in p.stdout, p.stdout
    p = cli(pb, "policy", "diff", str(v1), str(v2), "--exit-code")
    assert p.returncode == 1
    p = cli(pb, "policy", "diff", "1", "2", "3")
    assert p.returncode == 2
    p = cli(pb, "policy", "diff", str(tmp_path / "missing.cedar"))
    assert p.returncode == 1


def test_cli_check_and_eval_are_wired(pb, tmp_path):
    f = tmp_path / "p.cedar"
    f.write_text(V1)
    p = cli(pb, "policy", "check", str(f))
    assert p.returncode == 0, p.stdout + p.stderr
    p = cli(pb, "policy", "eval", "--policies", str(f), "--principal", "Workload:x", "--action", "orders.read",
            "--resource", "Api:orders", "--json")
    assert p.returncode in (0, 1), p.stdout + p.stderr
    assert json.loads(p.stdout.splitlines()[0])["decision"] == "deny"


@pytest.mark.parametrize("args", [["policy"], ["policy", "frob"], ["policy", "set"], ["policy", "get", "x"],
                                  ["policy", "history", "--limit", "0"], ["policy", "get", "--version", "x"]])
def test_cli_usage_errors(pb, args):
    assert cli(pb, *args).returncode == 2


def test_cli_help(pb):
    p = cli(pb, "policy", "--help")
    assert p.returncode == 0
    for word in ("set FILE", "get", "history", "diff", "check", "eval", "docs/policy.md"):
        assert word in p.stdout


# ---- issuance decided by policy ----

ISSUANCE = """\
@id("ops-read")
permit(principal in Role::"operators", action == Action::"orders.read", resource == Api::"orders");

@id("ops-write")
@max_ttl("90")
permit(principal in Role::"operators", action == Action::"orders.write", resource == Api::"orders");

@id("ops-write-short")
@max_ttl("45")
permit(principal in Role::"short", action == Action::"orders.write", resource == Api::"orders");

@id("ops-audit")
@max_ttl("200")
permit(principal in Role::"operators", action == Action::"orders.audit", resource == Api::"orders");

@id("no-contractors")
forbid(principal in Role::"contractors", action, resource);

@id("needs-grant")
@requires_grant("2")
permit(principal in Role::"operators", action == Action::"orders.delete", resource == Api::"orders");

@id("loopback-only")
permit(principal in Role::"operators", action == Action::"orders.local", resource == Api::"orders")
when { context.src_ip.isLoopback() && context.weekday >= 1 && context.weekday <= 7 &&
       context.hour >= 0 && context.hour < 24 && context.now > 1700000000 };

@id("ten-net-only")
permit(principal in Role::"operators", action == Action::"orders.remote", resource == Api::"orders")
when { context.src_ip.isInRange(ip("10.0.0.0/8")) };
"""


@pytest.fixture(scope="module")
def ib(broker_factory):
    b = broker_factory(name="issuance", policy=ISSUANCE)
    return b


def refusal(b, ident, start):
    recs = [r for r in audit_records(b, after=start) if r["type"] == "token.refused" and r["actor"] == ident.id]
    assert len(recs) == 1, recs
    return recs[0]


def test_role_grants_through_policy(ib):
    op = ib.create_identity(permit=[], roles=["operators"])
    nobody = ib.create_identity(permit=[], roles=["guests"])
    assert ib.token(op, "orders.read@Api:orders").status_code == 200
    assert ib.token(op, "orders.read@Api:orders orders.write@Api:orders").status_code == 200
    start = audit_records(ib)[-1]["seq"]
    body = assert_oauth_error(ib.token(nobody, "orders.read@Api:orders"), 400, "invalid_scope")
    assert body["error_description"] == "orders.read@Api:orders is not permitted for this identity"
    rec = refusal(ib, nobody, start)
    assert rec["resource"] == "orders.read@Api:orders" and rec["policies"] == []
    assert rec["details"]["reason"] == "no policy permits it" and rec["details"]["scope"] == "orders.read@Api:orders"


def test_issued_record_names_the_determining_permits(ib):
    op = ib.create_identity(permit=[], roles=["operators"])
    start = audit_records(ib)[-1]["seq"]
    tok = ib.issue(op, "orders.read@Api:orders orders.write@Api:orders")
    rec = next(r for r in audit_records(ib, after=start) if r["type"] == "token.issued")
    assert rec["jti"] == jwt_parts(tok)[1]["jti"]
    assert sorted(rec["policies"]) == ["ops-read", "ops-write"]
    assert rec["details"]["policy_version"] == ib.get_policy()["version"]


def test_forbid_wins_and_is_named(ib):
    both = ib.create_identity(permit=[], roles=["operators", "contractors"])
    start = audit_records(ib)[-1]["seq"]
    body = assert_oauth_error(ib.token(both, "orders.read@Api:orders"), 400, "invalid_scope")
    assert "no-contractors" not in json.dumps(body)  # the client learns nothing about policies
    rec = refusal(ib, both, start)
    assert rec["policies"] == ["no-contractors"] and rec["details"]["reason"] == "forbidden by policy"
    assert rec["details"]["decision"] == "deny"


def test_one_refused_scope_token_refuses_the_request(ib):
    op = ib.create_identity(permit=[], roles=["operators"])
    start = audit_records(ib)[-1]["seq"]
    assert_oauth_error(ib.token(op, "orders.read@Api:orders orders.pay@Api:orders"), 400, "invalid_scope")
    assert refusal(ib, op, start)["resource"] == "orders.pay@Api:orders"


def test_max_ttl_caps_the_token(ib):
    op = ib.create_identity(permit=[], roles=["operators", "short"])
    def life(scope, ttl=None):
        claims = jwt_parts(ib.issue(op, scope, ttl=ttl))[1]
        return claims["exp"] - claims["iat"]
    assert life("orders.read@Api:orders") == 300                       # default, no @max_ttl
    assert life("orders.read@Api:orders", ttl=1000) == 1000            # no cap from policy
    assert life("orders.audit@Api:orders", ttl=1000) == 200            # @max_ttl("200")
    assert life("orders.audit@Api:orders", ttl=100) == 100             # requested below the cap
    # Both write permits are satisfied: the smallest @max_ttl of them wins.
    assert life("orders.write@Api:orders") == 45
    # Over several scope tokens: the smallest over all of them.
    assert life("orders.audit@Api:orders orders.read@Api:orders", ttl=1000) == 200
    r = ib.token(op, "orders.audit@Api:orders orders.write@Api:orders", ttl=1000)
    assert r.status_code == 200 and r.json()["expires_in"] == 45


def test_unmet_obligation_is_named_in_the_audit_record(ib):
    op = ib.create_identity(permit=[], roles=["operators"])
    start = audit_records(ib)[-1]["seq"]
    assert_oauth_error(ib.token(op, "orders.delete@Api:orders"), 400, "invalid_scope")
    rec = refusal(ib, op, start)
    assert "@requires_grant" in rec["details"]["reason"]
    assert json.dumps(rec["details"]["unmet"]).count("needs-grant") == 1, rec["details"]


def test_request_context_reaches_policy(ib):
    op = ib.create_identity(permit=[], roles=["operators"])
    assert ib.token(op, "orders.local@Api:orders").status_code == 200      # 127.0.0.1, now, hour, weekday
    assert_oauth_error(ib.token(op, "orders.remote@Api:orders"), 400, "invalid_scope")


def test_suspended_and_reactivated_identity(ib):
    op = ib.create_identity(permit=[], roles=["operators"])
    assert ib.api("PATCH", f"/v1/identities/{op.id}", {"roles": ["operators", "contractors"]}).status_code == 200
    assert_oauth_error(ib.token(op, "orders.read@Api:orders"), 400, "invalid_scope")
    assert ib.api("PATCH", f"/v1/identities/{op.id}", {"roles": ["operators"]}).status_code == 200
    assert ib.token(op, "orders.read@Api:orders").status_code == 200


def test_policy_persists_across_restart(ib):
    op = ib.create_identity(permit=[], roles=["operators"])
    before = ib.get_policy()
    ib.restart()
    after = ib.get_policy()
    assert after["version"] == before["version"] and after["sha256"] == before["sha256"]
    assert ib.token(op, "orders.read@Api:orders").status_code == 200
    assert_oauth_error(ib.token(op, "orders.pay@Api:orders"), 400, "invalid_scope")
    m = parse_metrics(ib.metrics())
    assert m["tollgate_policy_version"] == after["version"]


def test_metrics_count_decisions(ib):
    op = ib.create_identity(permit=[], roles=["operators"])
    m0 = parse_metrics(ib.metrics())
    assert ib.token(op, "orders.read@Api:orders orders.write@Api:orders").status_code == 200
    assert_oauth_error(ib.token(op, "orders.pay@Api:orders"), 400, "invalid_scope")
    m1 = parse_metrics(ib.metrics())
    allow, deny = 'tollgate_policy_decisions_total{decision="allow"}', 'tollgate_policy_decisions_total{decision="deny"}'
    assert m1[allow] - m0[allow] == 2 and m1[deny] - m0[deny] == 1
    assert m1["tollgate_policy_version"] == ib.get_policy()["version"]


def test_issuance_never_fails_while_the_set_is_replaced(ib):
    # Readers take the installed view and never wait for a rebuild: while
    # the set is replaced over and over, every issuance is decided by one
    # whole set or the other (both permit the scope here).
    op = ib.create_identity(permit=[], roles=["operators"])
    results, stop = [], threading.Event()

    def issue_loop():
        s = session()
        while not stop.is_set():
            f = {"grant_type": "client_credentials", "scope": "orders.read@Api:orders",
                 "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                 "client_assertion": ib.assertion(op)}
            results.append(s.post(ib.token_endpoint, data=f).status_code)

    threads = [threading.Thread(target=issue_loop) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for i in range(15):
            ib.set_policy(ISSUANCE + f'\n@id("churn-{i}")\nforbid(principal == Workload::"nobody-{i}", action, resource);\n')
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert results and set(results) == {200}, set(results)
    ib.set_policy(ISSUANCE)


def test_per_identity_permit(ib):
    # The helper's permit= writes a policy naming the identity itself.
    solo = ib.create_identity(permit=["reports.read@Api:reports"])
    other = ib.create_identity(permit=[])
    assert ib.token(solo, "reports.read@Api:reports").status_code == 200
    assert_oauth_error(ib.token(other, "reports.read@Api:reports"), 400, "invalid_scope")
    assert scope_permit('== Workload::"x"', "a.b@T:i") in scope_permit('== Workload::"x"', "a.b@T:i", "p")
