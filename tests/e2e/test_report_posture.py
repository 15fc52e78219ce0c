# test_report_posture.py - the NHI hygiene report (docs/report.md) through a
# real broker and the CLI: a store seeded with an ownerless identity, an old
# key, an unused identity, a standing-privilege permit, a permit with a long
# @max_ttl and an unused scope; each finding appears with its OWASP NHI /
# NIST CSF mapping and evidence, and disappears once fixed (the narrower
# policy the report suggests is the fix of the unused scope). JSON parses;
# the HTML parses with html.parser, carries the SVG trend and references
# nothing outside itself; every snapshot lands in the history; bad input
# gets clear errors (CLI exit 2, API 400 problem+json).
import json
import sqlite3
import time
from html.parser import HTMLParser

import pytest

from tollgate_e2e import E2E_POLICY, Key, assert_problem, cli_env, run_cli, wait_for

DAY = 86400
STANDING = ('@id("standing-write")\n'
            'permit (principal == Workload::"pst-used", action == Action::"plant.write", resource == Api::"plant");\n')
LONG_TTL = ('@id("long-ttl")\n@max_ttl("86400")\n'
            'permit (principal == Workload::"pst-used", action == Action::"plant.status", resource == Api::"status");\n')
READS = ('@id("reads")\n'
         'permit (principal == Workload::"pst-used", action == Action::"plant.read", resource in Zone::"plant-1");\n')
ENTITIES = [
    {"uid": {"type": "Zone", "id": "plant-1"}, "attrs": {}, "parents": []},
    {"uid": {"type": "Api", "id": "plant"}, "attrs": {}, "parents": [{"type": "Zone", "id": "plant-1"}]},
    {"uid": {"type": "Api", "id": "hist"}, "attrs": {}, "parents": [{"type": "Zone", "id": "plant-1"}]},
]


@pytest.fixture(scope="module")
def seeded(broker_factory):
    b = broker_factory(name="posture")
    b.set_entities(ENTITIES)
    b.set_policy(E2E_POLICY + STANDING + LONG_TTL + READS)
    for ident in ("pst-owner", "pst-oldkey", "pst-unused"):
        b.create_identity(ident)
    used = b.create_identity("pst-used", permit=[])
    b.issue(used, "plant.read@Api:plant")
    r = b.api("PUT", "/v1/secrets/pst-erp", {"value": "first-value",
                                             "metadata": {"owner": "team-erp", "rotation": {"rotate_every": "30d"}}})
    assert r.status_code == 201, r.text
    # what the API cannot make: an ownerless identity (imported), a key
    # 200 days old, an identity created 200 days ago and never used
    b.stop()
    now = int(time.time())
    db = sqlite3.connect(b.data / "tollgate.db")
    with db:
        db.execute("UPDATE identities SET owner = '' WHERE id = 'pst-owner'")
        db.execute("UPDATE identity_keys SET created_at = ? WHERE identity_id = 'pst-oldkey'", (now - 200 * DAY,))
        db.execute("UPDATE identities SET created_at = ?, last_used_at = 0 WHERE id = 'pst-unused'",
                   (now - 200 * DAY,))
        db.execute("UPDATE secrets SET next_due = ? WHERE name = 'pst-erp'", (now - 3 * DAY,))
    db.close()
    b.start()
    return b


