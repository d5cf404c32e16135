# StreetSense — two commands on a fresh Debian 12 machine with Swift:
#   make run    installs what is missing, builds release, starts broker + service + festival scenario
#   make test   installs what is missing and runs every test
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Debian packages the build, the service and the tests need (the tests start a real mosquitto; prometheus brings
# promtool; the dashboard serves Leaflet and Chart.js from /usr/share/javascript).
DEBIAN_PACKAGES := mosquitto mosquitto-clients libmosquitto-dev libsqlite3-dev sqlite3 pkg-config openssl prometheus \
	libjs-leaflet libjs-chart.js
# Only for `make test`: the dashboard test drives headless Chromium with Selenium; python3-venv holds schemathesis.
TEST_PACKAGES := chromium chromium-driver python3-selenium python3-venv
# For `make bench` and the benchmarks' smoke runs in `make test`: wrk loads the HTTP API (streetsense-bench http).
BENCH_PACKAGES := wrk
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SWIFT ?= swift
PORT ?= 8080

.PHONY: help deps test-deps bench-deps build build-debug run test fuzz fuzz-smoke schemathesis-venv bench bench-core bench-smoke \
	bench-service-smoke bench-baseline bench-baseline-smoke bench-instructions instructions-deps check-config clean

help:
	@echo "make run     install missing packages, build release, run 'streetsense demo' (dashboard URL printed)"
	@echo "make test    install missing packages and run every test"
	@echo "make build   release build only"
	@echo "make fuzz    every libFuzzer harness for FUZZ_SECONDS (300) each"
	@echo "make bench   release benchmarks (alert latency, end-to-end throughput vs mosquitto_sub, store vs sqlite3, HTTP under load,"
	@echo "             then bench-core and bench-baseline)"
	@echo "make bench-core  in-process benchmarks (core, decode → route → aggregate) next to their references"
	@echo "make bench-baseline  StreetSense next to a paho-mqtt consumer (live) and pandas rolling windows (offline)"
	@echo "make bench-instructions  instructions inside the pipeline (row 2), counted by callgrind (INSTRUCTIONS_OUT=file)"

# Installs only what is missing; apt-get update runs only when something must be installed.
deps: PACKAGES = $(DEBIAN_PACKAGES)
test-deps: PACKAGES = $(DEBIAN_PACKAGES) $(TEST_PACKAGES) $(BENCH_PACKAGES)
bench-deps: PACKAGES = $(DEBIAN_PACKAGES) $(BENCH_PACKAGES)
instructions-deps: PACKAGES = $(DEBIAN_PACKAGES) valgrind
deps test-deps bench-deps instructions-deps:
	@missing=""; for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	$(SWIFT) build -c release --product streetsense

build-debug: deps
	$(SWIFT) build

run: build
	"$$($(SWIFT) build -c release --show-bin-path)/streetsense" demo --port $(PORT)

# Every libFuzzer harness (Fuzz/run.sh) for FUZZ_SECONDS each; `make test` runs a short pass first, so the
# harnesses cannot rot, and keeps its log in .build/fuzz.log (the swift test summary stays the last line).
FUZZ_SECONDS ?= 300
fuzz:
	Fuzz/run.sh $(FUZZ_SECONDS)

fuzz-smoke:
	@mkdir -p .build; if Fuzz/run.sh 20 > .build/fuzz.log 2>&1; then grep -E '^(fuzzing|Done)' .build/fuzz.log; \
	else tail -40 .build/fuzz.log; echo "fuzzing failed: see .build/fuzz.log and .build/fuzz/artifacts"; exit 1; fi

# schemathesis (PyPI, pinned) in a virtualenv under .build; the HTTP security integration test runs it against a
# real service and the served openapi.yaml (the test is skipped when the virtualenv is missing).
SCHEMATHESIS_VERSION := 4.32.5
VENV := .build/venv
schemathesis-venv: $(VENV)/.schemathesis-$(SCHEMATHESIS_VERSION)

$(VENV)/.schemathesis-$(SCHEMATHESIS_VERSION):
	@command -v python3 >/dev/null || { echo "python3 is needed for schemathesis (Debian: python3 python3-venv)"; exit 1; }
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check schemathesis==$(SCHEMATHESIS_VERSION)
	@touch $@

# On failure, the failed tests and their issues are repeated after the run (CI shows only the end of the
# output), followed by the run's own summary line, so the summary stays the last line either way.
test: test-deps fuzz-smoke schemathesis-venv bench-smoke bench-service-smoke bench-baseline-smoke
	$(SWIFT) build --build-tests
	@mkdir -p .build; set -o pipefail; \
	if $(SWIFT) test --skip-build 2>&1 | tee .build/test-output.log; then exit 0; fi; \
	echo; echo "=== failed tests and their issues (from .build/test-output.log) ==="; \
	grep -E '✘|recorded an issue|Expectation failed|Caught error' .build/test-output.log | grep -v 'Test run with' | head -80; \
	echo "=== machine: $$(nproc) cores, $$(df -h . | awk 'NR==2 {print $$4}') free here, open files $$(ulimit -n), TMPDIR=$${TMPDIR:-unset} ==="; \
	grep -E 'Test run with' .build/test-output.log | tail -1; exit 1

# The in-process benchmarks live in their own package (Benchmarks/Package.swift) so that ordo-one/benchmark stays
# out of the main build. bench-core prints the comparison table recorded in BENCHMARKS.md, with malloc's
# transparent huge pages on as the service runs them (deploy/OPERATIONS.md, "Memory"); add
# GLIBC_TUNABLES= on the command line to measure without.
BENCH_PACKAGE := --package-path Benchmarks
MALLOC_TUNABLES ?= glibc.malloc.hugetlb=1
bench-core: deps
	$(SWIFT) build $(BENCH_PACKAGE) -c release --product streetsense-corebench
	GLIBC_TUNABLES=$(MALLOC_TUNABLES) "$$($(SWIFT) build $(BENCH_PACKAGE) -c release --show-bin-path)/streetsense-corebench"

# Decode → route → aggregate (row 2) counted in instructions: callgrind collects only inside
# Pipeline.process(MessageBatch) of one `streetsense-corebench --only pipeline --reps 1` run (both formats), then
# prints the inclusive counts of its parts. On a shared machine its wall time varies by 2× from run to run; these
# counts do not, so compare two builds with them (BENCHMARKS.md, row 2, "Stop 19"). About 4 minutes.
INSTRUCTIONS_OUT ?= .build/pipeline.callgrind
bench-instructions: instructions-deps
	$(SWIFT) build $(BENCH_PACKAGE) -c release --product streetsense-corebench
	@mkdir -p .build
	strip --strip-debug -o .build/streetsense-corebench.stripped \
	  "$$($(SWIFT) build $(BENCH_PACKAGE) -c release --show-bin-path)/streetsense-corebench"
	valgrind --tool=callgrind --toggle-collect='$$s19StreetSensePipeline0C0C7processyyAA12MessageBatchVF' \
	  --callgrind-out-file=$(INSTRUCTIONS_OUT) .build/streetsense-corebench.stripped --only pipeline --reps 1 > /dev/null
	@callgrind_annotate --inclusive=yes $(INSTRUCTIONS_OUT) 2>/dev/null | $(SWIFT) demangle --simplified | \
	  grep -E 'PROGRAM TOTALS|[?]:(Pipeline.process\(_:\)|PayloadDecoder.decode\(|AggregationCore.apply\(|AggregationCore.sampleZones\(through|Pipeline.evaluateZoneSamples\(\)|Pipeline.routeKnownSensors|Pipeline.flush\(final)' | \
	  sed -E 's/ \[[^]]*\]$$//'

# Builds the benchmark package (debug) and runs the table and the ordo-one suite once each with tiny sizes,
# judging no timing (so neither can rot). Run directly, an ordo-one executable runs each benchmark once.
bench-smoke: deps
	$(SWIFT) build $(BENCH_PACKAGE)
	"$$($(SWIFT) build $(BENCH_PACKAGE) --show-bin-path)/streetsense-corebench" --smoke
	STREETSENSE_BENCH_SMOKE=1 "$$($(SWIFT) build $(BENCH_PACKAGE) --show-bin-path)/CoreBenchmarks" > Benchmarks/.build/core-benchmarks-smoke.log
	@echo "CoreBenchmarks (ordo-one) ran each benchmark once; output in Benchmarks/.build/core-benchmarks-smoke.log"

# The root package's service benchmarks (end-to-end, store, HTTP under load) once each with tiny inputs on the
# debug build, judging no timing, so that they cannot rot; `make test` runs this after the debug build.
bench-service-smoke: bench-deps build-debug
	"$$($(SWIFT) build --show-bin-path)/streetsense-bench" end-to-end --smoke
	"$$($(SWIFT) build --show-bin-path)/streetsense-bench" store --smoke
	"$$($(SWIFT) build --show-bin-path)/streetsense-bench" http --smoke

# End-to-end benchmarks in release mode (a real broker, SQLite and HTTP); results go to BENCHMARKS.md by hand.
# Publish → SSE alert latency next to the broker-only hop, at 10 000 msg/s and at half the broker's QoS 1
# ceiling (DESIGN §9: p99 under 2 ms and under 5 ms). Issue 5 row 3: a city-scale replay at max through
# mosquitto, StreetSense next to mosquitto_sub alone, QoS 1 and 0. Row 5: readings/s committed by the store
# writer next to the sqlite3 shell importing the same rows. `streetsense-bench end-to-end --smoke` and
# `streetsense-bench store --smoke` run the last two with tiny inputs. Row 6: `GET /api/v1/zones` and a zone's
# series under wrk while ingesting at half the broker's QoS 1 ceiling, next to `/healthz` and to the ingest rate
# without HTTP load (`streetsense-bench http --smoke`: tiny; `make test` runs the three smokes).
bench: bench-deps
	$(SWIFT) build -c release --product streetsense-bench
	$(SWIFT) build -c release --product streetsense
	@$(SWIFT) --version 2>&1 | head -1
	"$$($(SWIFT) build -c release --show-bin-path)/streetsense-bench" alert-latency --rate 10000 --seconds 20
	"$$($(SWIFT) build -c release --show-bin-path)/streetsense-bench" alert-latency --rate 20000 --seconds 20
	"$$($(SWIFT) build -c release --show-bin-path)/streetsense-bench" end-to-end --sensors 40000 --minutes 30 --rounds 3
	"$$($(SWIFT) build -c release --show-bin-path)/streetsense-bench" store --sensors 40000 --readings 2000000 --reps 3
	"$$($(SWIFT) build -c release --show-bin-path)/streetsense-bench" http --sensors 40000 --rate 20000 --seconds 20 --connections 4
	$(MAKE) bench-core
	$(MAKE) bench-baseline

# Issue 5, row 7: the baselines users would write (Benchmarks/baseline): a paho-mqtt consumer with per-sensor windows
# next to `streetsense serve` on one mosquitto and trace (QoS 1 and 0), and pandas rolling windows next to
# `streetsense replay --offline` on one city-scale trace, after checking on a small trace that both give the same
# windows and densities. run.sh keeps the pinned PyPI packages (requirements.txt) in .build/baseline-venv.
bench-baseline: deps
	$(SWIFT) build -c release --product streetsense
	Benchmarks/baseline/run.sh --streetsense "$$($(SWIFT) build -c release --show-bin-path)/streetsense"

# The same with the debug build and tiny inputs, judging no timing; the equality check still fails the run (make test).
bench-baseline-smoke: test-deps
	$(SWIFT) build --product streetsense
	Benchmarks/baseline/run.sh --smoke --streetsense "$$($(SWIFT) build --show-bin-path)/streetsense"

check-config: build
	"$$($(SWIFT) build -c release --show-bin-path)/streetsense" check-config --config deploy/demo/streetsense.yaml

clean:
	rm -rf .build
