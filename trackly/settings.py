"""Trackly's one settings module: production differs only by environment variables.

With nothing set, Trackly runs on its embedded default: SQLite next to the code, Celery
tasks run eagerly in-process, a local-memory cache and no Redis.
"""

from __future__ import annotations

from pathlib import Path

import environ

from core import bounds

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
# Unset or empty means this key; with DEBUG off the servers, Celery and consume_clicks
# refuse to start with it and other commands warn (core.secret_key). `make run` keeps a
# random key of its own in .secret_key.
DEVELOPMENT_SECRET_KEY = "dev-only-insecure-secret-key-set-SECRET_KEY-in-production"
SECRET_KEY = env.str("SECRET_KEY", default="").strip() or DEVELOPMENT_SECRET_KEY  # blank = unset

# Hosts that serve the dashboard, admin and API. Tracking domains are configured per
# account in the database; trackly.middleware.HostRoutingMiddleware decides which host is
# which, so Django's own host check is opened wide and the middleware answers 404 instead.
APP_HOSTS = [h.strip().lower() for h in env.list("APP_HOSTS", default=["localhost"]) if h.strip()]
ALLOWED_HOSTS = ["*"]

# How many reverse proxies in front of Trackly append to X-Forwarded-For. 0 means the
# header is ignored and REMOTE_ADDR is the client.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# The production switch: Trackly is reached over HTTPS (TLS ending at the proxy). On the app
# hosts it turns on HSTS (HSTS_SECONDS), secure session and CSRF cookies, and CSRF origins
# https://<each app host>; behind proxies (TRUSTED_PROXY_COUNT > 0) their X-Forwarded-Proto
# says which requests came over HTTPS. SECURE_COOKIES and CSRF_TRUSTED_ORIGINS, read as
# before, override their part. Tracking domains get no HSTS: they are the customers' own.
HTTPS = env.bool("HTTPS", default=False)
SECURE_HSTS_SECONDS = env.int("HSTS_SECONDS", default=365 * 24 * 3600 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = False  # other sites may live under the app host's domain
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=HTTPS)
CSRF_TRUSTED_ORIGINS = env.list(
    "CSRF_TRUSTED_ORIGINS", default=[f"https://{host}" for host in APP_HOSTS] if HTTPS else []
)
# Only a proxy that sets this header itself (Caddy does) may be believed about it.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS and TRUSTED_PROXY_COUNT > 0 else None
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Bottom to top, as the layers run (pyproject.toml, [tool.importlinter]).
    "core",
    "links",
    "attribution",
    "audiences",
    "automations",
    "webhooks",
    "reporting",
    "devdata",
    "trackly",
    "axes",
]

MIDDLEWARE = [
    "trackly.middleware.HostRoutingMiddleware",
    "trackly.middleware.QueryTextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # The API's rate-limit headers (trackly.ratelimit), on every answer to a keyed request.
    "trackly.ratelimit.RateLimitHeadersMiddleware",
    # Read-your-write for the read replica (core.replica); nothing without one.
    "core.replica.ReadYourWritesMiddleware",
    # Last, as axes asks: turns a locked-out login into its 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "trackly.urls"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "trackly.wsgi.application"

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # A PostgreSQL that does not answer (a partition, not a refusal) must not hold a web
    # thread: give up connecting after this long (the redirect then answers what its
    # caches hold, or 503).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5)
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default: many short writers, so wait for the lock instead of failing.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# A read replica (core.replica, docs/deploy.md "A read replica"): dashboard and report reads
# go to it, everything else to the primary; reads stay on the primary while it is down, more
# than REPLICA_MAX_LAG_SECONDS behind, or has not replayed the account's last write.
REPLICA_MAX_LAG_SECONDS = env.float("REPLICA_MAX_LAG_SECONDS", default=30.0)
REPLICA_CHECK_SECONDS = env.float("REPLICA_CHECK_SECONDS", default=1.0)
REPLICA_DOWN_SECONDS = env.float("REPLICA_DOWN_SECONDS", default=5.0)
if env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = {
        **DATABASES["default"],
        **env.db_url("DATABASE_REPLICA_URL"),
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
        "CONN_HEALTH_CHECKS": True,
        # A replica that does not answer costs a page this long; then it is marked down.
        "OPTIONS": {
            **DATABASES["default"].get("OPTIONS", {}),
            "connect_timeout": env.int("REPLICA_CONNECT_TIMEOUT", default=2),
        },
        # The test suite's replica is the test database itself.
        "TEST": {"MIRROR": "default"},
    }
    DATABASE_ROUTERS = ["core.replica.ReplicaRouter"]

REDIS_URL = env.str("REDIS_URL", default="")
# A Redis Cluster (host:port,host:port,...): the caches and the click stream go there
# instead of REDIS_URL (core.redis_conn, core.cluster_cache); Celery's broker stays a
# single Redis (CELERY_BROKER_URL). Empty: the single Redis of REDIS_URL, as before.
REDIS_CLUSTER_NODES = env.list("REDIS_CLUSTER_NODES", default=[])

if REDIS_CLUSTER_NODES:
    CACHES = {
        "default": {
            "BACKEND": "core.cluster_cache.RedisClusterCache",
            "LOCATION": REDIS_CLUSTER_NODES,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="trackly"),
            "OPTIONS": {
                "socket_connect_timeout": env.float("REDIS_SOCKET_TIMEOUT", default=0.5),
                "socket_timeout": env.float("REDIS_SOCKET_TIMEOUT", default=0.5),
            },
        }
    }
