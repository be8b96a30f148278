#!/usr/bin/env bash
# Analysis benchmark: a cached POST /api/partners/{id}/analyze against GET /api/partners/{id}.
#
# Builds the release binary, starts it against a fresh `partneros_bench_analyze` database with the
# heuristic enricher and no background workers, creates PARTNERS partners with their own domains,
# seeds the domain cache for each (as earlier analyses would have), sets an ideal partner
# profile, then measures both routes with wrk at the same concurrency, each request picking a
# random partner (so neither route measures one hot row). Every analyze is a real one: authentication, the
# partner, the profile and the cache are read, the score is computed and the partner, its
# insights and a `partner_analyzed` event are written.
#
# Usage: scripts/bench-analyze.sh          (CONNS=16 DURATION=15s by default)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

CONNS="${CONNS:-16}"
THREADS=2
DURATION="${DURATION:-15s}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
PORT=18082
BASE="http://127.0.0.1:${PORT}"
BENCH_DB=partneros_bench_analyze
EMAIL=bench@example.com
PASSWORD=bench-password-1
PARTNERS="${PARTNERS:-200}"

# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench/common.sh"

ensure_wrk
need_tools curl psql python3 cargo
build_release
fresh_database "${BENCH_DB}"
start_server "${BENCH_DB}" DB_POOL_SIZE="${CONNS}"
TOKEN="$(sign_in)"

log "creating ${PARTNERS} partners and seeding the cache of their domains"
for n in $(seq 1 "${PARTNERS}"); do
  code="$(curl -sS -o "${WORK}/partner.json" -w '%{http_code}' -H 'Content-Type: application/json' \
    -H "Authorization: Bearer ${TOKEN}" \
    -d "{\"name\":\"Bench ${n}\",\"domain\":\"bench-${n}.example\",\"type\":\"technology\",\"primaryContact\":{\"firstName\":\"A\",\"lastName\":\"B\",\"email\":\"a@bench-${n}.example\"}}" \
    "${BASE}/api/partners" || true)"
  [[ "${code}" == 201 ]] || die "POST /api/partners #${n} returned ${code}"
done
seed_cached_enrichments "${BENCH_DB}"
psql "${PG_URL}/${BENCH_DB}" -qtAX -c "SELECT id FROM partners ORDER BY created_at" >"${WORK}/ids.txt"
PARTNER_ID="$(head -n1 "${WORK}/ids.txt")"
curl -sS -o /dev/null -X PUT -H 'Content-Type: application/json' -H "Authorization: Bearer ${TOKEN}" \
  -d '{"targetIndustries":["Software"],"targetRegions":["DE"],"targetLanguages":["de"],"employeeRange":{"min":50,"max":500},"soughtServices":["Implementation"]}' \
  "${BASE}/api/organization/ideal-partner-profile"

code="$(curl -s -o "${WORK}/analyze.json" -w '%{http_code}' -X POST \
  -H "Authorization: Bearer ${TOKEN}" "${BASE}/api/partners/${PARTNER_ID}/analyze" || true)"
[[ "${code}" == 200 ]] || die "analyze returned ${code}: $(cat "${WORK}/analyze.json")"
python3 -c '
import json, sys
a = json.load(open(sys.argv[1]))["aiInsights"]
assert a["cached"] is True and a["fitScore"] is not None, a
' "${WORK}/analyze.json" || die "the seeded cache was not used"

# One wrk script for both routes: a random partner per request.
write_lua() { # method suffix
  {
    echo "local ids = {}"
    echo "for line in io.lines(\"${WORK}/ids.txt\") do ids[#ids + 1] = line end"
    echo "wrk.method = \"$1\""
    echo "request = function() return wrk.format(nil, \"/api/partners/\" .. ids[math.random(#ids)] .. \"$2\") end"
  } >"${WORK}/$1.lua"
}
write_lua GET ""
write_lua POST "/analyze"
run_wrk() { # name script
  log "wrk ${1} (${THREADS} threads, ${CONNS} connections, ${DURATION}, random partner of ${PARTNERS})"
  wrk -t"${THREADS}" -c"${CONNS}" -d"${DURATION}" --latency -s "$2" \
    -H "Authorization: Bearer ${TOKEN}" "${BASE}" | tee "${WORK}/wrk-${1}.txt" >&2
}
run_wrk get "${WORK}/GET.lua"
run_wrk analyze "${WORK}/POST.lua"
events="$(psql "${PG_URL}/${BENCH_DB}" -qtAX -c "SELECT count(*) FROM events WHERE kind = 'partner_analyzed'")"

python3 - "${WORK}" "${CONNS}" "${DURATION}" "${events}" <<'PY'
import pathlib, re, sys

work, conns, duration, events = pathlib.Path(sys.argv[1]), *sys.argv[2:]
UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}

def wrk(name):
    text = (work / f"wrk-{name}.txt").read_text()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    value, unit = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M).groups()
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    return rps, float(value) * UNITS_MS[unit], int(errors.group(1)) if errors else 0

get, analyze = wrk("get"), wrk("analyze")
fmt = "{:<40} {:>10} {:>9} {:>8}"
print()
print(f"Analysis benchmark: {conns} connections, {duration}")
print(fmt.format("route", "rps", "p99 ms", "non-2xx"))
print(fmt.format("GET /api/partners/{id}", f"{get[0]:,.0f}", f"{get[1]:.2f}", get[2]))
print(fmt.format("POST /api/partners/{id}/analyze (cached)", f"{analyze[0]:,.0f}", f"{analyze[1]:.2f}", analyze[2]))
print(f"\ncached analyze / GET = {analyze[0] / get[0]:.2f} (target >= 0.5); "
      f"partner_analyzed events written: {events}")
PY
