#!/usr/bin/env bash
# Soak: a fixed-rate mix of reads, partner writes, public submissions and cached analyses for
# DURATION against the release build on loopback; fails on any error.
#
# Builds the release binary, starts it against a fresh `partneros_soak` database (FORWARDED_HOPS=1,
# no background analysis workers), seeds PARTNERS partners (ANALYZED of them with a domain whose
# enrichment is in the cache, as an earlier analysis would have left it, and an ideal partner
# profile to score against), a published form with an email field and an affiliate link, then runs
# scripts/soak/load.py: open-loop (requests leave on a schedule, not one after another), RATE
# requests a second for DURATION, in this mix:
#   30% GET /api/partners/{id}          15% GET /api/partners
#   10% POST /api/partners (new)        10% PATCH /api/partners/{id}
#   20% POST .../applications/submit (new email and X-Forwarded-For each, with the affiliate slug)
#   15% POST /api/partners/{id}/analyze (a cached domain)
# It reports the error count (any non-2xx or transport error; must be 0), p50/p99 per route and the
# server's VmRSS at the start, every 10 s and at the end (start, end, max and slope per minute),
# then checks that the stored submissions, the link's leadCount and the partners agree with the
# answers.
#
# Usage: scripts/soak.sh                       (DURATION=5m RATE=40 by default)
#        DURATION=30s RATE=20 scripts/soak.sh   (a quick run)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

DURATION="${DURATION:-5m}"
RATE="${RATE:-40}"
CLIENT_THREADS="${CLIENT_THREADS:-16}"
PARTNERS="${PARTNERS:-50}"
ANALYZED="${ANALYZED:-20}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
PORT="${PORT:-18083}"
BASE="http://127.0.0.1:${PORT}"
SOAK_DB=partneros_soak
EMAIL=soak@example.com
PASSWORD=soak-password-1
FORM_SLUG=soak-form
LINK_SLUG=soak-link

# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench/common.sh"
DURATION_SECS="$(duration_secs "${DURATION}")"

need_tools curl psql python3 cargo
[[ -r /proc/self/status ]] || die "/proc is required (Linux) to read the server's memory"
build_release
fresh_database "${SOAK_DB}"
mkdir -p "${WORK}/files"
start_server "${SOAK_DB}" FORWARDED_HOPS=1 LOCAL_STORAGE_DIR="${WORK}/files"
TOKEN="$(sign_in)"

