"""The one CSV rule for text cells: a cell a spreadsheet would run as a formula is defused.

A text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is run as a formula
by spreadsheets (CSV injection); names, user agents, phones and postback queries come from
outside, so such a cell gets a leading apostrophe (docs/reports.md, docs/security.md). Here
in core so that every app's CSV (reporting.exports, audiences' members) writes it one way.
"""

from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def formula_defused(text: str) -> str:
    """A text cell as every CSV writes it."""
    return "'" + text if text.startswith(FORMULA_START) else text
