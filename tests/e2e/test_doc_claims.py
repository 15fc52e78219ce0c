# test_doc_claims.py - claims the docs make about the broker that no other
# test pins, each checked against a real broker: an existing data directory
# is set to 0700 (configuration.md, operations.md); the jti is 48 bits of
# issuance time in milliseconds then 80 random bits (concepts.md,
# architecture.md); an oversized DPoP header is refused, not ignored
# (security.md).
import os
import stat
import time

from tollgate_e2e import Broker, Key, assert_oauth_error, audit_records, b64u_decode, jwt_parts


def test_an_existing_data_directory_is_set_to_0700(tmp_path):
    b = Broker(tmp_path / "b")
    b.data.mkdir(mode=0o755)
    os.chmod(b.data, 0o755)
    b.start()
    try:
        assert stat.S_IMODE(os.stat(b.data).st_mode) == 0o700
        for name in ("tollgate.db", "admin.token", "master.key"):
            assert stat.S_IMODE(os.stat(b.data / name).st_mode) == 0o600, name
    finally:
        b.stop()


def test_jti_is_milliseconds_then_random(broker):
    ident = broker.create_identity()
    before = int(time.time() * 1000)
    jtis = [jwt_parts(broker.issue(ident))[1]["jti"] for _ in range(2)]
    after = int(time.time() * 1000)
    raws = [b64u_decode(j) for j in jtis]
    assert all(len(r) == 16 for r in raws), jtis
    for r in raws:
        assert before <= int.from_bytes(r[:6], "big") <= after, (r[:6].hex(), before, after)
    assert raws[0][6:] != raws[1][6:]


def test_an_oversized_dpop_header_is_refused_and_issues_nothing(broker):
    ident = broker.create_identity()
    proof = broker.dpop_proof(Key(), pad="x" * 9000)
    assert len(proof) > 8192
    body = assert_oauth_error(broker.token(ident, dpop=proof), 400, "invalid_dpop_proof")
    assert "too large" in body["error_description"], body
    assert audit_records(broker, actor=ident.id, type="token.issued") == []
    assert broker.token(ident).status_code == 200  # the refusal did not lock the identity out
