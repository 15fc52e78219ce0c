# test_cli_errors.py - the CLI as a user meets it (issue 8, section 3):
# `policy diff FILE` says what setting FILE would change (added, removed,
# changed from the set in force to the file, not the other way round);
# `policy eval --entities` reads entities with the broker's rules, so
# docs/policy.md's own OT example (no parents, no attrs, compact uids) loads
# and decides as the broker does, and a document the broker refuses is
# refused with the same reason; a mistyped command or verb gets one line
# naming the nearest one (not the whole usage); `tollgate help NOUN` prints
# that noun's help; every error starts with `tollgate NOUN:` and names CLI
# commands rather than HTTP routes; `tollgate grant` checks its options
# before it calls the broker (every verb has its --help, a missing required
# option or grant ID exits 2 naming it) and says a step-up challenge as
# "log in again".
import json
import re

import pytest

from tollgate_e2e import REPO, cli_env, run_cli

# ---- policy diff ------------------------------------------------------------

IN_FORCE = """\
@id("keep")
permit(principal, action == Action::"orders.read", resource == Api::"orders");

@id("change-me")
@max_ttl("300")
permit(principal, action == Action::"orders.write", resource == Api::"orders");

@id("drop-me")
forbid(principal, action, resource == Api::"legacy");
"""

PROPOSED = """\
@id("keep")
permit(principal, action == Action::"orders.read", resource == Api::"orders");

@id("change-me")
@max_ttl("60")
permit(principal, action == Action::"orders.write", resource == Api::"orders");

@id("new-one")
permit(principal, action == Action::"reports.read", resource == Api::"reports");
"""


@pytest.fixture(scope="module")
def cb(broker_factory):
    """A broker of this module, so that its policy versions are ours."""
    return broker_factory(name="cli-errors", policy=None)


def cli(b, *args, **kw):
    return run_cli(list(args), env_extra=cli_env(b), **kw)


@pytest.fixture(scope="module")
def in_force(cb, tmp_path_factory):
    """IN_FORCE is the set in force; returns its version."""
    f = tmp_path_factory.mktemp("diff") / "in-force.cedar"
    f.write_text(IN_FORCE)
    p = cli(cb, "policy", "set", str(f))
    assert p.returncode == 0, p.stderr
    return cb.get_policy()["version"]


def sections(out: str) -> dict:
    """The text diff's sections by heading line ("+ added new-one": [lines])."""
    out_sections, head = {}, None
    for line in out.splitlines():
        if re.match(r"^[+~-] (added|removed|changed) ", line):
            head = line
            out_sections[head] = []
        elif line == "":
            head = None
        elif head is not None:
            out_sections[head].append(line)
    return out_sections


def test_diff_file_shows_what_setting_it_would_change(cb, in_force, tmp_path):
    f = tmp_path / "proposed.cedar"
    f.write_text(PROPOSED)
    p = cli(cb, "policy", "diff", str(f))
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == f"--- version {in_force} (in force)", p.stdout
    assert lines[1] == f"+++ {f}", p.stdout
    s = sections(p.stdout)
    assert set(s) == {"+ added new-one", "- removed drop-me", "~ changed change-me"}, p.stdout
    assert s["+ added new-one"][0] == '+ @id("new-one")'
    assert s["- removed drop-me"][0] == '- @id("drop-me")'
    # The old text (in force) first with "-", the file's with "+".
    assert '- @max_ttl("300")' in s["~ changed change-me"] and '+ @max_ttl("60")' in s["~ changed change-me"]
    assert s["~ changed change-me"].index('- @max_ttl("300")') < s["~ changed change-me"].index('+ @max_ttl("60")')
    assert lines[-1] == "1 added, 1 removed, 1 changed"