elif REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="trackly"),
            "OPTIONS": {
                "socket_connect_timeout": env.float("REDIS_SOCKET_TIMEOUT", default=0.5),
                "socket_timeout": env.float("REDIS_SOCKET_TIMEOUT", default=0.5),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# A Redis that does not answer within this long counts as down; then it is left alone for
# REDIS_RETRY_SECONDS (core.redis_conn) and the hot paths go straight to PostgreSQL.
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=0.5)
REDIS_RETRY_SECONDS = env.float("REDIS_RETRY_SECONDS", default=1.0)
# Minted links are written to the shared cache (links.resolve.links_cache) for this long,
# so a blast's first taps are one Redis round trip; 0 turns it off. 72 hours: most taps
# of a message come within three days of its send.
MINT_CACHE_SECONDS = env.int("MINT_CACHE_SECONDS", default=72 * 3600)

# The click pipeline (links.click_stream): redirects append clicks to a Redis Stream and
# `manage.py consume_clicks` writes them to PostgreSQL in batches. On by default wherever
# both are configured; the embedded default (no Redis) writes each click in the request.
CLICK_STREAM = env.bool(
    "CLICK_STREAM",
    default=bool(REDIS_URL or REDIS_CLUSTER_NODES)
    and DATABASES["default"]["ENGINE"].endswith("postgresql"),
)
CLICK_STREAM_KEY = env.str("CLICK_STREAM_KEY", default="trackly:clicks")
# How many streams the clicks are spread over (links.shards): 1 keeps CLICK_STREAM_KEY;
# N > 1 makes shard i `<CLICK_STREAM_KEY>:{i}` (a hash tag: a cluster spreads them), each
# read by the consumer holding its lease (links.click_shards).
CLICK_STREAM_SHARDS = env.int("CLICK_STREAM_SHARDS", default=1)
# A consumer's lease on a shard lasts this long unless renewed: a dead consumer's shards
# are taken over by the others after at most this.
CLICK_STREAM_LEASE_SECONDS = env.float("CLICK_STREAM_LEASE_SECONDS", default=10.0)
CLICK_STREAM_GROUP = env.str("CLICK_STREAM_GROUP", default="click-writers")
CLICK_STREAM_BATCH = env.int("CLICK_STREAM_BATCH", default=2000)
# A batch that is not full waits this long for more clicks before it is written: fewer,
# larger transactions under a steady trickle, for at most this much more lag.
CLICK_STREAM_LINGER_SECONDS = env.float("CLICK_STREAM_LINGER_SECONDS", default=0.05)
# A click a consumer took but has not acknowledged for this long is taken over by another
# (its consumer died mid-batch).
CLICK_STREAM_CLAIM_IDLE_SECONDS = env.float("CLICK_STREAM_CLAIM_IDLE_SECONDS", default=30.0)

