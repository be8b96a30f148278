#!/usr/bin/env bash
# Read benchmark: GET /api/partners/{id} vs /healthz vs pgbench (select-only).
#
# Builds the release binary, starts it against a fresh `partneros_bench`
# database, seeds 200 partners, then measures with wrk and pgbench using the
# same concurrency. pgbench prints no percentiles, so for it the table shows
# tps and *average* latency (marked "avg"), not p99.
#
# A shared 2-core machine drifts by ±20 % over a minute, so the phases run
# ROUNDS times, interleaved, and the report gives each round and the median.
#
# With BASELINE set to a git revision, that revision's release build is started too (its own
# database, seeded alike, on the next port) and measured in the same rounds, so a change is
# compared with what it replaces under the same machine drift.
#
# Usage: scripts/bench-read.sh            (CONNS=16 DURATION=15s ROUNDS=3 by default)
#        CONNS=32 DURATION=30s ROUNDS=1 scripts/bench-read.sh
#        BASELINE=HEAD~3 scripts/bench-read.sh
#        BASELINE=HEAD~3 BASELINE_BIN=/path/to/its/partneros scripts/bench-read.sh   (a prebuilt one)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

CONNS="${CONNS:-16}"
THREADS=2
DURATION="${DURATION:-15s}"
ROUNDS="${ROUNDS:-3}"
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

BASELINE="${BASELINE:-}"

ensure_wrk
need_tools curl psql pgbench python3 cargo git
build_release

# The baseline's release build, in a worktree of its own (its target directory is kept under
# target/bench-baseline, so a second run of the same revision builds nothing).
if [[ -n "${BASELINE}" && -n "${BASELINE_BIN:-}" ]]; then
  BASELINE_REV="$(git rev-parse --short "${BASELINE}")"
  log "baseline ${BASELINE} (${BASELINE_REV}): using ${BASELINE_BIN}"
elif [[ -n "${BASELINE}" ]]; then
  BASELINE_REV="$(git rev-parse --short "${BASELINE}")"
  log "building the baseline ${BASELINE} (${BASELINE_REV})"
  git worktree add --detach "${WORK}/baseline" "${BASELINE_REV}" >/dev/null
  BASELINE_TARGET="$(pwd)/target/bench-baseline"
  (cd "${WORK}/baseline" && CARGO_TARGET_DIR="${BASELINE_TARGET}" \
    cargo build --release -p partneros-server)
  BASELINE_BIN="${BASELINE_TARGET}/release/partneros"
  BENCH_CLEANUPS+=("git worktree remove --force ${WORK}/baseline")
fi

# seed: signs in at BASE and creates the partners; sets TOKEN and PARTNER_ID.
seed() {
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
}

# Planner statistics of the freshly seeded rows, as autovacuum would have them in a running
# service (without them a join may be planned for empty tables).
analyze() {
  psql "${PG_URL}/$1" -qX -v ON_ERROR_STOP=1 -c "ANALYZE"
}

if [[ -n "${BASELINE}" ]]; then
  fresh_database "${BENCH_DB}_baseline"
  AFTER_PORT="${PORT}" AFTER_BASE="${BASE}"
  PORT=$((PORT + 1))
  BASE="http://127.0.0.1:${PORT}"
  PARTNEROS_BIN="${BASELINE_BIN}" start_server "${BENCH_DB}_baseline" DB_POOL_SIZE="${CONNS}"
  BENCH_PIDS+=("${SERVER_PID}")
  seed
  analyze "${BENCH_DB}_baseline"
  BASELINE_BASE="${BASE}" BASELINE_TOKEN="${TOKEN}" BASELINE_PARTNER="${PARTNER_ID}"
  PORT="${AFTER_PORT}" BASE="${AFTER_BASE}"
fi

fresh_database "${BENCH_DB}"
start_server "${BENCH_DB}" DB_POOL_SIZE="${CONNS}"
seed
analyze "${BENCH_DB}"

# --- measure ------------------------------------------------------------------
log "pgbench -i -s 10 into ${PGBENCH_DB}"
psql "${PG_URL}/postgres" -qX -v ON_ERROR_STOP=1 \
  -c "DROP DATABASE IF EXISTS ${PGBENCH_DB} WITH (FORCE)" \
  -c "CREATE DATABASE ${PGBENCH_DB}"
pgbench -i -s 10 -q "${PG_URL}/${PGBENCH_DB}" >"${WORK}/pgbench-init.txt" 2>&1 \
  || { cat "${WORK}/pgbench-init.txt" >&2; die "pgbench -i failed"; }

