# test_token_exchange.py - RFC 8693 token exchange for delegation
# (src/broker/oauth_exchange.c) against a real broker: an agent A,
# authenticated with private_key_jwt, exchanges a workload S's access token
# for a token with sub S, client_id A and act {"sub": A}; its scope lies
# within S's token's and is permitted to A itself, it never outlives S's
# token, and it verifies with PyJWT and npm jose. Chains nest act (at most
# 4 actors); introspection and /v1/authorize show act and policy sees
# context.actor; every actor must stay an active identity and the token
# stays under the subject token's JIT grant; DPoP binds the new token to A's
# proof key; token.issued records act and subject_jti; the
# metadata lists the grant type; bad requests get the RFC 6749/8693 codes.
import json

import pytest

from test_interop import jose_verify
from tollgate_e2e import (Key, assert_oauth_error, audit_records, jwt_parts, run_cli, unique, verify_pyjwt,
                          wait_for)

GT_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
AT = "urn:ietf:params:oauth:token-type:access_token"
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"
READ = "orders.read@Api:orders"
WRITE = "orders.write@Api:orders"
MODBUS = "modbus.read@Zone:line-3"
READ_V2 = "orders.read@Api:orders-v2"  # Api:orders-v2 is a child of Api:orders
# What the broker answers for a subject token that is not acceptable
# (revoked, expired, garbage, the client's own, sender-constrained, a chain
# too long): RFC 8693 §2.2.2 says an invalid or unacceptable subject_token
# MUST get invalid_request.
BAD_SUBJECT = "invalid_request"

ENTITIES = [
    {"uid": "Api:orders"},
    {"uid": "Api:orders-v2", "parents": ["Api:orders"]},
    {"uid": "Zone:line-3"},
    {"uid": 'Action::"orders.read"', "parents": ['Action::"orders.all"']},
]
ALL = "orders.all@Api:orders"  # an action group holding orders.read


@pytest.fixture(scope="module")
def xb(broker_factory):
    """A broker of this module: its tests add policies (forbids on actors)."""
    b = broker_factory(name="exchange")
    b.set_entities(ENTITIES)
    return b


def exchange(b, actor, subject_token, scope=READ, form=None, **kw):
    """POST /oauth/token with the token-exchange grant, authenticated as
    actor (None: no client authentication); form entries given as None are
    left out."""
    f = {"grant_type": GT_EXCHANGE, "subject_token": subject_token, "subject_token_type": AT}
    f.update(form or {})
    return b.token(actor, scope=scope, form=f, **kw)


def exchanged(b, actor, subject_token, scope=READ, **kw) -> str:
    r = exchange(b, actor, subject_token, scope, **kw)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def agent(b, *scopes):
    """An identity of its own that policy permits exactly these scopes."""
    return b.create_identity(ident_id=unique("agent"), kind="workload", permit=list(scopes or [READ]))


def claims_of(token):
    return jwt_parts(token)[1]


def active(b, token) -> bool:
    return b.introspect(token)["active"]


# ---- 1. the happy path ----

def test_agent_exchanges_a_workloads_token(xb):
    s, a = xb.create_identity(), agent(xb, READ)
    st = xb.issue(s, f"{READ} {WRITE}", ttl=120)
    sc = claims_of(st)
    r = exchange(xb, a, st, scope=READ, ttl=3000)
    assert r.status_code == 200, r.text
    assert r.headers.get("Cache-Control") == "no-store"
    body = r.json()
    assert body["issued_token_type"] == AT  # RFC 8693 §2.2.1: required
    assert body["token_type"] == "Bearer" and body["scope"] == READ
    assert "refresh_token" not in body
    tok = body["access_token"]

    claims = verify_pyjwt(xb, tok)  # an independent resource server
    assert claims["sub"] == s.id and claims["client_id"] == a.id
    assert claims["act"] == {"sub": a.id}
    assert claims["scope"] == READ and claims["iss"] == xb.issuer and claims["aud"] == "tollgate"
    assert claims["jti"] != sc["jti"] and "cnf" not in claims
    # It never outlives the subject token: 3000 s were asked, S's token had 120.
    assert claims["exp"] <= sc["exp"]
    assert claims["exp"] == sc["exp"]
    assert body["expires_in"] == claims["exp"] - claims["iat"] > 0
    assert jwt_parts(tok)[0]["typ"] == "at+jwt"

    p = jose_verify(xb, tok)
    assert p.returncode == 0, p.stderr
    payload = json.loads(p.stdout)["payload"]
    assert payload["act"] == {"sub": a.id} and payload["sub"] == s.id and payload["client_id"] == a.id

    info = xb.introspect(tok)
    assert info["active"] is True and info["sub"] == s.id and info["client_id"] == a.id
    assert info["act"] == {"sub": a.id} and info["scope"] == READ and info["token_type"] == "Bearer"
    assert xb.introspect(tok, as_ident=s)["act"] == {"sub": a.id}  # the subject may see it
    # S's own token is untouched and carries no act.
    own = xb.introspect(st)
    assert own["active"] is True and "act" not in own and "act" not in sc


