"""The test run's environment, set before Django reads its settings (`-p tests.environment`
in pyproject.toml): a random SECRET_KEY of this run's own, which the web servers and
consumers the tests start inherit (production processes refuse the development key,
core.secret_key)."""

from __future__ import annotations

import os
import secrets

if not os.environ.get("SECRET_KEY"):
    os.environ["SECRET_KEY"] = secrets.token_urlsafe(50)
