#!/usr/bin/env python3
"""gen_policy_eval_corpus.py - writes the seeds of fuzz_policy_eval under
tests/fuzz/corpus/fuzz_policy_eval/ from the Cedar conformance suite.

A seed is what the target reads: policy text, a NUL byte, the entities
JSON document, a NUL byte, one request JSON object. Seeds come from the 22
hand-written tests (one request each, allows and denies alternating) and
from small generated tests of corpus.tar.gz that use extension values,
tags, errors or deep hierarchies. The hand-written data leans on its schema for
entity references and extension values; the seeds spell those out with
__entity / __extn, as Tollgate (which has no schemas) needs.

    python3 tests/fuzz/gen_policy_eval_corpus.py [CONFORMANCE_DIR]

CONFORMANCE_DIR defaults to $TG_CEDAR_CONFORMANCE, else
../shared/cedar-conformance beside the checkout."""
import json
import os
import pathlib
import sys
import tarfile

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE / "corpus" / "fuzz_policy_eval"
MAX_SEED = 6000  # bytes; keeps seeds small and the fuzzer fast
CORPUS_SEEDS = 10


def compact(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=True)


def escape_implied(v):
    """{type, id} objects as __entity (what the sample schemas imply)."""
    if isinstance(v, list):
        return [escape_implied(x) for x in v]
    if isinstance(v, dict):
        if set(v) == {"type", "id"}:
            return {"__entity": v}
        if "__extn" in v or "__entity" in v:
            return v
        return {k: escape_implied(x) for k, x in v.items()}
    return v


def hand_context(ctx):
    out = {}
    for k, v in ctx.items():
        if k == "source_ip" and isinstance(v, str):
            v = {"__extn": {"fn": "ip", "arg": v}}
        elif k == "confidence_score" and isinstance(v, str):
            v = {"__extn": {"fn": "decimal", "arg": v}}
        out[k] = escape_implied(v)
    return out


def request(r, hand):
    ctx = r.get("context", {})
    return {
        "principal": r["principal"],
        "action": r["action"],
        "resource": r["resource"],
        "context": hand_context(ctx) if hand else ctx,
    }


def seed(policies, entities, req):
    p = policies.encode()
    if b"\0" in p:
        return None
    return p + b"\0" + compact(entities).encode() + b"\0" + compact(req).encode()


def write(name, data, written):
    if data is None or len(data) > MAX_SEED:
        return
    (OUT / name).write_bytes(data)
    written.append(name)


def hand_written(root, written):
    for test in sorted((root / "tests").glob("*/*.json")):
        t = json.loads(test.read_text())
        policies = (root / t["policies"]).read_text()
        entities = escape_implied(json.loads((root / t["entities"]).read_text()))
        # One request a test; alternate allow and deny picks across tests.
        want = "allow" if len(written) % 2 == 0 else "deny"
        reqs = t["requests"]
        r = next((r for r in reqs if r["decision"] == want), reqs[0])
        name = "hand_%s_%s" % (test.parent.name, test.stem)
        write(name, seed(policies, entities, request(r, True)), written)


def interesting(text):
    marks = ["__extn", '"tags"', "offset", "getTag", "like", "is ", "containsAny", "if "]
    return sum(m in text for m in marks)


def corpus(root, written):
    tgz = root / "corpus.tar.gz"
    if not tgz.exists():
        print("no %s; hand-written seeds only" % tgz, file=sys.stderr)
        return
    with tarfile.open(tgz) as tar:
        files = {m.name: m for m in tar.getmembers() if m.isfile()}

        def read(name):
            return tar.extractfile(files[name]).read().decode()

        cands = []
        for name in sorted(files):
            if not name.endswith(".json") or name.endswith(".entities.json"):
                continue
            t = json.loads(read(name))
            policies = read(t["policies"])
            ents_text = read(t["entities"])
            size = len(policies) + len(ents_text)
            if size > MAX_SEED - 800:
                continue
            score = interesting(policies + ents_text)
            errs = any(r["errors"] for r in t["requests"])
            cands.append((-(score + 2 * errs), size, name, t, policies, ents_text))
        cands.sort(key=lambda c: (c[0], c[1], c[2]))
        for _, _, name, t, policies, ents_text in cands[:CORPUS_SEEDS]:
            r = next((r for r in t["requests"] if r["errors"]), t["requests"][0])
            stem = pathlib.Path(name).stem[:12]
            write("corpus_" + stem, seed(policies, json.loads(ents_text), request(r, False)),
                  written)


def main():
    arg = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("TG_CEDAR_CONFORMANCE")
    root = pathlib.Path(arg) if arg else HERE.parents[2] / "shared" / "cedar-conformance"
    if not (root / "tests").is_dir():
        sys.exit("conformance data not found at %s" % root)
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()
    written = []
    hand_written(root, written)
    corpus(root, written)
    print("%d seeds in %s" % (len(written), OUT))


if __name__ == "__main__":
    main()
