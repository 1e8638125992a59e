# Two commands for a fresh Debian 12 machine (see README.md):
#   make demo   installs what the demo needs (never a time daemon), builds, runs a three-node fleet on loopback
#   make test   installs what the tests need (refuses to replace a running time service unless CI=true or
#               FLEET_ALLOW_TIME_SERVICE_REMOVAL=yes), builds, runs every test
SWIFT ?= swift
SWIFT_FLAGS ?=
# SwiftPM leaves TemporaryDirectory.* folders in TMPDIR, and the tests make theirs there (gpsfake's sockets, test
# PKI): all of it goes to .build/tmp, never /tmp.
export TMPDIR := $(CURDIR)/.build/tmp
$(shell mkdir -p $(CURDIR)/.build/tmp)

.PHONY: deps deps-build deps-demo build release test sanitize sanitize-asan sanitize-tsan demo demo-check install uninstall bench bench-fleet soak soak-check accuracy fuzz clean

deps:
	./scripts/install-deps.sh test
deps-build:
	./scripts/install-deps.sh build
deps-demo:
	./scripts/install-deps.sh demo

build: deps-build
	$(SWIFT) build $(SWIFT_FLAGS)

# Optimised binaries for deployment (what `make install` copies). The Swift runtime and Foundation are linked in
# (--static-swift-stdlib): a node (a Raspberry Pi) needs the system libraries below, not a Swift toolchain.
RELEASE_FLAGS ?= -c release --static-swift-stdlib
release: deps-build
	$(SWIFT) build $(RELEASE_FLAGS) --product fleetnode $(SWIFT_FLAGS)
	$(SWIFT) build $(RELEASE_FLAGS) --product fleetctl $(SWIFT_FLAGS)