def test_diff_file_json_and_what_set_then_reports(cb, in_force, tmp_path):
    f = tmp_path / "proposed.cedar"
    f.write_text(PROPOSED)
    p = cli(cb, "policy", "diff", str(f), "--json", "--exit-code")
    assert p.returncode == 1, p.stderr  # they differ
    d = json.loads(p.stdout)
    assert d["from"] == f"version {in_force} (in force)" and d["to"] == str(f)
    assert [x["id"] for x in d["added"]] == ["new-one"]
    assert [x["id"] for x in d["removed"]] == ["drop-me"]
    assert [x["id"] for x in d["changed"]] == ["change-me"]
    assert '@max_ttl("300")' in d["changed"][0]["old"] and '@max_ttl("60")' in d["changed"][0]["new"]
    # The diff predicted what `policy set` then reports (and the broker audits).
    p = cli(cb, "policy", "set", str(f))
    assert p.returncode == 0, p.stderr
    assert "added: new-one" in p.stdout and "removed: drop-me" in p.stdout and "changed: change-me" in p.stdout
    # One version argument: what restoring it would change (in force -> that version).
    p = cli(cb, "policy", "diff", str(in_force), "--json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["from"] == f"version {in_force + 1} (in force)" and d["to"] == f"version {in_force}"
    assert [x["id"] for x in d["added"]] == ["drop-me"] and [x["id"] for x in d["removed"]] == ["new-one"]
    # Back to the set the other tests expect.
    restore = tmp_path / "in-force.cedar"
    restore.write_text(IN_FORCE)
    assert cli(cb, "policy", "set", str(restore)).returncode == 0


def test_diff_of_the_set_in_force_is_empty(cb, in_force, tmp_path):
    f = tmp_path / "same.cedar"
    f.write_text(cb.get_policy()["text"])
    p = cli(cb, "policy", "diff", str(f), "--exit-code")
    assert p.returncode == 0 and p.stdout.splitlines()[-1] == "0 added, 0 removed, 0 changed", p.stdout


# ---- policy eval --entities: the broker's rules -----------------------------

def doc_example(heading: str):
    """The cedar and json blocks under a heading of docs/policy.md."""
    text = (REPO / "docs" / "policy.md").read_text()
    part = text.split(heading, 1)[1].split("\n### ", 1)[0]
    cedar = re.search(r"```cedar[^\n]*\n(.*?)```", part, re.S).group(1)
    entities = re.search(r"```json[^\n]*\n(.*?)```", part, re.S).group(1)
    return cedar, entities


PLANT_IP = {"__extn": {"fn": "ip", "arg": "10.3.0.5"}}


def eval_json(b, pol, ent, principal, action, resource, context):
    args = ["policy", "eval", "--policies", str(pol), "--principal", principal, "--action", action,
            "--resource", resource, "--context", json.dumps(context), "--json"]
    if ent is not None:
        args[2:2] = ["--entities", str(ent)]
    p = cli(b, *args)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_eval_reads_the_ot_example_of_policy_md(cb, tmp_path):
    cedar, entities = doc_example("### OT: a production line")
    pol, ent = tmp_path / "plant.cedar", tmp_path / "plant.json"
    pol.write_text(cedar)
    ent.write_text(entities)
    # The example as written: zone without parents, role without attrs.
    doc = json.loads(entities)
    assert any("parents" not in e for e in doc) and any("attrs" not in e for e in doc)
    # plc-7 is in Zone line-3 only through the entities: the plant-network
    # forbid applies to a request from outside the plant network ...
    d = eval_json(cb, pol, ent, "Workload:gw", "modbus.read", "Device:plc-7", {})
    assert d == {"decision": "deny", "reasons": ["plant-network-only"], "errors": []}, d
    # ... and without the entities it cannot know that.
    d = eval_json(cb, pol, None, "Workload:gw", "modbus.read", "Device:plc-7", {})
    assert d["reasons"] == [], d
    # A gateway in line-3-operators reads (operators' role is a child of the readers' role).
    gw = tmp_path / "with-gateway.json"
    gw.write_text(json.dumps(doc + [{"uid": "Workload:gw", "parents": ["Role:line-3-operators"]}]))
    d = eval_json(cb, pol, gw, "Workload:gw", "modbus.read", "Device:plc-7", {"src_ip": PLANT_IP})
    assert d == {"decision": "allow", "reasons": ["line-3-read"], "errors": []}, d
    # The broker takes the same document.
    p = cli(cb, "entities", "set", str(ent))
    assert p.returncode == 0, p.stderr


@pytest.mark.parametrize("doc, reason", [
    ([{"uid": "Zone:a", "parent": ["Zone:b"]}], 'entity 0: unknown member "parent"'),
    ([{"uid": "Zone:a"}, {"uid": {"type": "Zone", "id": "a"}}], 'entity 1: Zone::"a" appears twice'),
    ([{"uid": "plc-7"}], "entity 0: uid: "),
    ({"uid": "Zone:a"}, "send a Cedar entities array or {\"entities\": [...]}"),
])
def test_eval_and_the_broker_refuse_the_same_documents(cb, tmp_path, doc, reason):
    pol, ent = tmp_path / "p.cedar", tmp_path / "e.json"
    pol.write_text(IN_FORCE)
    ent.write_text(json.dumps(doc))
    p = cli(cb, "policy", "eval", "--policies", str(pol), "--entities", str(ent), "--principal", "Workload:x",
            "--action", "orders.read", "--resource", "Api:orders")
    assert p.returncode == 1 and reason in p.stderr, p.stderr
    assert p.stderr.startswith("tollgate policy eval: "), p.stderr
    p = cli(cb, "entities", "set", str(ent))
    assert p.returncode == 1 and reason in p.stderr, p.stderr


def test_eval_takes_the_entities_wrapper_the_broker_takes(cb, tmp_path):
    pol, ent = tmp_path / "p.cedar", tmp_path / "e.json"
    pol.write_text('@id("in-zone")\npermit(principal, action, resource in Zone::"z");\n')
    ent.write_text(json.dumps({"entities": [{"uid": "Device::\"d\"", "parents": ["Zone:z"]}]}))
    d = eval_json(cb, pol, ent, "Workload:x", "r", "Device:d", {})
    assert d["decision"] == "allow", d


# ---- mistyped commands, help ------------------------------------------------

@pytest.mark.parametrize("args, line", [
    (["tokn"], "tollgate: unknown command 'tokn'; did you mean 'token'? (tollgate --help lists commands)"),
    (["polcy", "get"], "tollgate: unknown command 'polcy'; did you mean 'policy'?"),
    (["token", "isue"], "tollgate token: unknown command 'isue'; did you mean 'issue'? "
                        "(tollgate token --help lists commands)"),
    (["identity", "lsit"], "tollgate identity: unknown command 'lsit'; did you mean 'list'?"),
    (["keys", "rotat"], "tollgate keys: unknown command 'rotat'; did you mean 'rotate'?"),
    (["audit", "tial"], "tollgate audit: unknown command 'tial'; did you mean 'tail'?"),
    (["policy", "dif", "x.cedar"], "tollgate policy: unknown command 'dif'; did you mean 'diff'?"),
    (["entities", "remvoe"], "tollgate entities: unknown command 'remvoe'; did you mean 'remove'?"),
    (["grant", "aprove", "g-1"], "tollgate grant: unknown command 'aprove'; did you mean 'approve'? "
                                 "(tollgate grant --help lists commands)"),
    (["grnt", "list"], "tollgate: unknown command 'grnt'; did you mean 'grant'?"),
    (["xyzzy"], "tollgate: unknown command 'xyzzy' (tollgate --help lists commands)"),
    (["help", "tokn"], "tollgate: unknown command 'tokn'; did you mean 'token'?"),
])
def test_a_mistyped_command_gets_one_line_with_the_nearest(args, line):
    p = run_cli(args)
    assert p.returncode == 2
    assert p.stdout == ""
    assert len(p.stderr.splitlines()) == 1 and p.stderr.startswith(line), p.stderr
    assert "Usage:" not in p.stderr


@pytest.mark.parametrize("noun", ["serve", "identity", "token", "keys", "audit", "policy", "entities", "grant"])
def test_help_noun_prints_that_nouns_help(noun):
    p = run_cli(["help", noun])
    assert p.returncode == 0, p.stderr
    assert p.stdout == run_cli([noun, "--help"]).stdout
    assert p.stdout.startswith(f"Usage: tollgate {noun}"), p.stdout


def test_help_alone_prints_the_usage():
    p = run_cli(["help"])
    assert p.returncode == 0 and "Commands:" in p.stdout and "tollgate help <command>" in p.stdout


# ---- prefixes and CLI commands in errors ------------------------------------

@pytest.mark.parametrize("args, start", [
    (["token", "issue", "--bogus"], "tollgate token: unrecognized option '--bogus'"),
    (["identity", "list", "--bogus"], "tollgate identity: unrecognized option '--bogus'"),
    (["policy", "eval", "--bogus"], "tollgate policy: unrecognized option '--bogus'"),
    (["audit", "tail", "--bogus"], "tollgate audit: unrecognized option '--bogus'"),
    (["grant", "list", "--bogus"], "tollgate grant: unrecognized option '--bogus'"),
])
def test_option_errors_are_prefixed_and_point_at_help(args, start):
    p = run_cli(args)
    assert p.returncode == 2
    lines = p.stderr.splitlines()
    assert lines[0] == start, p.stderr
    assert len(lines) == 2 and "--help` for the options" in lines[1], p.stderr


def test_local_errors_are_prefixed(cb, tmp_path):
    missing = tmp_path / "missing.pem"
    p = cli(cb, "token", "issue", "--identity", "x", "--key", str(missing), "--scope", "a@Api:b")
    assert p.returncode != 0 and p.stderr.startswith(f"tollgate token: cannot read {missing}"), p.stderr
    p = run_cli(["identity", "list"], env_extra={"TOLLGATE_ADDR": "http://127.0.0.1:9", "TOLLGATE_TOKEN": "x"})
    assert p.returncode == 1 and p.stderr.startswith("tollgate identity: cannot reach the broker"), p.stderr


@pytest.mark.parametrize("args, command", [
    (["policy", "get", "--version", "99999"], "see `tollgate policy history`"),
    (["identity", "show", "no-such-identity"], "list them with `tollgate identity list`"),
    (["entities", "remove", "Device:no-such-device"], "list them with `tollgate entities get`"),
])
def test_broker_errors_name_cli_commands_not_routes(cb, args, command):
    p = cli(cb, *args)
    assert p.returncode == 1
    noun = args[0]
    assert p.stderr.startswith(f"tollgate {noun}: "), p.stderr
    assert "(HTTP 404)" in p.stderr and command in p.stderr, p.stderr
    assert not re.search(r"\b(GET|POST|PUT|PATCH|DELETE) /", p.stderr), p.stderr


def test_audit_verify_says_what_is_wrong_with_the_key_file(tmp_path):
    export = tmp_path / "audit.jsonl"
    export.write_text("")
    cases = [(b"", "is not a JWKS", "the file is empty"), (b'{"keys": [', "is not a JWKS", None),
             (b'{"keys": []}', 'has no Ed25519 key with a kid in "keys"', None)]
    for content, what, hint in cases:
        keys = tmp_path / "audit-keys.json"
        keys.write_bytes(content)
        p = run_cli(["audit", "verify", "--keys", str(keys), "--file", str(export)])
        assert p.returncode == 2, p.stderr
        first = p.stderr.splitlines()[0]
        assert first.startswith(f"tollgate audit: {keys} {what}"), p.stderr
        assert hint is None or hint in first, p.stderr
    p = run_cli(["audit", "verify", "--keys", str(tmp_path / "nope.json"), "--file", str(export)])
    assert p.returncode == 2 and p.stderr.startswith(f"tollgate audit: cannot read {tmp_path / 'nope.json'}")


# ---- grant: usage before the broker, step-up --------------------------------

# No broker listens here: a usage error must exit 2 before any request
# (an attempted request would exit 1, "cannot reach the broker").
NO_BROKER = {"TOLLGATE_ADDR": "http://127.0.0.1:9", "TOLLGATE_TOKEN": "x"}
GRANT_VERBS = {"request": ["--identity", "--scope", "--duration", "--reason", "--ticket", "--start", "--source",
                           "--quiet", "--json"],
               "approve": ["--comment", "--json"], "deny": ["--reason", "--json"], "cancel": ["--reason"],
               "end": ["--reason"], "revoke": ["--reason"],
               "list": ["--pending", "--state", "--identity", "--limit", "--json"], "show": ["--json"]}


@pytest.mark.parametrize("verb", sorted(GRANT_VERBS))
def test_every_grant_verb_has_its_help(verb):
    for args in (["grant", verb, "--help"], ["grant", verb, "-h"], ["grant", "help", verb]):
        p = run_cli(args, env_extra=NO_BROKER)
        assert p.returncode == 0 and p.stderr == "", (args, p.stderr)
        assert p.stdout.startswith(f"Usage: tollgate grant {verb}"), p.stdout
        for option in GRANT_VERBS[verb]:
            assert option in p.stdout, (verb, option)
    p = run_cli(["grant", "--help"])
    assert all(f"  {verb} " in p.stdout for verb in GRANT_VERBS), p.stdout


@pytest.mark.parametrize("args, lines", [
    (["request", "--identity", "deploy-bot", "--scope", "orders.write@Api:orders"],
     ["tollgate grant request: --duration DUR is required", "tollgate grant request: --reason TEXT is required"]),
    (["request"], ["tollgate grant request: --identity ID is required", "--scope", "--duration", "--reason"]),
    (["deny", "g-1"], ["tollgate grant deny: --reason TEXT is required"]),
    (["revoke", "g-1", "--comment", "x"], ["tollgate grant revoke: option --comment does not apply here"]),
    (["approve", "g-1", "--reason", "x"], ["tollgate grant approve: option --reason does not apply here"]),
])
def test_grant_names_what_is_missing_and_points_at_the_verbs_help(args, lines):
    p = run_cli(["grant"] + args, env_extra=NO_BROKER)
    assert p.returncode == 2 and p.stdout == "", p.stderr
    err = p.stderr.splitlines()
    assert len(err) == len(lines) + 1, p.stderr
    for got, want in zip(err, lines):
        assert want in got, p.stderr
    assert err[-1] == f"tollgate grant: see `tollgate grant {args[0]} --help` for the options", p.stderr


@pytest.mark.parametrize("args, message", [
    (["approve"], "tollgate grant approve: the grant ID is required"),
    (["show", "g-1", "g-2"], "tollgate grant show: one grant ID only, not also 'g-2'"),
    (["end", "g-1/../x"], "tollgate grant end: 'g-1/../x' is not a grant id"),
    (["cancel", "g-1?x=y"], "tollgate grant cancel: 'g-1?x=y' is not a grant id"),
    (["show", "g-1#x"], "tollgate grant show: 'g-1#x' is not a grant id"),
    (["show", ""], "tollgate grant show: '' is not a grant id"),
    (["list", "pending"], "tollgate grant list: takes options only, not 'pending'"),
    (["list", "--limit", "0"], "tollgate grant list: --limit must be a number from 1 to 500"),
    (["list", "--limit", "many"], "tollgate grant list: --limit must be a number from 1 to 500"),
    (["list", "--pending", "--state", "active"], "tollgate grant list: --pending and --state active"),
    (["request", "--identity", "a", "--scope", "s@Api:x", "--duration", "30m", "--reason", "r", "--json", "-q"],
     "tollgate grant request: --json and --quiet do not go together"),
])
def test_grant_usage_errors_exit_2_before_calling_the_broker(args, message):
    p = run_cli(["grant"] + args, env_extra=NO_BROKER)
    assert p.returncode == 2 and p.stdout == "", p.stderr
    assert p.stderr.startswith(message), p.stderr
    assert "cannot reach the broker" not in p.stderr


@pytest.fixture
def stub_broker():
    """A one-route stand-in for a broker: answers every request with the
    (status, body) in .answer and records (method, path, body) in .seen."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_):
            pass

        def _answer(self):
            n = int(self.headers.get("Content-Length") or 0)
            server.seen.append((self.command, self.path, self.rfile.read(n).decode() if n else ""))
            status, body = server.answer
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/problem+json" if status >= 400 else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.seen, server.answer = [], (200, {})
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.env = {"TOLLGATE_ADDR": f"http://127.0.0.1:{server.server_address[1]}", "TOLLGATE_TOKEN": "session"}
    yield server
    server.shutdown()
    server.server_close()


def test_a_step_up_challenge_says_log_in_again(stub_broker):
    stub_broker.answer = (401, {"type": "about:blank", "title": "Unauthorized", "status": 401,
                                "detail": "a fresh second factor is required", "max_age": 300})
    p = run_cli(["grant", "approve", "g-4kQ0c1Wm8gJbTq3ZxY2a1w", "--comment", "ok"], env_extra=stub_broker.env)
    assert p.returncode == 1 and p.stdout == "", p.stderr
    assert p.stderr == ("tollgate grant: this action needs a fresh second factor (MFA at most 300 s old): "
                        "run `tollgate login USER` and retry\n"), p.stderr
    assert stub_broker.seen == [("POST", "/v1/grants/g-4kQ0c1Wm8gJbTq3ZxY2a1w/approve", '{"comment":"ok"}')]
    # Any other 401 is said as before, with the TOLLGATE_TOKEN hint.
    stub_broker.answer = (401, {"title": "Unauthorized", "detail": "invalid bearer token"})
    p = run_cli(["grant", "show", "g-1"], env_extra=stub_broker.env)
    assert p.returncode == 1 and "(HTTP 401): Unauthorized: invalid bearer token" in p.stderr, p.stderr
    assert "set TOLLGATE_TOKEN" in p.stderr and "second factor" not in p.stderr, p.stderr
    # A route in the broker's text is named as the command.
    stub_broker.answer = (404, {"title": "Not Found", "detail": "no such grant (see GET /v1/grants)"})
    p = run_cli(["grant", "show", "g-1"], env_extra=stub_broker.env)
    assert p.returncode == 1 and "no such grant (see `tollgate grant list`)" in p.stderr, p.stderr


def test_grant_request_sends_digits_as_numbers_and_quiet_prints_the_id(stub_broker):
    stub_broker.answer = (201, {"id": "g-4kQ0c1Wm8gJbTq3ZxY2a1w", "state": "pending"})
    p = run_cli(["grant", "request", "--identity", "deploy-bot", "--scope", "orders.write@Api:orders",
                 "--duration", "1800", "--reason", "deploy 4.2", "--start", "1765010000", "-q"],
                env_extra=stub_broker.env)
    assert p.returncode == 0 and p.stdout == "g-4kQ0c1Wm8gJbTq3ZxY2a1w\n", p.stderr
    p = run_cli(["grant", "request", "--identity", "deploy-bot", "--scope", "orders.write@Api:orders",
                 "--duration", "1h30m", "--reason", "deploy 4.2", "--start", "2026-12-06T10:00:00Z",
                 "--ticket", "CHG-1042", "--source", "10.0.3.0/24", "--quiet"], env_extra=stub_broker.env)
    assert p.returncode == 0, p.stderr
    bodies = [json.loads(body) for method, path, body in stub_broker.seen]
    assert [(m, path) for m, path, _ in stub_broker.seen] == [("POST", "/v1/grants")] * 2
    assert bodies[0] == {"identity": "deploy-bot", "scope": "orders.write@Api:orders", "duration": 1800,
                         "reason": "deploy 4.2", "start": 1765010000}
    assert bodies[1] == {"identity": "deploy-bot", "scope": "orders.write@Api:orders", "duration": "1h30m",
                         "reason": "deploy 4.2", "start": "2026-12-06T10:00:00Z", "ticket": "CHG-1042",
                         "source": "10.0.3.0/24"}


def test_policy_set_prints_the_warnings_policy_check_prints(cb, in_force, tmp_path):
    f = tmp_path / "shadowed.cedar"
    f.write_text(IN_FORCE + '\n@id("no-lab")\nforbid(principal, action, resource in Zone::"lab");\n'
                 '@id("lab-read")\npermit(principal, action, resource in Zone::"lab");\n')
    check = cli(cb, "policy", "check", str(f))
    assert check.returncode == 0, check.stderr
    warning = [line for line in check.stdout.splitlines() if "lab-read" in line]
    assert len(warning) == 1 and ": warning: policy `lab-read`: unreachable" in warning[0], check.stdout
    p = cli(cb, "policy", "set", str(f))
    assert p.returncode == 0, p.stderr
    assert warning[0] in p.stderr.splitlines(), p.stderr  # the same line, from the broker's answer
    restore = tmp_path / "in-force.cedar"
    restore.write_text(IN_FORCE)
    p = cli(cb, "policy", "set", str(restore))
    assert p.returncode == 0 and "lab-read" not in p.stderr, p.stderr