sql() { psql "${PG_URL}/${SOAK_DB}" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }
api() { # method path [body]: prints the status; the body goes to ${WORK}/api.json
  local args=(-sS -o "${WORK}/api.json" -w '%{http_code}' -X "$1" -H "Authorization: Bearer ${TOKEN}")
  [[ $# -ge 3 ]] && args+=(-H 'Content-Type: application/json' -d "$3")
  curl "${args[@]}" "${BASE}$2" || true
}
json_field() { # dotted.path (numbers index arrays) of ${WORK}/api.json
  python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v[int(k)] if k.isdigit() else v[k]
print(v)' "${WORK}/api.json" "$1"
}

log "seeding ${PARTNERS} partners (${ANALYZED} with a cached domain enrichment)"
for n in $(seq 1 "${PARTNERS}"); do
  domain=null
  [[ ${n} -le ${ANALYZED} ]] && domain="\"soak-${n}.example\""
  code="$(api POST /api/partners "{\"name\":\"Seed ${n}\",\"domain\":${domain},\"type\":\"technology\",\"primaryContact\":{\"firstName\":\"A\",\"lastName\":\"B\",\"email\":\"seed-${n}@soak.example\"}}")"
  [[ "${code}" == 201 ]] || die "POST /api/partners #${n} returned ${code}: $(cat "${WORK}/api.json")"
done
seed_cached_enrichments "${SOAK_DB}"
code="$(api PUT /api/organization/ideal-partner-profile '{"targetIndustries":["Software"],"targetRegions":["DE"],"targetLanguages":["de"],"employeeRange":{"min":50,"max":500},"soughtServices":["Implementation"]}')"
[[ "${code}" == 200 ]] || die "PUT ideal-partner-profile returned ${code}: $(cat "${WORK}/api.json")"
sql "SELECT id FROM partners ORDER BY created_at" >"${WORK}/partners.txt"
sql "SELECT id FROM partners WHERE domain IS NOT NULL ORDER BY created_at" >"${WORK}/analyzed.txt"
code="$(api POST "/api/partners/$(head -n1 "${WORK}/analyzed.txt")/analyze")"
[[ "${code}" == 200 ]] || die "analyze returned ${code}: $(cat "${WORK}/api.json")"
[[ "$(json_field aiInsights.cached)" == True ]] || die "the seeded cache was not used"

log "creating the published form ${FORM_SLUG} and its affiliate link ${LINK_SLUG}"
code="$(api POST /api/partners/applications "{\"name\":\"Soak\",\"slug\":\"${FORM_SLUG}\",\"status\":\"published\",\"fields\":[{\"fieldKey\":\"companyName\",\"label\":\"Company\",\"type\":\"text\",\"required\":true},{\"fieldKey\":\"email\",\"label\":\"Email\",\"type\":\"email\",\"required\":true}],\"agreements\":[]}")"
[[ "${code}" == 201 ]] || die "POST /api/partners/applications returned ${code}: $(cat "${WORK}/api.json")"
APP_ID="$(json_field application.id)"
code="$(api POST "/api/partners/applications/${APP_ID}/affiliate-links" "{\"slug\":\"${LINK_SLUG}\"}")"
[[ "${code}" == 201 ]] || die "POST .../affiliate-links returned ${code}: $(cat "${WORK}/api.json")"

python3 - "${WORK}" <<PY
import json, sys
work = sys.argv[1]
ids = lambda name: [l.strip() for l in open(f"{work}/{name}.txt") if l.strip()]
json.dump({
    "base": "${BASE}", "token": "${TOKEN}", "server_pid": ${SERVER_PID},
    "rate": ${RATE}, "duration_s": ${DURATION_SECS}, "threads": ${CLIENT_THREADS},
    "partners": ids("partners"), "analyzed": ids("analyzed"),
    "form_slug": "${FORM_SLUG}", "link_slug": "${LINK_SLUG}",
    "summary": f"{work}/summary.json",
}, open(f"{work}/load.json", "w"))
PY

# A webhook endpoint subscribed to every event type, so the relay fans every event out. The binary's
# SSRF guard refuses loopback receivers, so its deliveries fail (without connecting) and are retried:
# the senders and the delivery log work under the load too, as for a customer whose receiver is down.
code="$(api POST /api/webhooks/endpoints '{"url":"http://127.0.0.1:9/hook","eventTypes":["partner.created","partner.updated","partner.deleted","partner.analyzed","application.submitted","application.approved","application.rejected","legal_template.created","member.joined"]}')"
[[ "${code}" == 201 ]] || die "POST /api/webhooks/endpoints returned ${code}: $(cat "${WORK}/api.json")"

# The relay's lag, sampled every second: unpublished events and the age of the oldest.
(
  while kill -0 "${SERVER_PID}" 2>/dev/null; do
    sql "SELECT count(*) || ' ' || COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(created_at)), 0)::numeric(10,3) FROM events WHERE published_at IS NULL" >>"${WORK}/lag.txt" 2>/dev/null || true
    sleep 1
  done
) &
LAG_PID=$!

log "driving ${RATE} requests/s for ${DURATION} (the load generator runs niced)"
status=0
nice -n 10 python3 scripts/soak/load.py "${WORK}/load.json" || status=$?
kill "${LAG_PID}" 2>/dev/null || true
python3 - "${WORK}/lag.txt" <<'PY'
import sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
if rows:
    pending = sorted(r[0] for r in rows); lag = sorted(r[1] for r in rows)
    q = lambda v, p: v[min(len(v) - 1, int(p * len(v)))]
    print(f"relay lag over {len(rows)} samples: oldest unpublished event p50 {q(lag, .5):.3f} s, "
          f"p99 {q(lag, .99):.3f} s, max {lag[-1]:.3f} s; unpublished events p50 {q(pending, .5):.0f}, max {pending[-1]:.0f}")
PY
echo "outbox: $(sql "SELECT count(*) FROM events WHERE published_at IS NOT NULL") events published; webhook deliveries: $(sql "SELECT count(*) || ' (' || sum(attempts) || ' attempts)' FROM webhook_deliveries")"

# Requests cut off by the client may still complete on the server.
sleep 1
read -r errors submitted created < <(python3 -c '
import json, sys; s = json.load(open(sys.argv[1])); print(s["errors"], s["submitted"], s["created"])' "${WORK}/summary.json")
rows="$(sql "SELECT count(*) FROM submissions WHERE application_id = '${APP_ID}'")"
code="$(api GET "/api/partners/applications/${APP_ID}/affiliate-links")"
[[ "${code}" == 200 ]] || die "GET .../affiliate-links returned ${code}"
leads="$(json_field affiliateLinks.0.leadCount)"
partners="$(sql "SELECT count(*) FROM partners")"
echo "stored: ${rows} submissions for ${submitted} answered 200 (leadCount ${leads}); ${partners} partners for ${PARTNERS} seeded + ${created} answered 201"
if [[ ${errors} -eq 0 ]]; then
  [[ "${rows}" == "${submitted}" && "${leads}" == "${rows}" ]] || die "submissions, leadCount and answers disagree"
  [[ "${partners}" == "$((PARTNERS + created))" ]] || die "partners and answers disagree"
fi
[[ ${status} -eq 0 ]] || die "the soak saw ${errors} errors"
