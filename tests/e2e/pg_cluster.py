# pg_cluster.py - a throw-away PostgreSQL cluster for the end-to-end tests
# (rotation drivers, dynamic credentials): initdb + pg_ctl from Debian's
# postgresql package in a temporary directory owned by the `postgres` user
# (the server refuses to run as root), listening on a free loopback port
# and on a unix socket in that directory. TCP logins use scram-sha-256; the
# socket trusts the `postgres` OS user only (the fixture's own setup). An
# admin role with a password is created for Tollgate. The cluster is
# stopped and its directory removed at teardown.
#
# Use:  from pg_cluster import pg_cluster  # noqa: F401  (the fixture)
#       def test_x(pg_cluster): pg_cluster.sql("CREATE ROLE ..."); pg_cluster.can_login(role, pw)
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tollgate_e2e import free_port

PG_BIN = Path(os.environ.get("TOLLGATE_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_USER = "postgres"
ADMIN_ROLE = "tollgate_admin"


def _pg_available() -> str:
    """Why a cluster cannot run here, or "" when it can."""
    if not (PG_BIN / "initdb").exists():
        return f"{PG_BIN}/initdb not found (scripts/deps.sh --test installs postgresql)"
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        return f"no '{PG_USER}' OS user (the postgresql package creates it)"
    if os.geteuid() != 0 and pwd.getpwuid(os.geteuid()).pw_name != PG_USER:
        return "the cluster runs as the postgres user: run the tests as root or as postgres"
    return ""


def _as_postgres(cmd):
    """cmd run as the postgres OS user (setpriv when root, as-is when we are postgres)."""
    if os.geteuid() != 0:
        return cmd
    pw = pwd.getpwnam(PG_USER)
    return ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--init-groups",
            "--reset-env"] + cmd


class PgCluster:
    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="tollgate-pg-"))
        self.data = self.dir / "data"
        self.sock = self.dir  # unix socket directory
        self.port = free_port()
        self.host = "127.0.0.1"
        self.admin = ADMIN_ROLE
        self.admin_password = secrets.token_urlsafe(24)
        self.log = self.dir / "server.log"
        self.started = False

    # ---- life cycle ----

    def _run(self, cmd, **kw):
        env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "LANG": "C"}
        return subprocess.run(_as_postgres(cmd), cwd=self.dir, env=env, capture_output=True, text=True,
                              timeout=120, **kw)

    def start(self):
        if os.geteuid() == 0:
            pw = pwd.getpwnam(PG_USER)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        os.chmod(self.dir, 0o700)
        pwfile = self.dir / "initpw"
        pwfile.write_text(self.admin_password + "\n")
        if os.geteuid() == 0:
            os.chown(pwfile, pwd.getpwnam(PG_USER).pw_uid, -1)
        pwfile.chmod(0o600)
        r = self._run([str(PG_BIN / "initdb"), "-D", str(self.data), "-U", self.admin, f"--pwfile={pwfile}",
                       "--auth-local=peer", "--auth-host=scram-sha-256", "--locale=C", "--encoding=UTF8",
                       "--no-sync"])
        pwfile.unlink()
        assert r.returncode == 0, f"initdb failed:\n{r.stdout}\n{r.stderr}"
        # The superuser is the admin role; the postgres OS user reaches it
        # over the socket (peer, mapped), anyone else needs its password over TCP.
        (self.data / "pg_ident.conf").write_text(f"fixture {PG_USER} {self.admin}\n")
        (self.data / "pg_hba.conf").write_text(
            f"local all {self.admin} peer map=fixture\n"
            "host all all 127.0.0.1/32 scram-sha-256\n")
        with open(self.data / "postgresql.conf", "a") as f:
            f.write(f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
                    f"unix_socket_directories = '{self.sock}'\n"
                    "password_encryption = 'scram-sha-256'\nfsync = off\n"
                    "log_statement = 'all'\nlc_messages = 'C'\nmax_connections = 200\n")
        r = self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                       "start"])
        assert r.returncode == 0, f"pg_ctl start failed:\n{r.stdout}\n{r.stderr}\n{self.log_text()}"
        self.started = True
        return self

    def stop(self):
        if self.started:
            self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"])
            self.started = False
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    # ---- connections ----

    def dsn(self, user=None, dbname="postgres") -> str:
        """A libpq keyword=value DSN over TCP, without a password."""
        return f"host={self.host} port={self.port} dbname={dbname} user={user or self.admin} sslmode=disable"

    def sql(self, statement: str) -> str:
        """statement run as the admin over the unix socket; its tuples-only output."""
        r = self._run(["/usr/bin/psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", str(self.sock),
                       "-p", str(self.port), "-U", self.admin, "-d", "postgres", "-c", statement])
        assert r.returncode == 0, f"psql failed: {statement}\n{r.stderr}"
        return r.stdout.strip()

    def login(self, role: str, password: str) -> subprocess.CompletedProcess:
        """A fresh TCP login as role with password, as a client would."""
        env = {"PATH": "/usr/bin:/bin", "PGPASSWORD": password, "LC_ALL": "C", "PGCONNECT_TIMEOUT": "10"}
        return subprocess.run(["/usr/bin/psql", "-X", "-At", "-w", self.dsn(user=role), "-c", "select 1"],
                              env=env, capture_output=True, text=True, timeout=60)

    def can_login(self, role: str, password: str) -> bool:
        return self.login(role, password).returncode == 0

    def create_role(self, role: str, password: str, login=True):
        self.sql(f"CREATE ROLE \"{role}\" {'LOGIN' if login else 'NOLOGIN'} PASSWORD '{password}'")

    def admin_password_file(self, directory: Path) -> Path:
        """The admin password in a 0600 file (the postgres driver's password_file)."""
        p = Path(directory) / "pg-admin-password"
        p.write_text(self.admin_password + "\n")
        p.chmod(0o600)
        return p


def _wait_gone(path: Path, timeout=10):
    deadline = time.monotonic() + timeout
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture(scope="module")
def pg_cluster():
    """A running throw-away cluster for the module (skips when PostgreSQL
    is not installed)."""
    why = _pg_available()
    if why:
        pytest.skip(why)
    c = PgCluster()
    try:
        c.start()
        yield c
    finally:
        c.stop()
        _wait_gone(c.dir)
