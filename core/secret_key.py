"""The rule on SECRET_KEY: with DEBUG off, no production process starts on the development key.

Each process calls `secret_key_check` where it starts: trackly.wsgi (granian, gunicorn, any
WSGI server), manage.py (`runserver` and `consume_clicks` refuse, every other command only
warns) and trackly.celery (worker and beat). Unset and empty read as the development key
(trackly.settings).
"""

from __future__ import annotations

import sys

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# The processes that serve requests or act on stored data: they refuse to start. Anything
# else (migrate, shell, create_account, ...) warns and runs, so a fresh checkout can still
# be set up.
REFUSING = frozenset({"web", "runserver", "consume_clicks", "celery worker", "celery beat"})

ADVICE = (
    "SECRET_KEY is unset or the development default and DEBUG is off: set SECRET_KEY to a "
    "long random value, e.g. the output of "
    "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
)


class InsecureSecretKey(ImproperlyConfigured):
    """A production process started on the development SECRET_KEY."""


def secret_key_is_insecure(*, secret_key: str, debug: bool) -> bool:
    return not debug and (not secret_key or secret_key == settings.DEVELOPMENT_SECRET_KEY)


def secret_key_check(process: str) -> None:
    """Raise InsecureSecretKey for a refusing process, else warn on stderr, when insecure."""
    if not secret_key_is_insecure(secret_key=settings.SECRET_KEY, debug=settings.DEBUG):
        return
    if process in REFUSING:
        raise InsecureSecretKey(f"{process} refuses to start: {ADVICE}")
    sys.stderr.write(f"warning: {ADVICE} ({process} runs anyway; the servers, Celery and "
                     "consume_clicks refuse to start)\n")  # fmt: skip
