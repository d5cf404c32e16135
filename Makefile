# StreetSense — two commands on a fresh Debian 12 machine with Swift:
#   make run    installs what is missing, builds release, starts broker + service + festival scenario
#   make test   installs what is missing and runs every test
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Debian packages the build and the tests need (the tests start a real mosquitto).
DEBIAN_PACKAGES := mosquitto mosquitto-clients libmosquitto-dev libsqlite3-dev sqlite3 pkg-config openssl
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SWIFT ?= swift
PORT ?= 8080

.PHONY: help deps build build-debug run test check-config clean

help:
	@echo "make run     install missing packages, build release, run 'streetsense demo' (dashboard URL printed)"
	@echo "make test    install missing packages and run every test"
	@echo "make build   release build only"

# Installs only what is missing; apt-get update runs only when something must be installed.
deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
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

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

check-config: build
	"$$($(SWIFT) build -c release --show-bin-path)/streetsense" check-config --config deploy/demo/streetsense.yaml

clean:
	rm -rf .build
