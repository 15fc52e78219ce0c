# test_cedar_differential.py - Tollgate's Cedar engine against the reference
# implementation (npm @cedar-policy/cedar-wasm), through the offline CLI
# `tollgate policy eval --json --requests`:
#
# * every case in tests/diff/regressions/ (each a disagreement the
#   differential test once found: policies.cedar, entities.json,
#   requests.jsonl and expected.jsonl, the reference's answers) is replayed
#   and must now give the reference's answers; this needs no node;
# * the bounded mode of tests/diff/cedar_diff.mjs must find no
#   disagreement: random policy sets, entity graphs and requests
#   (CEDAR_DIFF_CASES cases, default 300), and the same with fixed edge
#   cases mixed in (CEDAR_DIFF_PROBE_CASES, default 150); seed
#   CEDAR_DIFF_SEED or the script's fixed default. Skipped, saying why,
#   when node or the npm package is missing (scripts/deps.sh --test
#   installs both);
# * the offline CLI keeps the contract these tests rely on (below).
import json
import os
import shutil
import subprocess

import pytest

from tollgate_e2e import BIN, E2E_DIR, REPO, SLOW

DIFF_DIR = REPO / "tests" / "diff"
REGRESSIONS = DIFF_DIR / "regressions"
CASES = sorted(p for p in REGRESSIONS.glob("[0-9][0-9][0-9][0-9]") if p.is_dir()) if REGRESSIONS.is_dir() else []


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def policy_eval(case):
    return subprocess.run(
        [str(BIN), "policy", "eval", "--json", "--cedar-entities", "--policies", str(case / "policies.cedar"),
         "--entities", str(case / "entities.json"), "--requests", str(case / "requests.jsonl")],
        capture_output=True, text=True, timeout=60 * SLOW)


def describe(case):
    return (f"\n--- {case.name}/policies.cedar\n{(case / 'policies.cedar').read_text(encoding='utf-8')}"
            f"--- requests.jsonl\n{(case / 'requests.jsonl').read_text(encoding='utf-8')}")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_regression_case(case):
    expected = read_jsonl(case / "expected.jsonl")
    assert expected, f"{case.name}/expected.jsonl is empty"
    r = policy_eval(case)
    assert r.returncode in (0, 1), f"tollgate crashed (exit {r.returncode}): {r.stderr}{describe(case)}"
    if expected and "parse_error" in expected[0]:
        assert r.returncode == 1 and r.stdout == "", (
            f"the reference refuses this policy set ({expected[0]['parse_error']}) but Tollgate accepted it"
            f"{describe(case)}")
        assert r.stderr.startswith(str(case / "policies.cedar") + ":"), r.stderr
        return
    got = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    assert len(got) == len(expected), (
        f"{len(got)} answers for {len(expected)} requests; stderr: {r.stderr}{describe(case)}")
    for i, (want, have) in enumerate(zip(expected, got)):
        where = f"request {i + 1} of {case.name}: reference {want}, Tollgate {have}{describe(case)}"
        if "error" in want:
            assert "error" in have, "the reference cannot decide " + where
            continue
        assert "error" not in have, "the reference decides " + where
        assert have["decision"] == want["decision"], where
        assert sorted(have["reasons"]) == sorted(want["reasons"]), where
        assert sorted(have["errors"]) == sorted(want["errors"]), where


def run_differential(tmp_path, *args):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (scripts/deps.sh --test installs it): differential test not run")
    if not (E2E_DIR / "node_modules" / "@cedar-policy" / "cedar-wasm").is_dir():
        pytest.skip("npm @cedar-policy/cedar-wasm is missing (run scripts/deps.sh --test): differential test not run")
    out = tmp_path / "regressions"
    env = dict(os.environ, TOLLGATE_BIN=str(BIN))
    r = subprocess.run([node, str(DIFF_DIR / "cedar_diff.mjs"), *args, "--out", str(out), "--keep-going",
                        "--max-failures", "5"], capture_output=True, text=True, env=env, timeout=900 * SLOW)
    found = sorted(p.name for p in out.glob("*")) if out.is_dir() else []
    assert r.returncode == 0, (
        f"Tollgate and cedar-wasm disagree; shrunk cases in {out} ({', '.join(found)}): copy each into "
        f"tests/diff/regressions/ (next free number) once the bug is understood.\n{r.stderr[-6000:]}")


def test_differential_generated(tmp_path):
    """Random policy sets, entity graphs and requests built from the whole
    language (CEDAR_DIFF_CASES cases, default 300, 8 requests each)."""
    run_differential(tmp_path, "--no-probes", "--cases", os.environ.get("CEDAR_DIFF_CASES", "300"),
                     "--requests", "8")


def test_differential_probes(tmp_path):
    """The same with fixed edge cases of the grammar and of the JSON formats
    mixed in (reserved words, trailing commas, unary chains, escapes, odd
    extension literals, malformed entities and contexts)."""
    run_differential(tmp_path, "--cases", os.environ.get("CEDAR_DIFF_PROBE_CASES", "150"), "--requests", "4")


# ---- the contract of the offline CLI that the tests above drive ----------------

