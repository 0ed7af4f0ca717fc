"""A 100,000-row CSV conversion import, end to end, on PostgreSQL: the POST (file checked,
stored, 202) and the import's run (parse, resolve, bulk insert, set-based attribution,
adjustments, the postback log), timed three times; prints each, the median and rows/s.

Each file: half new rows credited by click_id, a fifth new by contact + offer, a tenth
offer-level, a fifth updates of stored conversions (new amounts and status each run).
The database (BENCH_DATABASE_URL, default trackly_bench_imports) is recreated and filled
with `manage.py fill_scale_data` (one account, 200k messages, 400k raw clicks, 25k
conversions) the first time; a later run reuses it.

    make bench-imports
    .venv/bin/python bench/imports.py --refill
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/trackly_bench_imports"
)
ROWS = 100_000
RUNS = 3
TARGET_SECONDS = 60.0
FILL = ["--accounts", "1", "--messages", "200000", "--clicks", "400000",
        "--conversions", "25000", "--weeks", "4"]  # fmt: skip
ENV = {**os.environ, "DATABASE_URL": DATABASE_URL, "REDIS_URL": "", "DEBUG": "false"}


def database_ready(refill: bool) -> None:
    parts = urlsplit(DATABASE_URL)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and not refill:
            with psycopg.connect(DATABASE_URL) as db:
                if db.execute("SELECT count(*) FROM links_messageclick").fetchone()[0] > 0:
                    return
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v", "0"], cwd=ROOT, env=ENV, check=True)
    print("filling the database (once)...", flush=True)
    subprocess.run(
        [*manage, "fill_scale_data", *FILL], cwd=ROOT, env=ENV, check=True,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--refill", action="store_true")
    parser.add_argument("--rows", type=int, default=ROWS)
    args = parser.parse_args()
    database_ready(args.refill)

    os.environ.update(ENV)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trackly.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client

    from attribution.models import Conversion, ConversionImport
    from core.models import Account, ApiKey, Contact, Offer
    from links.models import MessageClick
    from trackly.celery import app

    app.conf.task_always_eager = True  # the run in this process, right after the POST
    settings.ALLOWED_HOSTS = ["*"]
    account = Account.objects.order_by("pk").first()
    _, key = ApiKey.generate(account=account, name="bench-imports")
    client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {key}")
    rng = random.Random(18)
    clicks = list(
        MessageClick.objects.filter(account=account, offer__isnull=False).values_list(
            "raw_click__click_id", flat=True
        )[: args.rows]
    )
    contacts = list(
        Contact.objects.filter(account=account).values_list("external_id", flat=True)[:50_000]
    )
    offers = list(Offer.objects.filter(account=account).values_list("pk", flat=True))
    stored = list(
        Conversion.objects.filter(account=account, txn_id__isnull=False).values_list(
            "txn_id", "event"
        )[: args.rows // 5]
    )
    times = []
    for run in range(RUNS):
        prefix = f"bench{int(time.time())}-{run}"
        lines = ["txn_id,event,offer,click_id,contact,revenue,payout,status,occurred_at"]
        n_click, n_contact, n_offer = args.rows // 2, args.rows // 5, args.rows // 10
        for i in range(n_click):
            lines.append(f"{prefix}-c{i},,,{rng.choice(clicks)},,12.50,3.10,,")
        for i in range(n_contact):
            lines.append(f"{prefix}-p{i},,{rng.choice(offers)},,{rng.choice(contacts)},20,,,")
        for i in range(n_offer):
            lines.append(f"{prefix}-o{i},,{rng.choice(offers)},,,5,,pending,")
        status = ("pending", "approved", "reversed")[run]
        for txn_id, event in stored[: args.rows - len(lines) + 1]:
            lines.append(f"{txn_id},{event},,,,{run + 1}.25,{run + 1}.00,{status},")
        body = ("\n".join(lines) + "\n").encode()
        started = time.perf_counter()
        response = client.post(
            "/api/v1/conversions/import", body, content_type="text/csv"
        )  # the run happens on commit, eagerly, before the POST returns
        assert response.status_code == 202, response.content
        job = ConversionImport.objects.get(pk=response.json()["id"])
        elapsed = time.perf_counter() - started
        assert job.status == "done", (job.status, job.error)
        times.append(elapsed)
        print(
            f"run {run + 1}: {len(lines) - 1:,} rows in {elapsed:.1f} s "
            f"(created {job.created:,}, updated {job.updated:,}, unchanged {job.unchanged:,}, "
            f"rejected {len(job.rejected):,})",
            flush=True,
        )
    median = statistics.median(times)
    print(f"median {median:.1f} s, {args.rows / median:,.0f} rows/s "
          f"(target: under {TARGET_SECONDS:.0f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
