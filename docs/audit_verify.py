#!/usr/bin/env python3
"""audit_verify.py EXPORT.jsonl AUDIT_KEYS.json - verifies a `tollgate audit
export` file against the broker's /.well-known/tollgate-audit-keys.json,
independently of Tollgate's C code (the rules are in docs/audit.md). Needs
Python 3 and python3-cryptography only. Exit 0 printing the count and the last
checkpoint, 1 printing "FAILED at seq N: reason" for the first record that
does not fit, or 2 with one line saying what is wrong with an input file that
cannot be used at all (missing, empty, not JSON, not a JWKS with an Ed25519
key)."""
import base64
import decimal
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

GENESIS = "0" * 64


class Failed(Exception):
    def __init__(self, seq, reason):
        super().__init__(f"FAILED at seq {seq}: {reason}")


def canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def b64url(s: str) -> bytes:  # unpadded base64url, strictly
    if set(s) - set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"):
        raise ValueError("not base64url")
    return base64.b64decode(s.replace("-", "+").replace("_", "/") + "=" * (-len(s) % 4), validate=True)


def as_int(v):
    return v if isinstance(v, int) and not isinstance(v, bool) else -1


def parse(line):
    """A JSON object, as strict as the C reader: no duplicate members, no
    NaN, integers in 64 bits; reals are kept as Decimal, which has no
    canonical form (a record holding one does not hash)."""
    def obj(pairs):
        if len({k for k, _ in pairs}) != len(pairs):
            raise ValueError("duplicate member")
        return dict(pairs)

    def integer(s):
        if not -2**63 <= int(s) < 2**63:
            raise ValueError("integer out of range")
        return int(s)

    def constant(name):
        raise ValueError(name)
    return json.loads(line, object_pairs_hook=obj, parse_int=integer, parse_float=decimal.Decimal,
                      parse_constant=constant)


class Verifier:
    def __init__(self, keys):
        self.keys = keys  # kid -> Ed25519PublicKey
        self.records = self.checkpoints = self.first = self.last = self.last_cp = 0
        self.last_hash, self.anchored = None, False  # anchored: starts at seq 1 or at a checkpoint
        self.pending = []  # (seq, hash) of checkpoints ahead of the records: they must be reached
        self.held = None  # a record one ahead: the next record tells a gap from a swap

    def record(self, r):
        seq, want = as_int(r.get("seq")), self.last + 1
        if self.held is not None:
            held, self.held = as_int(self.held.get("seq")), None
            if seq == want:
                raise Failed(want, f"records {want} and {held} are out of order: they were reordered")
            raise Failed(want, f"records {want} to {held - 1} are missing")
        if self.records > 0 and seq > want:
            self.held = r
            return
        prev, h = r.get("prev"), r.get("hash")
        if seq < 1 or not isinstance(prev, str) or not isinstance(h, str):
            raise Failed(want, f"record after seq {self.last} is malformed (no seq, prev or hash)")
        if self.records > 0 and seq < want:
            raise Failed(seq, f"record {seq} is out of order (expected {want}): records were reordered or duplicated")
        body = {k: v for k, v in r.items() if k != "hash"}
        try:
            ok = hashlib.sha256(prev.encode() + canonical(body)).hexdigest() == h
        except (TypeError, ValueError, UnicodeError):
            ok = False
        if not ok:
            raise Failed(seq, f"record {seq} was edited: its hash does not match its content")
        if self.records > 0 and prev != self.last_hash:
            raise Failed(seq, f"record {seq} does not follow record {seq - 1} (prev hash mismatch): "
                              "a record was inserted, removed or replaced")
        if self.records == 0 and seq == 1 and prev != GENESIS:
            raise Failed(seq, f"record {seq} claims to be the first but its prev is not the genesis hash")
        if self.records == 0:  # a pruned log starts at a record named by a checkpoint
            self.first, self.anchored = seq, seq == 1 or bool(self.pending and self.pending[0][0] == seq)
        elif not self.anchored:
            raise Failed(self.first, self.unanchored())
        self.records, self.last, self.last_hash = self.records + 1, seq, h
        if self.pending and self.pending[0][0] == seq:
            if self.pending.pop(0)[1] != h:
                raise Failed(seq, f"checkpoint at {seq} does not match record {seq}: the chain was rewritten")

    def checkpoint(self, cp):
        seq, h, t, sig = as_int(cp.get("seq")), cp.get("hash"), cp.get("time"), cp.get("sig")
        if seq < 1 or not isinstance(h, str) or len(h) != 64:
            raise Failed(self.last, f"a checkpoint after record {self.last} is malformed")
        try:
            key = self.keys[cp.get("kid")]
            raw = b64url(sig)
            if len(raw) != 64 or not isinstance(t, str):
                raise ValueError("bad signature")
            key.verify(raw, canonical({"hash": h, "seq": seq, "time": t}))
        except (KeyError, TypeError, ValueError, AttributeError, InvalidSignature):
            raise Failed(seq, f"checkpoint at {seq} has a bad signature or an unknown key: it was forged")
        if seq < self.last_cp:
            raise Failed(seq, f"checkpoint at {seq} comes after the checkpoint at {self.last_cp}")
        self.checkpoints, self.last_cp = self.checkpoints + 1, seq
        if seq == self.last:
            if h != self.last_hash:
                raise Failed(seq, f"checkpoint at {seq} does not match record {seq}: the chain was rewritten")
            self.anchored = self.anchored or self.records == 1
        elif seq < self.last:
            raise Failed(seq, f"checkpoint at {seq} is out of place (records are at {self.last})")
        else:
            self.pending.append((seq, h))

    def unanchored(self):
        return f"records before {self.first} are missing: the log starts neither at seq 1 nor at a signed checkpoint"

    def finish(self):
        if self.held is not None:
            raise Failed(self.last + 1, f"records {self.last + 1} to {as_int(self.held.get('seq')) - 1} are missing")
        if self.records > 0 and not self.anchored:
            raise Failed(self.first, self.unanchored())
        if self.pending:
            raise Failed(self.last + 1, f"log truncated: a checkpoint covers record {self.pending[-1][0]} "
                                        f"but the records end at {self.last}")


