"""Secrets Trackly must use again (webhook signing secrets), sealed at rest: Fernet
(AES-128-CBC with HMAC-SHA256) under a key derived from SECRET_KEY with HKDF. A database
dump alone does not give them away; changing SECRET_KEY makes them unreadable (rotate
each endpoint's secret after such a change)."""

from __future__ import annotations

import base64
import functools

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


@functools.cache
def _fernet(secret_key: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"trackly sealed secrets v1"
    ).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def sealed(secret: str) -> str:
    return _fernet(settings.SECRET_KEY).encrypt(secret.encode()).decode()


def sealed_open(token: str) -> str:
    return _fernet(settings.SECRET_KEY).decrypt(token.encode()).decode()
