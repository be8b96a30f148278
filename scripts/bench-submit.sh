#!/usr/bin/env bash
# Submit benchmark: POST /api/partners/applications/submit with an affiliate
# slug vs pgbench running the same SQL transaction as the server's
# `insert_submission` (SELECT the link; INSERT the submission; INSERT the
# event), at the same concurrency.
#
# Builds the release binary, starts it against a fresh `partneros_bench_submit`
# database with FORWARDED_HOPS=1, creates a published form `bench-form` and
# its affiliate link `viral`, then:
#   * wrk with a Lua script that makes every request unique (email from a
#     per-thread counter + thread id + random; one X-Forwarded-For address per
#     request) so nothing is rate limited (10/min per IP) or a duplicate (409).
#     Any non-2xx response or socket error fails the script.
#   * checks that the link's leadCount (API) equals the submissions rows (psql).
#   * pgbench -M prepared with a custom script: the same three statements in
#     one transaction against the same database, form and link.
# pgbench prints no percentiles itself; its p99 comes from its per-transaction
# log (-l).
#
# Usage: scripts/bench-submit.sh            (CONNS=16 DURATION=15s by default)
#        CONNS=32 DURATION=30s scripts/bench-submit.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

CONNS="${CONNS:-16}"
THREADS=2
DURATION="${DURATION:-15s}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
PORT=18081
BASE="http://127.0.0.1:${PORT}"
BENCH_DB=partneros_bench_submit
EMAIL=bench@example.com
PASSWORD=bench-password-1
FORM_SLUG=bench-form
LINK_SLUG=viral

# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench/common.sh"
DURATION_SECS="$(duration_secs "${DURATION}")"

ensure_wrk
need_tools curl psql pgbench python3 cargo
build_release

# --- database + server --------------------------------------------------------
sql() { psql "${PG_URL}/${BENCH_DB}" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }
fresh_database "${BENCH_DB}"
mkdir -p "${WORK}/files"
start_server "${BENCH_DB}" DB_POOL_SIZE="${CONNS}" FORWARDED_HOPS=1 LOCAL_STORAGE_DIR="${WORK}/files"

# --- seed ---------------------------------------------------------------------
TOKEN="$(sign_in)"