def test_authorize_shows_the_actor(xb):
    s, a = xb.create_identity(), agent(xb, READ)
    st = xb.issue(s, f"{READ} {WRITE}")
    tok = exchanged(xb, a, st, READ)
    jti = claims_of(tok)["jti"]
    d = xb.authorize(token=tok, action="orders.read", resource="Api:orders")
    assert d["decision"] == "allow", d
    assert d["token"]["active"] is True and d["token"]["sub"] == s.id and d["token"]["jti"] == jti
    assert d["token"]["act"] == {"sub": a.id}
    # The exchanged token's narrower scope holds, though S itself may write.
    d = xb.authorize(token=tok, action="orders.write", resource="Api:orders")
    assert d["decision"] == "deny" and "scope" in d["reason"]
    assert xb.authorize(token=st, action="orders.write", resource="Api:orders")["decision"] == "allow"
    # The decision's context (its audit record) names the actor entity.
    rec = audit_records(xb, type="authz.allow", jti=jti)
    assert len(rec) == 1 and rec[0]["actor"] == s.id
    assert rec[0]["details"]["context"]["actor"] == {"__entity": {"type": "Workload", "id": a.id}}
    # A token with no act gives policy no actor.
    xb.authorize(token=st, action="orders.read", resource="Api:orders")
    rec = audit_records(xb, type="authz.allow", jti=claims_of(st)["jti"])
    assert rec and "actor" not in rec[-1]["details"]["context"]


def test_policy_sees_the_actor(xb):
    s, a, b = xb.create_identity(), agent(xb, READ), agent(xb, READ)
    st = xb.issue(s, READ)
    ta, tb = exchanged(xb, a, st), exchanged(xb, b, st)
    fid = unique("no-agent")
    xb.add_policy(f'@id("{fid}")\nforbid(principal, action == Action::"orders.read", resource == Api::"orders")\n'
                  f'when {{ context has actor && context.actor == Workload::"{a.id}" }};\n')
    d = xb.authorize(token=ta, action="orders.read", resource="Api:orders")
    assert d["decision"] == "deny" and d["reasons"] == [fid], d
    assert xb.authorize(token=tb, action="orders.read", resource="Api:orders")["decision"] == "allow"
    assert xb.authorize(token=st, action="orders.read", resource="Api:orders")["decision"] == "allow"
    # The caller cannot put another actor in the token's place.
    other = {"actor": {"__entity": {"type": "Workload", "id": b.id}}}
    d = xb.authorize(token=ta, action="orders.read", resource="Api:orders", context=other)
    assert d["decision"] == "deny" and d["reasons"] == [fid], d


# ---- 2. narrowing ----

def test_scope_permitted_to_the_subject_but_not_to_the_actor(xb):
    s, a = xb.create_identity(), agent(xb, READ)
    st = xb.issue(s, f"{READ} {WRITE}")
    body = assert_oauth_error(exchange(xb, a, st, WRITE), 400, "invalid_scope")
    assert WRITE in body["error_description"]
    assert_oauth_error(exchange(xb, a, st, f"{READ} {WRITE}"), 400, "invalid_scope")
    # The refusal is audited, with the actor.
    recs = [x for x in audit_records(xb, type="token.refused", actor=a.id) if x["action"] == "oauth.token_exchange"]
    assert recs and recs[-1]["decision"] == "deny" and WRITE in recs[-1]["details"]["reason"]


