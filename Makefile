# smolvm — build, test and lint targets. `make help` lists them.
SHELL := /bin/bash
GO ?= go
BIN := bin
GOLANGCI_VERSION := v2.15.0
# Host packages the build and the tests need (Debian/Ubuntu names).
APT_PACKAGES := qemu-system-x86 qemu-utils busybox-static e2fsprogs openssh-client \
	dash bash kmod iproute2 nftables ca-certificates openssh-server python3
FUZZTIME ?= 20s

.PHONY: help build agent setup demo test test-unit lint fuzz bench clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: ## build bin/smolvm and bin/smolvm-agent
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/smolvm ./cmd/smolvm
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o $(BIN)/smolvm-agent ./cmd/smolvm-agent

setup: ## install the host packages smolvm and its tests need (idempotent, needs root)
	@missing=""; for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(if $(filter 0,$(shell id -u)),,sudo) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "host packages present"; fi
	@# The image builder resolves the kernel package with apt-cache: it needs package lists.
	@ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1 || $(if $(filter 0,$(shell id -u)),,sudo) apt-get update -qq

demo: setup build ## boot a VM, inject an env var, run a command, print the result
	$(BIN)/smolvm run --env APP_MODE=production -- 'echo "APP_MODE=$$APP_MODE"; uname -a'

test: build ## run every test, real-VM tests included
	$(GO) test -count=1 -timeout 45m ./...

test-unit: ## run the tests that boot no VM
	SMOLVM_SKIP_VM=1 $(GO) test -count=1 -short ./...

lint: ## gofmt, go vet, golangci-lint
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION) run ./...

fuzz: ## run every fuzz target for FUZZTIME each
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

bench: build ## run the benchmark harness (bench/): Markdown table, bench/results.json; BENCHFLAGS=-quick for a smoke run
	$(GO) run ./bench -out bench/results.json $(BENCHFLAGS)

clean: ## remove build outputs
	rm -rf $(BIN)
