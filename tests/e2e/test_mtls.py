# test_mtls.py - RFC 8705 over HTTPS: a broker started with --tls-cert,
# --tls-key and --client-ca authenticates a client by its certificate
# (tls_client_auth, client_id and no assertion) and binds the token to it
# (cnf["x5t#S256"]); a different or untrusted certificate, or none, is
# refused; the metadata advertises tls_client_auth.
import datetime
import hashlib
import ipaddress

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tollgate_e2e import assert_oauth_error, b64u, jwt_parts, session, verify_pyjwt

SCOPE = "modbus.read@Zone:line-3"


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject, key, issuer, issuer_key, ca=False, server=False):
    now = datetime.datetime.utcnow()
    b = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        b = b.add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                          content_commitment=False, key_encipherment=False, data_encipherment=False,
                                          key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
    elif server:
        b = b.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                         x509.DNSName("localhost")]), critical=False)
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    else:
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


class Pki:
    def __init__(self, d):
        self.dir = d
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = _cert("tollgate e2e CA", ca_key, "tollgate e2e CA", ca_key, ca=True)
        self.ca = self._write("ca.pem", ca)
        rogue_key = ec.generate_private_key(ec.SECP256R1())
        rogue = _cert("rogue CA", rogue_key, "rogue CA", rogue_key, ca=True)
        self.server = self._pair("server", "127.0.0.1", ca, ca_key, server=True)
        self.client = self._pair("client", "plc-gateway-7", ca, ca_key)
        self.other = self._pair("other", "another-device", ca, ca_key)
        self.rogue = self._pair("rogue", "plc-gateway-7", rogue, rogue_key)

    def _write(self, name, cert):
        p = self.dir / name
        p.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return p

    def _pair(self, name, cn, issuer, issuer_key, server=False):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert(cn, key, issuer.subject.rfc4514_string().split("=", 1)[1], issuer_key, server=server)
        kp = self.dir / f"{name}.key"
        kp.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()))
        kp.chmod(0o600)
        der = cert.public_bytes(serialization.Encoding.DER)
        return {"cert": self._write(f"{name}.pem", cert), "key": kp, "sha256": hashlib.sha256(der).digest()}


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return Pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def tb(broker_factory, pki):
    return broker_factory(tls={"cert": pki.server["cert"], "key": pki.server["key"], "ca": pki.ca,
                               "client_ca": pki.ca}, name="mtls")


@pytest.fixture(scope="module")
def device(tb, pki):
    fp = pki.client["sha256"].hex().upper()
    # Colon-separated upper-case hex, as `openssl x509 -fingerprint` prints it.
    return tb.create_identity(kind="ot-device", permit=[SCOPE], public_keys=[],
                              mtls_fingerprint=":".join(fp[i:i + 2] for i in range(0, 64, 2)))


def mtls_token(tb, pair, client_id, **form):
    data = {"grant_type": "client_credentials", "scope": SCOPE, "client_id": client_id}
    data.update(form)
    cert = (str(pair["cert"]), str(pair["key"])) if pair else None
    with session() as s:  # a fresh TLS session per client certificate
        return s.post(tb.token_endpoint, data=data, cert=cert, verify=str(tb.tls["ca"]), timeout=10)


def test_metadata_advertises_tls_client_auth(tb):
    m = tb.meta
    assert m["issuer"].startswith("https://") and m["token_endpoint"].startswith("https://")
    assert "tls_client_auth" in m["token_endpoint_auth_methods_supported"]
    assert "private_key_jwt" in m["token_endpoint_auth_methods_supported"]
    assert m["tls_client_certificate_bound_access_tokens"] is True


def test_identity_stores_normalised_fingerprint(tb, device, pki):
    doc = tb.api("GET", f"/v1/identities/{device.id}").json()
    assert doc["mtls_fingerprint"] == pki.client["sha256"].hex()


def test_certificate_bound_token(tb, device, pki):
    r = mtls_token(tb, pki.client, device.id)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer" and body["scope"] == SCOPE
    claims = verify_pyjwt(tb, body["access_token"])
    assert claims["sub"] == device.id
    assert claims["cnf"] == {"x5t#S256": b64u(pki.client["sha256"])}
    info = tb.introspect(body["access_token"])
    assert info["active"] is True and info["cnf"]["x5t#S256"] == b64u(pki.client["sha256"])


def test_wrong_certificate_is_refused(tb, device, pki):
    assert_oauth_error(mtls_token(tb, pki.other, device.id), 401, "invalid_client")


def test_untrusted_certificate_is_refused(tb, device, pki):
    # Same subject, same kind of key, but signed by a CA the broker does not trust.
    try:
        r = mtls_token(tb, pki.rogue, device.id)
    except requests.exceptions.SSLError:
        return  # refused during the handshake: fine too
    assert_oauth_error(r, 401, "invalid_client")


def test_no_certificate_is_refused(tb, device):
    assert_oauth_error(mtls_token(tb, None, device.id), 401, "invalid_client")


def test_certificate_of_another_identity_needs_its_client_id(tb, device, pki):
    other = tb.create_identity(kind="ot-device", permit=[SCOPE], public_keys=[],
                               mtls_fingerprint=pki.other["sha256"].hex())
    assert mtls_token(tb, pki.other, other.id).status_code == 200
    assert_oauth_error(mtls_token(tb, pki.other, device.id), 401, "invalid_client")
    assert_oauth_error(mtls_token(tb, pki.client, other.id), 401, "invalid_client")


def test_certificate_without_client_id(tb, device, pki):
    r = mtls_token(tb, pki.client, None)
    assert r.status_code in (400, 401), r.text
    assert r.json()["error"] in ("invalid_request", "invalid_client")


def test_scope_still_checked(tb, device, pki):
    assert_oauth_error(mtls_token(tb, pki.client, device.id, scope="modbus.write@Zone:line-3"), 400, "invalid_scope")


def test_private_key_jwt_over_https(tb):
    ident = tb.create_identity()
    token = tb.issue(ident)
    assert jwt_parts(token)[1]["iss"].startswith("https://")
    assert "cnf" not in jwt_parts(token)[1]
    assert tb.introspect(token)["active"] is True


def test_suspended_device_is_refused(tb, pki):
    ident = tb.create_identity(kind="ot-device", permit=[SCOPE], public_keys=[])
    fp = pki.client["sha256"].hex()
    assert tb.api("PATCH", f"/v1/identities/{ident.id}", {"mtls_fingerprint": fp}).status_code == 200
    assert mtls_token(tb, pki.client, ident.id).status_code == 200
    assert tb.api("PATCH", f"/v1/identities/{ident.id}", {"status": "suspended"}).status_code == 200
    assert_oauth_error(mtls_token(tb, pki.client, ident.id), 401, "invalid_client")
