#!/usr/bin/env bash
# Password-hashing flood: how much the server grows while CLIENTS (default 80) sign-ins with
# unknown addresses arrive at once. Each costs an Argon2id verification (19 MiB of memory by
# default), so unbounded hashing grows the server by about CLIENTS x 19 MiB, which the
# allocator then keeps. The hashing pool (HASHING_CONCURRENCY, one per core) bounds it.
#
# Runs the flood twice against a fresh `partneros_bench_flood` database: with the default pool,
# then with HASHING_CONCURRENCY=CLIENTS (as unbounded as before the pool). The per-address
# sign-in limit is raised for the run (every request comes from 127.0.0.1) and the hashing wait
# is long enough that no request is refused, so every sign-in does its hash. Before the idle
# figure, CLIENTS concurrent authenticated reads warm the server up (the database pool opens all
# its connections, the HTTP workers their buffers), so the growth is the password work's; the
# growth over the cold server is printed too. Reports VmRSS before, the peak (VmHWM) and after,
# per run; the target is a growth under 150 MiB.
#
# Usage: scripts/bench-signin-flood.sh   (CLIENTS=80; PARTNEROS_BIN and SKIP_BUILD=1 to reuse a build)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

CLIENTS="${CLIENTS:-80}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
PORT=18086
BASE="http://127.0.0.1:${PORT}"
BENCH_DB=partneros_bench_flood
EMAIL=bench@example.com
PASSWORD=bench-password-1
TARGET_MIB=150

# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench/common.sh"

need_tools curl psql python3 cargo
build_release

status_kib() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/${SERVER_PID}/status"; }

flood() { # label [VAR=value ...]
  local label="$1"
  shift
  fresh_database "${BENCH_DB}"
  start_server "${BENCH_DB}" SIGN_INS_PER_ADDRESS=100000 HASHING_WAIT_MS=120000 "$@"
  # One sign-in first, so the server's own first-use allocations are in the idle figure.
  local token cold idle hwm after failed=0 code n
  token="$(sign_in)"
  sleep 1
  cold="$(status_kib VmRSS)"
  local warm=()
  for n in $(seq 1 "${CLIENTS}"); do
    curl -sS -o /dev/null -H "Authorization: Bearer ${token}" "${BASE}/api/partners?limit=25" &
    warm+=($!)
  done
  for n in "${warm[@]}"; do wait "${n}"; done
  sleep 1
  idle="$(status_kib VmRSS)"
  echo 5 >"/proc/${SERVER_PID}/clear_refs" 2>/dev/null || log "warning: cannot reset VmHWM"
  log "${label}: ${CLIENTS} concurrent sign-ins with unknown addresses"
  local pids=()
  for n in $(seq 1 "${CLIENTS}"); do
    curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
      -d "{\"email\":\"nobody-${n}@example.com\",\"password\":\"wrong-password\"}" \
      "${BASE}/api/auth/sign-in/email" >"${WORK}/flood-${n}.status" &
    pids+=($!)
  done
  for n in "${pids[@]}"; do wait "${n}"; done
  hwm="$(status_kib VmHWM)"
  sleep 2
  after="$(status_kib VmRSS)"
  for n in $(seq 1 "${CLIENTS}"); do
    code="$(cat "${WORK}/flood-${n}.status")"
    [[ "${code}" == 401 ]] || failed=$((failed + 1))
  done
  stop_pid "${SERVER_PID}"
  SERVER_PID=""
  python3 - "${label}" "${cold}" "${idle}" "${hwm}" "${after}" "${failed}" "${TARGET_MIB}" <<'PY'
import sys
label, cold, idle, hwm, after, failed, target = sys.argv[1], *map(int, sys.argv[2:])
mib = lambda k: k / 1024
print(f"{label:<26} cold {mib(cold):6.1f} MiB, warm {mib(idle):6.1f} MiB; sign-in flood: peak "
      f"{mib(hwm):7.1f} MiB (+{mib(hwm - idle):6.1f} over warm, +{mib(hwm - cold):6.1f} over cold), "
      f"after {mib(after):7.1f} MiB (+{mib(after - idle):6.1f}); non-401 answers: {failed}; "
      f"{'within' if hwm - idle < target * 1024 else 'OVER'} the {target} MiB target")
PY
}

flood "pool (one per core)"
flood "unbounded (${CLIENTS} slots)" HASHING_CONCURRENCY="${CLIENTS}"
