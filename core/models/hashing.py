"""Secrets kept as hashes (API keys, postback tokens and secrets): only a SHA-256 is stored,
compared in constant time."""

from __future__ import annotations

import hashlib
import hmac


def hash_secret(secret: str) -> str:
    # surrogatepass: a secret is compared, never shown; a stray surrogate must not crash it.
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def secret_matches(stored_hash: str, secret: str) -> bool:
    """`secret` against a stored hash_secret(), in constant time; no hash matches nothing."""
    return bool(stored_hash) and hmac.compare_digest(stored_hash, hash_secret(secret))
