#!/usr/bin/env bash
# Upload memory benchmark: peak resident memory of the server while CLIENTS
# (default 20) clients upload a 5 MiB image to POST /api/partners/applications/banner
# at once.
#
# Builds the release binary and starts it directly (not via cargo run, so the
# pid is the server's) against a fresh `partneros_bench_upload` database, with
# LOCAL_STORAGE_DIR and TMPDIR (multipart spool files) in a temp dir. The
# image is a valid 1x1 PNG padded with zeros to exactly 5 MiB (5242880 bytes,
# the limit): the server sniffs the header only.
#
# After a warm-up upload (a small one) the server's VmRSS is the idle figure;
# the warm-up's hit is then removed from the upload rate limit (20 a minute per
# user) so that all CLIENTS uploads count, the peak-RSS mark is reset
# (/proc/<pid>/clear_refs), the uploads run concurrently with curl (all must
# answer 200), and VmHWM is the peak. A sampler polling VmRSS every 2 ms is a
# cross-check.
#
# Usage: scripts/bench-upload-memory.sh        (CLIENTS=20 by default)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

CLIENTS="${CLIENTS:-20}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
PORT=18082
BASE="http://127.0.0.1:${PORT}"
BENCH_DB=partneros_bench_upload
EMAIL=bench@example.com
PASSWORD=bench-password-1
FILE_BYTES=5242880
TARGET_MIB=100

# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench/common.sh"
SAMPLER_PID=""

need_tools curl psql python3 cargo
[[ -r /proc/self/status ]] || die "/proc is required (Linux)"
build_release

# --- images -------------------------------------------------------------------
python3 - "${WORK}" "${FILE_BYTES}" <<'PY'
import pathlib, struct, sys, zlib

work, size = pathlib.Path(sys.argv[1]), int(sys.argv[2])

def chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

# 1x1, 8-bit RGBA, one white pixel.
png = (b"\x89PNG\r\n\x1a\n"
       + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0))
       + chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff\xff"))
       + chunk(b"IEND", b""))
(work / "small.png").write_bytes(png)
(work / "big.png").write_bytes(png + b"\x00" * (size - len(png)))
PY
[[ "$(stat -c %s "${WORK}/big.png")" == "${FILE_BYTES}" ]] || die "big.png is not ${FILE_BYTES} bytes"

# --- database + server --------------------------------------------------------
fresh_database "${BENCH_DB}"
mkdir -p "${WORK}/files" "${WORK}/spool"
start_server "${BENCH_DB}" DB_POOL_SIZE=16 FORWARDED_HOPS=1 LOCAL_STORAGE_DIR="${WORK}/files" \
  TMPDIR="${WORK}/spool"
TOKEN="$(sign_in)"

status_kib() { # field -> kB value from /proc/<server>/status
  awk -v f="$1:" '$1 == f { print $2 }' "/proc/${SERVER_PID}/status"
}

upload() { # file output -> "code seconds"
  curl -sS -o "$2" -w '%{http_code} %{time_total}' \
    -H "Authorization: Bearer ${TOKEN}" -F "file=@$1;type=image/png" \
    "${BASE}/api/partners/applications/banner" || echo "000 0"
}

# --- warm-up + idle -----------------------------------------------------------
log "warm-up upload ($(stat -c %s "${WORK}/small.png") bytes)"
read -r code _ <<<"$(upload "${WORK}/small.png" "${WORK}/warmup.json")"
[[ "${code}" == 200 ]] || die "warm-up upload returned ${code}: $(cat "${WORK}/warmup.json")"
# The warm-up counted against the 20-a-minute upload limit of this user.
psql "${PG_URL}/${BENCH_DB}" -qAtX -v ON_ERROR_STOP=1 \
  -c "DELETE FROM rate_limit_hits WHERE bucket LIKE 'banner:%'"
sleep 1
IDLE_KIB="$(status_kib VmRSS)"
HWM_BEFORE_KIB="$(status_kib VmHWM)"
RESET=yes
echo 5 >"/proc/${SERVER_PID}/clear_refs" 2>/dev/null || RESET=no
[[ "${RESET}" == yes ]] || log "warning: cannot reset the peak RSS mark; VmHWM includes startup"

