"""Drawing the scale data's numbers, shared by its generators: a total in proportional parts,
cumulative weights for bisecting a draw, and random ids in bulk (CHUNK at a time)."""

from __future__ import annotations

import base64
import math
import os
from collections.abc import Sequence

# Rows drawn at a time: click ids for a chunk of clicks, a pool of link ids.
CHUNK = 100_000


def total_split(total: int, weights: Sequence[float]) -> list[int]:
    """`total` in parts proportional to `weights`, summing exactly to `total`."""
    whole = sum(weights)
    parts = [int(total * w / whole) for w in weights]
    for i in range(total - sum(parts)):
        parts[i % len(parts)] += 1
    return parts


def cumulative(weights: Sequence[float]) -> list[float]:
    out, running = [], 0.0
    for w in weights:
        running += w
        out.append(running)
    return out


_TO_ALPHANUMERIC = bytes.maketrans(b"+/", b"Xq")


def random_ids(count: int, length: int) -> list[str]:
    """`count` ids of `length` characters of [A-Za-z0-9], in bulk.

    From the OS's random source, not the seed: two loads with one seed into one database
    must not make the same click ids. Base64 of random bytes with '+' and '/' replaced:
    two letters come up twice as often as the others, which costs a fraction of a bit of
    entropy per character and nothing in realism.
    """
    raw = os.urandom(math.ceil(count * length * 3 / 4) + 3)
    text = base64.b64encode(raw).translate(_TO_ALPHANUMERIC).decode()
    return [text[i : i + length] for i in range(0, count * length, length)]