def test_scope_outside_the_subject_token(xb):
    s, a = xb.create_identity(), agent(xb, READ, MODBUS)  # policy would permit A MODBUS
    st = xb.issue(s, READ)
    body = assert_oauth_error(exchange(xb, a, st, MODBUS), 400, "invalid_scope")
    assert "subject token" in body["error_description"]
    assert_oauth_error(exchange(xb, a, st, f"{READ} {MODBUS}"), 400, "invalid_scope")
    assert_oauth_error(exchange(xb, a, st, "orders.read@Api:other"), 400, "invalid_scope")
    assert exchange(xb, a, st, READ).status_code == 200


def test_scope_narrows_through_the_entity_hierarchy(xb):
    s, a = xb.create_identity(), agent(xb, READ_V2)
    st = xb.issue(s, READ)
    tok = exchanged(xb, a, st, READ_V2)  # a child of the subject token's resource
    assert claims_of(tok)["scope"] == READ_V2
    d = xb.authorize(token=tok, action="orders.read", resource="Api:orders")
    assert d["decision"] == "deny" and "scope" in d["reason"]
    # Not wider than the actor's own permission: the parent is refused.
    assert_oauth_error(exchange(xb, a, st, READ), 400, "invalid_scope")
    # And a narrowed token cannot be exchanged back up to the parent.
    b = agent(xb, READ)
    assert_oauth_error(exchange(xb, b, tok, READ), 400, "invalid_scope")


def test_scope_narrows_through_an_action_group(xb):
    s, a = xb.create_identity(permit=[ALL]), agent(xb, READ, ALL)
    tok = exchanged(xb, a, xb.issue(s, ALL), READ)  # orders.read is in orders.all
    assert claims_of(tok)["scope"] == READ
    # The group is wider than a subject token holding one of its actions.
    s2 = xb.create_identity()
    assert_oauth_error(exchange(xb, a, xb.issue(s2, READ), ALL), 400, "invalid_scope")


def test_no_scope_means_the_subject_tokens_scope(xb):
    s = xb.create_identity()
    both = f"{READ} {WRITE}"
    st = xb.issue(s, both)
    # An actor permitted all of it gets all of it.
    full = xb.create_identity(ident_id=unique("agent"))  # role e2e: READ, WRITE, MODBUS
    r = exchange(xb, full, st, scope=None)
    assert r.status_code == 200, r.text
    assert set(r.json()["scope"].split()) == {READ, WRITE}
    assert set(claims_of(r.json()["access_token"])["scope"].split()) == {READ, WRITE}
    # An actor permitted part of it gets nothing.
    a = agent(xb, READ)
    assert_oauth_error(exchange(xb, a, st, scope=None), 400, "invalid_scope")
    # ... unless the subject token holds only that part.
    r = exchange(xb, a, xb.issue(s, READ), scope=None)
    assert r.status_code == 200 and r.json()["scope"] == READ, r.text


# ---- 3. chains ----

def test_a_chain_nests_act(xb):
    s, a, b = xb.create_identity(), agent(xb, READ), agent(xb, READ)
    st = xb.issue(s, f"{READ} {WRITE}", ttl=200)
    ta = exchanged(xb, a, st)
    tb = exchanged(xb, b, ta, scope=None)  # the default: A's delegated token's scope
    cb = verify_pyjwt(xb, tb)
    assert cb["sub"] == s.id and cb["client_id"] == b.id and cb["scope"] == READ
    assert cb["act"] == {"sub": b.id, "act": {"sub": a.id}}
    assert cb["exp"] <= claims_of(ta)["exp"] <= claims_of(st)["exp"]
    assert xb.introspect(tb)["act"] == {"sub": b.id, "act": {"sub": a.id}}
    d = xb.authorize(token=tb, action="orders.read", resource="Api:orders")
    assert d["decision"] == "allow" and d["token"]["act"] == cb["act"]
    rec = audit_records(xb, type="authz.allow", jti=cb["jti"])
    # context.actor is the current actor, the outermost act.sub.
    assert rec[-1]["details"]["context"]["actor"] == {"__entity": {"type": "Workload", "id": b.id}}
    # Each step is decided for its own actor: C may not read.
    c = agent(xb, MODBUS)
    assert_oauth_error(exchange(xb, c, ta, READ), 400, "invalid_scope")
    # The subject cannot take its own delegated token back: nothing to delegate.
    assert_oauth_error(exchange(xb, s, tb, READ), 400, BAD_SUBJECT)