# --- concurrent uploads ---------------------------------------------------------
python3 - "${SERVER_PID}" "${WORK}/sampler.txt" "${WORK}/sampler.stop" <<'PY' &
import os, sys, time
pid, out, stop = sys.argv[1:]
peak = 0
while not os.path.exists(stop):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    peak = max(peak, int(line.split()[1]))
                    break
    except FileNotFoundError:
        break
    time.sleep(0.002)
open(out, "w").write(f"{peak}\n")
PY
SAMPLER_PID=$!
BENCH_PIDS+=("${SAMPLER_PID}")

log "${CLIENTS} concurrent uploads of ${FILE_BYTES} bytes"
START_NS="$(date +%s%N)"
pids=()
for n in $(seq 1 "${CLIENTS}"); do
  upload "${WORK}/big.png" "${WORK}/upload-${n}.json" >"${WORK}/upload-${n}.status" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "${p}"; done
END_NS="$(date +%s%N)"
PEAK_KIB="$(status_kib VmHWM)"
touch "${WORK}/sampler.stop"
wait "${SAMPLER_PID}" || true
SAMPLER_PID=""
AFTER_KIB="$(status_kib VmRSS)"

failed=0
for n in $(seq 1 "${CLIENTS}"); do
  read -r code _ <"${WORK}/upload-${n}.status" || true  # no trailing newline
  if [[ "${code}" != 200 ]]; then
    failed=$((failed + 1))
    printf 'upload %d: HTTP %s: %s\n' "${n}" "${code}" "$(head -c 300 "${WORK}/upload-${n}.json" 2>/dev/null)" >&2
  fi
done
[[ ${failed} -eq 0 ]] || die "${failed} of ${CLIENTS} uploads did not answer 200"
stored="$(find "${WORK}/files" -type f -size "${FILE_BYTES}c" | wc -l)"
[[ "${stored}" -eq "${CLIENTS}" ]] || log "warning: ${stored} stored files of ${FILE_BYTES} bytes, expected ${CLIENTS}"

# --- report -------------------------------------------------------------------
python3 - "${WORK}" "${CLIENTS}" "${FILE_BYTES}" "${IDLE_KIB}" "${PEAK_KIB}" \
  "$(cat "${WORK}/sampler.txt" 2>/dev/null || echo 0)" "${AFTER_KIB}" "${HWM_BEFORE_KIB}" \
  "${RESET}" "$(( (END_NS - START_NS) / 1000000 ))" "${TARGET_MIB}" <<'PY'
import pathlib, sys

work = pathlib.Path(sys.argv[1])
clients, size = int(sys.argv[2]), int(sys.argv[3])
idle, peak, sampled, after, hwm_before = (int(v) / 1024 for v in sys.argv[4:9])
reset, total_ms, target = sys.argv[9], int(sys.argv[10]), float(sys.argv[11])
times = sorted(float((work / f"upload-{n}.status").read_text().split()[1])
               for n in range(1, clients + 1))

fmt = "{:<34} {:>12}"
print()
print(f"Upload memory benchmark: {clients} concurrent uploads of {size:,} bytes (PNG)")
print(fmt.format("idle RSS (after warm-up)", f"{idle:.1f} MiB"))
print(fmt.format("peak RSS (VmHWM)", f"{peak:.1f} MiB"))
print(fmt.format("peak - idle", f"{peak - idle:.1f} MiB"))
print(fmt.format("sampled max RSS (2 ms poll)", f"{sampled:.1f} MiB"))
print(fmt.format("RSS after the uploads", f"{after:.1f} MiB"))
print(fmt.format("total time", f"{total_ms / 1000:.2f} s"))
print(fmt.format("per upload min / max", f"{times[0]:.2f} / {times[-1]:.2f} s"))
delta = peak - idle
print(f"\npeak - idle target < {target:.0f} MiB: {'met' if delta < target else 'NOT met'}")
if reset != "yes":
    print(f"note: the peak mark could not be reset; VmHWM before the burst was {hwm_before:.1f} MiB")
PY
