"""The bounds every input is held to where it enters: dates, windows, pages, sizes.

One home for each limit, so the API, the postbacks, the dashboard and the rollup build agree
(and no account's data can hold a date or a number another account's work chokes on). Pure:
no Django imports.
"""

from __future__ import annotations

import datetime as dt

# No date Trackly stores or reports is before this (a year-1 date overflowed the rollups).
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
EARLIEST_DATE = EARLIEST.date()
# A message may be minted for a send up to a week ahead; a postback's `ts` a day ahead.
SENT_AT_MAX_AHEAD = dt.timedelta(days=7)
POSTBACK_TS_MAX_AHEAD = dt.timedelta(days=1)

# Report and list ranges: inclusive local dates between EARLIEST_DATE and today + 366 days,
# at most 1,100 days long; a missing start is end - 1,099 days (so 1,100 days in all).
REPORT_MAX_AHEAD_DAYS = 366
REPORT_MAX_SPAN_DAYS = 1100
REPORT_DEFAULT_SPAN_DAYS = REPORT_MAX_SPAN_DAYS - 1

MAX_CLICK_WINDOW_DAYS = 3650
MAX_RETENTION_DAYS = 3650

# Every list endpoint: `limit` / `page_size` and `offset`.
MAX_PAGE_SIZE = 1000
MAX_OFFSET = 1_000_000

# Work per request.
MAX_LINKS_PER_MESSAGE = 50
# Body and query of a tracking request (redirects, postbacks): refused past this (413).
MAX_TRACKING_REQUEST_BYTES = 64 * 1024
# An account's opt-out patterns are matched against every link it mints.
MAX_OPT_OUT_PATTERNS = 100
MAX_OPT_OUT_PATTERN_LENGTH = 200
