# test_entities_api.py - the entities Cedar policies see (issue 3):
# /v1/entities replace (PUT), upsert (POST), remove (DELETE by Type::"id"
# or Type:id), list (GET, ?effective=true with the identities' own
# Workload entities); identities contribute Workload::"<id>" with their
# roles as Role parents and merge with an uploaded entity of the same uid;
# versions move on every change (identity writes too) and survive a
# restart; entities.changed audit records; the hierarchy deciding issuance;
# the `tollgate entities` CLI. Malformed, wrong-typed and oversized
# documents are refused whole and change nothing.
import json
from urllib.parse import quote

import pytest

from tollgate_e2e import (assert_oauth_error, assert_problem, audit_records, cli_env, run_cli,
                          parse_metrics)

POLICY = """\
@id("line-3-read")
permit(principal in Role::"line-3-operators", action == Action::"modbus.read", resource in Zone::"line-3");

@id("writers-write")
permit(principal, action == Action::"modbus.write", resource in Zone::"line-3")
when { principal has level && principal.level >= 3 };
"""

PLANT = [
    {"uid": {"type": "Zone", "id": "line-3"}, "attrs": {"site": "plant-1"}, "parents": []},
    {"uid": {"type": "Device", "id": "plc-7"}, "attrs": {"vendor": "acme", "ip": {"__extn": {"fn": "ip", "arg": "10.3.0.7"}}},
     "parents": [{"type": "Zone", "id": "line-3"}]},
    {"uid": {"type": "Device", "id": "plc-8"}, "attrs": {}, "parents": []},
]


@pytest.fixture(scope="module")
def eb(broker_factory):
    return broker_factory(name="entities", policy=POLICY)


def entities(b, effective=False):
    r = b.api("GET", "/v1/entities", params={"effective": "true"} if effective else None)
    assert r.status_code == 200, r.text
    return r.json()


def by_uid(ents):
    return {(e["uid"]["type"], e["uid"]["id"]): e for e in ents}


def cli(b, *args):
    return run_cli(["entities"] + list(args), env_extra=cli_env(b))


def test_replace_list_and_versions(eb):
    v0 = entities(eb)["version"]
    body = eb.set_entities(PLANT)
    assert body["version"] == v0 + 1 and body["entities"] == 3
    assert sorted(body["added"]) == ['Device::"plc-7"', 'Device::"plc-8"', 'Zone::"line-3"']
    got = entities(eb)
    assert got["version"] == v0 + 1
    assert by_uid(got["entities"]) == by_uid(PLANT)
    # The same document again changes nothing and keeps the version.
    again = eb.set_entities(PLANT)
    assert again.get("unchanged") is True and again["version"] == v0 + 1
    # Replace drops what the new document leaves out; other uid forms work.
    body = eb.set_entities([{"uid": 'Zone::"line-3"', "attrs": {"site": "plant-1"}},
                            {"uid": "Device:plc-7", "parents": ["Zone:line-3"],
                             "attrs": {"vendor": "acme", "ip": {"__extn": {"fn": "ip", "arg": "10.3.0.7"}}}}])
    assert body["removed"] == ['Device::"plc-8"'] and body["changed"] == [] and body["added"] == []
    assert set(by_uid(entities(eb)["entities"])) == {("Zone", "line-3"), ("Device", "plc-7")}
    eb.set_entities(PLANT)


def test_upsert_forms(eb):
    eb.set_entities(PLANT)
    v = entities(eb)["version"]
    one = {"uid": {"type": "Api", "id": "orders"}, "attrs": {"owner": "team-orders"}}
    r = eb.api("POST", "/v1/entities", one)
    assert r.status_code == 200, r.text
    assert r.json()["added"] == ['Api::"orders"'] and r.json()["version"] == v + 1
    r = eb.api("POST", "/v1/entities", {"entities": [dict(one, attrs={"owner": "team-b"})]})
    assert r.json()["changed"] == ['Api::"orders"'] and r.json()["entities"] == 4
    r = eb.api("POST", "/v1/entities", [{"uid": {"type": "Api", "id": "orders-v2"},
                                         "parents": [{"type": "Api", "id": "orders"}]}])
    assert r.json()["added"] == ['Api::"orders-v2"']
    r = eb.api("POST", "/v1/entities", [dict(one, attrs={"owner": "team-b"})])
    assert r.json().get("unchanged") is True
    assert by_uid(entities(eb)["entities"])[("Api", "orders")]["attrs"] == {"owner": "team-b"}