test: deps
	$(SWIFT) build --build-tests $(SWIFT_FLAGS)
	$(SWIFT) test --skip-build $(SWIFT_FLAGS)
	./scripts/check-deploy.sh
	$(MAKE) demo-check
	rm -rf .build/tmp/*

# The test suite under AddressSanitizer and under ThreadSanitizer (not part of `make test`: each is a full
# build of its own, in .build-asan and .build-tsan, and runs several times slower). SwiftPM's --sanitize
# instruments our C shims as well as the Swift code; the fleetnode processes the tests start are the
# instrumented build too and inherit the options. A finding fails the run: ASan stops at the first error,
# TSan at the first race (halt_on_error=1); leaks are reported too (detect_leaks=1). Third-party false
# positives only go in scripts/sanitizers/*.supp, each with its reason.
#   make sanitize                                   every test, both sanitizers
#   make sanitize FILTER='NTPCoreTests|ServingTests' the tests swift test --filter selects
#   make sanitize-asan / make sanitize-tsan         one of them
FILTER ?=
SANITIZE_FILTER = $(if $(FILTER),--filter '$(FILTER)',)
# Under ThreadSanitizer code runs 5-15 times slower, under AddressSanitizer 2-3 times: tests that assert a
# time or rate bound measure the sanitizer, not us, and are skipped there (only those; what they exercise
# beside speed is covered by other tests that do run):
# - TSan: a million rate-limiter checks within 5 s, interleaved delays under 1 ms, clients served within 1 s
#   while a connection flood holds the listeners (*UnderConnectionFlood), the soak smoke's session and
#   answer rates (SoakSmokeTests), and the rate-limit test's leak ratio read with 20 ms receive deadlines
#   (a reply later than that is taken for the next request's: origin 0x109 where 0x10a was sent).
# - ASan: the connection-flood tests (*UnderConnectionFlood: 99 of 100 NTS-KE sessions, admin API requests
#   or metrics scrapes within 1 s each, and the node's memory within a bound that ASan's shadow memory and
#   quarantine exceed: 537 MB against 231 MB), and the rate-limit test's leak ratio, read with 20 ms
#   receive deadlines (replies later than that count as dropped).
TSAN_SKIP = --skip 'testSprayOfAMillionSpoofedAddressesStaysBoundedAndFast|InterleavedInteropTests|UnderConnectionFlood|SoakSmokeTests|testRateLimitAnswersBurstThenLimitsWithKissOfDeath'
ASAN_SKIP = --skip 'UnderConnectionFlood|testRateLimitAnswersBurstThenLimitsWithKissOfDeath'
# Reports of every instrumented process (the test process and the fleetnode/fleetctl processes the tests
# start, which inherit these options) go to files in ASAN_REPORTS / TSAN_REPORTS (log_path: one file per
# process, report.PROGRAM.PID), so that a finding in a child process is never lost in a pipe nobody reads
# or in a test that only checks the exit status. After the run any report fails the target and is printed.
# The folder is world-writable (sticky) for nodes that drop to another user.
ASAN_REPORTS = $(CURDIR)/.build-asan/sanitizer-reports
TSAN_REPORTS = $(CURDIR)/.build-tsan/sanitizer-reports
# SWIFT_BACKTRACE=enable=no: Swift's own crash handler would catch a sanitizer's abort, trip over ASan itself
# (memserver_read) and leave the process hanging instead of exiting.
ASAN_ENV = SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:log_exe_name=1:log_path=$(ASAN_REPORTS)/report \
	LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/sanitizers/lsan.supp:print_suppressions=0
TSAN_ENV = SWIFT_BACKTRACE=enable=no TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:history_size=4:suppressions=$(CURDIR)/scripts/sanitizers/tsan.supp:log_exe_name=1:log_path=$(TSAN_REPORTS)/report
# $(call sanitizer_reports,FOLDER,STATUS): prints every report in FOLDER and fails if there is one or if
# the test run failed (STATUS). Before it, kill-orphans.sh kills (by PID) any process still running a program
# of that scratch path (a node a test process aborted by a sanitizer could not stop) and fails the run if
# there was one.
sanitizer_reports = status=$(2); reports=$$(ls $(1)/report* 2>/dev/null); \
	if [ -n "$$reports" ]; then for r in $$reports; do echo "=== $$r"; cat "$$r"; done; \
	echo "sanitizer: $$(echo $$reports | wc -w) report(s) in $(1)"; exit 1; fi; exit $$status
sanitize: sanitize-asan sanitize-tsan
sanitize-asan: deps
	$(SWIFT) build --build-tests --scratch-path .build-asan --sanitize=address $(SWIFT_FLAGS)
	rm -rf $(ASAN_REPORTS) && mkdir -p $(ASAN_REPORTS) && chmod 1777 $(ASAN_REPORTS)
	$(ASAN_ENV) $(SWIFT) test --skip-build --scratch-path .build-asan --sanitize=address $(SANITIZE_FILTER) $(ASAN_SKIP) $(SWIFT_FLAGS); \
	status=$$?; ./scripts/sanitizers/kill-orphans.sh .build-asan || status=1; \
	$(call sanitizer_reports,$(ASAN_REPORTS),$$status)
sanitize-tsan: deps
	$(SWIFT) build --build-tests --scratch-path .build-tsan --sanitize=thread $(SWIFT_FLAGS)
	rm -rf $(TSAN_REPORTS) && mkdir -p $(TSAN_REPORTS) && chmod 1777 $(TSAN_REPORTS)
	$(TSAN_ENV) $(SWIFT) test --skip-build --scratch-path .build-tsan --sanitize=thread $(SANITIZE_FILTER) $(TSAN_SKIP) $(SWIFT_FLAGS); \
	status=$$?; ./scripts/sanitizers/kill-orphans.sh .build-tsan || status=1; \
	$(call sanitizer_reports,$(TSAN_REPORTS),$$status)

# The demo end to end, briefly (CI): it must finish, print its tour, and leave no process behind.
demo-check:
	DEMO_SECONDS=1 ./scripts/demo.sh >.build/demo-check.log 2>&1 || { tail -n 40 .build/demo-check.log; exit 1; }
	grep -q 'finished: sibling symmetric keys rotated' .build/demo-check.log || { cat .build/demo-check.log; exit 1; }
	grep -q 'ntp3 serves stratum 2' .build/demo-check.log || { cat .build/demo-check.log; exit 1; }
	! pgrep -f "$(CURDIR)/demo-run/ntp[1-3]/fleetnode.tom[l]|demo-gps-feede[r]" >/dev/null || { echo "demo-check: processes left behind"; exit 1; }
	@echo "demo-check: OK"


# The demo builds itself (it says first how long a first build takes).
demo: deps-demo
	./scripts/demo.sh

# make install [PREFIX=/usr/local] [DESTDIR=...]: binaries, the systemd unit (+ the system-clock drop-in, not
# enabled), an example configuration (never over an existing one), the certbot hook and the docs.
PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
UNITDIR ?= /etc/systemd/system
install: release
	./scripts/install.sh "$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)" "$(DESTDIR)" "$(PREFIX)" "$(SYSCONFDIR)" "$(UNITDIR)"
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/fleetnode $(DESTDIR)$(PREFIX)/bin/fleetctl $(DESTDIR)$(UNITDIR)/fleetnode.service
	rm -rf $(DESTDIR)$(PREFIX)/lib/fleetctl $(DESTDIR)$(PREFIX)/share/doc/fleetnode $(DESTDIR)$(UNITDIR)/fleetnode.service.d/system-clock.conf.example

# Load, precision and CPU against chronyd in the same run (release build; prints node/chronyd ratios; see
# README "Benchmarks"). Not part of `make test`. On a machine loaded by other work the servers starve at
# normal priority: BENCH_PREFIX="chrt -f 10 taskset -c 0" runs the generator and the servers it starts as
# SCHED_FIFO (root), all alike.
BENCH_PREFIX ?= taskset -c 0
bench: deps
	$(SWIFT) build -c release --product fleetnode
	$(SWIFT) build -c release --product ntp-server-load
	$(BENCH_PREFIX) "$$($(SWIFT) build -c release --show-bin-path)/ntp-server-load"
	$(SWIFT) build -c release --product nts-server-load
	$(BENCH_PREFIX) "$$($(SWIFT) build -c release --show-bin-path)/nts-server-load"

# fleetctl health over 50 real nodes on loopback: wall time, CPU and memory of the sweep. Not part of `make test`.
bench-fleet: deps
	$(SWIFT) build -c release --product fleetnode
	$(SWIFT) build -c release --product fleetctl
	$(SWIFT) build -c release --product fleet-sweep
	"$$($(SWIFT) build -c release --show-bin-path)/fleet-sweep"

# The soak (issue 14): two real nodes on loopback, half of ntp1's lossless rate as plain + NTS load, good NTS-KE
# clients, a connection-slot attacker, a cookie and a symmetric-key rotation through fleetctl in the middle;
# ntp1 sampled every 10 s (memory, descriptors, threads, CPU, counters) and judged at the end (exit 1 when memory
# or descriptors rise, authentication failed, or an error counter rose without a known cause), with a plot.
# SOAK_MINUTES (30), SOAK_RATE (default: measured), SOAK_BUILD (debug|release); see scripts/soak.sh. Everything
# is in .build/soak-run. soak-check is the same end to end in 90 s. Not part of `make test`.
SOAK_MINUTES ?= 30
soak:
	./scripts/install-deps.sh bench
	SOAK_MINUTES=$(SOAK_MINUTES) ./scripts/soak.sh
soak-check:
	SOAK_SECONDS=90 ./scripts/soak.sh

# Timekeeping accuracy in seeded simulation, per scenario, with the regression discipline against an RFC 5905
# PLL/FLL in the same run (ratios). Not part of `make test` (the tests assert the targets).
accuracy: deps-build
	$(SWIFT) build -c release --product accuracy
	"$$($(SWIFT) build -c release --show-bin-path)/accuracy"

# libFuzzer, one target after the other, FUZZ_SECONDS each (default 60): NTP packets and server rules, the
# timekeeping core, GPS dates, NTS-KE's record stream, request handling and response parsing, NTS cookies and
# the cookie key file, the node's TOML configuration and the fleet inventory, chrony key files, leap-second
# files, gpsd's JSON through libgps (list: FUZZ_TARGETS; Fuzz/Package.swift says what each covers). The
# targets' bodies are Tests/FuzzHarness; the committed seeds (Fuzz/seeds/<target>) are replayed in `make test`
# by FuzzSeedTests, and read here with the new inputs in Fuzz/corpus-<target> (not committed). Swift and C
# (toml++, our C shims) are instrumented; a crash, a hang over 10 s or 2 GB of memory stops the run with the
# input saved as Fuzz/crash-*, timeout-* or oom-*. fuzz-config runs without leak detection: TOMLKit 0.6.0 leaks
# every parsed table (LebJe/TOMLKit#26). SWIFT_BACKTRACE is off so that libFuzzer reports crashes. Not part
# of `make test`.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= fuzz-ntp fuzz-time fuzz-gps fuzz-ntske-records fuzz-ntske-request fuzz-ntske-response \
	fuzz-cookie fuzz-config fuzz-keyfile fuzz-leapfile fuzz-gpsd-json
FUZZ_BUILD_FLAGS = -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library \
	-Xcc -fsanitize=fuzzer-no-link,address -Xcxx -fsanitize=fuzzer-no-link,address
fuzz:
	cd Fuzz && $(SWIFT) build $(FUZZ_BUILD_FLAGS)
	for target in $(FUZZ_TARGETS); do \
		mkdir -p Fuzz/corpus-$${target#fuzz-} && \
		(cd Fuzz && SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=$$(test $$target = fuzz-config && echo 0 || echo 1) .build/debug/$$target -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
			$$(test -f dicts/$$target.dict && echo -dict=dicts/$$target.dict) \
			corpus-$${target#fuzz-} seeds/$$target) || exit 1; \
	done

clean:
	rm -rf .build .build-asan .build-tsan Fuzz/.build demo-run install-root
