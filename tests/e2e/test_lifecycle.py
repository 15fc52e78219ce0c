# test_lifecycle.py - identity life cycle: offboarding is final (tokens
# inactive, issuance refused, no more changes, id never reused, still
# listed); suspension makes tokens inactive and refuses issuance until the
# identity is re-activated.
from tollgate_e2e import E2E_ROLE, Key, assert_oauth_error, assert_problem


def test_offboarding_is_final(broker):
    ident = broker.create_identity()
    token = broker.issue(ident)
    dpop_key = Key()
    bound = broker.token(ident, dpop=broker.dpop_proof(dpop_key)).json()["access_token"]
    assert broker.introspect(token)["active"] is True

    r = broker.api("POST", f"/v1/identities/{ident.id}/offboard")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["status"] == "offboarded"
    assert doc["tokens_not_before"] is not None
    assert all(k["disabled_at"] is not None for k in doc["public_keys"])

    assert broker.introspect(token) == {"active": False}
    assert broker.introspect(bound) == {"active": False}
    assert_oauth_error(broker.token(ident), 401, "invalid_client")
    assert_oauth_error(broker.introspect_response(token, as_ident=ident), 401, "invalid_client")

    assert_problem(broker.api("PATCH", f"/v1/identities/{ident.id}", {"status": "active"}), 409)
    assert_problem(broker.api("PATCH", f"/v1/identities/{ident.id}", {"owner": "someone"}), 409)
    assert_problem(broker.api("POST", f"/v1/identities/{ident.id}/offboard"), 409)

    listed = {i["id"]: i for i in broker.identities(status="offboarded")}
    assert ident.id in listed and listed[ident.id]["status"] == "offboarded"
    assert ident.id not in {i["id"] for i in broker.identities(status="active")}
    assert broker.api("GET", f"/v1/identities/{ident.id}").json()["status"] == "offboarded"

    again = {"id": ident.id, "kind": "workload", "owner": "team-e2e", "roles": [E2E_ROLE],
             "public_keys": [Key().pub_pem]}
    assert_problem(broker.api("POST", "/v1/identities", again), 409)
    assert broker.api("GET", f"/v1/identities/{ident.id}").json()["status"] == "offboarded"


def test_offboard_unknown_identity_is_404(broker):
    assert_problem(broker.api("POST", "/v1/identities/no-such-identity/offboard"), 404)


def test_suspend_and_reactivate(broker):
    ident = broker.create_identity()
    token = broker.issue(ident)
    r = broker.api("PATCH", f"/v1/identities/{ident.id}", {"status": "suspended"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "suspended"

    assert broker.introspect(token) == {"active": False}
    assert_oauth_error(broker.token(ident), 401, "invalid_client")
    assert ident.id in {i["id"] for i in broker.identities(status="suspended")}

    r = broker.api("PATCH", f"/v1/identities/{ident.id}", {"status": "active"})
    assert r.status_code == 200, r.text
    fresh = broker.issue(ident)
    assert broker.introspect(fresh)["active"] is True


def test_duplicate_id_is_409(broker):
    ident = broker.create_identity()
    again = {"id": ident.id, "kind": "agent", "owner": "x", "public_keys": [Key().pub_pem]}
    assert_problem(broker.api("POST", "/v1/identities", again), 409)
    assert broker.api("GET", f"/v1/identities/{ident.id}").json()["kind"] == "workload"


def test_removed_key_no_longer_authenticates(broker):
    ident = broker.create_identity()
    new = Key()
    r = broker.api("PATCH", f"/v1/identities/{ident.id}",
                   {"add_public_keys": [new.jwk], "remove_kids": [ident.key.thumbprint]})
    assert r.status_code == 200, r.text
    assert [k["kid"] for k in r.json()["public_keys"]] == [new.thumbprint]
    assert_oauth_error(broker.token(ident), 401, "invalid_client")
    assert broker.token(ident, assertion=broker.assertion(ident, key=new)).status_code == 200


def test_dropping_a_role_applies_to_next_request(broker):
    # The identity's roles are the parents of its Workload entity: a role
    # taken away takes away what policy grants through it, at once.
    role = "ledger-" + Key().thumbprint[:8].lower().replace("_", "x").replace("-", "x")
    broker.add_policy(f'@id("{role}-write")\npermit(principal in Role::"{role}", '
                      f'action == Action::"ledger.write", resource == Api::"ledger");\n')
    ident = broker.create_identity(roles=[role])
    assert broker.token(ident, "ledger.write@Api:ledger").status_code == 200
    r = broker.api("PATCH", f"/v1/identities/{ident.id}", {"roles": [E2E_ROLE]})
    assert r.status_code == 200, r.text
    assert_oauth_error(broker.token(ident, "ledger.write@Api:ledger"), 400, "invalid_scope")
    assert broker.token(ident, "orders.read@Api:orders").status_code == 200


def test_filters_and_pagination(broker):
    owner = "team-" + Key().thumbprint[:8]
    made = sorted(broker.create_identity(owner=owner, kind="ot-device", roles=["plc-reader"]).id
                  for _ in range(3))
    assert sorted(i["id"] for i in broker.identities(owner=owner)) == made
    assert sorted(i["id"] for i in broker.identities(owner=owner, kind="ot-device", role="plc-reader")) == made
    assert broker.identities(owner=owner, kind="edge") == []
    r = broker.api("GET", "/v1/identities", params={"owner": owner, "limit": 2})
    page = r.json()
    assert [i["id"] for i in page["identities"]] == made[:2] and page["next"] == made[1]
    r = broker.api("GET", "/v1/identities", params={"owner": owner, "limit": 2, "after": page["next"]})
    assert [i["id"] for i in r.json()["identities"]] == made[2:]


def test_inactive_status_is_told_only_after_proof(broker):
    # Without proof of the key, a suspended or offboarded id must look
    # exactly like an unknown one (no account enumeration).
    suspended = broker.create_identity()
    assert broker.api("PATCH", f"/v1/identities/{suspended.id}", {"status": "suspended"}).status_code == 200
    offboarded = broker.create_identity()
    assert broker.api("POST", f"/v1/identities/{offboarded.id}/offboard").status_code == 200
    unknown = broker.create_identity()
    unknown.id = "never-registered-" + unknown.id
    stranger = Key()
    answers = [assert_oauth_error(broker.token(i, assertion=broker.assertion(i, key=stranger)), 401,
                                  "invalid_client") for i in (suspended, offboarded, unknown)]
    assert answers[0] == answers[1] == answers[2], answers
    # With proof, the caller may learn why.
    told = assert_oauth_error(broker.token(suspended), 401, "invalid_client")
    assert told != answers[0]