run_wrk() { # name path round [base token]
  log "round ${3}: wrk ${4:-${BASE}}${2} (${THREADS} threads, ${CONNS} connections, ${DURATION})"
  wrk -t"${THREADS}" -c"${CONNS}" -d"${DURATION}" --latency \
    -H "Authorization: Bearer ${5:-${TOKEN}}" "${4:-${BASE}}${2}" | tee "${WORK}/wrk-${1}-${3}.txt" >&2
}
for round in $(seq 1 "${ROUNDS}"); do
  run_wrk healthz /healthz "${round}"
  run_wrk get "/api/partners/${PARTNER_ID}" "${round}"
  run_wrk list "/api/partners?limit=25" "${round}"
  if [[ -n "${BASELINE}" ]]; then
    run_wrk baseline-get "/api/partners/${BASELINE_PARTNER}" "${round}" \
      "${BASELINE_BASE}" "${BASELINE_TOKEN}"
    run_wrk baseline-list "/api/partners?limit=25" "${round}" \
      "${BASELINE_BASE}" "${BASELINE_TOKEN}"
  fi
  log "round ${round}: pgbench -S -M prepared -c ${CONNS} -j ${THREADS} -T ${DURATION_SECS}"
  pgbench -S -M prepared -c "${CONNS}" -j "${THREADS}" -T "${DURATION_SECS}" \
    "${PG_URL}/${PGBENCH_DB}" 2>&1 | tee "${WORK}/pgbench-${round}.txt" >&2
done

# --- report -------------------------------------------------------------------
python3 - "${WORK}" "${PARTNER_ID}" "${CONNS}" "${DURATION}" "${ROUNDS}" "${BASELINE:+${BASELINE_REV}}" <<'PY'
import pathlib, re, statistics, sys

work, partner_id, conns, duration, rounds, baseline = pathlib.Path(sys.argv[1]), *sys.argv[2:]
rounds = int(rounds)
UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}

def wrk(name, r):
    text = (work / f"wrk-{name}-{r}.txt").read_text()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    value, unit = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s|m|h)\s*$", text, re.M).groups()
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    if errors:
        print(f"warning: {name}: {errors.group(1)} non-2xx/3xx responses", file=sys.stderr)
    return rps, float(value) * UNITS_MS[unit]

def pgbench(r):
    text = (work / f"pgbench-{r}.txt").read_text()
    tps = float(re.search(r"^tps = ([\d.]+)", text, re.M).group(1))
    avg = float(re.search(r"^latency average = ([\d.]+) ms", text, re.M).group(1))
    return tps, avg

ROUTES = [("healthz", "GET /healthz"), ("get", "GET /api/partners/{id}"),
          ("list", "GET /api/partners?limit=25")]
if baseline:
    ROUTES += [("baseline-get", f"{baseline}: GET /api/partners/{{id}}"),
               ("baseline-list", f"{baseline}: GET /api/partners?limit=25")]
HEADER = ("route", "rps", "p99 ms", "x healthz", "x pgbench")
FMT = "{:<28} {:>11} {:>10} {:>10} {:>10}"

def table(title, measured, pg):
    print()
    print(title)
    print(FMT.format(*HEADER))
    print(FMT.format(*("-" * len(h) for h in HEADER)))
    healthz_rps = measured["healthz"][0]
    for key, route in ROUTES:
        rps, p99 = measured[key]
        print(FMT.format(route, f"{rps:,.0f}", f"{p99:.2f}",
                         f"{rps / healthz_rps:.2f}", f"{rps / pg[0]:.2f}"))
    print(FMT.format("pgbench -S (tps, avg lat)", f"{pg[0]:,.0f}", f"{pg[1]:.2f} avg",
                     f"{pg[0] / healthz_rps:.2f}", "1.00"))

per_round = []
for r in range(1, rounds + 1):
    measured = {key: wrk(key, r) for key, _ in ROUTES}
    pg = pgbench(r)
    per_round.append((measured, pg))
    table(f"Round {r}: {conns} connections, {duration}, partner {partner_id}", measured, pg)

if rounds > 1:
    median = statistics.median
    measured = {key: (median([m[key][0] for m, _ in per_round]),
                      median([m[key][1] for m, _ in per_round])) for key, _ in ROUTES}
    pg = (median([p[0] for _, p in per_round]), median([p[1] for _, p in per_round]))
    table(f"Median of {rounds} rounds (each column on its own)", measured, pg)
    for key in ["get"] + (["baseline-get"] if baseline else []):
        ratios = [m[key][0] / p[0] for m, p in per_round]
        label = f"{baseline}: " if key.startswith("baseline") else ""
        print(f"\n{label}GET /api/partners/{{id}} x pgbench, round by round: "
              + ", ".join(f"{x:.2f}" for x in ratios) + f" (median {median(ratios):.2f})")
print("\nratios are rps / healthz rps and rps / pgbench tps; "
      "pgbench reports average latency, not p99.")
PY
