#!/usr/bin/env bash
# API fuzzing: Schemathesis over every operation of /openapi.json, with an admin API key of one
# organization (created through BOOTSTRAP_*), a member API key of a second one (created through
# sign-up, its address verified in the database), and without credentials. Checks: no server errors, only documented status codes,
# documented content types, and responses matching their schemas.
#
# Usage: scripts/schemathesis.sh            (EXAMPLES=100 by default; BUILD=release for a release binary)
# Needs PostgreSQL at PG_URL and Python 3 with pip (Schemathesis is installed from PyPI if missing).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

EXAMPLES="${EXAMPLES:-100}"
SCHEMATHESIS_VERSION=4.32.5
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
PORT="${PORT:-18095}"
BASE="http://127.0.0.1:${PORT}"
DB=partneros_schemathesis
EMAIL=fuzz-owner@example.com
PASSWORD=fuzz-password-1
PROFILE="${BUILD:-debug}"

# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench/common.sh"

if ! command -v st >/dev/null 2>&1 || [[ "$(st --version 2>/dev/null)" != *"${SCHEMATHESIS_VERSION}"* ]]; then
  log "installing schemathesis ${SCHEMATHESIS_VERSION}"
  python3 -m pip install -q "schemathesis==${SCHEMATHESIS_VERSION}"
fi
need_tools st curl psql python3 cargo

log "building the ${PROFILE} binary"
if [[ "${PROFILE}" == release ]]; then cargo build --release -p partneros-server; else cargo build -p partneros-server; fi
fresh_database "${DB}"
log "starting partneros on ${BASE}"
env DATABASE_URL="${PG_URL}/${DB}" HOST=127.0.0.1 PORT="${PORT}" APP_ENV=development \
  BOOTSTRAP_EMAIL="${EMAIL}" BOOTSTRAP_PASSWORD="${PASSWORD}" BOOTSTRAP_ORGANIZATION="Fuzz One" \
  ANALYSIS_WORKERS=0 ANALYSIS_SCRAPE=false MAIL_DIR="${WORK}/mail" RUST_LOG=warn \
  "${CARGO_TARGET_DIR:-target}/${PROFILE}/partneros" serve >"${WORK}/server.log" 2>&1 &
SERVER_PID=$!
for i in $(seq 1 60); do
  kill -0 "${SERVER_PID}" 2>/dev/null || die "server exited during startup"
  [[ "$(curl -s -o /dev/null -w '%{http_code}' "${BASE}/readyz" || true)" == 200 ]] && break
  [[ ${i} -eq 60 ]] && die "/readyz did not answer 200 within 60 s"
  sleep 1
done

json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {"d": d}))' "$1"; }
post() { # path token body
  curl -sS -H 'Content-Type: application/json' ${2:+-H "Authorization: Bearer $2"} -d "$3" "${BASE}$1"
}

log "organization one (bootstrap) and its admin API key"
TOKEN1="$(post /api/auth/sign-in/email '' "{\"email\":\"${EMAIL}\",\"password\":\"${PASSWORD}\"}" | json 'd["token"]')"
KEY1="$(post /api/api-keys "${TOKEN1}" '{"name":"schemathesis","role":"admin"}' | json 'd["key"]')"
log "organization two (sign-up) and its member API key"
TOKEN2="$(post /api/auth/sign-up/email '' '{"name":"Second","email":"fuzz-second@example.com","password":"fuzz-password-2"}' | json 'd["token"]')"
# A signed-up account verifies its address (the link mailed to it) before it may create an
# organization; the mail went to a file, so the script verifies it in the database instead.
psql -q "${PG_URL}/${DB}" -c "UPDATE users SET email_verified_at = now() WHERE email = 'fuzz-second@example.com'"
post /api/organizations "${TOKEN2}" '{"name":"Fuzz Two"}' >/dev/null
KEY2="$(post /api/api-keys "${TOKEN2}" '{"name":"schemathesis","role":"member"}' | json 'd["key"]')"
# Something to find in each organization.
post /api/partners "${KEY1}" '{"name":"Seed","domain":"seed-one.example","type":"reseller","primaryContact":{"firstName":"A","lastName":"B","email":"seed1@example.com"}}' >/dev/null
post /api/partners "${KEY2}" '{"name":"Seed","domain":"seed-two.example","type":"reseller","primaryContact":{"firstName":"A","lastName":"B","email":"seed2@example.com"}}' >/dev/null

CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
run_st() { # name [header]
  log "schemathesis: ${1} (${EXAMPLES} examples per operation)"
  local header=()
  [[ $# -ge 2 ]] && header=(-H "$2")
  st run "${BASE}/openapi.json" --checks "${CHECKS}" --max-examples "${EXAMPLES}" \
    --workers 2 --seed 7243 --request-timeout 30 --suppress-health-check all \
    --output-truncate false --warnings off "${header[@]}"
}
status=0
run_st "organization one, admin key" "Authorization: Bearer ${KEY1}" || status=1
run_st "organization two, member key" "Authorization: Bearer ${KEY2}" || status=1
run_st "no credentials" || status=1
if [[ ${status} -ne 0 ]]; then
  echo "--- last 60 lines of the server log ---" >&2
  tail -n 60 "${WORK}/server.log" >&2
  die "schemathesis found failures"
fi
log "schemathesis: no failures"
