#!/usr/bin/env bash
# Smoke test of the embedded default: SQLite, no Redis, the production web server.
# Boots Trackly, mints a message through the API, checks the rewritten body and that the
# short link redirects, then stops the server.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PORT=${SMOKE_PORT:-8765}
work=$(mktemp -d)
export DATABASE_URL="sqlite:///$work/smoke.sqlite3"
unset REDIS_URL
# As `make run`: the servers refuse to start without a SECRET_KEY of their own.
if [ -z "${SECRET_KEY:-}" ]; then
  make -s .secret_key >/dev/null
  SECRET_KEY=$(cat .secret_key)
fi
export SECRET_KEY
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

$PY manage.py migrate --no-input -v 0
account=$($PY manage.py create_account "Smoke Co" --domain "http://127.0.0.1:$PORT")
api_key=$(printf '%s' "$account" | $PY -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
postback_token=$(printf '%s' "$account" | $PY -c 'import json,sys; print(json.load(sys.stdin)["postback_token"])')

# The smoke's webhook receiver is on loopback: development's setting.
export WEBHOOK_ALLOW_PRIVATE=true
$PY -m gunicorn trackly.wsgi --bind 127.0.0.1:$PORT --workers 1 --threads 4 --log-level warning &
server_pid=$!
for _ in $(seq 50); do
  curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done

response=$(curl -fsS -X POST "http://localhost:$PORT/api/v1/messages" \
  -H "Authorization: Bearer $api_key" -H 'Content-Type: application/json' \
  -d '{"external_id": "smoke-1", "contact": {"phone": "+14155550123"},
       "body": "Deal: {{link1}} STOP? https://example.com/unsubscribe",
       "links": {"link1": {"url": "https://example.com/deal?a=1"}}}')
printf '%s' "$response" | SMOKE_PORT=$PORT $PY -c '
import json, os, re, sys
msg = json.load(sys.stdin)
port = os.environ["SMOKE_PORT"]
link = msg["links"][0]
assert re.fullmatch(r"[A-Za-z0-9]{7}", link["link_id"]), link
link_id = link["link_id"]
expected = f"Deal: http://127.0.0.1:{port}/{link_id} STOP? https://example.com/unsubscribe"
assert msg["body"] == expected, (msg["body"], expected)
assert msg["segments"] == 1, msg
print("smoke: minted", link["short_url"])
print(link["short_url"])
' > "$work/short_url"
short_url=$(tail -1 "$work/short_url")
status=$(curl -s -o /dev/null -w '%{http_code}' -A "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1" "$short_url")
curl -s -o /dev/null "$short_url"  # curl itself: recorded, as a bot
[ "$status" = 302 ] || { echo "smoke: short link answered $status, not 302"; exit 1; }
echo "smoke: $short_url redirects (302)"
# The redirect never fails a person over a write, so check the write landed.
$PY manage.py shell -v 0 -c '
from links.models import MessageClick, MessageShortLinkClick
verdicts = sorted(MessageShortLinkClick.objects.values_list("is_bot", "bot_reason"))
assert verdicts == [(False, ""), (True, "ua:http-library:curl")], verdicts
assert MessageClick.objects.get().raw_click.is_bot is False
print("smoke: both clicks stored, the person counted, curl judged a bot")
'

# A postback on the embedded default (the full path: its fast path is PostgreSQL's).
click_id=$($PY manage.py shell -v 0 -c '
from links.models import MessageClick
print(MessageClick.objects.get().raw_click.click_id)
' | tail -1)
# A new account requires its postback token on /conv: without it, a 403.
status=$(curl -s -o /dev/null -w '%{http_code}' "${short_url%/*}/conv?click_id=$click_id&revenue=9.50&txn_id=smoke-0")
[ "$status" = 403 ] || { echo "smoke: a postback without the token answered $status, not 403"; exit 1; }
curl -fsS "${short_url%/*}/conv?click_id=$click_id&token=$postback_token&revenue=9.50&txn_id=smoke-1" | $PY -c '
import json, sys
answer = json.load(sys.stdin)
assert answer["status"] == "accepted" and answer["attribution"]["type"] == "direct", answer
print("smoke: a postback is accepted and credited to the click")
'

# Reports on SQLite: no triggers there, so a build rebuilds everything.
$PY manage.py build_rollups >/dev/null
curl -fsS "http://localhost:$PORT/api/v1/reports/days" -H "Authorization: Bearer $api_key" \
  | $PY -c '
import json, sys
totals = json.load(sys.stdin)["totals"]
figures = [totals[f] for f in ("sends", "raw_clicks", "bot_clicks", "unique_clicks", "click_rate")]
assert figures == [1, 2, 1, 1, "1.0000"], totals
print("smoke: the days report counts the send and both clicks")
'
curl -fsS "http://localhost:$PORT/api/v1/reports/messages?format=csv" \
  -H "Authorization: Bearer $api_key" | grep -q '^[0-9]*,smoke-1,' \
  || { echo "smoke: the messages CSV lacks smoke-1"; exit 1; }
# Issue 17 on the embedded default: the iPhone tap is a mobile click in the devices report
# (per-send figures null there), the tracking domain is known to Caddy's question and
# listed by the domains API.
curl -fsS "http://localhost:$PORT/api/v1/reports/devices" -H "Authorization: Bearer $api_key" \
  | $PY -c '
import json, sys
report = json.load(sys.stdin)
rows = {r["key"]: r for r in report["results"]}
assert rows["mobile"]["unique_clicks"] == 1 and rows["mobile"]["sends"] is None, report
print("smoke: the devices report puts the iPhone tap on mobile")
'
# A second tracking domain made through the domains API, then known to Caddy's question.
status=$(curl -s -o "$work/domain.json" -w '%{http_code}' -X POST "http://localhost:$PORT/api/v1/domains" \
  -H "Authorization: Bearer $api_key" -H "Content-Type: application/json" \
  -d '{"host": "go.smoke.example", "fallback_url": "https://example.com/"}')
[ "$status" = 201 ] || { echo "smoke: POST /api/v1/domains answered $status: $(cat "$work/domain.json")"; exit 1; }
status=$(curl -s -o /dev/null -w '%{http_code}' "http://localhost:$PORT/tls/ask?domain=go.smoke.example")
[ "$status" = 200 ] || { echo "smoke: /tls/ask for go.smoke.example answered $status, not 200"; exit 1; }
status=$(curl -s -o /dev/null -w '%{http_code}' "http://localhost:$PORT/tls/ask?domain=unknown.example")
[ "$status" = 404 ] || { echo "smoke: /tls/ask for an unknown host answered $status, not 404"; exit 1; }
echo "smoke: a domain made by API, and /tls/ask knows it"

# The dashboard: a member logs in and sees the overview; its chart library is served by
# Trackly itself (WhiteNoise), never by a CDN.
$PY manage.py shell -v 0 -c '
from django.contrib.auth import get_user_model
from core.models import Account, Membership
user = get_user_model().objects.create_user("smoke", password="smoke-password-1")
Membership.objects.create(user=user, account=Account.objects.get(name="Smoke Co"))
'
jar="$work/cookies"
curl -fsS -c "$jar" -o /dev/null "http://localhost:$PORT/accounts/login/"
token=$(awk '$6 == "csrftoken" {print $7}' "$jar")
curl -fsS -b "$jar" -c "$jar" -o /dev/null --data-urlencode "csrfmiddlewaretoken=$token" \
  --data-urlencode "username=smoke" --data-urlencode "password=smoke-password-1" \
  "http://localhost:$PORT/accounts/login/"
curl -fsS -L -b "$jar" "http://localhost:$PORT/dashboard/" | $PY -c '
import re, sys
page = sys.stdin.read()
sends = re.search(r"data-metric=\"sends\">\s*<span[^>]*>[^<]*</span>\s*<span[^>]*data-value=\"(\d+)\"", page)
assert sends and sends[1] == "1", "the overview does not show the one send"
assert "/static/reporting/vendor/chart.umd.min.js" in page
print("smoke: the dashboard overview shows the send")
'
curl -fsS -o /dev/null "http://localhost:$PORT/static/reporting/vendor/chart.umd.min.js" \
  || { echo "smoke: Chart.js is not served (make assets)"; exit 1; }

# Closing the loop on the embedded default: a webhook endpoint and an audience made through
# the API; the background work the embedded beat runs (judge, conversion events, numbering,
# audiences, fan-out, delivery) run here once each, in order; a receiver that verifies each
# signature with standardwebhooks gets the click and the audience entry.
hook_port=$((PORT + 1))
$PY - "$hook_port" "$work/received" > "$work/receiver.log" 2>&1 <<'PYEOF' &
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
port, out = int(sys.argv[1]), sys.argv[2]
class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        with open(out, "a") as f:
            f.write(json.dumps({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body.decode()}) + "\n")
        self.send_response(204)
        self.end_headers()
    def log_message(self, *args):
        pass
HTTPServer(("127.0.0.1", port), Hook).serve_forever()
PYEOF
receiver_pid=$!
trap 'kill $receiver_pid 2>/dev/null; cleanup' EXIT
hook=$(curl -fsS -X POST "http://localhost:$PORT/api/v1/webhooks" \
  -H "Authorization: Bearer $api_key" -H 'Content-Type: application/json' \
  -d "{\"url\": \"http://127.0.0.1:$hook_port/hook\", \"events\": [\"message.clicked\", \"contact.audience_entered\"], \"description\": \"smoke\"}")
secret=$(printf '%s' "$hook" | $PY -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
audience=$(curl -fsS -X POST "http://localhost:$PORT/api/v1/audiences" \
  -H "Authorization: Bearer $api_key" -H 'Content-Type: application/json' \
  -d '{"name": "Clickers", "rule": {"all": [{"clicked": {}}]}}' \
  | $PY -c 'import json,sys; print(json.load(sys.stdin)["id"])')
$PY manage.py shell -v 0 -c '
import datetime as dt
from core.models import Message
# Sent an hour ago: a tap seconds after the send would be a carrier scan.
Message.objects.update(sent_at=Message.objects.get().sent_at - dt.timedelta(hours=1))
from attribution.tasks import clicks_judge_task, conversions_announce_task
from audiences.tasks import audiences_consume_task
from webhooks.tasks import events_sequence_task, webhooks_deliver_task, webhooks_fan_out_task
for task in (clicks_judge_task, conversions_announce_task, events_sequence_task,
             audiences_consume_task, events_sequence_task, webhooks_fan_out_task,
             webhooks_deliver_task):
    task.apply()
'
SMOKE_SECRET=$secret $PY -c '
import json, os, sys
from standardwebhooks import Webhook
hook = Webhook(os.environ["SMOKE_SECRET"])
types = []
for line in open(sys.argv[1]):
    request = json.loads(line)
    event = hook.verify(request["body"], request["headers"])
    types.append(event["type"])
    if event["type"] == "message.clicked":
        assert event["data"]["contact"]["phone"] == "+14155550123", event
assert sorted(types) == ["contact.audience_entered", "message.clicked"], types
print("smoke: the webhook got message.clicked and contact.audience_entered, signatures verified")
' "$work/received"
curl -fsS "http://localhost:$PORT/api/v1/audiences/$audience" -H "Authorization: Bearer $api_key" \
  | $PY -c 'import json,sys; a = json.load(sys.stdin); assert a["count"] == 1, a; print("smoke: the audience has its one clicker")'

echo "smoke: embedded default OK"