@pytest.mark.parametrize("uid", ['Api::"gone-1"', "Api:gone-1"])
def test_remove_by_either_uid_form(eb, uid):
    eb.api("POST", "/v1/entities", {"uid": {"type": "Api", "id": "gone-1"}})
    v = entities(eb)["version"]
    r = eb.api("DELETE", "/v1/entities/" + quote(uid, safe=""))
    assert r.status_code == 200, r.text
    assert r.json()["removed"] == ['Api::"gone-1"'] and r.json()["version"] == v + 1
    assert ("Api", "gone-1") not in by_uid(entities(eb)["entities"])
    assert_problem(eb.api("DELETE", "/v1/entities/" + quote(uid, safe="")), 404)


def test_remove_refusals(eb):
    ident = eb.create_identity(permit=[])
    body = assert_problem(eb.api("DELETE", "/v1/entities/" + quote(f'Workload::"{ident.id}"', safe="")), 404)
    assert "identity" in body["detail"]
    for bad in ["nocolon", quote('Api::"unterminated', safe=""), quote("::x", safe="")]:
        assert_problem(eb.api("DELETE", "/v1/entities/" + bad), 400)
    assert_problem(eb.api("DELETE", "/v1/entities"), 405)


def test_identities_are_workload_entities(eb):
    v = entities(eb)["version"]
    ident = eb.create_identity(permit=[], roles=["line-3-operators", "night-shift"], owner="team-ot",
                               kind="ot-device")
    assert entities(eb)["version"] == v + 1  # identity writes move the entities version too
    eff = by_uid(entities(eb, effective=True)["entities"])
    w = eff[("Workload", ident.id)]
    assert w["attrs"] == {"kind": "ot-device", "owner": "team-ot", "status": "active"}
    assert sorted(p["id"] for p in w["parents"]) == ["line-3-operators", "night-shift"]
    assert all(p["type"] == "Role" for p in w["parents"])
    assert ("Workload", ident.id) not in by_uid(entities(eb)["entities"])  # not an upload
    # Offboarded identities leave the entity set.
    assert eb.api("POST", f"/v1/identities/{ident.id}/offboard").status_code == 200
    assert ("Workload", ident.id) not in by_uid(entities(eb, effective=True)["entities"])


def test_upload_merges_with_identity_entity(eb):
    eb.set_entities(PLANT)
    ident = eb.create_identity(permit=[], roles=["line-3-operators"])
    # An upload for the same uid adds attributes and parents; kind, owner
    # and status stay the identity's.
    eb.api("POST", "/v1/entities", {"uid": {"type": "Workload", "id": ident.id},
                                    "attrs": {"level": 3, "status": "forged"},
                                    "parents": [{"type": "Role", "id": "writers"}]})
    w = by_uid(entities(eb, effective=True)["entities"])[("Workload", ident.id)]
    assert w["attrs"]["level"] == 3 and w["attrs"]["status"] == "active"
    assert sorted(p["id"] for p in w["parents"]) == ["line-3-operators", "writers"]
    assert eb.token(ident, "modbus.write@Device:plc-7").status_code == 200     # principal.level >= 3
    eb.api("POST", "/v1/entities", {"uid": {"type": "Workload", "id": ident.id}, "attrs": {"level": 2}})
    assert_oauth_error(eb.token(ident, "modbus.write@Device:plc-7"), 400, "invalid_scope")
    assert eb.api("DELETE", "/v1/entities/" + quote(f"Workload:{ident.id}", safe="")).status_code == 200
    w = by_uid(entities(eb, effective=True)["entities"])[("Workload", ident.id)]
    assert [p["id"] for p in w["parents"]] == ["line-3-operators"] and "level" not in w["attrs"]


def test_hierarchy_decides_issuance(eb):
    eb.set_entities(PLANT)
    op = eb.create_identity(permit=[], roles=["line-3-operators"])
    # resource in Zone::"line-3": the zone itself and every device under it.
    assert eb.token(op, "modbus.read@Zone:line-3").status_code == 200
    assert eb.token(op, "modbus.read@Device:plc-7").status_code == 200
    assert_oauth_error(eb.token(op, "modbus.read@Device:plc-8"), 400, "invalid_scope")
    # Move plc-8 into the zone: the next request sees it.
    eb.api("POST", "/v1/entities", {"uid": "Device:plc-8", "parents": ["Zone:line-3"]})
    assert eb.token(op, "modbus.read@Device:plc-8").status_code == 200
    eb.api("DELETE", "/v1/entities/" + quote("Zone:line-3", safe=""))
    assert eb.token(op, "modbus.read@Device:plc-8").status_code == 200  # parents may name absent entities
    eb.set_entities([{"uid": "Device:plc-8"}])
    assert_oauth_error(eb.token(op, "modbus.read@Device:plc-8"), 400, "invalid_scope")
    eb.set_entities(PLANT)


