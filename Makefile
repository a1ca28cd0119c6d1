# glusterrs — see README.md. Run as root on Debian 12.
#
#   make test    install packages, start glusterd if needed, run every test
#   make bench   reproduce the seed measurement on a local volume
#
# Knobs: TEST_THREADS (default 2), STALE_PREFIXES (name prefixes of volumes whose
# creating process died, removed before tests and benchmarks; default "grs gbench"), BENCH_ARGS (extra arguments for `glusterrs-bench run`), CLIENTS (hosts
# running `fio --server`, for bench-clients; unset: CLIENT_NS namespaces on a 3-node
# namespace cluster), CLUSTER (bench on an N-node namespace cluster), PEER_SETUPS/PEER_JOBS/PEER_SIZE/PEER_REPEAT/
# TMPFS_DIR (bench-peers), COMPAT_ARGS (extra arguments for `glusterrs-compat`),
# RPC_SETUPS/RPC_REPEAT/RPC_RESULTS (bench-rpc),
# PREFIX/DESTDIR for install.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

# rustup installs cargo here; make it work from a login shell without ~/.cargo/env.
export PATH := $(HOME)/.cargo/bin:$(PATH)

CARGO        ?= cargo
TEST_THREADS ?= 2
STALE_PREFIXES ?= grs gbench
PREFIX       ?= /usr/local
LIBDIR       ?= $(PREFIX)/lib
BENCH        := target/release/glusterrs-bench
ENGINE       := target/release/libglusterrs.so
CLUSTER_TOOL := $(CARGO) run --quiet -p glusterrs-cluster --bin glusterrs-cluster --
BENCH_ARGS   ?=
COMPAT       := target/release/glusterrs-compat
COMPAT_ARGS  ?=
# The fault suites (gfapi tests/faults.rs, ioengine and harness tests/faults/) each append one
# "cases tried, passed, failed" line; printed again at the end of the run.
FAULT_SUMMARY := echo; echo "== fault suite summary =="; \
  cat target/tmp/fault-suite-summary.txt 2>/dev/null || echo "(no fault suite ran)"
CLIENTS      ?=
CLIENT_NS    ?= 2
CLUSTER      ?=
PEER_SETUPS  ?= base,fuse,bypass,bypass-custom,rpc-bypass,gfapi,gfapi_async,qemu
PEER_JOBS    ?= jobs/seq-read.fio jobs/rand-read-4k.fio jobs/one-block.fio
PEER_SIZE    ?= 256m
PEER_REPEAT  ?= 3
TMPFS_DIR    ?= /dev/shm
RPC_SETUPS   ?= base,rpc-bypass,bypass
RPC_REPEAT   ?= 5
RPC_RESULTS  ?= results
RPC_DIRECT_JOBS   := jobs/seq-read.fio jobs/rand-read-4k.fio
RPC_BUFFERED_JOBS := jobs/seq-read-buffered.fio jobs/rand-read-4k-buffered.fio
# The CI gate (bench-smoke) and its baseline. 4 KiB random reads at iodepth 32 put the
# engine's per-I/O path in front; the seed job's ratios move with this VM's disk and are
# measured by `make bench`, not gated. 256 MiB keeps a 5-repeat run near 2 min on a busy
# machine. compare judges the per-repeat ratios to base statistically (REGRESSED when
# the 95 % interval of the change lies below -SMOKE_TOLERANCE and Mann-Whitney p < 0.05);
# results/PERFORMANCE.md has its false-alarm and detection figures for this profile.
SMOKE_PROFILE ?= --size 256m --no-plots \
  --setups base,fuse,bypass,bypass-custom,rpc-bypass jobs/rand-read-4k.fio
SMOKE_REPEAT ?= 5
BASELINE_REPEAT ?= 9
SMOKE_TOLERANCE ?= 0.10

.PHONY: deps deps-bench build test glusterd cleanup-stale install deb deb-test bench bench-smoke bench-baseline bench-peers bench-rpc bench-clients \
        faults cluster-faults compat layout clippy fmt fmt-check clean

## deps: Debian packages and the matching fio source (idempotent)
deps:
	scripts/deps.sh

## deps-bench: also QEMU's gluster driver for the qemu peer (may move qemu-utils to
## Debian 12's version, which the driver must match)
deps-bench: deps
	scripts/deps.sh --bench

## build: release build of the workspace; the fio engine is target/release/libglusterrs.so
build: deps
	$(CARGO) build --release --workspace

## glusterd: start glusterd unless one runs, wait until it answers
glusterd: deps
	$(CLUSTER_TOOL) ensure-glusterd

## cleanup-stale: remove volumes, mounts and brick trees left by crashed test runs
cleanup-stale: glusterd
	$(CLUSTER_TOOL) cleanup-stale $(STALE_PREFIXES)