def test_a_chain_of_more_than_four_actors_is_refused(xb):
    s = xb.create_identity()
    agents = [agent(xb, READ) for _ in range(5)]
    tok = xb.issue(s, READ)
    for a in agents[:4]:
        tok = exchanged(xb, a, tok)
    act, chain = claims_of(tok)["act"], []
    while act is not None:
        chain.append(act["sub"])
        assert set(act) <= {"sub", "act"}
        act = act.get("act")
    assert chain == [a.id for a in reversed(agents[:4])]
    assert active(xb, tok)
    body = assert_oauth_error(exchange(xb, agents[4], tok), 400, BAD_SUBJECT)
    assert "4" in body["error_description"]
    # An actor already in the chain is no way around the limit.
    assert_oauth_error(exchange(xb, agents[0], tok), 400, BAD_SUBJECT)


# ---- 4. refusals ----

def test_inactive_or_invalid_subject_tokens(xb):
    s, a = xb.create_identity(), agent(xb, READ)
    revoked = xb.issue(s, READ)
    assert xb.revoke(revoked, as_ident=s).status_code == 200
    short = xb.issue(s, READ, ttl=1)
    wait_for("the 1 s token to expire", lambda: not active(xb, short), timeout=10)
    st = xb.issue(s, READ)
    h, p, sig = st.split(".")
    flipped = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
    for name, tok in [("revoked", revoked), ("expired", short), ("garbage", "not-a-token"),
                      ("bad signature", f"{h}.{p}.{flipped}"), ("truncated", f"{h}.{p}"),
                      ("empty", "")]:
        r = exchange(xb, a, tok)
        assert r.status_code == 400 and r.json().get("error") == BAD_SUBJECT, (name, r.text)
    # A suspended subject's tokens are not active either.
    assert xb.api("PATCH", f"/v1/identities/{s.id}", {"status": "suspended"}).status_code == 200
    assert_oauth_error(exchange(xb, a, st), 400, BAD_SUBJECT)
    assert xb.api("PATCH", f"/v1/identities/{s.id}", {"status": "active"}).status_code == 200
    assert exchange(xb, a, st).status_code == 200


def test_the_clients_own_token_is_refused(xb):
    a = xb.create_identity()
    body = assert_oauth_error(exchange(xb, a, xb.issue(a, READ)), 400, BAD_SUBJECT)
    assert "own" in body["error_description"]


ACTOR_TOKEN = object()  # stands for an access token of the actor itself


@pytest.mark.parametrize("form, status, error", [
    ({"subject_token_type": "urn:ietf:params:oauth:token-type:id_token"}, 400, "invalid_request"),
    ({"subject_token_type": "urn:ietf:params:oauth:token-type:refresh_token"}, 400, "invalid_request"),
    ({"subject_token_type": "urn:ietf:params:oauth:token-type:saml2"}, 400, "invalid_request"),
    ({"subject_token_type": "access_token"}, 400, "invalid_request"),
    ({"subject_token_type": ""}, 400, "invalid_request"),
    ({"subject_token_type": None}, 400, "invalid_request"),
    ({"subject_token": None}, 400, "invalid_request"),
    ({"requested_token_type": "urn:ietf:params:oauth:token-type:refresh_token"}, 400, "invalid_request"),
    ({"requested_token_type": "urn:ietf:params:oauth:token-type:id_token"}, 400, "invalid_request"),
    ({"requested_token_type": JWT_TYPE}, 400, "invalid_request"),
    ({"actor_token": ACTOR_TOKEN, "actor_token_type": AT}, 400, "invalid_request"),
    ({"actor_token": ACTOR_TOKEN}, 400, "invalid_request"),
    ({"audience": "someone-else"}, 400, "invalid_target"),
    ({"audience": ""}, 400, "invalid_target"),
    ({"resource": "https://api.example/orders"}, 400, "invalid_target"),
    ({"audience": "tollgate", "resource": "https://api.example/orders"}, 400, "invalid_target"),
    ({"ttl": "0"}, 400, "invalid_request"),
    # accepted
    ({"requested_token_type": AT}, 200, None),
    ({"subject_token_type": JWT_TYPE}, 200, None),
    ({"audience": "tollgate"}, 200, None),
])
def test_parameters(xb, form, status, error):
    s, a = xb.create_identity(), agent(xb, READ)
    st = xb.issue(s, READ)
    form = {k: (xb.issue(a, READ) if v is ACTOR_TOKEN else v) for k, v in form.items()}
    r = exchange(xb, a, st, form=form)
    if status == 200:
        assert r.status_code == 200, r.text
        assert r.json()["issued_token_type"] == AT
    else:
        assert_oauth_error(r, status, error)


