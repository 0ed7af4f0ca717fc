"""`python manage.py consume_clicks`: write clicks from the Redis Stream to PostgreSQL.

Runs until SIGTERM/SIGINT (finishing the batch in hand). `--drain` processes what is in
the stream now and exits. See links.click_writer for the guarantees.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core import redis_conn
from core.secret_key import InsecureSecretKey, secret_key_check
from links import places
from links.click_shards import consumer as click_consumer


class Command(BaseCommand):
    help = "Write clicks from the Redis Stream to PostgreSQL in batches (run one or more)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--name", help="consumer name in the group (default host-pid)")
        parser.add_argument(
            "--drain", action="store_true", help="process what is in the stream now, then exit"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:  # here too, not only in manage.py: `django-admin consume_clicks` skips that
            secret_key_check("consume_clicks")
        except InsecureSecretKey as exc:
            raise CommandError(str(exc)) from exc
        if not settings.CLICK_STREAM:
            raise CommandError(
                "The click pipeline is off (CLICK_STREAM): it needs REDIS_URL and a "
                "PostgreSQL DATABASE_URL. Without it, redirects write clicks directly."
            )
        if not redis_conn.configured():
            raise CommandError("neither REDIS_URL nor REDIS_CLUSTER_NODES is set")
        # Its own client (a RedisCluster with REDIS_CLUSTER_NODES): XREADGROUP blocks for
        # up to a second, longer than the web's socket timeout allows.
        client = redis_conn.connect(connect_timeout=2, timeout=10, health_check_interval=30)
        places.database_load()  # 0.2 s now, not in the first batch's
        # One stream, or the shards this consumer holds leases on (links.click_shards).
        consumer = click_consumer(client, name=options["name"])
        if options["drain"]:
            results = consumer.drain()
            stored = sum(r.stored for r in results)
            entries = sum(r.entries for r in results)
            self.stdout.write(f"stored {stored} of {entries} clicks")
            return
        consumer.run()
