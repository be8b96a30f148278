#!/usr/bin/env bash
# Runs fuzz targets one after another, each for FUZZ_SECONDS (default 600), niced, in one
# process, and prints libFuzzer's closing figures per target.
#
#   fuzz/run.sh                 # every target
#   fuzz/run.sh cursor form_data
#   FUZZ_SECONDS=60 fuzz/run.sh partner_domain
#
# New inputs go to fuzz/target/corpus/<target> (git-ignored); the committed seeds in
# fuzz/corpus/<target> are read, never written. Crashes land in fuzz/artifacts/<target>.
set -euo pipefail

cd "$(dirname "$0")"
seconds="${FUZZ_SECONDS:-600}"
export RUSTC_BOOTSTRAP=1

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo fuzz list)
fi

nice -n 19 cargo fuzz build -a -O

status=0
for t in "${targets[@]}"; do
    work="target/corpus/$t"
    logs="target/logs/$t"
    mkdir -p "$work" "$logs" "artifacts/$t"
    dict=()
    if [ -f "dict/$t.dict" ]; then dict=("-dict=$PWD/dict/$t.dict"); fi
    echo "== $t: ${seconds}s"
    # -jobs=1 -workers=1: one fuzzing process; libFuzzer writes its output to fuzz-0.log in
    # the working directory, hence the subshell in the log folder.
    if ! (cd "$logs" && nice -n 19 cargo fuzz run --fuzz-dir "$OLDPWD" -a -O "$t" \
        "$OLDPWD/$work" "$OLDPWD/corpus/$t" -- \
        -max_total_time="$seconds" -timeout=10 -jobs=1 -workers=1 \
        -print_final_stats=1 "${dict[@]}" >run.out 2>&1); then
        status=1
        echo "!! $t failed; see fuzz/$logs/fuzz-0.log and fuzz/artifacts/$t"
    fi
    log="$logs/fuzz-0.log"
    [ -f "$log" ] || log="$logs/run.out"
    grep -E '^#[0-9]+' "$log" | tail -n 1 || true
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" || true
    echo "corpus files: $(find "$work" -type f | wc -l); crashes: $(find "artifacts/$t" -type f | wc -l)"
done
exit $status