def test_role_parents_deeper_than_one_step(eb):
    # Roles may have parents of their own: Role::"shift-a" in Role::"line-3-operators".
    eb.set_entities(PLANT + [{"uid": "Role:shift-a", "parents": ["Role:line-3-operators"]}])
    op = eb.create_identity(permit=[], roles=["shift-a"])
    assert eb.token(op, "modbus.read@Device:plc-7").status_code == 200
    eb.set_entities(PLANT)
    assert_oauth_error(eb.token(op, "modbus.read@Device:plc-7"), 400, "invalid_scope")


def test_identity_write_that_would_break_the_hierarchy_is_refused(eb):
    # Role::"loop" has the identity as its parent: giving the identity that
    # role would make a cycle. The write is refused whole; nothing changes.
    op = eb.create_identity(permit=[], roles=["line-3-operators"])
    eb.set_entities(PLANT + [{"uid": "Role:loop", "parents": [f"Workload:{op.id}"]},
                             {"uid": "Role:loop2", "parents": ["Workload:not-yet"]}])
    v = entities(eb)["version"]
    body = assert_problem(eb.api("PATCH", f"/v1/identities/{op.id}", {"roles": ["loop"]}), 409)
    assert "cycle" in body["detail"], body
    assert eb.api("GET", f"/v1/identities/{op.id}").json()["roles"] == ["line-3-operators"]
    assert entities(eb)["version"] == v
    assert eb.token(op, "modbus.read@Device:plc-7").status_code == 200
    r = eb.api("POST", "/v1/identities", {"id": "not-yet", "kind": "workload", "owner": "o", "roles": ["loop2"]})
    assert_problem(r, 409)
    assert_problem(eb.api("GET", "/v1/identities/not-yet"), 404)
    eb.set_entities(PLANT)


def test_entities_changed_records_verify(eb):
    start = audit_records(eb)[-1]["seq"]
    eb.set_entities(PLANT[:1])
    eb.api("POST", "/v1/entities", PLANT[1])
    eb.api("DELETE", "/v1/entities/" + quote("Zone:line-3", safe=""))
    recs = [r for r in audit_records(eb, after=start) if r["type"] == "entities.changed"]
    assert [(r["action"], r["details"]["mode"]) for r in recs] == [
        ("entities.replace", "replace"), ("entities.upsert", "upsert"), ("entities.remove", "remove")]
    assert recs[0]["details"]["removed"] == ['Device::"plc-7"', 'Device::"plc-8"']
    assert recs[1]["details"]["added"] == ['Device::"plc-7"']
    assert recs[2]["details"]["removed"] == ['Zone::"line-3"']
    assert [r["details"]["version"] for r in recs] == [recs[0]["details"]["version"] + i for i in range(3)]
    assert all(r["actor"] == "admin" and r["resource"] == "entities" for r in recs)
    p = run_cli(["audit", "verify"], env_extra=cli_env(eb))
    assert p.returncode == 0, p.stdout + p.stderr
    eb.set_entities(PLANT)


def test_entities_survive_restart(eb):
    eb.set_entities(PLANT)
    before = entities(eb)
    eb.restart()
    after = entities(eb)
    assert after["version"] == before["version"] and by_uid(after["entities"]) == by_uid(before["entities"])
    assert parse_metrics(eb.metrics())["tollgate_entities_version"] == after["version"]
    op = eb.create_identity(permit=[], roles=["line-3-operators"])
    assert eb.token(op, "modbus.read@Device:plc-7").status_code == 200


# ---- bad documents ----

BAD_DOCS = {
    "object without entities": {"things": []},
    "entities not an array": {"entities": {}},
    "wrapper with extra member": {"entities": [], "x": 1},
    "string": "entities",
    "number": 5,
    "entity is a string": ["Device:plc-9"],
    "entity without uid": [{"attrs": {}}],
    "uid is a number": [{"uid": 5}],
    "uid without id": [{"uid": {"type": "Device"}}],
    "uid bad text": [{"uid": "Device::plc"}],
    "uid type with space": [{"uid": {"type": "De vice", "id": "x"}}],
    "unknown member": [{"uid": "Device:x", "children": []}],
    "attrs is an array": [{"uid": "Device:x", "attrs": []}],
    "parents is an object": [{"uid": "Device:x", "parents": {}}],
    "parent is a number": [{"uid": "Device:x", "parents": [1]}],
    "tags is a string": [{"uid": "Device:x", "tags": "t"}],
    "duplicate uid": [{"uid": "Device:x"}, {"uid": 'Device::"x"'}],
    "bad ip extension": [{"uid": "Device:x", "attrs": {"ip": {"__extn": {"fn": "ip", "arg": "nope"}}}}],
    "unknown extension": [{"uid": "Device:x", "attrs": {"v": {"__extn": {"fn": "frob", "arg": "1"}}}}],
    "float attribute": [{"uid": "Device:x", "attrs": {"v": 1.5}}],
    "null attribute": [{"uid": "Device:x", "attrs": {"v": None}}],
    "NUL in id": [{"uid": {"type": "Device", "id": "a\u0000b"}}],
    "deep attribute": [{"uid": "Device:x", "attrs": {"v": json.loads("[" * 70 + "]" * 70)}}],
}


