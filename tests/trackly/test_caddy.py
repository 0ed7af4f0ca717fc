"""The real Caddy (Debian's package, installed by `make test`) in front of the real Trackly,
with deploy/Caddyfile's configuration: an on-demand certificate for a tracking domain
because /tls/ask (trackly.tls) says yes, none for a name it does not know, and an access
log without postback secrets.

The test's Caddyfile is deploy/Caddyfile with test-only global options put in: free high
ports, the internal certificate authority (`local_certs`) in a temporary storage, the admin
endpoint off and the system trust store untouched (`skip_install_trust`). Clients trust
that authority's root from the temporary storage.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import redis
from django.conf import settings
from django.db import connection

from links import ids
from tests.helpers import BROWSER, make_offer, wait_for
from tests.servers import ROOT, Trackly, free_port

CADDYFILE = ROOT / "deploy" / "Caddyfile"


def caddy() -> str:
    found = shutil.which("caddy")
    assert found, "caddy is not installed: `make test` installs it (make caddy)"
    return found


def test_deploy_caddyfile_is_valid() -> None:
    result = subprocess.run(
        [caddy(), "validate", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
        capture_output=True, text=True, env={**os.environ, "TRACKLY_APP_HOST": "app.example"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Valid configuration" in result.stdout + result.stderr


def test_deploy_caddyfile_asks_trackly_on_localhost() -> None:
    text = CADDYFILE.read_text()
    assert "ask http://{$TRACKLY_UPSTREAM:localhost:8000}/tls/ask" in text
    assert "on_demand\n" in text


class Caddy:
    """Caddy on deploy/Caddyfile, its test options put in, in front of `upstream`."""

    def __init__(self, upstream_port: int) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="trackly-caddy-"))
        self.http_port, self.https_port = free_port(), free_port()
        self.access_log = self.dir / "access.log"
        self.root_cert = self.dir / "storage" / "pki" / "authorities" / "local" / "root.crt"
        test_options = (
            "\tadmin off\n"
            f"\thttp_port {self.http_port}\n"
            f"\thttps_port {self.https_port}\n"
            "\tlocal_certs\n"
            "\tskip_install_trust\n"
            f"\tstorage file_system {{\n\t\troot {self.dir / 'storage'}\n\t}}\n"
        )
        text = CADDYFILE.read_text()
        start = text.index("\n{\n") + 3  # the global options block
        (self.dir / "Caddyfile").write_text(text[:start] + test_options + text[start:])
        self.env = {
            **os.environ,
            "HOME": str(self.dir),
            "XDG_DATA_HOME": str(self.dir / "data"),
            "XDG_CONFIG_HOME": str(self.dir / "config"),
            "TRACKLY_APP_HOST": "app.trackly.test",
            "TRACKLY_UPSTREAM": f"localhost:{upstream_port}",
            "TRACKLY_ACCESS_LOG": str(self.access_log),
        }
        self.process: subprocess.Popen | None = None
        self.clicks_key = ""  # Trackly's click stream

    def start(self) -> None:
        command = [caddy(), "run", "--config", str(self.dir / "Caddyfile"),
                   "--adapter", "caddyfile"]  # fmt: skip
        with (self.dir / "caddy.log").open("ab") as log:
            self.process = subprocess.Popen(command, env=self.env, stdout=log, stderr=log)
        wait_for(self._ready, 30, "Caddy listening, its internal CA made")

    def _ready(self) -> bool:
        assert self.process is not None and self.process.poll() is None, self.log()
        try:
            socket.create_connection(("127.0.0.1", self.https_port), timeout=0.2).close()
        except OSError:
            return False
        return self.root_cert.exists()

    def certificates(self, host: str) -> list[Path]:
        """The certificate files Caddy stored for `host`."""
        return list((self.dir / "storage" / "certificates").glob(f"*/{host}/*.crt"))

    def log(self) -> str:
        return (self.dir / "caddy.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)

    def get(self, host: str, path: str) -> tuple[http.client.HTTPResponse, dict[str, Any]]:
        """GET https://<host><path> through Caddy (SNI and Host `host`), trusting only its
        internal root: (the response, the peer certificate)."""
        context = ssl.create_default_context(cafile=str(self.root_cert))
        raw = socket.create_connection(("127.0.0.1", self.https_port), timeout=30)
        tls = context.wrap_socket(raw, server_hostname=host)
        cert = tls.getpeercert() or {}
        conn = http.client.HTTPConnection(host, self.https_port, timeout=30)
        conn.sock = tls
        conn.request("GET", path, headers={"User-Agent": BROWSER})
        response = conn.getresponse()
        response.read()
        conn.close()
        return response, cert


@pytest.fixture(scope="module")
def proxied(django_db_setup: Any) -> Iterator[Caddy]:
    """Trackly (as the Procfile runs it, on the test database: the tests mark themselves
    transaction=True, so what they write is committed for it) behind Caddy."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    url = f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    prefix = f"caddy-{uuid.uuid4().hex}"
    app = Trackly(
        url, settings.REDIS_URL, CACHE_KEY_PREFIX=prefix, CLICK_STREAM_KEY=f"{prefix}:clicks",
        TRUSTED_PROXY_COUNT="1",
    )  # fmt: skip
    app.web_start()
    server = Caddy(app.port)
    server.clicks_key = f"{prefix}:clicks"
    try:
        server.start()
        yield server
    finally:
        server.stop()
        app.stop()
        client = redis.Redis.from_url(settings.REDIS_URL)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)


@pytest.mark.django_db(transaction=True)
def test_a_tracking_domain_gets_a_certificate_and_the_302(proxied: Caddy, owner: Any) -> None:
    offer = make_offer(owner)
    link_id = owner.mint(body="{{l}}", links={"l": {"offer": offer.pk}})["links"][0]["link_id"]
    response, cert = proxied.get("go.owner.example", f"/{link_id}")
    assert ("DNS", "go.owner.example") in cert["subjectAltName"]
    assert proxied.certificates("go.owner.example")  # in the temporary storage
    assert response.status == 302
    location = response.getheader("Location")
    assert location.startswith("https://adv.example.com/land?")
    click_id = parse_qs(urlsplit(location).query)["click_id"][0]
    assert ids.is_click_id(click_id)
    # The tap is recorded (appended to the click stream) with that click id.
    stream = redis.Redis.from_url(settings.REDIS_URL).xrange(proxied.clicks_key)
    assert [e for _, e in stream if click_id.encode() in e.values()]


@pytest.mark.django_db(transaction=True)
def test_an_unknown_domain_gets_no_certificate(proxied: Caddy, owner: Any) -> None:
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        proxied.get("go.unknown.example", "/abc")
    assert not proxied.certificates("go.unknown.example")


@pytest.mark.django_db(transaction=True)
def test_the_access_log_holds_no_secret_or_token(proxied: Caddy, owner: Any) -> None:
    path = "/conv?click_id=clk_x&token=tok-SEEKRIT-1&secret=sec-SEEKRIT-2"
    proxied.get("go.owner.example", path)
    wait_for(lambda: "/conv" in read(proxied.access_log), 10, "the access log line")
    log = read(proxied.access_log)
    assert "REDACTED" in log and "clk_x" in log
    assert "SEEKRIT" not in log


def read(path: Path) -> str:
    return path.read_text() if path.exists() else ""
