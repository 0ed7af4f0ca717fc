#!/usr/bin/env python
from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trackly.settings")
    from django.core.management import execute_from_command_line

    from core.secret_key import InsecureSecretKey, secret_key_check

    try:
        secret_key_check(sys.argv[1] if len(sys.argv) > 1 else "help")
    except InsecureSecretKey as exc:
        sys.exit(f"error: {exc}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
