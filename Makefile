# Two commands for a fresh Debian 12 machine (see README.md):
#   make demo   installs what is missing, builds, starts a node on loopback, queries it, stops it
#   make test   installs what is missing, builds, runs every test
SWIFT ?= swift
SWIFT_FLAGS ?=

.PHONY: deps build test demo clean

deps:
	./scripts/install-deps.sh

build: deps
	$(SWIFT) build $(SWIFT_FLAGS)

test: deps
	$(SWIFT) build --build-tests $(SWIFT_FLAGS)
	$(SWIFT) test --skip-build $(SWIFT_FLAGS)

demo: build
	./scripts/demo.sh

clean:
	rm -rf .build demo-run
