#!/usr/bin/env python3
"""gen_corpus.py - writes the seed corpora under tests/fuzz/corpus/.

Tokens are signed with the RFC 8037 A.1 example key for the fixed clock,
issuer and audiences in fuzz_util.h, so that the valid seeds pass every
check and the fuzzer starts from deep paths. Re-run after changing either:
    python3 tests/fuzz/gen_corpus.py
Needs python3-cryptography."""
import base64
import hashlib
import json
import pathlib
import shutil
import urllib.parse

from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, x25519

NOW = 1700000000
ISSUER = "https://tollgate.example"
TOKEN_URL = ISSUER + "/oauth/token"
ACCESS_TOKEN = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
ROOT = pathlib.Path(__file__).resolve().parent / "corpus"


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


KEY = ed25519.Ed25519PrivateKey.from_private_bytes(
    base64.urlsafe_b64decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="))
PUB = KEY.public_key()
X = b64u(PUB.public_bytes(ser.Encoding.Raw, ser.PublicFormat.Raw))
JWK = {"kty": "OKP", "crv": "Ed25519", "x": X}


def enc(obj):
    text = obj if isinstance(obj, str) else json.dumps(obj, separators=(",", ":"))
    return b64u(text.encode())


def jws(header, payload, key=KEY):
    si = enc(header) + "." + enc(payload)
    return si + "." + b64u(key.sign(si.encode()))


def write(target, files):
    d = ROOT / target
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    for name, data in files.items():
        (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def with_(d, **kw):
    out = dict(d)
    for k, v in kw.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = v
    return out


def access_tokens():
    h = {"alg": "EdDSA", "typ": "at+jwt", "kid": "k1"}
    p = {"iss": ISSUER, "sub": "svc-a", "aud": "tollgate", "client_id": "svc-a",
         "iat": NOW, "nbf": NOW, "exp": NOW + 300, "jti": "j1",
         "scope": "modbus.read@Zone:line-3"}
    other = ed25519.Ed25519PrivateKey.generate()
    return {
        "valid": jws(h, p),
        "valid-cnf": jws(h, with_(p, cnf={"jkt": "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"})),
        "valid-aud-array": jws(h, with_(p, aud=["x", "tollgate"])),
        "expired": jws(h, with_(p, exp=NOW - 100)),
        "wrong-aud": jws(h, with_(p, aud="other")),
        "no-scope": jws(h, with_(p, scope=None)),
        "typ-jwt": jws(with_(h, typ="JWT"), p),
        "kid-unknown": jws(with_(h, kid="k9"), p),
        "other-signer": jws(h, p, other),
        "alg-none": enc(with_(h, alg="none")) + "." + enc(p) + ".",
    }


def generic_jws():
    h = {"alg": "EdDSA"}
    p = {"sub": "x"}
    ok = jws(h, p)
    return {
        "valid": ok,
        "crit": jws({"alg": "EdDSA", "crit": ["exp"]}, p),
        "hs256": jws({"alg": "HS256"}, p),
        "dup-alg": jws('{"alg":"EdDSA","alg":"none"}', p),
        "payload-array": jws(h, "[1,2]"),
        "padded": ok + "==",
        "four-parts": ok + ".x",
        "empty": "",
    }


def assertions():
    h = {"alg": "EdDSA", "kid": "key-1"}
    p = {"iss": "svc-a", "sub": "svc-a", "aud": TOKEN_URL, "jti": "a1",
         "iat": NOW, "exp": NOW + 60}
    return {
        "valid": jws(h, p),
        "valid-aud-issuer": jws({"alg": "EdDSA"}, with_(p, aud=[ISSUER])),
        "iss-not-sub": jws(h, with_(p, sub="svc-b")),
        "exp-far": jws(h, with_(p, exp=NOW + 86400)),
        "no-jti": jws(h, with_(p, jti=None)),
        "no-exp": jws(h, with_(p, exp=None)),
    }


def dpop_proofs():
    h = {"typ": "dpop+jwt", "alg": "EdDSA", "jwk": JWK}
    ath = b64u(hashlib.sha256(ACCESS_TOKEN.encode()).digest())
    p = {"jti": "p1", "htm": "POST", "htu": TOKEN_URL, "iat": NOW, "ath": ath}
    return {
        "valid": jws(h, p),
        "valid-query": jws(h, with_(p, htu=TOKEN_URL + "?x=1")),
        "htm-get": jws(h, with_(p, htm="GET")),
        "old-iat": jws(h, with_(p, iat=NOW - 3600)),
        "no-ath": jws(h, with_(p, ath=None)),
        "jwk-d": jws(with_(h, jwk=dict(JWK, d="nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")), p),
        "typ-jwt": jws(with_(h, typ="JWT"), p),
    }


def signed(header, payload, *fields):
    """The signed input form of the signature targets (fuzz_util.h):
    header and payload JSON texts, then the binding fields, one a line;
    the harness signs header and payload with the fixed key."""
    def text(x):
        return x if isinstance(x, str) else json.dumps(x, separators=(",", ":"))
    return "\n".join([text(header), text(payload), *fields])


def signed_jws():
    p = {"sub": "x"}
    return {
        "signed-eddsa": signed({"alg": "EdDSA"}, p),
        "signed-ed25519": signed({"alg": "Ed25519", "kid": "k"}, p),
        "signed-crit": signed({"alg": "EdDSA", "crit": ["exp"]}, p),
        "signed-dup-alg": signed('{"alg":"EdDSA","alg":"none"}', p),
        "signed-alg-nul": signed('{"alg":"EdDSA\\u0000"}', p),
        "signed-payload-array": signed({"alg": "EdDSA"}, "[1]"),
    }


def signed_access_tokens():
    h = {"alg": "EdDSA", "typ": "at+jwt", "kid": "k1"}
    p = {"iss": ISSUER, "sub": "svc-a", "aud": "tollgate", "client_id": "svc-a",
         "iat": NOW, "nbf": NOW, "exp": NOW + 300, "jti": "j1",
         "scope": "modbus.read@Zone:line-3"}
    return {
        "signed-valid": signed(h, p, ISSUER, "tollgate"),
        "signed-ed25519-typ": signed(with_(h, alg="Ed25519", typ="application/at+jwt"), p),
        "signed-cnf-jkt": signed(h, with_(p, cnf={"jkt": "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"})),
        "signed-cnf-x5t": signed(h, with_(p, cnf={"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"})),
        "signed-cnf-empty": signed(h, with_(p, cnf={})),
        "signed-aud-array": signed(h, with_(p, aud=["a", "rs"]), ISSUER, "rs"),
        "signed-other-issuer": signed(h, p, "https://other.example", "tollgate"),
        "signed-nbf-future": signed(h, with_(p, nbf=NOW + 3600)),
        "signed-iat-string": signed(h, with_(p, iat=str(NOW))),
        "signed-kid-k0": signed(with_(h, kid="k0"), p),
    }


def signed_assertions():
    h = {"alg": "EdDSA", "kid": "key-1"}
    p = {"iss": "svc-a", "sub": "svc-a", "aud": TOKEN_URL, "jti": "a1",
         "iat": NOW, "exp": NOW + 60}
    return {
        "signed-valid": signed(h, p, "svc-a", TOKEN_URL),
        "signed-no-client-id": signed(with_(h, alg="Ed25519"), p, ""),
        "signed-other-client": signed(h, p, "svc-b"),
        "signed-aud-issuer": signed(h, with_(p, aud=[ISSUER]), "svc-a"),
        "signed-aud-custom": signed(h, with_(p, aud="https://edge.example/token"), "svc-a",
                                    "https://edge.example/token"),
        "signed-exp-far": signed(h, with_(p, exp=NOW + 86400), "svc-a"),
        "signed-kid-number": signed(with_(h, kid=7), p, "svc-a"),
    }


def signed_dpop_proofs():
    h = {"typ": "dpop+jwt", "alg": "EdDSA", "jwk": JWK}
    ath = b64u(hashlib.sha256(ACCESS_TOKEN.encode()).digest())
    p = {"jti": "p1", "htm": "POST", "htu": TOKEN_URL, "iat": NOW, "ath": ath}
    rs = "https://rs.example/api"
    at2 = "other-access-token"
    ath2 = b64u(hashlib.sha256(at2.encode()).digest())
    return {
        "signed-valid": signed(h, p, "POST", TOKEN_URL, ACCESS_TOKEN),
        "signed-no-token": signed(with_(h, alg="Ed25519"), with_(p, ath=None), "POST", TOKEN_URL, ""),
        "signed-get-rs": signed(h, with_(p, htm="GET", htu=rs + "?q=1#f", ath=ath2), "GET", rs, at2),
        "signed-htm-mismatch": signed(h, p, "GET", TOKEN_URL, ACCESS_TOKEN),
        "signed-htu-prefix": signed(h, with_(p, htu=TOKEN_URL + "x"), "POST", TOKEN_URL),
        "signed-ath-other": signed(h, p, "POST", TOKEN_URL, at2),
        "signed-old-iat": signed(h, with_(p, iat=NOW - 61)),
        "signed-jwk-other": signed(with_(h, jwk=dict(JWK, x=b64u(bytes(32)))), p),
        "signed-typ-case": signed(with_(h, typ="DPoP+JWT"), p),
    }


def claims():
    """HEADER-JSON\nPAYLOAD-JSON pairs for fuzz_claims (it signs them)."""
    def raw(t):
        return base64.urlsafe_b64decode(t + "=" * (-len(t) % 4)).decode()
    out = {}
    for prefix, toks in (("at-", access_tokens()), ("ca-", assertions()), ("dpop-", dpop_proofs())):
        for name in ("valid", "expired", "iss-not-sub", "old-iat", "jwk-d"):
            if name in toks:
                h, p, _ = toks[name].split(".")
                out[prefix + name] = raw(h) + "\n" + raw(p)
    return out


def forms():
    return {
        "token-request": "grant_type=client_credentials&scope=modbus.read%40Zone%3Aline-3"
                         "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type"
                         "%3Ajwt-bearer&client_assertion=eyJ.eyJ.sig",
        "plus-and-empty": "a=x+y&b=&c&&d=%2B",
        "bad-escape": "a=%zz",
        "nul": "a=%00",
        "dup": "a=1&a=2",
    }


def scopes():
    return {
        "one": "modbus.read@Zone:line-3",
        "many": "modbus.read@Zone:line-3 modbus.write@Device:plc-7 orders.create@Api:orders",
        "dups": "a@T:1 a@T:1 b@T:2",
        "double-space": "a@T:1  b@T:2",
        "no-type": "read@:x",
    }


def configs():
    return {
        "full": "# tollgate.conf\nlisten = 0.0.0.0:8420\ndata_dir = \"/var/lib/tollgate\"\n"
                "issuer = https://tollgate.example # comment\naudience = \"a b\"\n"
                "tls_cert = /c.pem\ntls_key = /k.pem\nclient_ca = /ca.pem\n"
                "token_default_ttl = 300\ntoken_max_ttl = 3600\nclock_leeway = 30\n"
                "sqlite_synchronous = normal\nthreads = 8\r\nmax_body = 65536\n",
        "bad-int": "threads = many\n",
        "unknown": "nope = 1\n",
        "quotes": "audience = \"x\ny = \"\"\n",
        "invalid-combo": "token_default_ttl = 600\ntoken_max_ttl = 60\n",
    }


def keys():
    def pem(k, private=False):
        if private:
            return k.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8,
                                   ser.NoEncryption()).decode()
        return k.public_key().public_bytes(ser.Encoding.PEM,
                                           ser.PublicFormat.SubjectPublicKeyInfo).decode()
    return {
        "spki": pem(KEY),
        "pkcs8": pem(KEY, True),
        "jwk": json.dumps(JWK),
        "jwk-d": json.dumps(dict(JWK, d="nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")),
        "ec-p256": pem(ec.generate_private_key(ec.SECP256R1())),
        "x25519": pem(x25519.X25519PrivateKey.generate()),
        "x25519-private": pem(x25519.X25519PrivateKey.generate(), True),
    }


def change_windows():
    """WINDOW-JSON [NUL ZONE] for fuzz_change_window: windows of every
    schedule form with real zoneinfo files (tzdata), POSIX TZ strings, or
    no zone (UTC)."""
    zi = pathlib.Path("/usr/share/zoneinfo")
    zones = {n.replace("/", "-").lower(): (zi / n).read_bytes()
             for n in ("Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata", "UTC")}
    res = ['Zone::"line-3"', "Device:plc-7"]

    def win(tz, schedule):
        return json.dumps({"name": "line3-maintenance", "resources": res, "timezone": tz,
                           "schedule": schedule}).encode()
    weekend = {"every": "week", "days": ["sat", "sun"], "from": "02:00", "to": "06:00"}
    nightly = {"every": "day", "from": "22:00", "to": "02:00"}
    once = {"start": "2026-12-07T02:00", "end": "2026-12-07T06:00"}
    return {
        "weekend-berlin": win("Europe/Berlin", weekend) + b"\0" + zones["europe-berlin"],
        "nightly-lord-howe": win("Australia/Lord_Howe", nightly) + b"\0" + zones["australia-lord_howe"],
        "once-kolkata": win("Asia/Kolkata", once) + b"\0" + zones["asia-kolkata"],
        "once-fixed-utc": win("UTC", {"start": "2026-12-07T01:00:30Z", "end": "2026-12-07T06:00-05:30"})
        + b"\0" + zones["utc"],
        "weekend-rule": win("Europe/Berlin", weekend) + b"\0CET-1CEST,M3.5.0,M10.5.0/3",
        "nightly-rule-south": win("X", nightly) + b"\0<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
        "allday-rule-v3": win("X", {"every": "day", "from": "00:00", "to": "24:00"})
        + b"\0EST5EDT4,0/0,J365/25",
        "rule-jn": win("X", weekend) + b"\0AAA0BBB,J60/0,300/-167",
        "no-zone": win("UTC", {"every": "week", "days": ["mon", "wed", "fri"], "from": "09:00",
                               "to": "10:00"}),
        "bad-days": win("UTC", {"every": "week", "days": ["mon", "mon"], "from": "09:00", "to": "10:00"}),
        "bad-member": json.dumps({"name": "w", "resources": ["T:x"], "timezone": "UTC",
                                  "schedule": {"every": "day", "from": "09:00", "to": "09:00"},
                                  "x": 1}).encode(),
        # Found by fuzzing: escaping doubles the backslashes past the bound;
        # a DST end that lands after the next year's start.
        "resource-escapes": json.dumps({"name": "w", "resources": ["T:" + "\\" * 300],
                                        "timezone": "UTC", "schedule": nightly}).encode(),
        "rule-late-end": win("X", nightly) + b"\0EST0EDT8,0/7,J365/25",
        "zone-only-berlin": b"\0" + zones["europe-berlin"],
        "zone-truncated": b"{}\0" + zones["europe-berlin"][:1000],
    }


def status_lists():
    """fuzz_status_list: lst strings (the draft's vectors, a fresh list of
    Tollgate's size, broken streams) and Status List Token claims."""
    import zlib

    def lst(raw, wrap=True):
        return b64u(zlib.compress(raw, 9) if wrap else raw)

    c1 = bytearray(1 << 17)
    for i in (0, 1993, 25460, 159495, 495669, 554353, 645645, 723232, 854545, 934534, 1000345):
        c1[i // 8] |= 1 << (i % 8)
    uri = ISSUER + "/v1/status-lists/0"
    claims = {"iss": ISSUER, "sub": uri, "iat": NOW, "exp": NOW + 60, "ttl": 30,
              "status_list": {"bits": 1, "lst": "eNrbuRgAAhcBXQ",
                              "aggregation_uri": ISSUER + "/v1/status-lists"}}
    deflated = zlib.compressobj(9, zlib.DEFLATED, -15)
    raw_deflate = deflated.compress(bytes(64)) + deflated.flush()
    return {
        "lst-draft-1bit": "eNrbuRgAAhcBXQ",
        "lst-draft-2bit": "eNo76fITAAPfAgc",
        "lst-draft-c1": lst(bytes(c1)),
        "lst-fresh-65536": lst(bytes(8192)),
        "lst-empty": lst(b""),
        "lst-truncated": b64u(zlib.compress(bytes(range(256)), 9)[:-6]),
        "lst-raw-deflate": b64u(raw_deflate),
        "token": json.dumps(claims),
        "token-2bit": json.dumps(with_(claims, status_list={"bits": 2, "lst": "eNo76fITAAPfAgc"})),
        "token-no-exp": json.dumps(with_(claims, exp=None, ttl=None)),
        "token-expired": json.dumps(with_(claims, exp=NOW - 100)),
        "token-other-sub": json.dumps(with_(claims, sub=ISSUER + "/v1/status-lists/1")),
    }


EDGE_REQUIRED = ("broker = http://127.0.0.1:8420\nidentity = edge-1\nkey_file = /etc/tollgate/edge-1.key\n"
                 "state_dir = /var/lib/tollgate-edge\n")
EDGE_ROUTES = ("route = GET  /orders/{id}  orders.read    Order:{id}\n"
               "route = POST /orders       orders.create  Api:orders\n"
               "route = *    /admin/*      admin.any      Api:admin   inject=Authorization:file:/etc/erp-admin\n"
               "route = GET /tenants/{t}/orders/{id} orders.read Order:{t}-{id} stale=open\n"
               "route = GET / home.read Api:home\n")


def edge_configs():
    return {
        "issue-example": EDGE_REQUIRED + "listen = 127.0.0.1:8421 # GET /auth\naudience = tollgate\n"
                         "max_stale = 30\n" + EDGE_ROUTES,
        "all-keys": EDGE_REQUIRED + "kid = k1\nlisten = [::1]:9000\nissuer = https://tg.example\n"
                    "max_stale = 120\npoll_wait = 60\ntrusted_proxies = 10.0.0.0/8, ::1\nclock_leeway = 0\n"
                    "dpop_max_age = 5\ntoken_cache = 0\nspool_max = 1048576\naudit_batch = 1\n"
                    "scope = \"edge.sync@Api:tollgate feed.read@Api:tollgate\"\nlog_level = debug\n" + EDGE_ROUTES,
        "modbus": EDGE_REQUIRED + "modbus = 0.0.0.0:502 10.1.2.3:502 Device:plc-7 unit=1 timeout_ms=500\n"
                  "modbus = [::1]:1502 [fd00::7]:502 Device:plc-8\n",
        "bad-route": EDGE_REQUIRED + "route = GET /x a.b T:x inject=Authorization:vault:erp\n",
        "inject-secret": EDGE_REQUIRED + "route = POST /v1/* vendor.call Api:vendor "
                         "inject=Authorization:secret:prod.vendor-key inject=X-Trace:file:/etc/t\n"
                         "route = GET /b b.read Api:b inject=X-Key:secret:prod.vendor-key\n",
        "dup-param": "route = GET /{a}/{a} a.b T:{a}\n",
        "stale-poll": EDGE_REQUIRED + "poll_wait = 30\nmax_stale = 30\n" + EDGE_ROUTES,
        "no-routes": EDGE_REQUIRED,
        "quoted": EDGE_REQUIRED + "route = \"GET /q a.b T:x # comment inside\"\n",
    }


def edge_routes():
    """CONFIG NUL METHOD SP PATH for fuzz_edge_route."""
    def req(method, path, routes=EDGE_ROUTES):
        return routes.encode() + b"\0" + method + b" " + path
    return {
        "order": req(b"GET", b"/orders/42?x=1"),
        "tenant": req(b"GET", b"/tenants/acme/orders/7#f"),
        "admin-rest": req(b"DELETE", b"/admin/users/1/"),
        "root": req(b"GET", b"/"),
        "traversal": req(b"GET", b"/admin/%2e%2e/orders/1"),
        "tomcat": req(b"GET", b"/orders/..;/admin"),
        "encoded-slash": req(b"GET", b"/orders/a%2Fb"),
        "double-slash": req(b"GET", b"//orders/1"),
        "nul": req(b"GET", b"/orders/a%00"),
        "double-encoding": req(b"GET", b"/orders/%252e"),
        "bad-utf8": req(b"GET", b"/admin/\xff\xfe%C0%80"),
        "bad-id": req(b"GET", b"/orders/a%20b"),
        "no-route": req(b"PATCH", b"/orders/1"),
        "catch-all": req(b"PUT", b"/anything/x", "route = * /* any.any Api:all\n"),
        "inject-secret": req(b"POST", b"/v1/charges", "route = POST /v1/* vendor.call Api:vendor "
                             "inject=Authorization:secret:prod.vendor-key\n"),
    }


def fwd_requests():
    """FLAGS then NUL-separated header values for fuzz_fwd_request: Authorization,
    DPoP, X-Original-Method, X-Original-URI, X-Forwarded-Method, X-Forwarded-Uri,
    X-Forwarded-Proto, X-Forwarded-Host, Host, X-Forwarded-For, X-Real-IP,
    X-Client-Cert; the byte 0xff is an absent header."""
    absent = b"\xff"
    token = ACCESS_TOKEN.encode()
    cert = ("-----BEGIN CERTIFICATE-----\nMIIBNDCB56ADAgECAhQA557Wkf5KGV75YPDqz9QZY0vZEzAFBgMrZXAwEDEOMAwG\n"
            "A1UEAwwFc3ZjLWEwHhcNMjYxMjA2MDk1OTM4WhcNMzYxMjAzMDk1OTM4WjAQMQ4w\n"
            "DAYDVQQDDAVzdmMtYTAqMAUGAytlcAMhAOkp5Tbe8QOxx6Lc0QFhZa87jVvN2y7G\n"
            "Skxh2PcenjFpo1MwUTAdBgNVHQ4EFgQUJz9Gx8jR2X3Svonv6RDRHa206TQwHwYD\n"
            "VR0jBBgwFoAUJz9Gx8jR2X3Svonv6RDRHa206TQwDwYDVR0TAQH/BAUwAwEB/zAF\n"
            "BgMrZXADQQA0vMT6hmYghLJWSV/csZOsQLMwJ9Y/piCVE96l11tgg4dSpweI4cAe\n"
            "6ZVOI5PVTtIP0XUw/N/T+azV+0kViSMA\n-----END CERTIFICATE-----\n").encode()
    proof = jws({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": JWK},
                {"jti": "p1", "htm": "GET", "htu": "https://api.example/orders/42", "iat": NOW}).encode()

    def req(flags=0, auth=b"Bearer " + token, dpop=absent, om=b"GET", ou=b"/orders/42?x=1", fm=absent,
            fu=absent, proto=b"https", fhost=b"api.example", host=b"127.0.0.1:8421", xff=absent, xri=absent,
            crt=absent):
        return bytes([flags]) + b"\0".join([auth, dpop, om, ou, fm, fu, proto, fhost, host, xff, xri, crt])
    return {
        "nginx-bearer": req(),
        "nginx-dpop": req(auth=b"DPoP " + token, dpop=proof),
        "caddy": req(om=absent, ou=absent, fm=b"POST", fu=b"/orders", fhost=absent, host=b"shop.example"),
        "xff-chain": req(xff=b"6.6.6.6, 198.51.100.4, 127.0.0.1", xri=b"192.0.2.1"),
        "xff-spoof-untrusted": req(flags=1, xff=b"127.0.0.1", xri=b"10.0.0.1"),
        "xff-v6": req(flags=2, xff=b"[2001:db8::1]:443, ::ffff:198.51.100.4"),
        "custom-proxies": req(flags=16 | 3, xff=b"198.51.100.4, 10.9.9.9"),
        "cert": req(crt=cert),
        "cert-escaped": req(crt=urllib.parse.quote(cert.decode(), safe="").encode()),
        "missing-token": req(auth=absent),
        "basic": req(auth=b"Basic dXNlcjpwYXNz"),
        "malformed": req(auth=b"Bearer  two-spaces"),
        "two-dpop": req(flags=4, auth=b"DPoP " + token, dpop=proof),
        "two-auth": req(flags=8),
        "conflict": req(fm=b"GET", fu=b"/public/x"),
        "no-original": req(om=absent, ou=absent),
        "bad-xff": req(xff=b"unknown"),
    }


def modbus_frames():
    """fuzz_modbus: client streams of Modbus/TCP ADUs - one request of every
    function decoded (the examples of the specification, section 6), a
    request followed by its response (the second frame is checked as a
    response to the first), several frames and a cut one in one stream,
    each kind of bad PDU, and malformed headers."""
    def adu(pdu, tid=1, unit=0x11, proto=0, length=None):
        n = len(pdu) + 1 if length is None else length
        return tid.to_bytes(2, "big") + proto.to_bytes(2, "big") + n.to_bytes(2, "big") + bytes([unit]) + pdu

    h = bytes.fromhex
    exchanges = {
        "read-coils": ("0100130013", "0103cd6b05"),
        "read-discrete-inputs": ("0200c40016", "0203acdb35"),
        "read-holding-registers": ("03006b0003", "0306022b00000064"),
        "read-input-registers": ("0400080001", "0402000a"),
        "write-single-coil": ("0500acff00", "0500acff00"),
        "write-single-register": ("0600010003", "0600010003"),
        "read-exception-status": ("07", "076d"),
        "diagnostics-query": ("080000a537", "080000a537"),
        "diagnostics-counter": ("08000b0000", "08000b1234"),
        "diagnostics-listen-only": ("0800040000", "8801"),
        "comm-event-counter": ("0b", "0bffff0108"),
        "comm-event-log": ("0c", "0c080000010801212000"),
        "write-multiple-coils": ("0f0013000a02cd01", "0f0013000a"),
        "write-multiple-registers": ("100001000204000a0102", "1000010002"),
        "report-server-id": ("11", "11022aff"),
        "read-file-record": ("140e0600040001000206000300090002", "140c05060dfe0020050633cd0040"),
        "write-file-record": ("150d0600040007000306af04be100d", "150d0600040007000306af04be100d"),
        "mask-write-register": ("16000400f20025", "16000400f20025"),
        "read-write-registers": ("1700030006000e00030600ff00ff00ff", "170c00fe0acd00010003000d00ff"),
        "read-fifo-queue": ("1804de", "180006000201b81284"),
        "read-device-id": ("2b0e0100", "2b0e0101000003000341434d01025037020456312e30"),
        "exception": ("03006b0003", "8302"),
    }
    out = {}
    for name, (req, resp) in exchanges.items():
        req, resp = h(req), h(resp)
        out["req-" + name] = adu(req)
        out["pair-" + name] = adu(req, tid=7) + adu(resp, tid=7)
    bad = {
        "quantity-zero": "0100000000",
        "quantity-2001": "01000007d1",
        "range-overflow": "03ff84007d",
        "coil-value": "0500ac0001",
        "byte-count": "0f0013000a01cd",
        "trailing": "03006b000300",
        "short": "03006b",
        "diag-reserved": "0800130000",
        "mei-13": "2b0d000000",
        "file-ref-type": "140707000100000001",
        "file-too-big": "1415060001000000290600010029002906000100520029",
        "user-defined": "41000102",
        "reserved-90": "5a00",
        "fc-zero": "00",
        "fc-exception-range": "83",
    }
    for name, pdu in bad.items():
        out["bad-" + name] = adu(h(pdu))
    max_regs = bytes([0x10, 0xFF, 0x85, 0x00, 0x7B, 246]) + bytes(range(246))
    out["max-write-registers"] = adu(max_regs)
    out["max-write-coils"] = adu(bytes([0x0F, 0x00, 0x00, 0x07, 0xB0, 246]) + b"\xff" * 246)
    out["stream-three"] = adu(h("07"), tid=1) + adu(max_regs, tid=2) + adu(h("03006b0003"), tid=3)
    out["stream-cut"] = adu(h("03006b0003"), tid=1) + adu(h("100001000204000a0102"), tid=2)[:9]
    out["header-protocol-1"] = adu(h("03006b0003"), proto=1)
    out["header-length-1"] = adu(b"", length=1)
    out["header-length-255"] = adu(bytes(254), length=255)
    out["header-only"] = adu(h("03006b0003"))[:6]
    return out


def edge_session_reports():
    """fuzz_edge_sessions: an edge's report of live Modbus sessions - none,
    one, several, more than were sent, the widest strings, and each kind of
    refusal (unknown members, wrong types, bad ids, an id twice, control
    characters, total below the rows)."""
    row = {"id": "ms-0123456789abcdef", "listener": "127.0.0.1:1502", "device": "Device:plc-7",
           "src": "10.0.0.7", "identity": "hmi-1", "grant": "g-AAAAAAAAAAAAAAAAAAAAAA",
           "since": 1700000000000, "last": 1700000001000, "allowed": 3, "denied": 1}

    def rep(rows, total=None):
        return json.dumps({"total": len(rows) if total is None else total, "sessions": rows})

    def with_row(**kw):
        return dict(row, **kw)
    out = {
        "empty": rep([]),
        "one": rep([row]),
        "three": rep([with_row(id="ms-%016d" % i, src="10.0.0.%d" % i, allowed=i) for i in range(3)]),
        "truncated": rep([row], total=4000),
        "ipv6": rep([with_row(listener="[::1]:1502", src="2001:db8::7")]),
        "widest": rep([with_row(listener="l" * 64, device="T:" + "d" * 511, src="s" * 64, identity="i" * 128,
                                grant="g" * 128)]),
        "escapes": rep([with_row(identity="a\"b\\c", device="Device:caf\u00e9")]),
        "bad-total-low": rep([row], total=0),
        "bad-no-total": json.dumps({"sessions": []}),
        "bad-unknown": json.dumps({"total": 0, "sessions": [], "x": 1}),
        "bad-row-unknown": rep([with_row(x=1)]),
        "bad-id": rep([with_row(id="ms-short")]),
        "bad-id-twice": rep([row, row]),
        "bad-control": rep([with_row(src="a\nb")]),
        "bad-negative": rep([with_row(allowed=-1)]),
        "bad-real": rep([with_row(since=1.5)]),
        "bad-not-object": "[]",
        "bad-json": "{",
    }
    return out


def write_signature_targets():
    """Compact seeds and signed-form seeds of the four signature targets."""
    write("fuzz_jws", {**generic_jws(), **signed_jws()})
    write("fuzz_access_token", {**access_tokens(), **signed_access_tokens()})
    write("fuzz_client_assertion", {**assertions(), **signed_assertions()})
    write("fuzz_dpop", {**dpop_proofs(), **signed_dpop_proofs()})


def secret_metas():
    """NAME NUL METADATA-JSON for fuzz_secret_meta: names (valid,
    dotted, refused) and documents with every member, durations in each
    form, and the bounds."""
    full = {"owner": "team-erp", "target": "postgres://erp-db:5432/erp", "consumers": ["svc-a", "svc-b"],
            "description": "ERP database password",
            "rotation": {"rotate_every": "30d", "grace": "1h", "window": "nightly"}}
    seeds = {
        "full": ("erp-db", full),
        "dotted": ("prod.erp.db-password", {"rotation": {"rotate_every": 86400, "grace": 0}}),
        "empty": ("x", {}),
        "durations": ("1d12h30m5s", {"rotation": {"rotate_every": "1d12h", "grace": "90"}}),
        "grace-too-long": ("a.b", {"rotation": {"rotate_every": "1h", "grace": "2h"}}),
        "unknown": ("../x", {"colour": "red"}),
        "consumers-dup": ("a//b", {"consumers": ["a", "a"]}),
        "wrong-types": ("n", {"owner": 5, "consumers": "svc", "rotation": []}),
    }
    return {k: n.encode() + b"\0" + json.dumps(d).encode() for k, (n, d) in seeds.items()}


def rotation_drivers():
    """Rotation target documents (each driver, every member) and exec or
    webhook answers for fuzz_rotation_driver."""
    docs = {
        "pg": {"driver": "postgres", "dsn": "host=127.0.0.1 port=5432 dbname=postgres user=admin "
               "application_name='a b\\'c'", "role": "app_rw", "password_file": "/etc/tg/pg",
               "sslmode": "require", "timeout": 10},
        "pg-secret": {"driver": "postgres", "dsn": "host=/run/postgresql", "role": "App.rw-2",
                      "password_secret": "pg-admin"},
        "pg-password-in-dsn": {"driver": "postgres", "dsn": "host=h password=x", "role": "r",
                               "password_file": "/f"},
        "pg-uri": {"driver": "postgres", "dsn": "postgresql://u:pw@h/db", "role": "r", "password_file": "/f"},
        "exec": {"driver": "exec", "command": "/usr/local/bin/rotate", "args": ["--flag", "two words"],
                 "config": {"host": "plc-7", "nested": {"a": [1, 2, None]}}, "timeout": 30},
        "exec-relative": {"driver": "exec", "command": "rotate.sh"},
        "webhook": {"driver": "webhook", "url": "https://rotate.example/hook", "config": {"account": "svc"},
                    "timeout": 300},
        "webhook-ftp": {"driver": "webhook", "url": "ftp://x"},
    }
    out = {k: json.dumps(v) for k, v in docs.items()}
    out.update({
        "answer-ok": '{"ok":true}\n',
        "answer-refused": '{"ok":false,"error":"login refused"}',
        "answer-extra": '{"ok":true,"extra":1}',
        "answer-dup": '{"ok":true,"ok":false}',
        "answer-garbage": "garbage",
    })
    return out


def sql_templates():
    """Dynamic role templates (accepted and refused) and definition
    documents for fuzz_sql_template."""
    create = ("CREATE ROLE {{name}} LOGIN PASSWORD {{password}} VALID UNTIL {{expiry}};\n"
              "GRANT SELECT ON ALL TABLES IN SCHEMA app TO {{name}};")
    out = {
        "create": create,
        "revoke": "REASSIGN OWNED BY {{name}} TO CURRENT_USER; DROP OWNED BY {{name}}; DROP ROLE {{name}};",
        "quotes-comments": "SELECT '{a,b}', E'it\\'s', \"x}\" -- {y\n/* { /* } */ */ DROP ROLE {{name}}",
        "dollar": "DO $b$ BEGIN RAISE NOTICE '}'; END $b$; GRANT r TO {{name}}",
        "quoted-placeholder": "CREATE ROLE '{{name}}' PASSWORD {{password}}",
        "unknown": "CREATE ROLE {{user}}",
        "lone-brace": "SELECT {",
        "unterminated": "SELECT 'x",
    }
    base = {"driver": "postgres", "dsn": "host=/tmp user=admin dbname=app", "password_file": "/etc/tg/pg",
            "creation": create, "max_ttl": 3600}
    out["def"] = json.dumps(base)
    out["def-full"] = json.dumps(dict(base, revocation=out["revoke"], default_ttl=60, timeout=5,
                                      sslmode="disable"))
    out["def-secret"] = json.dumps(dict({k: v for k, v in base.items() if k != "password_file"},
                                        password_secret="pg-admin"))
    out["def-role"] = json.dumps(dict(base, role="x"))
    out["def-bad-revocation"] = json.dumps(dict(base, revocation="ALTER ROLE {{name}} PASSWORD {{password}}"))
    return out


def main():
    write_signature_targets()
    write("fuzz_claims", claims())
    write("fuzz_form", forms())
    write("fuzz_scope", scopes())
    write("fuzz_config", configs())
    write("fuzz_ed25519_key", keys())
    write("fuzz_change_window", change_windows())
    write("fuzz_edge_config", edge_configs())
    write("fuzz_edge_route", edge_routes())
    write("fuzz_fwd_request", fwd_requests())
    write("fuzz_status_list", status_lists())
    write("fuzz_modbus", modbus_frames())
    write("fuzz_edge_sessions", edge_session_reports())
    write("fuzz_secret_meta", secret_metas())
    write("fuzz_rotation_driver", rotation_drivers())
    write("fuzz_sql_template", sql_templates())


if __name__ == "__main__":
    main()