# Celery's broker: a single Redis, also with REDIS_CLUSTER_NODES (Celery's Redis transport
# does not speak cluster).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL == "memory://"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 4
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    # Accounts with anonymize_ips: truncate the IPs the behavioural checks are done with
    # (links.privacy; each run reads only the clicks since the account's high-water mark).
    "ips-anonymize": {
        "task": "links.tasks.ips_anonymize_task",
        "schedule": 60.0,
    },
    # Postbacks that named a click not yet stored: match them, or give up after
    # attribution.services.PENDING_TIMEOUT.
    "conversions-pending-match": {
        "task": "attribution.tasks.conversions_pending_match_task",
        "schedule": 15.0,
    },
    # Behavioural bot checks on new clicks (attribution.bot_checks).
    # Every second: message.clicked (and audiences, automations) follow the judge, and a
    # burst must reach audiences within 10 s of being stored.
    "clicks-judge": {"task": "attribution.tasks.clicks_judge_task", "schedule": 1.0},
    # conversion.recorded for settled conversions (attribution.conversion_events).
    "conversions-announce": {
        "task": "attribution.tasks.conversions_announce_task",
        "schedule": 1.0,
    },
    # Report rollups (reporting.services.rollups_build). Every 30 s so that a new click is
    # in the reports within a minute, build time included; a run that finds another still
    # building waits for it and then has little left to do. Expired runs are dropped
    # rather than piled up behind a slow one.
    "rollups-build": {
        "task": "reporting.tasks.rollups_build_task",
        "schedule": 30.0,
        "options": {"expires": 25.0},
    },
    "campaigns-click-rate": {
        "task": "attribution.tasks.campaigns_click_rate_task",
        "schedule": 600.0,
    },
    # Automations (issue 16): trigger events read into runs; due runs fired or skipped.
    "automations-consume": {"task": "automations.tasks.automations_consume_task", "schedule": 1.0},
    "automations-run-due": {"task": "automations.tasks.automations_run_due_task", "schedule": 1.0},
    # The event log and webhooks (webhooks.tasks): number events, fan out, deliver (a run
    # works up to 20 s while there is due work; stale runs are dropped), purge.
    "events-sequence": {
        "task": "webhooks.tasks.events_sequence_task",
        "schedule": 1.0,
        "options": {"expires": 5.0},
    },
    "webhooks-fan-out": {
        "task": "webhooks.tasks.webhooks_fan_out_task",
        "schedule": 1.0,
        "options": {"expires": 5.0},
    },
    "webhooks-deliver": {
        "task": "webhooks.tasks.webhooks_deliver_task",
        "schedule": 1.0,
        "options": {"expires": 2.0},
    },
    "events-purge": {"task": "webhooks.tasks.events_purge_task", "schedule": 3600.0},
    # Each account's data_retention_days (reporting.retention; python manage.py
    # apply_retention): raw clicks, the postback log, events and deliveries past it go.
    "retention-apply": {
        "task": "reporting.tasks.retention_apply_task",
        # Daily, in seconds as every entry here (trackly.embedded runs them by the number).
        "schedule": 86400.0,
    },
    # Month partitions of the partitioned tables (core.partitions; python manage.py
    # partitions_maintain): three months ahead and back exist, so a click or a postback
    # dated days back, or a clock ahead, lands in its month and not the default partition.
    "partitions-maintain": {
        "task": "core.tasks.partitions_maintain_task",
        "schedule": 86400.0,
    },
    # Audiences (docs/audiences.md): clicks, verdicts and conversions from the event log
    # within seconds; time (within_days) and new sends by the sweep every minute.
    "audiences-consume": {
        "task": "audiences.tasks.audiences_consume_task",
        "schedule": 1.0,
        "options": {"expires": 5.0},
    },
    "audiences-sweep": {
        "task": "audiences.tasks.audiences_sweep_task",
        "schedule": 60.0,
        "options": {"expires": 55.0},
    },
}

# Webhooks and the event log (issue 16; docs/webhooks.md).
# http, loopback and private addresses as webhook URLs: development and tests only. Checked
# on the resolved address at every delivery, not only when the URL is saved.
WEBHOOK_ALLOW_PRIVATE = env.bool("WEBHOOK_ALLOW_PRIVATE", default=False)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# Seconds after the first failure at which each retry is due: three in the first two
# minutes, then back-off to 24 hours. Tests set a schedule of fractions of a second.
WEBHOOK_RETRY_SCHEDULE = env.list(
    "WEBHOOK_RETRY_SCHEDULE",
    cast=float,
    default=[5, 30, 90, 600, 1800, 3600, 7200, 14400, 28800, 43200, 86400],
)
# An endpoint whose deliveries have failed for this long, with no success between, is
# disabled (a notice in the dashboard).
WEBHOOK_DISABLE_AFTER_SECONDS = env.float("WEBHOOK_DISABLE_AFTER_SECONDS", default=3 * 86400)
# After a secret rotation, deliveries carry both signatures for this long.
WEBHOOK_SECRET_OVERLAP_SECONDS = env.float("WEBHOOK_SECRET_OVERLAP_SECONDS", default=86400)
# Events are kept this long (or the account's data_retention_days, if shorter).
EVENTS_KEEP_DAYS = env.int("EVENTS_KEEP_DAYS", default=30)
# A counted click is told (message.clicked) once the behavioural judge has passed it; an
# automation waits this long by default before acting, so a late verdict can stop it.
AUTOMATION_DEFAULT_DELAY_SECONDS = 60

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns on every start without it
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the apps' static folders too, so `make run` needs no collectstatic.
WHITENOISE_USE_FINDERS = True

