# Shared set-up of the benchmark scripts (sourced, not run): a work directory cleaned on exit,
# the release build, a fresh database, the server started and ready, and a signed-in token.
# The caller sets PG_URL, PORT and BASE before calling start_server.

WORK="$(mktemp -d)"
SERVER_PID=""
# Further background processes to stop on exit (e.g. a memory sampler), and commands to run.
BENCH_PIDS=()
BENCH_CLEANUPS=()

stop_pid() {
  if [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null; then
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
}

cleanup() {
  local status=$?
  local pid
  for pid in "${BENCH_PIDS[@]}"; do stop_pid "${pid}"; done
  stop_pid "${SERVER_PID}"
  local command
  for command in "${BENCH_CLEANUPS[@]}"; do ${command} >/dev/null 2>&1 || true; done
  if [[ ${status} -ne 0 && -s "${WORK}/server.log" ]]; then
    echo "--- last 40 lines of the server log ---" >&2
    tail -n 40 "${WORK}/server.log" >&2
  fi
  rm -rf "${WORK}"
  exit "${status}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# A duration in wrk syntax (15s, 1m, 30) in whole seconds, for pgbench -T.
duration_secs() {
  python3 -c '
import re, sys
m = re.fullmatch(r"(\d+)([smh]?)", sys.argv[1])
if not m:
    sys.exit("DURATION must look like 15s, 2m or 1h")
print(int(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)])
' "$1"
}

ensure_wrk() {
  if ! command -v wrk >/dev/null 2>&1; then
    log "installing wrk"
    local sudo=""
    [[ "$(id -u)" -eq 0 ]] || sudo=sudo
    ${sudo} apt-get update -qq
    ${sudo} apt-get install -y -qq wrk
  fi
}

need_tools() {
  local tool
  for tool in "$@"; do
    command -v "${tool}" >/dev/null 2>&1 || die "${tool} is required"
  done
}

# The server binary (PARTNEROS_BIN overrides, e.g. a debug build; SKIP_BUILD=1 skips building).
PARTNEROS_BIN="${PARTNEROS_BIN:-${CARGO_TARGET_DIR:-target}/release/partneros}"

build_release() {
  [[ "${SKIP_BUILD:-0}" == 1 ]] && return 0
  log "building release binary"
  cargo build --release -p partneros-server
}

# fresh_database NAME: drops and creates NAME on PG_URL.
fresh_database() {
  log "creating database $1"
  psql "${PG_URL}/postgres" -qX -v ON_ERROR_STOP=1 \
    -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" \
    -c "CREATE DATABASE $1"
}

# start_server DATABASE [VAR=value ...]: the release server on PORT with a bootstrap account
# (EMAIL, PASSWORD) and no background analysis workers (seeded partners' domains are not real);
# returns once /readyz answers 200. Sets SERVER_PID.
start_server() {
  local database="$1"
  shift
  log "starting partneros on ${BASE}"
  env DATABASE_URL="${PG_URL}/${database}" \
    HOST=127.0.0.1 PORT="${PORT}" APP_ENV=development \
    BOOTSTRAP_EMAIL="${EMAIL}" BOOTSTRAP_PASSWORD="${PASSWORD}" \
    BOOTSTRAP_ORGANIZATION=Bench RUST_LOG=warn ANALYSIS_WORKERS=0 "$@" \
    "${PARTNEROS_BIN}" serve >"${WORK}/server.log" 2>&1 &
  SERVER_PID=$!
  local i code
  for i in $(seq 1 60); do
    kill -0 "${SERVER_PID}" 2>/dev/null || die "server exited during startup"
    code="$(curl -s -o /dev/null -w '%{http_code}' "${BASE}/readyz" || true)"
    [[ "${code}" == 200 ]] && return 0
    [[ ${i} -eq 60 ]] && die "/readyz did not answer 200 within 60 s (last: ${code})"
    sleep 1
  done
}

# sign_in: prints the bearer token of EMAIL/PASSWORD.
sign_in() {
  log "signing in as ${EMAIL}"
  local code
  code="$(curl -sS -o "${WORK}/signin.json" -w '%{http_code}' \
    -H 'Content-Type: application/json' \
    -d "{\"email\":\"${EMAIL}\",\"password\":\"${PASSWORD}\"}" \
    "${BASE}/api/auth/sign-in/email" || true)"
  [[ "${code}" == 200 ]] || die "sign-in returned ${code}: $(cat "${WORK}/signin.json" 2>/dev/null)"
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["token"])' "${WORK}/signin.json"
}

# seed_cached_enrichments DATABASE: a fresh heuristic cache entry (7 days) for the domain of
# every partner that has one, so analyses of them are cache hits.
seed_cached_enrichments() {
  psql "${PG_URL}/$1" -qX -v ON_ERROR_STOP=1 <<'SQL'
INSERT INTO domain_enrichments (domain, enriched_by, profile, sources, fetched_at, expires_at)
SELECT domain, 'heuristic',
  jsonb_build_object('industry', 'Software', 'description', 'CRM software.', 'employees', 120,
    'employeesRange', '51-200', 'companyRevenue', null, 'regions', '["DACH","US"]'::jsonb,
    'languages', '["en","de"]'::jsonb, 'services', '["Implementation","Training"]'::jsonb,
    'products', '[]'::jsonb, 'strengths', '[]'::jsonb, 'risks', '[]'::jsonb,
    'summary', name || ': likely Software.', 'confidence', 'low'),
  jsonb_build_array(jsonb_build_object('url', 'https://' || domain || '/', 'status', 'fetched')),
  now(), now() + interval '7 days'
FROM partners WHERE domain IS NOT NULL;
SQL
}
