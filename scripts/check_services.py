"""Fail loudly, with the fix, when the PostgreSQL or Redis that tests need is not reachable."""

from __future__ import annotations

import os
import sys
from urllib.parse import urlsplit

import psycopg
import redis

database_url = os.environ["DATABASE_URL"]
redis_url = os.environ["REDIS_URL"]
problems = []
try:
    # The server, through its maintenance database: pytest-django creates test_<name> itself.
    server_url = urlsplit(database_url)._replace(path="/postgres").geturl()
    psycopg.connect(server_url, connect_timeout=5).close()
except Exception as exc:  # noqa: BLE001 - any failure is reported the same way
    problems.append(
        f"PostgreSQL at {database_url} is not reachable: {exc}\n"
        "  start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
    )
try:
    redis.Redis.from_url(redis_url, socket_connect_timeout=5).ping()
except Exception as exc:  # noqa: BLE001
    problems.append(
        f"Redis at {redis_url} is not reachable: {exc}\n"
        '  start it: redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" '
        "--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log"
    )
if problems:
    print("make test needs real PostgreSQL and Redis:\n" + "\n".join(problems), file=sys.stderr)
    sys.exit(1)
print(f"services ok: {database_url}, {redis_url}")
