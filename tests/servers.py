"""Private PostgreSQL and Redis servers, and Trackly's own processes, for fault tests.

Each server gets its own data directory and a free loopback port, so stopping it
disturbs nothing else on the machine. PostgreSQL refuses to run as root: when the tests
do, the cluster is owned and run by the `postgres` system user.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

from tests.helpers import wait_for

ROOT = Path(__file__).resolve().parent.parent


def procfile_command(process: str, **variables: str) -> list[str]:
    """The Procfile's line for `process`, as production runs it (so a test of the server's
    flags tests the Procfile's), on loopback, with `${NAME:-default}` filled from
    `variables` (else the default); its program run by this Python."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == process:
            break
    else:
        raise LookupError(f"no {process!r} line in the Procfile")
    command = re.sub(
        r"\$\{(\w+):-([^}]*)\}", lambda m: variables.get(m.group(1), m.group(2)), command
    )
    words = shlex.split(command.replace("--host 0.0.0.0", "--host 127.0.0.1"))
    return [sys.executable, "-m", words[0], *words[1:]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivatePostgres:
    def __init__(self) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not bins:
            raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql")
        self.bin = Path(bins[-1]).parent
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="trackly-pg-"))
        self.data = self.dir / "data"
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def command(self, tool: str, *args: str) -> list[str]:
        """The command line that runs one of the server's tools, as its owner."""
        command = [str(self.bin / tool), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return command

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(self.command(tool, *args), check=True, capture_output=True)

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} "
            "-c fsync=off -c full_page_writes=off -c max_connections=50"
        )
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.dir / "log"),
                  "-w", "start")  # fmt: skip

    def stop_command(self, mode: str = "fast") -> list[str]:
        return self.command("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(self.stop_command(mode), check=True, capture_output=True)

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class ReplicatedPostgres:
    """A private primary and a streaming hot-standby replica of it, made with
    `pg_basebackup -R` (as production makes one, docs/deploy.md), each on a free port."""

    def __init__(self) -> None:
        self.primary = PrivatePostgres()
        with (self.primary.data / "postgresql.conf").open("a") as f:
            f.write("wal_level = replica\nmax_wal_senders = 5\nhot_standby = on\n")
        with (self.primary.data / "pg_hba.conf").open("a") as f:
            f.write("host replication all 127.0.0.1/32 trust\n")
        self.primary.start()
        # The replica: no initdb, its data directory is the primary's base backup, with
        # standby.signal and primary_conninfo written by -R.
        self.replica = PrivatePostgres.__new__(PrivatePostgres)
        self.replica.bin = self.primary.bin
        self.replica.port = free_port()
        self.replica.dir = Path(tempfile.mkdtemp(prefix="trackly-pg-replica-"))
        self.replica.data = self.replica.dir / "data"
        self.replica.as_postgres = self.primary.as_postgres
        if self.replica.as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.replica.dir, user.pw_uid, user.pw_gid)
        self.replica._run(
            "pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary.port), "-U", "postgres",
            "-D", str(self.replica.data), "-R", "-X", "stream", "-c", "fast",
        )  # fmt: skip
        self.replica.start()

    def destroy(self) -> None:
        for server in (self.replica, self.primary):
            with contextlib.suppress(subprocess.CalledProcessError):
                server.stop("immediate")
            shutil.rmtree(server.dir, ignore_errors=True)


class PrivateRedis:
    """A redis-server of the test's own. With `config` (e.g. deploy/redis.conf, production's
    persistence), it runs on that file; without, it keeps nothing on disk."""

    def __init__(self, config: Path | None = None) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="trackly-redis-"))
        # The file first (redis-server reads it so); the flags after it win over it.
        self.options = [str(config)] if config else ["--save", "", "--appendonly", "no"]
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", *self.options, "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for(self._answers, 10, "redis-server")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait()
            self.process = None

    def kill(self) -> None:
        """SIGKILL, as a crash: no shutdown, no last write to disk."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivateRedisCluster:
    """A Redis Cluster of the test's own: `size` primaries (no replicas) on free loopback
    ports, each with its cluster config in a temp dir, joined by `redis-cli --cluster
    create`; `start()` returns once every node reports cluster_state:ok."""

    def __init__(self, size: int = 3) -> None:
        self.nodes = [PrivateRedis() for _ in range(size)]
        for node in self.nodes:
            node.port = _cluster_port()  # its bus listens on port + 10000 too
            node.options += ["--cluster-enabled", "yes",
                             "--cluster-config-file", str(node.dir / "nodes.conf")]  # fmt: skip

    @property
    def addresses(self) -> list[str]:
        """host:port of each node, as REDIS_CLUSTER_NODES takes them."""
        return [f"127.0.0.1:{node.port}" for node in self.nodes]

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        subprocess.run(
            ["redis-cli", "--cluster", "create", *self.addresses,
             "--cluster-replicas", "0", "--cluster-yes"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        wait_for(self._ok, 30, "the Redis Cluster to be ok")

    def _ok(self) -> bool:
        for node in self.nodes:
            info = subprocess.run(
                ["redis-cli", "-p", str(node.port), "cluster", "info"],
                capture_output=True, text=True, timeout=5,
            ).stdout  # fmt: skip
            if "cluster_state:ok" not in info:
                return False
        return True

    def destroy(self) -> None:
        for node in self.nodes:
            node.destroy()


def _cluster_port() -> int:
    """A free port whose port + 10000 (a cluster node's bus) is free too."""
    for _ in range(100):
        port = free_port()
        if port + 10000 > 65535:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise OSError("no free port pair for a cluster node")


class Trackly:
    """The web server and click consumers, as production runs them, on given servers."""

    def __init__(self, database_url: str, redis_url: str, **env: str) -> None:
        self.port = free_port()
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "APP_HOSTS": "localhost",
            "LOG_LEVEL": "WARNING",
            "REDIS_RETRY_SECONDS": "0.5",
            "CLICK_STREAM_CLAIM_IDLE_SECONDS": "1",
            # As the Procfile: its threads per process (trackly.settings reads it too).
            "WEB_THREADS": "4",
            # Production processes refuse the development key (core.secret_key).
            "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
            **env,
        }
        self.web: subprocess.Popen | None = None
        self.consumers: list[subprocess.Popen] = []
        self.logs = Path(tempfile.mkdtemp(prefix="trackly-logs-"))

    def _log(self, name: str) -> Any:
        return (self.logs / name).open("ab")  # noqa: SIM115 - the child process keeps it

    def manage(self, *args: str, **env: str) -> str:
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env={**self.env, **env},
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip

    def web_start(self) -> None:
        command = procfile_command(
            "web", PORT=str(self.port), WEB_CONCURRENCY="2", WEB_THREADS=self.env["WEB_THREADS"]
        )
        self.web = subprocess.Popen(command, cwd=ROOT, env=self.env, stderr=self._log("web.log"))
        wait_for(self._healthy, 30, "the web server")

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1):  # noqa: S310
                return True
        except OSError:
            return False

    def consumer_start(self, **env: str) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "consume_clicks"],
            cwd=ROOT, env={**self.env, **env}, stderr=self._log("consumer.log"),
        )  # fmt: skip
        self.consumers.append(process)
        return process

    def consumers_stop(self) -> None:
        for process in self.consumers:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)
        self.consumers.clear()

    def stop(self) -> None:
        self.consumers_stop()
        if self.web is not None:
            self.web.terminate()
            self.web.wait(timeout=30)

    def api_post(self, path: str, api_key: str, body: Any) -> Any:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json",
                     "Host": "localhost"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback
            return json.loads(response.read())