def test_client_authentication_is_required(xb):
    s = xb.create_identity()
    st = xb.issue(s, READ)
    assert_oauth_error(exchange(xb, None, st), 401, "invalid_client")
    # A client that is not active is no actor.
    a = agent(xb, READ)
    assert xb.api("PATCH", f"/v1/identities/{a.id}", {"status": "suspended"}).status_code == 200
    assert_oauth_error(exchange(xb, a, st), 401, "invalid_client")
    # An assertion signed by another key.
    b = agent(xb, READ)
    assert_oauth_error(exchange(xb, b, st, assertion=xb.assertion(b, key=Key())), 401, "invalid_client")


@pytest.mark.parametrize("grant_type, error", [
    ("password", "unsupported_grant_type"),
    ("urn:ietf:params:oauth:grant-type:jwt-bearer", "unsupported_grant_type"),
    ("urn:ietf:params:oauth:grant-type:token-exchange ", "unsupported_grant_type"),
    ("URN:IETF:PARAMS:OAUTH:GRANT-TYPE:TOKEN-EXCHANGE", "unsupported_grant_type"),
    (None, "invalid_request"),
])
def test_other_grant_types(xb, grant_type, error):
    s, a = xb.create_identity(), agent(xb, READ)
    r = exchange(xb, a, xb.issue(s, READ), form={"grant_type": grant_type})
    assert_oauth_error(r, 400, error)


# ---- 5. lifecycle ----

def test_revoking_the_subject_token_leaves_the_delegated_token(xb):
    # The contract bounds the delegated token by the subject token's exp
    # and JIT grant, not by its revocation: each token is revoked by itself.
    s, a = xb.create_identity(), agent(xb, READ)
    st = xb.issue(s, READ)
    tok = exchanged(xb, a, st)
    assert xb.revoke(st, as_ident=s).status_code == 200
    assert not active(xb, st)
    assert active(xb, tok)
    assert xb.authorize(token=tok, action="orders.read", resource="Api:orders")["decision"] == "allow"
    assert_oauth_error(exchange(xb, a, st), 400, BAD_SUBJECT)  # no new ones from it
    # Revoking the delegated token leaves the subject token.
    st2 = xb.issue(s, READ)
    tok2 = exchanged(xb, a, st2)
    assert xb.revoke(tok2).status_code == 200
    assert not active(xb, tok2) and active(xb, st2)


def test_the_subject_may_revoke_a_delegated_token(xb):
    s, a = xb.create_identity(), agent(xb, READ)
    tok = exchanged(xb, a, xb.issue(s, READ))
    assert xb.revoke(tok, as_ident=s).status_code == 200
    assert not active(xb, tok)


def test_the_actor_may_revoke_the_token_issued_to_it(xb):
    # RFC 7009 §2.1: the server checks that the token "was issued to the
    # client making the revocation request"; this one was issued to A
    # (client_id A), so A can give it up.
    s, a = xb.create_identity(), agent(xb, READ)
    tok = exchanged(xb, a, xb.issue(s, READ))
    assert claims_of(tok)["client_id"] == a.id
    assert xb.revoke(tok, as_ident=a).status_code == 200
    assert not active(xb, tok), "A revoked the token issued to it, yet it is still active"


