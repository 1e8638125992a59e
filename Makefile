# Two commands for a fresh Debian 12 machine (see README.md):
#   make demo   installs what is missing, builds, starts a node on loopback, queries it, stops it
#   make test   installs what is missing, builds, runs every test
SWIFT ?= swift
SWIFT_FLAGS ?=

.PHONY: deps build test demo bench bench-fleet accuracy fuzz clean

deps:
	./scripts/install-deps.sh

build: deps
	$(SWIFT) build $(SWIFT_FLAGS)

test: deps
	$(SWIFT) build --build-tests $(SWIFT_FLAGS)
	$(SWIFT) test --skip-build $(SWIFT_FLAGS)

demo: build
	./scripts/demo.sh

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
accuracy: deps
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
	rm -rf .build Fuzz/.build demo-run