api() { # method path [body] -> prints status, body in ${WORK}/api.json
  local args=(-sS -o "${WORK}/api.json" -w '%{http_code}' -X "$1"
    -H "Authorization: Bearer ${TOKEN}")
  [[ $# -ge 3 ]] && args+=(-H 'Content-Type: application/json' -d "$3")
  curl "${args[@]}" "${BASE}$2" || true
}

log "creating the published form ${FORM_SLUG}"
code="$(api POST /api/partners/applications "{\"name\":\"Bench\",\"slug\":\"${FORM_SLUG}\",\"status\":\"published\",\"fields\":[{\"fieldKey\":\"companyName\",\"label\":\"Company\",\"type\":\"text\",\"required\":true},{\"fieldKey\":\"email\",\"label\":\"Email\",\"type\":\"email\",\"required\":true}],\"agreements\":[]}")"
[[ "${code}" == 201 ]] || die "POST /api/partners/applications returned ${code}: $(cat "${WORK}/api.json")"
APP_ID="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["application"]["id"])' "${WORK}/api.json")"

log "creating the affiliate link ${LINK_SLUG}"
code="$(api POST "/api/partners/applications/${APP_ID}/affiliate-links" "{\"slug\":\"${LINK_SLUG}\"}")"
[[ "${code}" == 201 ]] || die "POST .../affiliate-links returned ${code}: $(cat "${WORK}/api.json")"

ORG_ID="$(sql "SELECT organization_id FROM applications WHERE id = '${APP_ID}'")"
LINK_ID="$(sql "SELECT id FROM affiliate_links WHERE application_id = '${APP_ID}' AND slug = '${LINK_SLUG}'")"
[[ -n "${ORG_ID}" && -n "${LINK_ID}" ]] || die "application or link not found in ${BENCH_DB}"
log "application ${APP_ID}, organization ${ORG_ID}, link ${LINK_ID}"

# Sanity check: one submission must succeed (and be attributed) before we time it.
code="$(curl -sS -o "${WORK}/submit.json" -w '%{http_code}' \
  -H 'Content-Type: application/json' -H 'X-Forwarded-For: fd00::ffff:ffff' \
  -d "{\"slug\":\"${FORM_SLUG}\",\"formData\":{\"companyName\":\"Acme\",\"email\":\"sanity@bench.example\"},\"acceptedAgreements\":[],\"affiliateSlug\":\"${LINK_SLUG}\"}" \
  "${BASE}/api/partners/applications/submit" || true)"
[[ "${code}" == 200 ]] || die "submit sanity check returned ${code}: $(cat "${WORK}/submit.json")"
[[ "$(sql "SELECT count(*) FROM submissions WHERE affiliate_link_id = '${LINK_ID}'")" == 1 ]] \
  || die "the sanity submission was not attributed to ${LINK_SLUG}"

# --- wrk ----------------------------------------------------------------------
# Each wrk thread has its own Lua state: `tid` comes from setup(), `counter`
# is per thread, so (tid, counter) is unique; the random part only adds noise.
# X-Forwarded-For is fd00::<tid>:<counter hi>:<counter lo>, one address per
# request (FORWARDED_HOPS=1 makes it the client address).
cat >"${WORK}/submit.lua" <<LUA
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  counter = 0
  s2xx, s409, s429, sother = 0, 0, 0, 0
  math.randomseed(os.time() * 1000 + tid)
end

function request()
  counter = counter + 1
  local email = string.format("w%d-%d-%d@bench.example", tid, counter, math.random(1, 1000000000))
  local ip = string.format("fd00::%x:%x:%x", tid, math.floor(counter / 65536), counter % 65536)
  local body = '{"slug":"${FORM_SLUG}","formData":{"companyName":"Acme","email":"' .. email ..
    '"},"acceptedAgreements":[],"affiliateSlug":"${LINK_SLUG}"}'
  return wrk.format("POST", "/api/partners/applications/submit",
    { ["Content-Type"] = "application/json", ["X-Forwarded-For"] = ip }, body)
end

function response(status, headers, body)
  if status >= 200 and status < 300 then s2xx = s2xx + 1
  elseif status == 409 then s409 = s409 + 1
  elseif status == 429 then s429 = s429 + 1
  else sother = sother + 1 end
end

function done(summary, latency, requests)
  local t = { s2xx = 0, s409 = 0, s429 = 0, sother = 0 }
  for _, thread in ipairs(threads) do
    for k in pairs(t) do t[k] = t[k] + thread:get(k) end
  end
  io.write(string.format("statuses: 2xx=%d 409=%d 429=%d other=%d\n",
    t.s2xx, t.s409, t.s429, t.sother))
end
LUA

log "wrk submit (${THREADS} threads, ${CONNS} connections, ${DURATION})"
wrk -t"${THREADS}" -c"${CONNS}" -d"${DURATION}" --latency -s "${WORK}/submit.lua" \
  "${BASE}/api/partners/applications/submit" | tee "${WORK}/wrk.txt" >&2

# Requests still in flight when wrk stopped may complete on the server.
sleep 2

# --- verify -------------------------------------------------------------------
code="$(api GET "/api/partners/applications/${APP_ID}/affiliate-links")"
[[ "${code}" == 200 ]] || die "GET .../affiliate-links returned ${code}: $(cat "${WORK}/api.json")"
ROWS="$(sql "SELECT count(*) FROM submissions WHERE application_id = '${APP_ID}'")"
python3 - "${WORK}" "${LINK_SLUG}" "${ROWS}" "${CONNS}" <<'PY' >&2
import json, pathlib, re, sys

work, slug, rows, conns = pathlib.Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
links = json.load(open(work / "api.json"))["affiliateLinks"]
lead = [l for l in links if l.get("slug") == slug] or links
lead_count = lead[0]["leadCount"]
text = (work / "wrk.txt").read_text()
m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
non2xx = int(m.group(1)) if m else 0
m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
socket_errors = sum(map(int, m.groups())) if m else 0
if non2xx or socket_errors:
    print(re.search(r"^statuses: .*$", text, re.M).group(0))
    sys.exit(f"error: wrk saw {non2xx} non-2xx responses and {socket_errors} socket errors")
ok = int(re.search(r"statuses: 2xx=(\d+)", text).group(1))
expected = ok + 1  # + the sanity submission
print(f"leadCount={lead_count} submissions rows={rows} (wrk 2xx + sanity = {expected})")
if lead_count != rows:
    sys.exit(f"error: leadCount {lead_count} != {rows} submissions rows")
if rows < expected:
    sys.exit(f"error: only {rows} rows for {expected} successful submissions")
if rows > expected + conns:
    sys.exit(f"error: {rows} rows is more than {expected} answered + {conns} in flight")
PY

# --- pgbench ------------------------------------------------------------------
# The statements of insert_submission (crates/postgres/src/applications.rs),
# with the real ids; the link id flows from the SELECT as in the server. The
# email is the form's email field (lowercased), unique per client and draw.
cat >"${WORK}/submit.sql" <<SQL
\set r random(1, 1000000000000000)
BEGIN;
SELECT id AS link_id FROM affiliate_links WHERE application_id = '${APP_ID}' AND slug = '${LINK_SLUG}' LIMIT 1 \gset
INSERT INTO submissions (id, organization_id, application_id, form_data, accepted_agreements, email, affiliate_link_id, affiliate_slug, status, reject_reason, partner_id, client_ip, reviewed_by, reviewed_at, created_at) VALUES (gen_random_uuid(), '${ORG_ID}', '${APP_ID}', jsonb_build_object('companyName', 'Acme', 'email', 'p' || CAST(:client_id AS text) || '-' || CAST(:r AS text) || '@bench.example'), '{}', 'p' || CAST(:client_id AS text) || '-' || CAST(:r AS text) || '@bench.example', :link_id, '${LINK_SLUG}', 'pending', NULL, NULL, '127.0.0.1', NULL, NULL, now()) RETURNING id AS submission_id \gset
INSERT INTO events (id, organization_id, kind, payload, created_at) VALUES (gen_random_uuid(), '${ORG_ID}', 'application_submitted', jsonb_build_object('submissionId', CAST(:submission_id AS uuid), 'applicationId', CAST('${APP_ID}' AS uuid), 'affiliateLinkId', CAST(:link_id AS uuid), 'affiliateSlug', '${LINK_SLUG}'), now());
COMMIT;
SQL

log "pgbench -f submit.sql -M prepared -c ${CONNS} -j ${THREADS} -T ${DURATION_SECS}"
mkdir -p "${WORK}/pglog"
(cd "${WORK}/pglog" && pgbench -n -M prepared -c "${CONNS}" -j "${THREADS}" -T "${DURATION_SECS}" \
  -l --log-prefix=tx -f "${WORK}/submit.sql" "${PG_URL}/${BENCH_DB}") 2>&1 | tee "${WORK}/pgbench.txt" >&2
grep -q "aborted" "${WORK}/pgbench.txt" && die "pgbench clients aborted (see above)"

# --- report -------------------------------------------------------------------
python3 - "${WORK}" "${APP_ID}" "${CONNS}" "${DURATION}" <<'PY'
import pathlib, re, sys

work, app_id, conns, duration = pathlib.Path(sys.argv[1]), *sys.argv[2:]
UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}

def ms(value, unit):
    return float(value) * UNITS_MS[unit]

text = (work / "wrk.txt").read_text()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
avg = ms(*re.search(r"^\s*Latency\s+([\d.]+)(us|ms|s|m|h)", text, re.M).groups())
p99 = ms(*re.search(r"^\s*99%\s+([\d.]+)(us|ms|s|m|h)\s*$", text, re.M).groups())
requests = int(re.search(r"(\d+) requests in", text).group(1))
m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
non2xx = int(m.group(1)) if m else 0
m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
socket_errors = sum(map(int, m.groups())) if m else 0
statuses = re.search(r"^statuses: (.*)$", text, re.M).group(1)

pg = (work / "pgbench.txt").read_text()
tps = float(re.search(r"^tps = ([\d.]+)", pg, re.M).group(1))
pg_avg = float(re.search(r"^latency average = ([\d.]+) ms", pg, re.M).group(1))
pg_tx = int(re.search(r"number of transactions actually processed: (\d+)", pg).group(1))
lat = sorted(int(line.split()[2]) for f in (work / "pglog").glob("tx.*")
             for line in f.open())
pg_p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] / 1000.0 if lat else float("nan")

header = ("", "rps/tps", "avg ms", "p99 ms", "requests", "non-2xx")
fmt = "{:<34} {:>9} {:>8} {:>8} {:>9} {:>8}"
print()
print(f"Submit benchmark: {conns} connections, {duration}, application {app_id}")
print(fmt.format(*header))
print(fmt.format(*("-" * len(h) for h in header)))
print(fmt.format("POST .../submit (affiliate slug)", f"{rps:,.0f}", f"{avg:.2f}", f"{p99:.2f}",
                 f"{requests:,}", f"{non2xx}"))
print(fmt.format("pgbench same transaction", f"{tps:,.0f}", f"{pg_avg:.2f}", f"{pg_p99:.2f}",
                 f"{pg_tx:,}", "-"))
ratio = rps / tps
print(f"\nsubmit rps / pgbench tps = {ratio:.2f} (target >= 0.50: "
      f"{'met' if ratio >= 0.5 else 'NOT met'})")
print(f"wrk {statuses}; socket errors {socket_errors}")
print("pgbench p99 is from its per-transaction log (-l).")
if non2xx or socket_errors:
    sys.exit(f"error: {non2xx} non-2xx responses and {socket_errors} socket errors from wrk")
PY
