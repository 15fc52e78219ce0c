# test_startup.py - how the broker and `make run` start and stop: the
# listening address is held before anything is written (an address in use
# is a clear error and leaves the data directory alone), plain HTTP is
# refused on a non-loopback address unless tls_disable = true, production
# mode warns about plain HTTP on loopback, and scripts/quickstart.sh (what
# `make run` runs) prints the README's quickstart once the broker answers,
# names a broker already on the address, and ends with 0 on a stop signal.
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tollgate_e2e import BIN, REPO, SLOW, free_port, session


def held_port():
    """A socket listening on a free loopback port (not a broker)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    return s, s.getsockname()[1]


def serve(args, cwd, timeout=10 * SLOW):
    return subprocess.run([str(BIN), "serve", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def test_an_address_in_use_is_named_and_nothing_is_written(tmp_path):
    sock, port = held_port()
    with sock:
        p = serve(["--dev", "--data", str(tmp_path / "data"), "--listen", f"127.0.0.1:{port}"], tmp_path)
    assert p.returncode == 1, p.stderr
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in p.stderr, p.stderr
    assert "LISTEN=" in p.stderr and "--listen" in p.stderr, "the error should say what to do next"
    assert "port 0" not in p.stderr, p.stderr
    assert not (tmp_path / "data").exists(), "a broker that cannot listen must write nothing"


def test_an_address_in_use_leaves_the_admin_token_of_the_running_broker(broker_factory, tmp_path):
    b = broker_factory(name="running")
    token = (b.data / "admin.token").read_bytes()
    p = serve(["--dev", "--data", str(b.data), "--listen", f"127.0.0.1:{b.port}"], tmp_path)
    assert p.returncode == 1 and "Address already in use" in p.stderr, p.stderr
    assert (b.data / "admin.token").read_bytes() == token, "the failed start rewrote admin.token"
    assert b.api("GET", "/v1/keys").status_code == 200, "the running broker's admin token stopped working"


@pytest.mark.parametrize("listen", ["0.0.0.0:{port}", "[::]:{port}"])
def test_plain_http_on_a_non_loopback_address_is_refused(tmp_path, listen):
    addr = listen.format(port=free_port())
    p = serve(["--dev", "--data", str(tmp_path / "data"), "--listen", addr], tmp_path)
    assert p.returncode == 2, p.stderr
    assert f"refusing to serve plain HTTP on {addr}" in p.stderr, p.stderr
    assert "--tls-cert" in p.stderr and "tls_disable = true" in p.stderr, p.stderr
    assert not (tmp_path / "data").exists()


def test_tls_disable_allows_plain_http_on_a_non_loopback_address_with_a_warning(tmp_path):
    port = free_port()
    proc = subprocess.Popen([str(BIN), "serve", "--dev", "--data", str(tmp_path / "data"),
                             "--listen", f"0.0.0.0:{port}", "--set", "tls_disable=true"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            stdin=subprocess.DEVNULL)
    try:
        http = session()
        deadline = time.monotonic() + 10 * SLOW
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                if http.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except Exception:
                pass
            assert time.monotonic() < deadline, "the broker did not answer"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=10 * SLOW)[0]
    assert proc.returncode == 0, out
    assert "serving plain HTTP on a non-loopback address (tls_disable = true)" in out, out


def test_tls_disable_takes_only_true_or_false(tmp_path):
    p = serve(["--dev", "--data", str(tmp_path / "d"), "--set", "tls_disable=yes"], tmp_path)
    assert p.returncode == 2 and "tls_disable: expected true or false" in p.stderr, p.stderr


def test_production_mode_on_loopback_warns_about_plain_http(tmp_path):
    key = tmp_path / "master.key"
    subprocess.run([str(BIN), "keys", "master", "--out", str(key)], check=True, capture_output=True)
    port = free_port()
    proc = subprocess.Popen([str(BIN), "serve", "--data", str(tmp_path / "data"), "--master-key-file",
                             str(key), "--listen", f"127.0.0.1:{port}"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            stdin=subprocess.DEVNULL)
    out = ""
    try:
        out = read_until(proc, "tollgate broker ready", 10 * SLOW)
    finally:
        proc.send_signal(signal.SIGTERM)
        out += proc.communicate(timeout=10 * SLOW)[0]
    assert proc.returncode == 0, out
    assert "serving plain HTTP on loopback" in out and "tls_cert" in out, out


# ---- make run (scripts/quickstart.sh) ----

def readme_quickstart():
    text = (REPO / "README.md").read_text()
    section = text.split("## Quickstart", 1)[1]
    return section.split("```sh\n", 1)[1].split("\n```", 1)[0] + "\n"


@pytest.fixture
def checkout(tmp_path):
    """A directory laid out like the checkout for scripts/quickstart.sh:
    the script, the README and build/tollgate (its ./var is its own)."""
    root = tmp_path / "checkout"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "quickstart.sh", root / "scripts")
    shutil.copy(REPO / "README.md", root)
    (root / "build").mkdir()
    (root / "build" / "tollgate").symlink_to(BIN)
    return root


def start_make_run(root, listen):
    env = dict(os.environ, LISTEN=listen)
    return subprocess.Popen(["bash", str(root / "scripts" / "quickstart.sh"), "build/tollgate"], cwd=root,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL, start_new_session=True)


def read_until(proc, marker, timeout):
    """stdout of proc up to and including marker (read from the descriptor
    itself: select() does not see what a buffered readline kept)."""
    fd, out, deadline = proc.stdout.fileno(), b"", time.monotonic() + timeout
    while marker.encode() not in out:
        assert time.monotonic() < deadline, f"no {marker!r} within {timeout}s:\n{out.decode()}"
        if select.select([fd], [], [], 0.2)[0]:
            chunk = os.read(fd, 65536)
            if not chunk:
                proc.wait(timeout=10 * SLOW)
                err = proc.stderr.read() if proc.stderr else ""
                pytest.fail(f"the process ended ({proc.returncode}):\n{out.decode()}\n{err}")
            out += chunk
    return out.decode()


def test_make_run_prints_the_readme_quickstart_and_stops_cleanly(checkout):
    port = free_port()
    proc = start_make_run(checkout, f"127.0.0.1:{port}")
    try:
        out = read_until(proc, "Press Ctrl-C here to stop the broker", 20 * SLOW)
        # Printed only once the broker answers, with the admin token written.
        assert session().get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        assert (checkout / "var" / "admin.token").exists()
        block = out.split("Paste this in another terminal", 1)[1].split("\n", 2)[2]
        block = block.rsplit("\nPress Ctrl-C", 1)[0]
        assert block.startswith(f"export TOLLGATE_ADDR=http://127.0.0.1:{port}\n"), block
        assert block.split("\n", 1)[1].strip() == readme_quickstart().strip()
    finally:
        proc.send_signal(signal.SIGTERM)
        rest, err = proc.communicate(timeout=10 * SLOW)
    assert proc.returncode == 0, err
    assert "tollgate: broker stopped" in rest


def test_make_run_names_a_broker_already_on_the_address(checkout, broker_factory):
    b = broker_factory(name="already")
    proc = start_make_run(checkout, f"127.0.0.1:{b.port}")
    out, err = proc.communicate(timeout=20 * SLOW)
    assert proc.returncode == 1, out + err
    assert "a Tollgate broker already answers there" in err and "make run LISTEN=" in err, err
    assert "Paste this" not in out, "the quickstart was printed for another broker"
    assert not (checkout / "var").exists()


def test_make_run_says_why_when_the_address_is_held_by_something_else(checkout):
    sock, port = held_port()
    with sock:
        proc = start_make_run(checkout, f"127.0.0.1:{port}")
        out, err = proc.communicate(timeout=30 * SLOW)
    assert proc.returncode == 1, out + err
    assert "Address already in use" in err and "the broker did not start" in err, err
    assert "Paste this" not in out
