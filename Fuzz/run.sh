#!/usr/bin/env bash
# Builds the libFuzzer harnesses of StreetSense's hand-written parsers (with -sanitize=fuzzer,address) and runs
# each for N seconds over its committed seed corpus:
#   payload-fuzzer      PayloadFuzzer.swift over StreetSenseCore + StreetSenseDecoding (native JSON, SenML,
#                       topics, RFC 3339 times, JSON numbers), seeds in Fuzz/corpus
#   trace-line-fuzzer   TraceLineFuzzer.swift over StreetSenseCore + the trace-line codec, seeds in Fuzz/trace-corpus
#
#   Fuzz/run.sh [SECONDS] [extra libFuzzer flags…]      (default 60 s per harness)
#
# `make fuzz` runs 300 s each; `make test` runs a short bounded pass first. New interesting inputs go to
# .build/fuzz/<harness>-corpus (not committed); a crash leaves its input in .build/fuzz/artifacts and makes the
# script exit non-zero. Reproduce one with .build/fuzz/<harness> .build/fuzz/artifacts/crash-…
set -euo pipefail

seconds="${1:-60}"
shift || true
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${FUZZ_BUILD_DIR:-$root/.build/fuzz}"
mkdir -p "$build/artifacts" "$build/payload-fuzzer-corpus" "$build/trace-line-fuzzer-corpus"

# StreetSenseCore imports the prefetch hint's C module (a header only: nothing to link).
flags=(-sanitize=fuzzer,address -parse-as-library -O -g -swift-version 6 -I "$root/Sources/CMemoryHints/include")
linker=()
if command -v ld.lld >/dev/null 2>&1 || [ -x "$(dirname "$(command -v swiftc)")/ld.lld" ]; then
    linker=(-use-ld=lld)  # gold prints a warning per ASan helper symbol
fi

echo "building the fuzzers in $build"
swiftc "${flags[@]}" -module-name StreetSenseCore -emit-module -emit-module-path "$build/StreetSenseCore.swiftmodule" \
    -emit-library -static -o "$build/libStreetSenseCore.a" "$root"/Sources/StreetSenseCore/*.swift
# -enable-testing lets the harness compare internal scanners with the core and the standard library.
swiftc "${flags[@]}" -enable-testing -module-name StreetSenseDecoding -I "$build" \
    -emit-module -emit-module-path "$build/StreetSenseDecoding.swiftmodule" \
    -emit-library -static -o "$build/libStreetSenseDecoding.a" "$root"/Sources/StreetSenseDecoding/*.swift
swiftc "${flags[@]}" "${linker[@]}" -I "$build" "$root/Fuzz/PayloadFuzzer.swift" -L "$build" \
    -lStreetSenseDecoding -lStreetSenseCore -lm -o "$build/payload-fuzzer"
# The trace-line codec needs nothing of StreetSenseReplay but its record type: compile those files into the harness.
swiftc "${flags[@]}" "${linker[@]}" -I "$build" -module-name TraceLineFuzzer "$root/Fuzz/TraceLineFuzzer.swift" \
    "$root/Sources/StreetSenseReplay/TraceLineCodec.swift" "$root/Sources/StreetSenseReplay/TraceRecord.swift" \
    -L "$build" -lStreetSenseCore -lm -o "$build/trace-line-fuzzer"

run() {
    local harness="$1" seeds="$2"
    echo "fuzzing $harness for $seconds s"
    "$build/$harness" "$build/$harness-corpus" "$seeds" \
        -dict="$root/Fuzz/json.dict" -max_len=2048 -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 \
        -artifact_prefix="$build/artifacts/" -print_final_stats=1 "${@:3}"
}
run payload-fuzzer "$root/Fuzz/corpus" "$@"
run trace-line-fuzzer "$root/Fuzz/trace-corpus" "$@"
echo "fuzzing: no crash, no contract violation in $seconds s per harness"
