"""Settings read from the environment, where a name changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def prepared_statements(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if "PREPARED_STATEMENTS" not in k}
    return subprocess.run(
        [sys.executable, "-c", "from trackly import settings; print(settings.PREPARED_STATEMENTS)"],
        cwd=ROOT, env={**clean, **env}, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "True"),
        ({"PREPARED_STATEMENTS": "false"}, "False"),
        ({"POSTBACK_PREPARED_STATEMENTS": "false"}, "False"),  # its earlier name
        ({"POSTBACK_PREPARED_STATEMENTS": "false", "PREPARED_STATEMENTS": "true"}, "True"),
    ],
)
def test_prepared_statements_are_read_by_either_name(env: dict, expected: str) -> None:
    assert prepared_statements(**env) == expected


SWITCHED = [
    "SECURE_HSTS_SECONDS",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "CSRF_TRUSTED_ORIGINS",
    "SECURE_PROXY_SSL_HEADER",
]


def production_switch(**env: str) -> dict:
    names = ("HTTPS", "HSTS_SECONDS", "SECURE_COOKIES", "CSRF_TRUSTED_ORIGINS", "APP_HOSTS",
             "TRUSTED_PROXY_COUNT")  # fmt: skip
    clean = {k: v for k, v in os.environ.items() if k not in names}
    script = (
        "import json; from trackly import settings as s; "
        f"print(json.dumps({{n: getattr(s, n) for n in {SWITCHED!r}}}))"
    )
    return json.loads(
        subprocess.run(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env={**clean, **env},
            check=True,
            capture_output=True,
            text=True,
        ).stdout  # fmt: skip
    )


def test_https_turns_on_hsts_secure_cookies_and_the_app_hosts_csrf_origins() -> None:
    assert production_switch(HTTPS="true", APP_HOSTS="app.example,admin.example") == {
        "SECURE_HSTS_SECONDS": 31_536_000,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "CSRF_TRUSTED_ORIGINS": ["https://app.example", "https://admin.example"],
        "SECURE_PROXY_SSL_HEADER": None,  # no proxy to believe
    }


def test_behind_a_proxy_https_believes_its_forwarded_proto() -> None:
    switched = production_switch(HTTPS="true", TRUSTED_PROXY_COUNT="1")
    assert switched["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_without_https_nothing_is_switched_on() -> None:
    assert production_switch(TRUSTED_PROXY_COUNT="1") == {
        "SECURE_HSTS_SECONDS": 0,
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
        "CSRF_TRUSTED_ORIGINS": [],
        "SECURE_PROXY_SSL_HEADER": None,
    }


def test_secure_cookies_and_csrf_origins_are_still_read_as_before() -> None:
    switched = production_switch(
        SECURE_COOKIES="true", CSRF_TRUSTED_ORIGINS="https://app.example:8443"
    )
    assert switched["SESSION_COOKIE_SECURE"] is switched["CSRF_COOKIE_SECURE"] is True
    assert switched["CSRF_TRUSTED_ORIGINS"] == ["https://app.example:8443"]
    assert switched["SECURE_HSTS_SECONDS"] == 0
    # and they override their part of the switch
    switched = production_switch(HTTPS="true", SECURE_COOKIES="false", HSTS_SECONDS="600")
    assert switched["SESSION_COOKIE_SECURE"] is False and switched["SECURE_HSTS_SECONDS"] == 600
