#!/usr/bin/env bash
# Runs one fuzz target for a while (default 60 s) on its seeds, with its dictionary:
#
#   fuzz/run.sh <target> [seconds] [extra libFuzzer flags…]
#   fuzz/run.sh all [seconds]          # every target, one after the other
#
# New inputs go to fuzz/corpus/<target>/ (not checked in), crashes to
# fuzz/artifacts/<target>/. Needs `cargo +nightly` and `cargo fuzz` (cargo install cargo-fuzz).
set -euo pipefail
self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$self")"
targets=(load_safetensors plain_from_bytes quantized_from_bytes mnist_idx mnist_csv csv npy checkpoint network_macro)
target=${1:?usage: fuzz/run.sh <target>|all [seconds] [libFuzzer flags…]}
seconds=${2:-60}
shift $(( $# < 2 ? $# : 2 ))
if [ "$target" = all ]; then
    for t in "${targets[@]}"; do "$self" "$t" "$seconds" "$@"; done
    exit
fi
dict=()
if [ "$target" = load_safetensors ]; then dict=(-dict=dict/safetensors.dict); fi
if [ "$target" = network_macro ]; then dict=(-dict=dict/network_macro.dict); fi
mkdir -p "corpus/$target"
# FUZZ_BUILD_FLAGS: extra cargo-fuzz flags (e.g. --dev, -s none).
exec cargo +nightly fuzz run ${FUZZ_BUILD_FLAGS:-} "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -print_final_stats=1 "${dict[@]}" "$@"
