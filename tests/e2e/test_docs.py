# test_docs.py - the docs run when pasted: every ```sh block of README.md and
# docs/*.md runs, top to bottom, in one bash session per file (shell
# variables, the environment and the directory carry over from block to
# block, as when a user pastes them in one terminal), against a real broker.
#
# The set-up each file gets is the one the README describes: a fresh broker
# like the one `make run` starts (`tollgate serve --dev`, its data in ./var,
# no policy yet), and a shell in a directory laid out like the repository:
# build/tollgate (TOLLGATE_BIN), var/ (the broker's data directory, so
# var/admin.token works) and docs/ (the repository's docs, for
# docs/audit_verify.py). The broker listens on a free port instead of
# 127.0.0.1:8420 and TOLLGATE_ADDR names it, which the CLI honours and the
# docs' curl lines default from (${TOLLGATE_ADDR:-http://127.0.0.1:8420}).
# README.md starts from that bare shell; each file of docs/ starts with the
# environment of the README's Quickstart (build/ on PATH, TOLLGATE_TOKEN from
# var/admin.token), which those docs assume.
#
# Conventions for writing docs (this is where they are documented):
# * ```sh is for commands a user pastes as they are: they run here, under
#   `set -euo pipefail`, so any failing command fails the test. Spell shell
#   blocks `sh`: ```bash, ```shell and ```zsh blocks are refused, so that no
#   shell block escapes this test by its spelling.
# * A command that is meant to fail (a refused request, an introspection of a
#   revoked token, which exits 1) starts with `! ` and says why in a
#   comment:  `! tollgate token issue ... --scope orders.write@Api:orders
#   # refused: no policy permits it`. bash inverts its status, so a pasted
#   block goes on; here the command must fail with an ordinary error (exit
#   status 1 to 125: not 0, not "command not found", not a crash), or the
#   test fails (set -e alone ignores `!`).
# * Everything that is not pasted as it is uses another fence language and
#   is not run: ```console for a transcript (`$ command` lines and their
#   output), ```text for synopses, sample output and commands that cannot
#   run beside this test (a foreground server, root, systemd, another
#   machine), ```ini, ```json, ```cedar, ```python, ```yaml for files.
# * A file block the reader is told to save carries its name in the info
#   string, ```cedar file=tollgate.cedar or ```python file=mk_assertion.py:
#   the test writes it (relative to the shell's directory) at that point of
#   the session, so the sh blocks after it find it.
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tollgate_e2e import BIN, REPO, SLOW, Broker, sanitizer_findings

DOCS = [REPO / "README.md"] + sorted((REPO / "docs").glob("*.md"))
FENCE = re.compile(r"^(\s*)```(\S*)(.*)$")  # indented ones too (blocks inside list items)
REFUSED_SHELLS = {"bash", "shell", "zsh", "console-sh"}
MARK = "@@tollgate-docs-block"
DOC_TIMEOUT = 120 * SLOW


def blocks(path: Path):
    """[(line, language, attrs, text)] of every fenced block, in order."""
    out, open_at, lang, attrs, body, indent = [], None, None, None, [], ""
    for n, line in enumerate(path.read_text().splitlines(), 1):
        m = FENCE.match(line)
        if open_at is None and m:
            indent, lang, attrs = m.group(1), m.group(2), dict(re.findall(r"(\w+)=(\S+)", m.group(3)))
            open_at, body = n, []
        elif open_at is not None and line.strip() == "```":
            out.append((open_at, lang, attrs, "\n".join(body) + "\n"))
            open_at = None
        elif open_at is not None:
            body.append(line[len(indent):] if line.startswith(indent) else line.lstrip())
    assert open_at is None, f"{path.name}:{open_at}: fenced block never closed"
    return out


def as_script_lines(text: str):
    """The block's lines, with a leading `! ` (meant to fail) turned into a
    call that fails the session when the command succeeds."""
    return [re.sub(r"^(\s*)! ", r"\1tg_must_fail ", l) for l in text.splitlines()]