def test_offboarding_the_actor_ends_its_delegated_tokens(xb):
    s, a, b = xb.create_identity(), agent(xb, READ), agent(xb, READ)
    st = xb.issue(s, READ)
    ta = exchanged(xb, a, st)
    tb = exchanged(xb, b, ta)  # A is the inner actor of this one
    other = exchanged(xb, agent(xb, READ), st)
    assert xb.api("POST", f"/v1/identities/{a.id}/offboard").status_code == 200
    assert xb.introspect(ta) == {"active": False}
    assert xb.introspect(tb) == {"active": False}
    d = xb.authorize(token=ta, action="orders.read", resource="Api:orders")
    assert d["decision"] == "deny" and d["token"]["active"] is False and "actor" in d["token"]["reason"]
    assert_oauth_error(exchange(xb, b, ta), 400, BAD_SUBJECT)
    # The subject and the other actors are not touched.
    assert active(xb, st) and active(xb, other)


def test_suspending_the_actor_suspends_its_delegated_tokens(xb):
    s, a = xb.create_identity(), agent(xb, READ)
    tok = exchanged(xb, a, xb.issue(s, READ))
    assert xb.api("PATCH", f"/v1/identities/{a.id}", {"status": "suspended"}).status_code == 200
    assert not active(xb, tok)
    assert xb.api("PATCH", f"/v1/identities/{a.id}", {"status": "active"}).status_code == 200
    assert active(xb, tok)  # as the identity's own tokens do (test_authorize.py)


def test_offboarding_the_subject_ends_the_delegated_tokens(xb):
    s, a, b = xb.create_identity(), agent(xb, READ), agent(xb, READ)
    ta = exchanged(xb, a, xb.issue(s, READ))
    tb = exchanged(xb, b, ta)
    assert active(xb, ta) and active(xb, tb)
    assert xb.api("POST", f"/v1/identities/{s.id}/offboard").status_code == 200
    assert xb.introspect(ta) == {"active": False}
    assert xb.introspect(tb) == {"active": False}
    assert xb.authorize(token=ta, action="orders.read", resource="Api:orders")["decision"] == "deny"


def test_the_delegated_token_stays_under_the_subjects_grant(broker_factory):
    import test_grants as grants
    import test_operators as ops
    b = broker_factory(args=ops.FAST_HASH, name="exchange-grant", policy=grants.POLICY)
    s = grants.deployer(b)
    g = grants.active_grant(b, s)
    st = b.issue(s, grants.DEPLOY, ttl=3600)
    standing = agent(b, grants.DEPLOY)  # may deploy without a grant
    needs_grant = grants.deployer(b)    # its own permit needs one: the subject's counts
    assert_oauth_error(b.token(needs_grant, grants.DEPLOY), 400, "invalid_scope")
    toks = [exchanged(b, x, st, grants.DEPLOY) for x in (standing, needs_grant)]
    for tok in toks:
        c = claims_of(tok)
        assert c["grant"] == g["id"] and c["exp"] <= g["ends_at"], (c, g)
        assert b.introspect(tok)["grant"] == g["id"]
        assert b.authorize(token=tok, action="deploy.run", resource="Api:prod")["decision"] == "allow"
    r = grants.act(b, g["id"], "revoke", b.admin_token, {"reason": "wrong release"})
    assert r.status_code == 200, r.text
    for tok in toks + [st]:
        assert b.introspect(tok) == {"active": False}
        assert b.authorize(token=tok, action="deploy.run", resource="Api:prod")["decision"] == "deny"


# ---- 6. DPoP ----