def report(b, **params):
    r = b.api("GET", "/v1/reports/posture", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    return r.json()


def finding(rep, kind, subject):
    hits = [f for f in rep["findings"] if f["kind"] == kind and f["subject"]["id"] == subject]
    return hits[0] if hits else None


def assert_mapped(f, owasp, nist):
    assert f is not None
    assert f["owasp"] == [owasp] and f["nist"] == [nist], f
    assert f["fix"] and f["title"] and f["severity"] in ("low", "medium", "high"), f


def test_each_finding_with_its_mapping_and_evidence(seeded):
    rep = report(seeded)
    assert rep["schema"] == "tollgate.posture.v1"
    assert rep["mappings"]["owasp_nhi_2025"]["NHI5"] == "Overprivileged NHI"
    f = finding(rep, "owner_missing", "pst-owner")
    assert_mapped(f, "NHI1", "PR.AA-01")
    f = finding(rep, "key_rotation_overdue", "pst-oldkey")
    assert_mapped(f, "NHI7", "PR.AA-01")
    assert f["evidence"]["age_days"] == 200 and f["evidence"]["max_age_days"] == 90
    assert f["evidence"]["policy_source"] == "config key_max_age"
    f = finding(rep, "identity_unused", "pst-unused")
    assert_mapped(f, "NHI1", "PR.AA-01")
    assert f["evidence"]["days_unused"] == 200 and f["evidence"]["last_used_at"] is None
    assert finding(rep, "identity_unused", "pst-used") is None
    f = finding(rep, "standing_privileged_permit", "standing-write")
    assert_mapped(f, "NHI5", "PR.AA-05")
    assert f["evidence"]["privileged_actions"] == ["plant.write"]
    f = finding(rep, "long_max_ttl", "long-ttl")
    assert_mapped(f, "NHI7", "PR.AA-04")
    assert f["evidence"]["max_ttl"] == 86400
    f = finding(rep, "unused_permissions", "pst-used")
    assert_mapped(f, "NHI5", "PR.AA-05")
    ev = f["evidence"]
    assert "plant.read@Api:plant" in ev["used"]
    assert "plant.read@Api:hist" in ev["unused"] and "plant.write@Api:plant" in ev["unused"]
    assert {"reads", "standing-write"} <= set(ev["granted_by"])
    assert 'resource == Api::"plant"' in ev["suggested_policy"]
    assert "hist" not in ev["suggested_policy"].split("Replaces")[1].split("\n", 1)[1]
    # inventory: every identity, with its keys and their age
    inv = {row["id"]: row for row in rep["inventory"]}
    assert inv["pst-oldkey"]["keys"][0]["age_days"] == 200 and inv["pst-oldkey"]["keys"][0]["rotation_overdue"]
    assert inv["pst-owner"]["owner"] == "" and inv["pst-used"]["last_used_at"] is not None
    # shares over the identities that are not offboarded
    shares = rep["shares"]
    total = shares["ownerless"]["total"]
    assert total == rep["coverage"]["considered"] >= 4
    assert shares["ownerless"]["count"] == 1 and shares["credentials_overdue"]["count"] == 1
    assert shares["unused"]["count"] == 1
    assert shares["ownerless"]["share"] == round(1 / total, 4)
    assert rep["summary"]["by_owasp"]["NHI1"] >= 2
    # static secrets from the secret store
    f = finding(rep, "secret_rotation_overdue", "pst-erp")
    assert_mapped(f, "NHI7", "PR.AA-01")
    assert f["evidence"]["days_overdue"] == 3
    assert rep["secrets"]["available"] and shares["secrets_overdue"]["count"] == 1


def test_window_parameter(seeded):
    rep = report(seeded, unused_days=365)
    assert rep["parameters"]["unused_days"] == 365
    assert finding(rep, "identity_unused", "pst-unused") is None  # 200 days < 365


def test_text_and_html_from_the_cli(seeded, tmp_path):
    env = cli_env(seeded)
    p = run_cli(["report", "posture"], env)
    assert p.returncode == 0, p.stderr
    assert "key_rotation_overdue" in p.stdout and "OWASP NHI7 Long-Lived Secrets" in p.stdout
    p = run_cli(["report", "posture", "--format", "json"], env)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["schema"] == "tollgate.posture.v1"
    out = tmp_path / "posture.html"
    p = run_cli(["report", "posture", "--format", "html", "--output", str(out), "--unused-days", "30"], env)
    assert p.returncode == 0 and p.stdout == "", p.stderr
    html = out.read_text()

    class Collect(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags, self.refs = [], []

        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)
            self.refs += [v for k, v in attrs if k in ("src", "href", "xlink:href", "action") and v]

    c = Collect()
    c.feed(html)
    c.close()
    assert "svg" in c.tags and "polyline" in c.tags and "style" in c.tags
    assert "script" not in c.tags and "link" not in c.tags and "img" not in c.tags
    assert not [r for r in c.refs if r.startswith(("http://", "https://", "//"))], c.refs
    assert "http://" not in html and "https://" not in html
    assert "key_rotation_overdue" in html and "pst-oldkey" in html


def test_every_run_and_the_daily_snapshot_are_history(seeded):
    rep = report(seeded)
    wait_for("a daily snapshot", lambda: any(h["source"] == "daily" for h in report(seeded)["history"]), 60)
    rep2 = report(seeded)
    sources = [h["source"] for h in rep2["history"]]
    assert sources.count("report") >= 2 and sources[-1] == "now", sources
    assert len(rep2["history"]) > len(rep["history"])
    assert set(rep2["history"][-1]["shares"]) == set(rep2["shares"])


def test_fixed_findings_disappear(seeded):
    b = seeded
    rep = report(b)
    suggested = finding(rep, "unused_permissions", "pst-used")["evidence"]["suggested_policy"]
    r = b.api("PATCH", "/v1/identities/pst-owner", {"owner": "team-plant"})
    assert r.status_code == 200, r.text
    old_kid = b.api("GET", "/v1/identities/pst-oldkey").json()["public_keys"][0]["kid"]
    fresh = {"key": Key().pub_pem, "expires_at": int(time.time()) + 30 * DAY}
    r = b.api("PATCH", "/v1/identities/pst-oldkey", {"add_public_keys": [fresh], "remove_kids": [old_kid]})
    assert r.status_code == 200, r.text
    r = b.api("POST", "/v1/identities/pst-unused/offboard")
    assert r.status_code == 200, r.text
    r = b.api("PUT", "/v1/secrets/pst-erp", {"value": "rotated-value"})  # rotated by hand
    assert r.status_code == 200, r.text
    # the narrower policy the report suggested replaces the reads; the
    # write needs a grant; the long @max_ttl goes
    b.set_policy(E2E_POLICY + '@requires_grant("1")\n' + STANDING + suggested)
    rep = report(b)
    for kind, subject in (("owner_missing", "pst-owner"), ("key_rotation_overdue", "pst-oldkey"),
                          ("long_lived_key", "pst-oldkey"), ("identity_unused", "pst-unused"),
                          ("standing_privileged_permit", "standing-write"), ("long_max_ttl", "long-ttl"),
                          ("unused_permissions", "pst-used"), ("secret_rotation_overdue", "pst-erp")):
        assert finding(rep, kind, subject) is None, (kind, subject, finding(rep, kind, subject))
    assert rep["shares"]["ownerless"]["count"] == 0 and rep["shares"]["unused"]["count"] == 0
    assert rep["shares"]["credentials_overdue"]["count"] == 0
    inv = {row["id"]: row for row in rep["inventory"]}
    assert inv["pst-unused"]["status"] == "offboarded"


@pytest.mark.parametrize("query", [
    {"unused_days": "abc"}, {"unused_days": "0"}, {"unused_days": "-5"}, {"unused_days": "3651"},
    {"unused_days": "1.5"}, {"unused_days": "9" * 40}, {"unused_days": "7" * 5000}, {"format": "pdf"},
    {"format": ""}, {"format": "x" * 5000},
])
def test_api_bad_query(seeded, query):
    r = seeded.api("GET", "/v1/reports/posture", params=query)
    if r.status_code == 414:  # the server's URL bound before the handler
        return
    body = assert_problem(r, 400)
    assert "unused_days" in body["detail"] or "format" in body["detail"], body


@pytest.mark.parametrize("args, says", [
    (["--format", "xml"], "--format is text, json or html"),
    (["--unused-days", "-1"], "--unused-days must be an integer from 1 to 3650"),
    (["--unused-days", "0"], "--unused-days must be an integer from 1 to 3650"),
    (["--unused-days", "ten"], "--unused-days must be an integer"),
    (["--unused-days", "99999"], "--unused-days must be an integer"),
    (["extra"], "unexpected argument"),
    (["--bogus"], ""),
])
def test_cli_bad_input(seeded, args, says):
    p = run_cli(["report", "posture"] + args, cli_env(seeded))
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert says in p.stderr and p.stdout == ""


def test_cli_unknown_report_and_unwritable_output(seeded, tmp_path):
    p = run_cli(["report", "postur"], cli_env(seeded))
    assert p.returncode == 2 and "posture" in p.stderr
    p = run_cli(["report", "posture", "--output", str(tmp_path / "no" / "such" / "dir.html")], cli_env(seeded))
    assert p.returncode == 1 and "cannot write" in p.stderr


def test_requires_an_operator(seeded):
    assert_problem(seeded.api("GET", "/v1/reports/posture", token=""), 401)