def session_script(path: Path, steps) -> str:
    lines = ["set -euo pipefail",
             # a refusal is an ordinary failure (exit 1 to 125), not "command not found" or a crash
             'tg_must_fail() { local rc=0; "$@" || rc=$?; if [ "$rc" -eq 0 ] || [ "$rc" -gt 125 ]; then '
             'echo "documented to fail, but it exited $rc: $*" >&2; exit 1; fi; }']
    if path.name != "README.md":
        lines.append('export PATH="$PWD/build:$PATH" TOLLGATE_TOKEN="$(cat var/admin.token)"')
    for i, (line, lang, attrs, text) in enumerate(steps):
        lines.append(f"echo '{MARK} {i}@@'")
        if "file" in attrs:
            delim = "@@TOLLGATE_DOC_FILE_END@@"
            assert delim not in text
            lines += [f"cat > '{attrs['file']}' <<'{delim}'", text.rstrip("\n"), delim]
        else:
            lines += as_script_lines(text)
    lines.append(f"echo '{MARK} end@@'")
    return "\n".join(lines) + "\n"


def runnable(path: Path):
    return [b for b in blocks(path) if b[1] == "sh" or "file" in b[2]]


def run_session(script: str, cwd: Path, env: dict, out_path: Path):
    """Runs the script in bash in a process group of its own; returns
    (output, exit status or None on timeout). Whatever the session left
    running is ended with its group."""
    with open(out_path, "wb") as out:
        p = subprocess.Popen(["bash", "-c", script], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                             stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            rc = p.wait(timeout=DOC_TIMEOUT)
        except subprocess.TimeoutExpired:
            rc = None
        finally:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
    return out_path.read_text(errors="replace"), rc


def scratch_repo(root: Path) -> Path:
    work = root / "work"
    (work / "build").mkdir(parents=True)
    (work / "build" / "tollgate").symlink_to(BIN)
    (work / "docs").symlink_to(REPO / "docs")
    return work


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_doc_blocks_run(doc, tmp_path):
    for line, lang, _, _ in blocks(doc):
        assert lang not in REFUSED_SHELLS, \
            f"{doc.name}:{line}: a ```{lang} block: spell pasted shell ```sh (it then runs here), " \
            "or use ```console / ```text for what is not pasted as it is"
    steps = runnable(doc)
    if not any(lang == "sh" for _, lang, _, _ in steps):
        return
    work = scratch_repo(tmp_path)
    broker = Broker(tmp_path / "broker", policy=None)
    broker.data = work / "var"  # the make-run layout: ./var
    broker.start()
    try:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("TOLLGATE_") and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
        # python3 is the one running the tests (it has the peers: PyJWT, cryptography)
        env.update(TOLLGATE_ADDR=broker.url, HOME=str(tmp_path), LC_ALL="C.UTF-8",
                   PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "/usr/bin:/bin")]))
        out, rc = run_session(session_script(doc, steps), work, env, tmp_path / "session.out")
        done = f"{MARK} end@@" in out
        found = sanitizer_findings(out)
        assert not found, f"sanitizer reported {found} while running {doc.name}:\n{out[-20000:]}"
        if rc != 0 or not done:
            marks = re.findall(rf"^{MARK} (\d+)@@$", out, re.M)
            i = int(marks[-1]) if marks else None
            block = steps[i] if i is not None else None
            tail = out.rsplit(f"{MARK} {i}@@\n", 1)[-1] if i is not None else out
            where = f"{doc.name}:{block[0]}" if block else doc.name
            why = "timed out" if rc is None else f"exit status {rc}"
            pytest.fail(f"the block at {where} failed ({why}).\n--- block ---\n"
                        f"{block[3] if block else ''}--- its output ---\n{tail[-6000:]}", pytrace=False)
    finally:
        broker.stop()