## test: every unit and integration test, against the real local glusterd
test: deps glusterd cleanup-stale
	# cargo test does not produce the cdylib; the engine and harness tests load it.
	$(CARGO) build --workspace
	rm -f target/tmp/fault-suite-summary.txt
	st=0; $(CARGO) test --workspace --no-fail-fast -- --test-threads=$(TEST_THREADS) || st=$$?; \
	  $(FAULT_SUMMARY); exit $$st

## install: copy the fio engine to $(LIBDIR) and refresh the linker cache
install: build
	install -D -m 0755 $(ENGINE) $(DESTDIR)$(LIBDIR)/libglusterrs.so
	if [ -z "$(DESTDIR)" ]; then ldconfig; fi

## deb: Debian package target/deb/glusterrs_<version>_<arch>.deb (dpkg-deb): the engine
## under /usr/lib/<multiarch> (fio loads it by name), glusterrs-bench, jobs/ under
## /usr/share/glusterrs, man pages glusterrs-bench(1) (from clap) and libglusterrs(7)
## (from the engine's option table)
deb: build
	scripts/deb.sh

## deb-test: install the package, run a 1-block job through the engine by name on a
## volume of its own, remove the package and check nothing is left (CI runs it)
deb-test: deb glusterd
	scripts/deb-test.sh

## bench: the seed job on all seven setups and the qemu peer (results/<run>/, results/latest);
## CLUSTER=N: on a replica-N volume of an N-node cluster in network namespaces instead
bench: build deps-bench glusterd cleanup-stale
	$(BENCH) run $(if $(CLUSTER),--nodes $(CLUSTER) --replica $(CLUSTER)) $(BENCH_ARGS)

## bench-smoke: the CI performance gate: a few-minute profile whose per-repeat ratios to
## base are judged against results/baseline (recorded with the same profile by
## bench-baseline) with a Mann-Whitney U test and a bootstrap interval of the change.
## When a setup is flagged, the profile runs again and both runs are judged together.
## Writes verdicts.txt, verdicts.json and junit.xml into the run directory; exits 1 on
## a regression, 2 on bad input (compare's exit codes).
bench-smoke: build glusterd cleanup-stale
	@test -f results/baseline/results.csv || { \
	  echo "bench-smoke: results/baseline/results.csv missing; record one with 'make bench-baseline'" >&2; exit 2; }
	stamp=$$(date -u +%Y%m%dT%H%M%SZ); run=results/smoke-$$stamp; \
	$(BENCH) run --name smoke-$$stamp --repeat $(SMOKE_REPEAT) $(SMOKE_PROFILE) $(BENCH_ARGS); \
	st=0; $(BENCH) compare --tolerance $(SMOKE_TOLERANCE) --json $$run/verdicts.json \
	  --junit $$run/junit.xml results/baseline $$run | tee $$run/verdicts.txt || st=$$?; \
	if [ $$st = 1 ]; then \
	  echo "bench-smoke: measuring again; both runs are judged together"; \
	  mv $$run/junit.xml $$run/junit-first-run.xml; \
	  $(BENCH) run --name smoke-$$stamp-again --repeat $(SMOKE_REPEAT) $(SMOKE_PROFILE) $(BENCH_ARGS); \
	  st=0; $(BENCH) compare --tolerance $(SMOKE_TOLERANCE) --json $$run-again/verdicts.json \
	    --junit $$run-again/junit.xml results/baseline $$run $$run-again \
	    | tee $$run-again/verdicts.txt || st=$$?; \
	fi; \
	exit $$st

## bench-baseline: record results/baseline with the bench-smoke profile and more repeats
## (on a quiet machine; commit the directory)
bench-baseline: build glusterd cleanup-stale
	# The previous baseline stays in git: `git checkout results/baseline` brings it back.
	rm -rf results/baseline
	$(BENCH) run --name baseline --repeat $(BASELINE_REPEAT) $(SMOKE_PROFILE) $(BENCH_ARGS)
	@echo "bench-baseline: results/baseline recorded; review results/baseline/summary.md and commit it"

## bench-clients: drive load from several machines through fio's client/server mode;
## without CLIENTS, from CLIENT_NS (default 2) namespaces running `fio --server`
## against a replica-3 volume of a 3-node namespace cluster on this machine
bench-clients: build glusterd cleanup-stale
	if [ -n "$(CLIENTS)" ]; then \
	  $(BENCH) run --clients $(CLIENTS) $(BENCH_ARGS); \
	else \
	  $(BENCH) run --nodes 3 --replica 3 --client-namespaces $(CLIENT_NS) $(BENCH_ARGS); \
	fi

