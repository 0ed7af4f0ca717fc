"""No production process starts on the development SECRET_KEY with DEBUG off
(core.secret_key): each entry point is started here as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from typing import Any

import pytest
from django.conf import settings

from core.secret_key import secret_key_is_insecure
from tests.servers import ROOT, free_port


def run(command: list[str], **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    # A guard that let the process start would leave it serving: the timeout fails that.
    return subprocess.run(
        command, cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60
    )


def python(*args: str) -> list[str]:
    return [sys.executable, *args]


ENTRIES = {
    "granian": lambda: python("-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1",
                              "--port", str(free_port()), "--workers", "1",
                              "trackly.wsgi:application"),
    "gunicorn": lambda: python("-m", "gunicorn", "trackly.wsgi", "--bind",
                               f"127.0.0.1:{free_port()}"),
    "runserver": lambda: python("manage.py", "runserver", f"127.0.0.1:{free_port()}"),
    "celery worker": lambda: python("-m", "celery", "-A", "trackly", "worker"),
    "celery beat": lambda: python("-m", "celery", "-A", "trackly", "beat", "--schedule",
                                  os.path.join(tempfile.mkdtemp(), "schedule")),
    "consume_clicks": lambda: python("manage.py", "consume_clicks"),
    "consume_clicks (django-admin)": lambda: python("-m", "django", "consume_clicks",
                                                    "--settings", "trackly.settings"),
}  # fmt: skip


@pytest.mark.parametrize("entry", list(ENTRIES))
def test_each_production_process_refuses_to_start_without_a_secret_key(entry: str) -> None:
    result = run(ENTRIES[entry]())
    assert result.returncode != 0
    assert "SECRET_KEY is unset or the development default" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("entry", "secret_key"),
    [("granian", settings.DEVELOPMENT_SECRET_KEY), ("consume_clicks", ""), ("granian", "  ")],
)
def test_the_development_key_or_an_empty_one_is_refused_alike(entry: str, secret_key: str) -> None:
    result = run(ENTRIES[entry](), SECRET_KEY=secret_key)
    assert result.returncode != 0
    assert "SECRET_KEY is unset or the development default" in result.stdout + result.stderr


def test_other_commands_only_warn() -> None:
    result = run(python("manage.py", "check"))
    assert result.returncode == 0, result.stderr
    assert "warning: SECRET_KEY is unset or the development default" in result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize(
    ("secret_key", "debug", "insecure"),
    [
        (settings.DEVELOPMENT_SECRET_KEY, False, True),
        ("", False, True),
        ("k" * 50, False, False),
        (settings.DEVELOPMENT_SECRET_KEY, True, False),  # development: DEBUG on
    ],
)
def test_only_the_development_key_with_debug_off_is_insecure(
    secret_key: str, debug: bool, insecure: bool
) -> None:
    assert secret_key_is_insecure(secret_key=secret_key, debug=debug) is insecure


def test_make_run_keeps_a_random_key_of_its_own_readable_by_its_owner_only(
    tmp_path: Any,
) -> None:
    # The Makefile's .secret_key target, in a folder of the test's own (the venv linked in).
    (tmp_path / "Makefile").write_text((ROOT / "Makefile").read_text())
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    run = ["make", "-s", "-C", str(tmp_path), "-o", ".venv/bin/activate", ".secret_key"]
    subprocess.run(run, check=True, capture_output=True)
    key_file = tmp_path / ".secret_key"
    key = key_file.read_text().strip()
    assert len(key) >= 50 and not secret_key_is_insecure(secret_key=key, debug=False)
    assert key_file.stat().st_mode & 0o777 == 0o600
    subprocess.run(run, check=True, capture_output=True)
    assert key_file.read_text().strip() == key  # made once, kept after
    ignored = subprocess.run(
        ["git", "-C", str(ROOT), "check-ignore", "-q", ".secret_key"], check=False
    )
    assert ignored.returncode == 0  # never committed