def test_dpop_binds_the_delegated_token_to_the_actors_key(xb):
    s, a = xb.create_identity(), agent(xb, READ)
    st = xb.issue(s, READ)
    dkey = Key()
    r = exchange(xb, a, st, dpop=xb.dpop_proof(dkey))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "DPoP" and body["issued_token_type"] == AT
    claims = verify_pyjwt(xb, body["access_token"])
    assert claims["cnf"] == {"jkt": dkey.thumbprint} and claims["act"] == {"sub": a.id}
    info = xb.introspect(body["access_token"])
    assert info["token_type"] == "DPoP" and info["cnf"]["jkt"] == dkey.thumbprint
    # A's identity key works as the proof key too.
    tok = exchanged(xb, a, st, dpop=xb.dpop_proof(a.key))
    assert claims_of(tok)["cnf"]["jkt"] == a.key.thumbprint
    # A bad or replayed proof is refused, and the exchange issues nothing.
    assert_oauth_error(exchange(xb, a, st, dpop=xb.dpop_proof(Key(), htm="GET")), 400, "invalid_dpop_proof")
    proof = xb.dpop_proof(Key())
    assert exchange(xb, a, st, dpop=proof).status_code == 200
    assert_oauth_error(exchange(xb, a, st, dpop=proof), 400, "invalid_dpop_proof")


def test_a_sender_constrained_subject_token_is_not_exchanged(xb):
    # The actor cannot prove the subject's key: exchanging S's DPoP-bound
    # token would turn a token useless without S's key into one that is not.
    s, a = xb.create_identity(), agent(xb, READ)
    skey = Key()
    r = xb.token(s, READ, dpop=xb.dpop_proof(skey))
    assert r.status_code == 200 and r.json()["token_type"] == "DPoP", r.text
    body = assert_oauth_error(exchange(xb, a, r.json()["access_token"]), 400, BAD_SUBJECT)
    assert "sender-constrained" in body["error_description"], body
    # a delegated token bound to the actor's key cannot be passed on either
    bound = exchanged(xb, a, xb.issue(s, READ), dpop=xb.dpop_proof(a.key))
    b2 = agent(xb, READ)
    assert_oauth_error(exchange(xb, b2, bound), 400, BAD_SUBJECT)


# ---- 7. audit and metadata ----

def test_token_issued_records_the_delegation(xb):
    s, a = xb.create_identity(), agent(xb, READ)
    st = xb.issue(s, f"{READ} {WRITE}")
    tok = exchanged(xb, a, st, READ)
    recs = audit_records(xb, type="token.issued", jti=claims_of(tok)["jti"])
    assert len(recs) == 1, recs
    rec = recs[0]
    assert rec["actor"] == a.id and rec["decision"] == "allow" and rec["resource"] == READ
    assert rec["details"]["act"] == {"sub": a.id}
    assert rec["details"]["subject_jti"] == claims_of(st)["jti"]
    assert rec["details"]["scope"] == READ
    assert tok not in json.dumps(rec) and st not in json.dumps(rec)
    # A plain issuance carries neither.
    plain = audit_records(xb, type="token.issued", jti=claims_of(st)["jti"])[0]
    assert "act" not in plain["details"] and "subject_jti" not in plain["details"]


def test_metadata_lists_the_grant_type(xb):
    meta = xb.get("/.well-known/oauth-authorization-server").json()
    assert GT_EXCHANGE in meta["grant_types_supported"]
    assert "client_credentials" in meta["grant_types_supported"]


def test_cli_token_exchange(xb, tmp_path):
    # `tollgate token exchange SUBJECT --identity AGENT --key KEY`: the
    # agent's own key signs its client assertion; the subject token is read
    # from stdin with "-".
    s, a = xb.create_identity(), agent(xb, READ)
    key = tmp_path / "agent.key"
    key.write_text(a.key.priv_pem)
    env = {"TOLLGATE_ADDR": xb.url}
    p = run_cli(["token", "exchange", "-", "--identity", a.id, "--key", str(key), "--scope", READ, "--json"],
                env_extra=env, stdin=xb.issue(s, READ) + "\n")
    assert p.returncode == 0, p.stderr
    body = json.loads(p.stdout)
    assert body["issued_token_type"] == AT and body["scope"] == READ, body
    assert claims_of(body["access_token"])["act"] == {"sub": a.id}
    p = run_cli(["token", "exchange", "-", "--identity", a.id, "--key", str(key), "--scope", WRITE],
                env_extra=env, stdin=xb.issue(s, READ) + "\n")
    assert p.returncode == 1 and "invalid_scope" in p.stderr, p.stderr
    p = run_cli(["token", "exchange", "-", "--key", str(key)], env_extra=env, stdin="x\n")
    assert p.returncode == 2 and "--identity" in p.stderr, p.stderr
