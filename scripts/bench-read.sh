#!/usr/bin/env bash
# Read benchmark: GET /api/partners/{id} vs /healthz vs pgbench (select-only).
#
# Builds the release binary, starts it against a fresh `partneros_bench`
# database, seeds 200 partners, then measures with wrk and pgbench using the
# same concurrency. pgbench prints no percentiles, so for it the table shows
# tps and *average* latency (marked "avg"), not p99.
#
# Usage: scripts/bench-read.sh            (CONNS=16 DURATION=15s by default)
#        CONNS=32 DURATION=30s scripts/bench-read.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

CONNS="${CONNS:-16}"
THREADS=2
DURATION="${DURATION:-15s}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
PORT=18080
BASE="http://127.0.0.1:${PORT}"
BENCH_DB=partneros_bench
PGBENCH_DB=pgbench_bench
EMAIL=bench@example.com
PASSWORD=bench-password-1
PARTNERS=200

# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench/common.sh"
DURATION_SECS="$(duration_secs "${DURATION}")"

ensure_wrk
need_tools curl psql pgbench python3 cargo
build_release
fresh_database "${BENCH_DB}"
start_server "${BENCH_DB}" DB_POOL_SIZE="${CONNS}"

# --- seed ---------------------------------------------------------------------
TOKEN="$(sign_in)"

log "creating ${PARTNERS} partners"
PARTNER_ID=""
for n in $(seq 1 "${PARTNERS}"); do
  body="{\"name\":\"Bench ${n}\",\"domain\":\"bench-${n}.example\",\"type\":\"technology\",\"primaryContact\":{\"firstName\":\"A\",\"lastName\":\"B\",\"email\":\"a${n}@bench-${n}.example\"}}"
  code="$(curl -sS -o "${WORK}/partner.json" -w '%{http_code}' \
    -H 'Content-Type: application/json' -H "Authorization: Bearer ${TOKEN}" \
    -d "${body}" "${BASE}/api/partners" || true)"
  [[ "${code}" == 201 ]] \
    || die "POST /api/partners #${n} returned ${code}: $(cat "${WORK}/partner.json" 2>/dev/null)"
  if [[ -z "${PARTNER_ID}" ]]; then
    PARTNER_ID="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["partner"]["id"])' "${WORK}/partner.json")"
  fi
done
log "benchmark partner id: ${PARTNER_ID}"

# Sanity check: the authenticated read must succeed before we time it.
code="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${TOKEN}" \
  "${BASE}/api/partners/${PARTNER_ID}" || true)"
[[ "${code}" == 200 ]] || die "GET /api/partners/${PARTNER_ID} returned ${code}"

# --- measure ------------------------------------------------------------------
run_wrk() { # name path
  log "wrk ${2} (${THREADS} threads, ${CONNS} connections, ${DURATION})"
  wrk -t"${THREADS}" -c"${CONNS}" -d"${DURATION}" --latency \
    -H "Authorization: Bearer ${TOKEN}" "${BASE}${2}" | tee "${WORK}/wrk-${1}.txt" >&2
}
run_wrk healthz /healthz
run_wrk get "/api/partners/${PARTNER_ID}"
run_wrk list "/api/partners?limit=25"

log "pgbench -i -s 10 into ${PGBENCH_DB}"
psql "${PG_URL}/postgres" -qX -v ON_ERROR_STOP=1 \
  -c "DROP DATABASE IF EXISTS ${PGBENCH_DB} WITH (FORCE)" \
  -c "CREATE DATABASE ${PGBENCH_DB}"
pgbench -i -s 10 -q "${PG_URL}/${PGBENCH_DB}" >"${WORK}/pgbench-init.txt" 2>&1 \
  || { cat "${WORK}/pgbench-init.txt" >&2; die "pgbench -i failed"; }
log "pgbench -S -M prepared -c ${CONNS} -j ${THREADS} -T ${DURATION_SECS}"
pgbench -S -M prepared -c "${CONNS}" -j "${THREADS}" -T "${DURATION_SECS}" \
  "${PG_URL}/${PGBENCH_DB}" 2>&1 | tee "${WORK}/pgbench.txt" >&2

# --- report -------------------------------------------------------------------
python3 - "${WORK}" "${PARTNER_ID}" "${CONNS}" "${DURATION}" <<'PY'
import pathlib, re, sys

work, partner_id, conns, duration = pathlib.Path(sys.argv[1]), *sys.argv[2:]
UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}

def wrk(name):
    text = (work / f"wrk-{name}.txt").read_text()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    value, unit = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s|m|h)\s*$", text, re.M).groups()
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    if errors:
        print(f"warning: {name}: {errors.group(1)} non-2xx/3xx responses", file=sys.stderr)
    return rps, float(value) * UNITS_MS[unit]

pg = (work / "pgbench.txt").read_text()
pg_tps = float(re.search(r"^tps = ([\d.]+)", pg, re.M).group(1))
pg_avg = float(re.search(r"^latency average = ([\d.]+) ms", pg, re.M).group(1))

healthz = wrk("healthz")
healthz_rps = healthz[0]
rows = [
    ("GET /healthz", *healthz),
    (f"GET /api/partners/{{id}}", *wrk("get")),
    ("GET /api/partners?limit=25", *wrk("list")),
]

header = ("route", "rps", "p99 ms", "x healthz", "x pgbench")
fmt = "{:<28} {:>11} {:>10} {:>10} {:>10}"
print()
print(f"Read benchmark: {conns} connections, {duration}, partner {partner_id}")
print(fmt.format(*header))
print(fmt.format(*("-" * len(h) for h in header)))
for route, rps, p99 in rows:
    print(fmt.format(route, f"{rps:,.0f}", f"{p99:.2f}",
                     f"{rps / healthz_rps:.2f}", f"{rps / pg_tps:.2f}"))
print(fmt.format("pgbench -S (tps, avg lat)", f"{pg_tps:,.0f}", f"{pg_avg:.2f} avg",
                 f"{pg_tps / healthz_rps:.2f}", "1.00"))
print("\nratios are rps / healthz rps and rps / pgbench tps; "
      "pgbench reports average latency, not p99.")
PY