@pytest.mark.parametrize("name", sorted(BAD_DOCS))
@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_bad_documents_change_nothing(eb, name, method):
    eb.set_entities(PLANT)
    before = entities(eb)
    body = assert_problem(eb.api(method, "/v1/entities", BAD_DOCS[name]), 400)
    assert body["detail"], body
    assert entities(eb) == before


@pytest.mark.parametrize("raw", [b"", b"{", b"[1,", b'[{"uid": "Device:x", "uid": "Device:y"}]', b"\xff"])
def test_malformed_json_is_400(eb, raw):
    assert_problem(eb.api("PUT", "/v1/entities", data=raw, headers={"Content-Type": "application/json"}), 400)


def test_entities_wrong_content_type_auth_and_size(eb):
    assert_problem(eb.api("PUT", "/v1/entities", data=b"[]", headers={"Content-Type": "text/plain"}), 415)
    assert_problem(eb.api("GET", "/v1/entities", token=""), 401)
    assert_problem(eb.api("PUT", "/v1/entities", [], token="x"), 401)
    assert_problem(eb.api("GET", "/v1/entities", params={"effective": "yes"}), 400)
    many = [{"uid": {"type": "Device", "id": f"bulk-{i}"}, "parents": [{"type": "Zone", "id": "line-3"}]}
            for i in range(3000)]
    assert_problem(eb.api("PUT", "/v1/entities", many, token=""), 413)  # past max_body without the admin token
    body = eb.set_entities(PLANT + many)
    assert body["entities"] == 3003
    eb.set_entities(PLANT)


def test_cyclic_parents_are_refused(eb):
    cyc = [{"uid": "Zone:a", "parents": ["Zone:b"]}, {"uid": "Zone:b", "parents": ["Zone:a"]}]
    before = entities(eb)
    r = eb.api("PUT", "/v1/entities", cyc)
    # The engine refuses cycles when it seals the store; either way nothing breaks.
    if r.status_code == 400:
        assert entities(eb) == before
    else:
        assert r.status_code == 200, r.text
        eb.set_entities(PLANT)


# ---- CLI ----

def test_cli_entities(eb, tmp_path):
    f = tmp_path / "plant.json"
    f.write_text(json.dumps(PLANT))
    p = cli(eb, "set", str(f))
    assert p.returncode == 0, p.stderr
    p = cli(eb, "get")
    assert p.returncode == 0
    assert by_uid(json.loads(p.stdout)) == by_uid(PLANT)
    p = cli(eb, "get", "--json")
    assert json.loads(p.stdout)["version"] == entities(eb)["version"]

    one = tmp_path / "one.json"
    one.write_text(json.dumps({"uid": "Secret:erp-db", "attrs": {"owner": "team-erp"}}))
    p = cli(eb, "add", str(one))
    assert p.returncode == 0 and "1 added" in p.stdout, p.stdout + p.stderr
    p = cli(eb, "remove", 'Secret::"erp-db"', "Device:plc-8")
    assert p.returncode == 0, p.stderr
    assert {("Secret", "erp-db"), ("Device", "plc-8")}.isdisjoint(by_uid(entities(eb)["entities"]))
    p = cli(eb, "remove", "Device:never-there")
    assert p.returncode == 1 and "404" in p.stderr

    ident = eb.create_identity(permit=[], roles=["cli-role"])
    p = cli(eb, "get", "--effective")
    eff = by_uid(json.loads(p.stdout))
    assert [x["id"] for x in eff[("Workload", ident.id)]["parents"]] == ["cli-role"]

    bad = tmp_path / "bad.json"
    bad.write_text("[{")
    p = cli(eb, "set", str(bad))
    assert p.returncode == 1 and "not valid JSON" in p.stderr
    bad.write_text(json.dumps([{"uid": 5}]))
    p = cli(eb, "set", str(bad))
    assert p.returncode == 1 and "400" in p.stderr
    for args in (["set"], ["frob"], ["get", "x"], ["remove"], []):
        assert cli(eb, *args).returncode == 2
    p = cli(eb, "--help")
    assert p.returncode == 0 and "remove UID" in p.stdout
    eb.set_entities(PLANT)
