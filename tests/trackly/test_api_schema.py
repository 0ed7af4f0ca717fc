"""The OpenAPI schema says what the API does: schemathesis against the real server.

The production web server (granian) on a database of this test's own, with an account that
has offers, messages, clicks, a conversion and built rollups (so the reports have rows to
check), the rate limit off and one all-scope key. Every operation of /api/v1/schema/ (but
revoking that key) gets at most 25 generated requests; none may answer a 5xx, a status or
content type the schema does not list, or a body its schema does not describe.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from tests.servers import ROOT, Trackly

HOST = "go.schema.example"
BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1"
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance"
)


def _database_url() -> tuple[str, str, str]:
    """(server URL to CREATE DATABASE from, the test's database URL, its name)."""
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/trackly")
    parts = urlsplit(base)
    name = f"{parts.path.lstrip('/') or 'trackly'}_schemathesis"
    admin = urlunsplit(parts._replace(path="/postgres"))
    return admin, urlunsplit(parts._replace(path=f"/{name}")), name


@pytest.fixture(scope="module")
def server() -> Iterator[dict[str, Any]]:
    admin, url, name = _database_url()
    with psycopg.connect(admin.replace("postgres://", "postgresql://", 1), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}"')
    app = Trackly(
        url,
        os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        API_RATE_LIMIT="0",
        CLICK_STREAM="false",
        CACHE_KEY_PREFIX=f"schemathesis-{os.getpid()}",
    )
    try:
        app.manage("migrate", "--no-input", "-v", "0")
        created = json.loads(app.manage("create_account", "Schema Co", "--domain", HOST))
        app.web_start()
        _seed(app, created)
        app.manage("build_rollups")
        yield {"app": app, "api_key_id": _key_id(app, created["api_key"]), **created}
    finally:
        app.stop()
        with psycopg.connect(
            admin.replace("postgres://", "postgresql://", 1), autocommit=True
        ) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _request(app: Trackly, path: str, host: str = "localhost", **headers: str) -> Any:
    request = urllib.request.Request(
        f"http://127.0.0.1:{app.port}{path}", headers={"Host": host, **headers}
    )
    opener = urllib.request.build_opener(_NoRedirect)
    with opener.open(request, timeout=30) as response:
        return response.status, response.read()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _key_id(app: Trackly, api_key: str) -> int:
    """The id of the run's own key (the hooks keep the run from revoking it)."""
    status, body = _request(app, "/api/v1/api-keys", Authorization=f"Bearer {api_key}")
    prefix = api_key.split("_")[1]
    return next(k["id"] for k in json.loads(body)["results"] if k["prefix"] == prefix)


def _seed(app: Trackly, created: dict[str, Any]) -> None:
    key = created["api_key"]
    offer = app.api_post(
        "/api/v1/offers", key, {"name": "Spring", "destination_url": "https://shop.example/s"}
    )
    messages = app.api_post(
        "/api/v1/messages/bulk",
        key,
        [
            {"contact": {"external_id": f"c{i}", "phone": f"+1415555{i:04d}"},
             "body": "Sale {{link1}}", "campaign": "Launch", "creative": "A", "list": "VIP",
             "links": {"link1": {"offer": offer["id"]}}}
            for i in range(4)
        ],
    )  # fmt: skip
    token = created.get("postback_token", "")
    for i, message in enumerate(messages):
        link_id = message["links"][0]["link_id"]
        try:
            _request(app, f"/{link_id}", host=HOST, **{"User-Agent": BROWSER})
        except urllib.error.HTTPError as exc:
            assert exc.code == 302, exc
        if i == 0:
            status, _ = _request(
                app, f"/conv?link_id={link_id}&txn_id=t{i}&revenue=12.50&token={token}", host=HOST
            )
            assert status == 200


def test_the_api_does_what_its_schema_says(server: dict[str, Any], tmp_path: Any) -> None:
    app: Trackly = server["app"]
    base = f"http://localhost:{app.port}"  # an app host
    result = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "run", f"{base}/api/v1/schema/",
         "--url", base, "-H", f"Authorization: Bearer {server['api_key']}",
         "--checks", CHECKS, "--max-examples", "25",
         "--seed", os.environ.get("SCHEMATHESIS_SEED", "14"), "--workers", "1",
         "--no-color", "--report-dir", str(tmp_path)],
        # Its cache and reports stay in the test's own folder, so every run starts afresh.
        cwd=tmp_path, capture_output=True, text=True, timeout=900,
        env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks",
             "PYTHONPATH": str(ROOT),
             "TRACKLY_SCHEMATHESIS_KEY_ID": str(server.get("api_key_id", ""))},
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-20000:]
    assert " passed" in output and "Tested:" in output, output[-5000:]