class BadInput(Exception):
    """An input file that cannot be used at all (exit 2)."""


KEYS_WANTED = "expected the JWKS of the broker's /.well-known/tollgate-audit-keys.json"
EXPORT_WANTED = "expected the JSON lines of `tollgate audit export`"


def read_input(path, wanted) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise BadInput(f"cannot read {path}: {e.strerror}")
    if not data.strip():
        raise BadInput(f"{path} is empty: {wanted}")
    return data


def load_keys(path):
    data = read_input(path, KEYS_WANTED)
    try:
        jwks = parse(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadInput(f"{path} is not UTF-8 text: {KEYS_WANTED}")
    except ValueError as e:
        raise BadInput(f"{path} is not JSON ({e}): {KEYS_WANTED}")
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise BadInput(f'{path} is not a JWKS (an object with a "keys" array): {KEYS_WANTED}')
    keys = {}
    for i, k in enumerate(jwks["keys"], 1):
        if not isinstance(k, dict) or k.get("kty") != "OKP" or k.get("crv") != "Ed25519":
            continue
        try:
            if not isinstance(k.get("kid"), str) or not isinstance(k.get("x"), str):
                raise ValueError("kid and x must be strings")
            keys[k["kid"]] = Ed25519PublicKey.from_public_bytes(b64url(k["x"]))
        except ValueError:
            raise BadInput(f"{path}: key {i} is not a valid Ed25519 JWK (a kid string and x, 32 bytes base64url)")
    if not keys:
        raise BadInput(f"{path} holds no Ed25519 key: {KEYS_WANTED}")
    return keys


def verify(v, data):
    for lineno, line in enumerate(data.splitlines(), 1):
        try:
            item = parse(line.decode("utf-8"))
        except ValueError:  # UnicodeDecodeError included
            item = None
        if not isinstance(item, dict):
            raise Failed(v.last + 1, f"line {lineno} is not a JSON object")
        if "checkpoint" in item:
            v.checkpoint(item["checkpoint"] if isinstance(item["checkpoint"], dict) else {})
        elif "unmapped" in item:  # --format ocsf: the record rides along
            r = item["unmapped"].get("tollgate_record") if isinstance(item["unmapped"], dict) else None
            v.record(r if isinstance(r, dict) else {})
        else:
            v.record(item)
    v.finish()


def main(argv):
    if len(argv) != 3:
        print("usage: audit_verify.py EXPORT.jsonl AUDIT_KEYS.json", file=sys.stderr)
        return 2
    try:
        keys = load_keys(argv[2])
        data = read_input(argv[1], EXPORT_WANTED)
    except BadInput as e:
        print(f"audit_verify.py: {e}", file=sys.stderr)
        return 2
    v = Verifier(keys)
    try:
        verify(v, data)
    except Failed as e:
        print(e)
        return 1
    print(f"ok: {v.records} records (seq {v.first} to {v.last}), {v.checkpoints} checkpoints, "
          f"last checkpoint at seq {v.last_cp}")
    if v.last_cp < v.last:
        print(f"note: records after seq {v.last_cp} are not yet covered by a signed checkpoint")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
