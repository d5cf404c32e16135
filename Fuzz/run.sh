#!/usr/bin/env bash
# Builds the libFuzzer harness for PayloadDecoder (PayloadFuzzer.swift over the StreetSenseCore and
# StreetSenseDecoding sources, with -sanitize=fuzzer,address) and runs it for N seconds over Fuzz/corpus.
#
#   Fuzz/run.sh [SECONDS] [extra libFuzzer flags…]      (default 60 s)
#
# New interesting inputs go to .build/fuzz/corpus (not committed); a crash leaves its input in
# .build/fuzz/artifacts and makes the script exit non-zero. Reproduce one with
#   .build/fuzz/payload-fuzzer .build/fuzz/artifacts/crash-…
set -euo pipefail

seconds="${1:-60}"
shift || true
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${FUZZ_BUILD_DIR:-$root/.build/fuzz}"
mkdir -p "$build/corpus" "$build/artifacts"

flags=(-sanitize=fuzzer,address -parse-as-library -O -g -swift-version 6)
linker=()
if command -v ld.lld >/dev/null 2>&1 || [ -x "$(dirname "$(command -v swiftc)")/ld.lld" ]; then
    linker=(-use-ld=lld)  # gold prints a warning per ASan helper symbol
fi

echo "building the fuzzer in $build"
swiftc "${flags[@]}" -module-name StreetSenseCore -emit-module -emit-module-path "$build/StreetSenseCore.swiftmodule" \
    -emit-library -static -o "$build/libStreetSenseCore.a" "$root"/Sources/StreetSenseCore/*.swift
# -enable-testing lets the harness compare internal scanners with the core and the standard library.
swiftc "${flags[@]}" -enable-testing -module-name StreetSenseDecoding -I "$build" \
    -emit-module -emit-module-path "$build/StreetSenseDecoding.swiftmodule" \
    -emit-library -static -o "$build/libStreetSenseDecoding.a" "$root"/Sources/StreetSenseDecoding/*.swift
swiftc "${flags[@]}" "${linker[@]}" -I "$build" "$root/Fuzz/PayloadFuzzer.swift" -L "$build" \
    -lStreetSenseDecoding -lStreetSenseCore -lm -o "$build/payload-fuzzer"

echo "fuzzing for $seconds s"
"$build/payload-fuzzer" "$build/corpus" "$root/Fuzz/corpus" \
    -dict="$root/Fuzz/json.dict" -max_len=2048 -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 \
    -artifact_prefix="$build/artifacts/" -print_final_stats=1 "$@"
