"""Schemathesis hooks for tests/trackly/test_api_schema.py (loaded by SCHEMATHESIS_HOOKS).

The run may call every operation, but never revoke the key it authenticates with (that would
end the run with 401s): cases naming that key's id are dropped.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis

OWN_KEY_ID = os.environ.get("TRACKLY_SCHEMATHESIS_KEY_ID", "")


@schemathesis.hook("filter_path_parameters").apply_to(path_regex=r"api-keys/\{[^}]+\}/revoke")
def filter_path_parameters(ctx: Any, path_parameters: dict[str, Any] | None) -> bool:
    return not path_parameters or str(next(iter(path_parameters.values()), "")) != OWN_KEY_ID