## bench-peers: libglusterrs against fio's gfapi engines, QEMU's gluster driver,
## FUSE and the brick itself (issue 7), on a disk brick and a tmpfs brick, plus
## the per-job fixed cost with warm caches; prints the targets as pass/fail
## (results/peers-*/peers.md). results/PERFORMANCE.md explains the numbers.
bench-peers: build deps-bench glusterd cleanup-stale
	stamp=$$(date -u +%Y%m%dT%H%M%SZ); \
	$(BENCH) run --name peers-disk-$$stamp --size $(PEER_SIZE) --repeat $(PEER_REPEAT) \
	  --setups $(PEER_SETUPS) $(BENCH_ARGS) $(PEER_JOBS); \
	$(BENCH) run --name peers-tmpfs-$$stamp --brick-dir $(TMPFS_DIR) --size $(PEER_SIZE) \
	  --repeat $(PEER_REPEAT) --setups $(PEER_SETUPS) $(BENCH_ARGS) $(PEER_JOBS); \
	$(BENCH) run --name peers-warm-$$stamp --no-drop-caches --repeat 5 --no-plots \
	  --setups base,bypass,bypass-custom,gfapi_async $(BENCH_ARGS) jobs/one-block.fio; \
	$(BENCH) peers results/peers-disk-$$stamp results/peers-tmpfs-$$stamp results/peers-warm-$$stamp

## bench-rpc: rpc-bypass (storage/posix inside fio) against fio's libaio on the same
## brick files (issue 12): the seed job and 4 KiB random reads, direct=1 after a cache
## drop and direct=0 with the page cache warm, on a disk brick and a tmpfs brick;
## prints the targets as PASS/FAIL with the ceiling of each failing one
## (results/rpc-*/rpc.md). results/PERFORMANCE.md explains the numbers.
bench-rpc: build glusterd cleanup-stale
	stamp=$$(date -u +%Y%m%dT%H%M%SZ); runs=; \
	for medium in disk tmpfs; do \
	  if [ $$medium = tmpfs ]; then brick="--brick-dir $(TMPFS_DIR)"; else brick=; fi; \
	  $(BENCH) run --results $(RPC_RESULTS) --name rpc-$$medium-direct-$$stamp $$brick --repeat $(RPC_REPEAT) --no-plots \
	    --setups $(RPC_SETUPS) $(BENCH_ARGS) $(RPC_DIRECT_JOBS); \
	  $(BENCH) run --results $(RPC_RESULTS) --name rpc-$$medium-buffered-$$stamp $$brick --repeat $(RPC_REPEAT) --no-plots \
	    --no-drop-caches --setups $(RPC_SETUPS) $(BENCH_ARGS) $(RPC_BUFFERED_JOBS); \
	  runs="$$runs $(RPC_RESULTS)/rpc-$$medium-direct-$$stamp $(RPC_RESULTS)/rpc-$$medium-buffered-$$stamp"; \
	done; \
	$(BENCH) rpc $$runs

## faults: the long fault suite (the quick part runs in `make test`)
faults: build glusterd cleanup-stale
	rm -f target/tmp/fault-suite-summary.txt
	st=0; GLUSTERRS_FAULTS=long $(CARGO) test --release --workspace --no-fail-fast \
	  -- --include-ignored --test-threads=1 fault || st=$$?; \
	  $(FAULT_SUMMARY); exit $$st

## cluster-faults: the engine against a 3-node GlusterFS cluster in network namespaces
## (glusterrs-cluster), slow cases included: failover, node killed or cut off mid-run on
## replica 3 and disperse 4+2, self-heal checked on the bricks, quorum lost
cluster-faults: deps glusterd cleanup-stale
	$(CARGO) build --workspace
	$(CARGO) test -p glusterrs-cluster --test multinode
	$(CARGO) test -p glusterrs --test multinode -- --include-ignored --test-threads=1 --nocapture

## layout: import cycles among each crate's modules and .rs files over 800 lines
## (scripts/check-layout; fails only for the crates it lists as done)
layout:
	scripts/check-layout

## compat: the differential suite against fio's gfapi_async and gfapi engines over every
## job variant (compat/src/variants.rs); the quick part runs in `make test`. Prints the
## table and `N passed, N failed`, and writes the table to docs/compat.md.
compat: build glusterd cleanup-stale
	$(COMPAT) --engine $(ENGINE) --markdown docs/compat.md $(COMPAT_ARGS)

## clippy: lints as CI runs them
clippy: deps
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## fmt: format the code; fmt-check: only check, as CI does
fmt:
	$(CARGO) fmt --all

fmt-check:
	$(CARGO) fmt --all -- --check

## clean: remove build output (leaves results/ and the installed packages alone)
clean:
	$(CARGO) clean
