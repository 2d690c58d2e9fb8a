#!/bin/sh
# Fuzzes the YAML reader and the merge driver (issue 10's acceptance):
# each target runs for FUZZ_SECONDS (default 300) on proptest-generated
# inputs, arbitrary bytes and mutations of the real state files in
# ../shared/fixtures. Prints the executions of each; fails on a panic, a
# stack overflow or a driver exit above 128 (the input is kept in $TMPDIR).
#
# usage: bench/fuzz.sh [seconds]
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-${FUZZ_SECONDS:-300}}
cargo test --profile fuzz --test it --no-run
failed=0
for target in yaml_fuzz::the_yaml_reader_survives_arbitrary_input \
              yaml_fuzz::the_merge_driver_survives_arbitrary_sides; do
    log=$(mktemp)
    STATEBOX_FUZZ_SECONDS=$seconds cargo test --profile fuzz --test it -- \
        --exact "$target" --nocapture >"$log" 2>&1 || failed=1
    grep -E "executions|panicked|FAILED|passed" "$log"
    rm -f "$log"
done
exit $failed
