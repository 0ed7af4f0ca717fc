"""Settings read from the environment, where a name changed."""

from __future__ import annotations

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
