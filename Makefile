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

.PHONY: deps deps-build deps-demo build release test sanitize sanitize-asan sanitize-tsan demo demo-check install uninstall bench bench-fleet accuracy fuzz clean

deps:
	./scripts/install-deps.sh test
deps-build:
	./scripts/install-deps.sh build
deps-demo:
	./scripts/install-deps.sh demo

build: deps-build
	$(SWIFT) build $(SWIFT_FLAGS)

# Optimised binaries for deployment (what `make install` copies).
release: deps-build
	$(SWIFT) build -c release --product fleetnode $(SWIFT_FLAGS)
	$(SWIFT) build -c release --product fleetctl $(SWIFT_FLAGS)

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
# SWIFT_BACKTRACE=enable=no: Swift's own crash handler would catch a sanitizer's abort, trip over ASan itself
# (memserver_read) and leave the process hanging instead of exiting.
ASAN_ENV = SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/sanitizers/lsan.supp:print_suppressions=0
TSAN_ENV = SWIFT_BACKTRACE=enable=no TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:history_size=4:suppressions=$(CURDIR)/scripts/sanitizers/tsan.supp
sanitize: sanitize-asan sanitize-tsan
sanitize-asan: deps
	$(SWIFT) build --build-tests --scratch-path .build-asan --sanitize=address $(SWIFT_FLAGS)
	$(ASAN_ENV) $(SWIFT) test --skip-build --scratch-path .build-asan --sanitize=address $(SANITIZE_FILTER) $(SWIFT_FLAGS)
sanitize-tsan: deps
	$(SWIFT) build --build-tests --scratch-path .build-tsan --sanitize=thread $(SWIFT_FLAGS)
	$(TSAN_ENV) $(SWIFT) test --skip-build --scratch-path .build-tsan --sanitize=thread $(SANITIZE_FILTER) $(SWIFT_FLAGS)

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
	./scripts/install.sh "$$($(SWIFT) build -c release --show-bin-path)" "$(DESTDIR)" "$(PREFIX)" "$(SYSCONFDIR)" "$(UNITDIR)"
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/fleetnode $(DESTDIR)$(PREFIX)/bin/fleetctl $(DESTDIR)$(UNITDIR)/fleetnode.service
	rm -rf $(DESTDIR)$(PREFIX)/lib/fleetctl $(DESTDIR)$(PREFIX)/share/doc/fleetnode $(DESTDIR)$(UNITDIR)/fleetnode.service.d/system-clock.conf.example

# Throughput against chronyd in the same run (release build; prints ratios). Not part of `make test`.
bench: deps
	$(SWIFT) build -c release --product fleetnode
	$(SWIFT) build -c release --product ntp-server-load
	taskset -c 0 "$$($(SWIFT) build -c release --show-bin-path)/ntp-server-load"
	$(SWIFT) build -c release --product nts-server-load
	taskset -c 0 "$$($(SWIFT) build -c release --show-bin-path)/nts-server-load"

# fleetctl health over 50 real nodes on loopback: wall time, CPU and memory of the sweep. Not part of `make test`.
bench-fleet: deps
	$(SWIFT) build -c release --product fleetnode
	$(SWIFT) build -c release --product fleetctl
	$(SWIFT) build -c release --product fleet-sweep
	"$$($(SWIFT) build -c release --show-bin-path)/fleet-sweep"

# Timekeeping accuracy in seeded simulation, per scenario, with the regression discipline against an RFC 5905
# PLL/FLL in the same run (ratios). Not part of `make test` (the tests assert the targets).
accuracy: deps-build
	$(SWIFT) build -c release --product accuracy
	"$$($(SWIFT) build -c release --show-bin-path)/accuracy"

# libFuzzer over the packet parser and server rules, over the timekeeping core and leap-file parsers, and over
# NTS-KE's record stream, request handling and response parsing (FUZZ_SECONDS each, default 60; new inputs go to
# Fuzz/corpus-*, the committed seeds are read from Fuzz/seeds/<target>). Not part of `make test`.
FUZZ_SECONDS ?= 60
fuzz:
	cd Fuzz && $(SWIFT) build -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
	mkdir -p Fuzz/corpus
	Fuzz/.build/debug/fuzz-ntp -max_total_time=$(FUZZ_SECONDS) -max_len=1500 Fuzz/corpus
	mkdir -p Fuzz/corpus-time
	Fuzz/.build/debug/fuzz-time -max_total_time=$(FUZZ_SECONDS) -max_len=4096 Fuzz/corpus-time
	mkdir -p Fuzz/corpus-gps
	Fuzz/.build/debug/fuzz-gps -max_total_time=$(FUZZ_SECONDS) -max_len=4096 Fuzz/corpus-gps
	for target in fuzz-ntske-records fuzz-ntske-request fuzz-ntske-response; do \
		mkdir -p Fuzz/corpus-$${target#fuzz-} && \
		Fuzz/.build/debug/$$target -max_total_time=$(FUZZ_SECONDS) -max_len=8192 Fuzz/corpus-$${target#fuzz-} Fuzz/seeds/$$target || exit 1; \
	done

clean:
	rm -rf .build .build-asan .build-tsan Fuzz/.build demo-run install-root
