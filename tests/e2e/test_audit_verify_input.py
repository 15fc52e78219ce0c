# test_audit_verify_input.py - docs/audit_verify.py says in one line what is
# wrong with an input file it cannot use (missing, empty, not JSON, not a
# JWKS with an Ed25519 key) and exits 2, instead of a traceback; the same
# files, well formed, verify (exit 0).
import subprocess
import sys

import pytest

from tollgate_e2e import AUDIT_VERIFY_PY, cli_env, run_cli


@pytest.fixture(scope="module")
def exported(broker, tmp_path_factory):
    """(export, keys) of the shared broker, made as docs/audit.md says."""
    d = tmp_path_factory.mktemp("verify-input")
    export, keys = d / "audit.jsonl", d / "audit-keys.json"
    p = run_cli(["audit", "export", "--out", str(export)], env_extra=cli_env(broker))
    assert p.returncode == 0, p.stderr
    r = broker.http.get(broker.url + "/.well-known/tollgate-audit-keys.json")
    assert r.status_code == 200, r.text
    keys.write_bytes(r.content)
    return export, keys


def verify_py(export, keys):
    return subprocess.run([sys.executable, str(AUDIT_VERIFY_PY), str(export), str(keys)],
                          capture_output=True, text=True, timeout=60)


def assert_input_error(p, path, *words):
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert "Traceback" not in p.stderr and p.stdout == "", p.stderr
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("audit_verify.py: "), p.stderr
    assert str(path) in lines[0], lines[0]
    for w in words:
        assert w in lines[0], lines[0]


def test_well_formed_inputs_verify(exported):
    p = verify_py(*exported)
    assert p.returncode == 0 and p.stdout.startswith("ok: "), (p.stdout, p.stderr)


@pytest.mark.parametrize("content, words", [
    (b"", ["is empty", "tollgate-audit-keys.json"]),  # what curl leaves when the download fails
    (b"\n  \n", ["is empty"]),
    (b"<html>502 Bad Gateway</html>", ["is not JSON", "tollgate-audit-keys.json"]),
    (b'{"keys": [', ["is not JSON"]),
    (b"\xff\xfe", ["is not UTF-8"]),
    (b"[]", ["is not a JWKS"]),
    (b'{"keys": {}}', ["is not a JWKS"]),
    (b'{"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}', ["is not a JWKS"]),
    (b'{"keys": []}', ["holds no Ed25519 key"]),
    (b'{"keys": [{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "kid": "k"}]}', ["holds no Ed25519 key"]),
    (b'{"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "too-short", "kid": "k"}]}', ["key 1 is not a valid"]),
    (b'{"keys": [{"kty": "OKP", "crv": "Ed25519", "x": 7, "kid": "k"}]}', ["key 1 is not a valid"]),
])
def test_unusable_key_file_is_named_with_what_is_wrong(exported, tmp_path, content, words):
    keys = tmp_path / "audit-keys.json"
    keys.write_bytes(content)
    assert_input_error(verify_py(exported[0], keys), keys, *words)


def test_missing_files_are_named(exported, tmp_path):
    missing = tmp_path / "nope.json"
    assert_input_error(verify_py(exported[0], missing), missing, "cannot read")
    assert_input_error(verify_py(missing, exported[1]), missing, "cannot read")


def test_empty_export_is_an_input_error(exported, tmp_path):
    export = tmp_path / "audit.jsonl"
    export.write_bytes(b"")
    assert_input_error(verify_py(export, exported[1]), export, "is empty", "tollgate audit export")


def test_a_line_that_is_not_utf8_is_a_failed_record_not_a_traceback(exported, tmp_path):
    export = tmp_path / "audit.jsonl"
    export.write_bytes(exported[0].read_bytes() + b"\xff\xfe{}\n")
    p = verify_py(export, exported[1])
    assert p.returncode == 1 and "Traceback" not in p.stderr, (p.stdout, p.stderr)
    assert p.stdout.startswith("FAILED at seq ") and "is not a JSON object" in p.stdout, p.stdout