# The marketer's dashboard (reporting.views); admins sign in at /admin/ as before.
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/dashboard/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# Login throttling (django-axes, trackly.login_guard), dashboard and admin alike: failures
# are counted per username and per client IP, each on its own (so neither many usernames
# from one IP nor many IPs on one username get past it), in the database (AccessAttempt).
AUTHENTICATION_BACKENDS = [
    "trackly.login_guard.LoginGuardBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = bounds.LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = bounds.LOGIN_LOCKOUT
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "links.redirect.client_ip"  # TRUSTED_PROXY_COUNT-aware
AXES_LOCKOUT_CALLABLE = "trackly.login_guard.lockout_response"
# Attempts while locked out are refused without being counted, so a lockout ends
# LOGIN_LOCKOUT after the failure that caused it, however often the client retries.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# A success does not wipe the count: an attacker logging into their own account between
# guesses must not reset their IP's failures.
AXES_RESET_ON_SUCCESS = False
# Masked in the attempt rows and axes' logs: secrets are never stored in clear (the password
# always is masked).
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "csrfmiddlewaretoken"]
# Its admin pages are registered by core.admin, for superusers only (they hold every
# tenant's usernames and IPs).
AXES_ENABLE_ADMIN = False
# Its banner on every process start says nothing the settings do not.
AXES_VERBOSE = False

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["core.authentication.ApiKeyAuthentication"],
    # A key's request is counted against its rate limit first (even one its scopes then
    # refuse), then checked for the scope the view needs.
    "DEFAULT_PERMISSION_CLASSES": [
        "trackly.ratelimit.WithinRateLimit",
        "core.authentication.HasAccount",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's JSON parser, refusing text no column can store (NUL, lone surrogates) by field.
    "DEFAULT_PARSER_CLASSES": ["core.api_input.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "trackly.api_schema.TracklyAutoSchema",
    "DEFAULT_PAGINATION_CLASS": "core.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "core.api_errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Trackly API",
    "DESCRIPTION": "Link tracking and click attribution for SMS and email marketing. "
    "Each API key holds scopes (mint, read, config); a request outside them is a 403 naming "
    "the scope. Each key is rate limited (API_RATE_LIMIT, 600 per minute by default): every "
    "answer carries RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset (seconds), and "
    "past the limit it is a 429 with Retry-After.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Request bodies get components of their own (no read-only fields, blank strings refused
    # where they are), closed to fields they do not name: the API refuses unknown fields.
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "OfferStatusEnum": "core.models.Offer.Status",
        "ConversionStatusEnum": ["accepted", "pending"],
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "trackly.api_schema.close_request_bodies",
    ],
}

# Bot behaviour and fraud thresholds (docs/bots.md). Per-list and per-account
# thresholds (scanner window, IP fan-out) live on those rows.
BOT_LINK_CLICKS_PER_MINUTE = env.int("BOT_LINK_CLICKS_PER_MINUTE", default=10)
FRAUD_CLICK_RATE_MAX = env.float("FRAUD_CLICK_RATE_MAX", default=0.40)
FRAUD_CLICK_RATE_MIN_SENDS = env.int("FRAUD_CLICK_RATE_MIN_SENDS", default=100)
FRAUD_CLICK_INJECTION_SECONDS = env.int("FRAUD_CLICK_INJECTION_SECONDS", default=10)
# The common postback (attribution/fastpath.py) and the redirect's link lookup
# (links/resolve.py) run as prepared statements (core/prepared.py). Turn off behind a
# connection pooler in transaction mode that cannot keep them. (POSTBACK_PREPARED_STATEMENTS
# is its earlier name, still read.)
PREPARED_STATEMENTS = env.bool(
    "PREPARED_STATEMENTS", default=env.bool("POSTBACK_PREPARED_STATEMENTS", default=True)
)
# A streamed CSV export reads in one transaction; a client that reads nothing for this
# long is cut off, so a stalled download cannot hold back vacuum or a migration.
EXPORT_IDLE_SECONDS = env.int("EXPORT_IDLE_SECONDS", default=60)

# Requests per API key per minute (a fixed 60-second window, counted in Redis when there
# is one): `600/min`, or `600`; 0 turns the limit off. Tracking hosts are never limited.
API_RATE_LIMIT = env.str("API_RATE_LIMIT", default="600/min")

# The minting API's limits (the issue pins these numbers).
MINT_MAX_BULK_ITEMS = 10_000
MINT_MAX_BODY_BYTES = 10_000

# Upper bound for request bodies: a full bulk mint of 10,000 messages of 10 kB each. Past
# it: 413 (JSON on the API, core.api_errors; a page elsewhere, trackly.error_pages).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=128 * 1024 * 1024)
# How many requests per web process may be receiving their body at once (trackly.bodies):
# one less than its threads (WEB_THREADS, as in the Procfile), so a thread is always free
# for /healthz and redirects however many slow clients trickle bodies.
BODY_READ_SLOTS = env.int("BODY_READ_SLOTS", default=max(1, env.int("WEB_THREADS", default=4) - 1))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
    },
}
