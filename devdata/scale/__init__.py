"""Realistic report data at scale for benchmarks: `python manage.py fill_scale_data`.

Per account (a few of them, over several weeks): lists, campaigns with creatives A/B/C,
offers with their click windows, a tracking domain, a dashboard login and an API key;
contacts; messages sent in campaign blasts at the account's office hours, each with its
offer link and, for some creatives, a second link without an offer; raw clicks from
carrier scanners and link previews seconds after the send, security scanners fanning out
from one IP, crawlers and HTTP libraries later, and people over hours and days with a
decaying rate and a heavy tail of repeat clicks (a forwarded message opened on many
phones); the MessageClick of every message a person clicked (its earliest non-bot raw
click); conversions credited by the product's attribution rule, view-through, offer-level
and unattributed ones, each with its postback-log entry; fraud flags for scanner bursts
and conversions seconds after their click.

Bot verdicts are the classifier's own for user-agent bots and the behaviour worker's
reasons for scanners it catches by timing or fan-out; every click is marked judged, so the
worker does not sweep millions of rows after a load.
"""

from devdata.scale.fill import ScaleFill, ScaleSize

__all__ = ["ScaleFill", "ScaleSize"]
