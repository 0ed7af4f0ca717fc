# Trackly's two commands: `make run` (embedded default) and `make test` (PostgreSQL + Redis).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PORT ?= 8000

# make test talks to the real servers; override either to point elsewhere.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/trackly
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test lint bench-mint bench-redirect bench-postbacks bench-events venv deps dev-deps \
	assets browser caddy \
	clean

# The dashboard's chart library (Chart.js), from the npm registry at the version pinned in
# package-lock.json, served by WhiteNoise from reporting/static: never from a CDN.
CHART_JS := reporting/static/reporting/vendor/chart.umd.min.js

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.deps: requirements.txt | $(VENV)/bin/activate
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt | $(VENV)/bin/activate
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.deps

deps: $(VENV)/.deps
dev-deps: $(VENV)/.dev-deps

node_modules/.package-lock.json: package.json package-lock.json
	command -v npm >/dev/null || (apt-get install -y -q nodejs npm || sudo apt-get install -y -q nodejs npm)
	npm ci --no-audit --no-fund --loglevel=error

$(CHART_JS): node_modules/.package-lock.json
	mkdir -p $(dir $@)
	cp node_modules/chart.js/dist/chart.umd.min.js $@

assets: $(CHART_JS)

# The browser test (tests/reporting/test_browser.py) drives Debian's headless Chromium.
browser:
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		apt-get install -y -q chromium chromium-driver || \
		(apt-get update -q && apt-get install -y -q chromium chromium-driver)

# The Caddy test (tests/trackly/test_caddy.py) runs Debian's Caddy, as production does
# (deploy/Caddyfile, docs/deploy.md).
caddy:
	command -v caddy >/dev/null || apt-get install -y -q caddy || \
		(apt-get update -q && apt-get install -y -q caddy)

# make run's SECRET_KEY when none is set (the servers refuse to start without one): random,
# made once, readable by its owner only, never committed (.gitignore).
.secret_key: | $(VENV)/bin/activate
	umask 077 && $(PY) -c 'import secrets; print(secrets.token_urlsafe(50))' > $@.tmp && mv $@.tmp $@

# The embedded default: SQLite, eager Celery, no Redis. Demo data on first run.
# Only warnings and the access log once it runs (LOG_LEVEL=INFO shows the periodic tasks).
EMBEDDED := env -u DATABASE_URL -u REDIS_URL SECRET_KEY="$${SECRET_KEY:-$$(cat .secret_key)}" \
	LOG_LEVEL="$${LOG_LEVEL:-WARNING}"
run: deps assets .secret_key
	$(EMBEDDED) $(PY) manage.py migrate --no-input -v 0
	$(EMBEDDED) $(PY) manage.py load_demo --port $(PORT)
	$(EMBEDDED) $(PY) -m gunicorn trackly.wsgi --bind 0.0.0.0:$(PORT) \
		--config trackly/gunicorn_embedded.py --access-logfile - --log-level warning

test: dev-deps assets browser caddy
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(PY) scripts/check_services.py
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(PY) -m pytest $(PYTEST_ARGS)
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check .

lint: dev-deps
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

bench-mint: dev-deps
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/trackly_bench} \
		$(PY) bench/mint.py

clean:
	rm -rf $(VENV) db.sqlite3 .secret_key staticfiles node_modules reporting/static/reporting/vendor

bench-redirect: dev-deps
	command -v wrk >/dev/null || (apt-get install -y -q wrk || sudo apt-get install -y -q wrk)
	$(PY) bench/redirect.py

bench-postbacks: dev-deps
	command -v wrk >/dev/null || (apt-get install -y -q wrk || sudo apt-get install -y -q wrk)
	$(PY) bench/postbacks.py

# A 100,000-row CSV conversion import, three times (fills trackly_bench_imports once).
.PHONY: bench-imports
bench-imports: dev-deps
	$(PY) bench/imports.py $(BENCH_ARGS)

# Report API and dashboard pages at 10M raw clicks: fills the database the first time
# (minutes), reuses it afterwards. BENCH_ARGS="--refill", "--clicks 100000 ...", see the script.
.PHONY: bench-reports
bench-reports: dev-deps
	$(PY) bench/reports.py $(BENCH_ARGS)

# Costs as the data grows (issue 19): the consumer's rows/s, the report API's p95 and
# apply_retention's time for one day, at 10M and 30M raw clicks, each size in a database of
# its own (trackly_scale10, trackly_scale30) filled under nice the first time (long), reused
# afterwards. BENCH_ARGS="--sizes 1000000,3000000", "--table", see the script.
.PHONY: bench-scale
bench-scale: dev-deps
	$(PY) bench/scale.py $(BENCH_ARGS)

# Redis memory per million links cached and per million clicks of stream backlog, on a
# private redis-server of its own (bench/capacity.py).
.PHONY: bench-capacity
bench-capacity: dev-deps
	$(PY) bench/capacity.py $(BENCH_ARGS)

# The event log and webhooks: deliveries/s from one worker to a local receiver; audience
# membership after a 10,000-click burst; the redirect with every event type subscribed
# (wrk). BENCH_SECTIONS=deliveries,audience,redirect, BENCH_EVENTS=..., see the script.
bench-events: dev-deps
	command -v wrk >/dev/null || (apt-get install -y -q wrk || sudo apt-get install -y -q wrk)
	$(PY) bench/bench_events.py