POLICIES = """\
@id("hmi-write")
@max_ttl("300")
permit(principal == Workload::"hmi-1", action == Action::"modbus.write", resource == Device::"plc-7")
  when { context.hour >= 6 && context.hour < 20 };

@id("lockdown")
forbid(principal, action == Action::"modbus.write", resource in Zone::"line-9");

@id("broken")
permit(principal, action == Action::"modbus.read", resource is Device) when { context.missing };

@id("grant")
@requires_grant("2")
permit(principal is Operator, action == Action::"modbus.write", resource == Device::"plc-7");
"""
ENTITIES = [{"uid": {"type": "Device", "id": "plc-7"}, "attrs": {}, "parents": [{"type": "Zone", "id": "line-3"}]}]


def tollgate(*args, input=None):
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, input=input, timeout=60 * SLOW)


@pytest.fixture()
def files(tmp_path):
    (tmp_path / "p.cedar").write_text(POLICIES)
    (tmp_path / "e.json").write_text(json.dumps(ENTITIES))
    return tmp_path


def test_eval_one_request_json_and_text(files):
    base = ["policy", "eval", "--policies", str(files / "p.cedar"), "--entities", str(files / "e.json")]
    r = tollgate(*base, "--principal", "Workload:hmi-1", "--action", "modbus.write", "--resource", 'Device::"plc-7"',
                 "--context", '{"hour": 10}', "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert (d["decision"], d["reasons"], d["errors"]) == ("allow", ["hmi-write"], [])
    r = tollgate(*base, "--principal", '{"type": "Workload", "id": "hmi-1"}', "--action", 'Action::"modbus.read"',
                 "--resource", "Device:plc-7")
    assert r.returncode == 0, r.stderr
    assert "decision:  DENY" in r.stdout and "no permit is satisfied" in r.stdout
    assert "permit `broken` (line 9)" in r.stdout and "missing" in r.stdout
    # Obligations: the satisfied permit needs a grant with 2 approvals.
    r = tollgate(*base, "--principal", "Operator:op", "--action", "modbus.write", "--resource", "Device:plc-7",
                 "--grant-approvals", "1")
    assert r.returncode == 0 and "DENY" in r.stdout and "@requires_grant" in r.stdout, r.stdout
    r = tollgate(*base, "--principal", "Operator:op", "--action", "modbus.write", "--resource", "Device:plc-7",
                 "--grant-approvals", "2", "--json")
    assert json.loads(r.stdout)["reasons"] == ["grant"]


def test_eval_requests_file_keeps_going(files):
    lines = [
        json.dumps({"principal": "Workload:hmi-1", "action": "modbus.write", "resource": {"type": "Device", "id": "plc-7"},
                    "context": {"hour": 3}}),
        "",
        "not json",
        json.dumps({"principal": "nocolon", "action": "a", "resource": "Device:plc-7"}),
        json.dumps({"principal": "Workload:x", "action": "a", "resource": "Device:x", "context": {"s": "a" * (1 << 20)}}),
        json.dumps({"principal": "Operator:op", "action": "modbus.write", "resource": "Device:plc-7"}),
    ]
    r = tollgate("policy", "eval", "--policies", str(files / "p.cedar"), "--entities", str(files / "e.json"),
                 "--requests", "-", input="\n".join(lines) + "\n")
    out = [json.loads(line) for line in r.stdout.splitlines()]
    assert r.returncode == 1
    assert [o.get("decision") or o["error"].split(":")[0] for o in out] == ["deny", "line 3", "line 4", "line 5", "allow"]
    assert "longer than" in out[3]["error"]


def test_check_reports_errors_and_lints(files):
    (files / "lint.cedar").write_text(
        'permit(principal is Workloda, action, resource);\n'
        'permit(principal, action, resource == Device::"a") when { 1 == 2 };\n'
        'forbid(principal, action, resource in Zone::"z");\n'
        '@id("shadowed")\npermit(principal == Workload::"w", action, resource in Zone::"z");\n')
    r = tollgate("policy", "check", str(files / "lint.cedar"), str(files / "p.cedar"))
    assert r.returncode == 0, r.stdout
    lint = str(files / "lint.cedar")
    assert f"{lint}:1:1: warning: policy `policy0`: unknown entity type `Workloda`" in r.stdout
    assert f"{lint}:1:1: warning: policy `policy0`: least privilege" in r.stdout
    assert f"{lint}:2:59: warning: policy `policy1`: unreachable" in r.stdout
    assert f"{lint}:4:1: warning: policy `shadowed`: unreachable: every request it matches is denied by forbid `policy2`" in r.stdout
    assert tollgate("policy", "check", "--strict", str(files / "lint.cedar")).returncode == 1
    (files / "bad.cedar").write_text('permit(principal, action, resource)\n  when { context.x = 1 };\n')
    r = tollgate("policy", "check", str(files / "bad.cedar"))
    assert r.returncode == 1 and r.stdout.startswith(f"{files / 'bad.cedar'}:2:20: error: "), r.stdout
    (files / "ttl.cedar").write_text('@max_ttl("soon")\npermit(principal, action, resource == Device::"a");\n')
    r = tollgate("policy", "check", str(files / "ttl.cedar"))
    assert r.returncode == 1 and "@max_ttl" in r.stdout, r.stdout
