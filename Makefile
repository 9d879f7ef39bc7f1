# Socorro in Rust. `make run` starts the pipeline; `make test` runs every test.
SHELL := /bin/bash
CARGO ?= cargo
# Build profile of `make run` / `make demo`: release for users; CI sets dev.
PROFILE ?= release
# Features of the test build (the UI tests in headless Chromium): `make test`,
# clippy and the feature check must all see the same build.
TEST_FEATURES := webapp/ui-test,socorro/ui-test

.PHONY: help run demo test lint fmt clippy feature-check docs docs-api bench bench-collector bench-processor bench-search bench-webapp bench-e2e screenshots setup clean

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' Makefile | sed 's/:.*## /\t/'

run:  ## build and run the whole pipeline on embedded defaults (data under ./data)
	$(CARGO) run --profile $(PROFILE) -p socorro --bin socorro -- run

demo:  ## submit the real crashes of ../shared/testdata to a running `make run` (collector on :8800)
	$(CARGO) run --profile $(PROFILE) -p socorro --bin socorro -- demo

setup:  ## install and start what the tests need: PostgreSQL (when none runs), Ceph RGW (S3), the Pub/Sub emulator, osmem, Chromium
	@bash scripts/setup.sh

test: setup  ## run every test (nextest), against real embedded and server backends; stops the S3 server after
	@source scripts/test-env.sh && $(CARGO) nextest run --workspace --features $(TEST_FEATURES) --no-fail-fast; \
	  status=$$?; bash scripts/s3-test.sh stop >/dev/null; exit $$status

lint: fmt-check clippy feature-check  ## rustfmt check + clippy -D warnings + run/test feature parity

fmt-check:
	$(CARGO) fmt --all -- --check

fmt:  ## format the code
	$(CARGO) fmt --all

feature-check:  ## `make run` reuses what `make test` compiled (no crates.io feature differs)
	@python3 scripts/feature-check.py $(TEST_FEATURES)

clippy:
	$(CARGO) clippy --workspace --all-targets --features $(TEST_FEATURES) -- -D warnings

docs:  ## build the mdBook (installing mdbook into target/tools) and check its internal links
	@bash scripts/docs-check.sh

docs-api:  ## rustdoc of every crate
	$(CARGO) doc --workspace --no-deps

bench: bench-collector bench-processor bench-search bench-webapp bench-e2e  ## every benchmark

bench-collector:  ## collector throughput vs the disk's fsync ceiling (wrk, 32 connections, 20 s)
	@bash scripts/bench-collector.sh

bench-processor:  ## processor CPU s/crash vs bare minidump-stackwalk on the corpus dumps (target ratio <= 1.1)
	@bash scripts/bench-processor.sh

bench-search:  ## index 1M synthetic crashes (docs/s), mixed Super Search queries p50/p99
	@bash scripts/bench-search.sh

bench-webapp:  ## page server time on a 100,000-crash embedded data set (budget 100 ms)
	@bash scripts/bench-webapp.sh

bench-e2e: setup  ## submit->searchable latency p50/p99 of the corpus through `socorro run` (release; target p50 < 1 s)
	@source scripts/test-env.sh && $(CARGO) nextest run --release -p socorro --features ui-test --test e2e --no-capture

screenshots: setup  ## headless Chromium UI test, writing the docs' screenshots to docs/src/img
	@source scripts/test-env.sh && SOCORRO_UI_SCREENSHOTS=$(CURDIR)/docs/src/img $(CARGO) nextest run -p webapp -p socorro --features $(TEST_FEATURES) --test ui --test e2e

clean:  ## remove build output and ./data (stopping the test S3 server first)
	-bash scripts/s3-test.sh stop
	$(CARGO) clean
	rm -rf data docs/book
