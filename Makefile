# Tawasul — run `make help` for the targets.
.DEFAULT_GOAL := help
GO ?= go
export TAWASUL_DATA_DIR ?= $(CURDIR)/.tawasul

.PHONY: help run build test test-short fuzz lint assets db-stop clean-testdb bench-sms

help: ## Show the targets
	@awk -F ':.*## ' '/^[a-z][a-z_-]*:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: ## Start the whole service (private PostgreSQL unless DATABASE_URL is set; Twilio simulator unless TWILIO_ACCOUNT_SID is set)
	$(GO) run ./cmd/tawasul serve

build: ## Build bin/tawasul
	$(GO) build -trimpath -ldflags "-X tawasul/internal/app.Version=$$(git describe --always --dirty 2>/dev/null || echo dev)" -o bin/tawasul ./cmd/tawasul

test: ## Run every test with the race detector (fuzz seeds included)
	$(GO) test -race -count=1 ./...

test-short: ## Run the tests without the race detector
	$(GO) test -count=1 ./...

fuzz: ## Fuzz each parser for FUZZTIME (default 30s)
	@for t in $$(grep -rl 'func Fuzz' --include=*_test.go . | xargs -n1 dirname | sort -u); do \
		for f in $$(grep -ho 'func Fuzz[A-Za-z0-9_]*' $$t/*_test.go | sed 's/func //'); do \
			echo "== $$t $$f"; $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$${FUZZTIME:-30s} $$t || exit 1; \
		done; done

bench-sms: build ## Load-test the inbound-SMS webhook beside a same-run baseline (self-contained; flags in BENCH_FLAGS, see docs/benchmarks.md)
	bin/tawasul loadgen sms $(BENCH_FLAGS)

lint: ## gofmt, go vet
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...

assets: ## Re-vendor front-end libraries from npm into web/static/vendor (only for upgrades; the result is committed)
	cd web && npm ci && npm run vendor

db-stop: ## Stop the private development PostgreSQL
	$(GO) run ./cmd/tawasul devdb stop

clean-testdb: ## Stop and delete the shared test cluster (it is recreated by the next test run)
	@d=$${TMPDIR:-/tmp}/tawasul-test-pg-$$(id -u); \
	bin=$${PG_BINDIR:-$$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}; \
	ctl() { if [ "$$(id -u)" = 0 ]; then runuser -u postgres -- $${bin:+$$bin/}pg_ctl "$$@"; else $${bin:+$$bin/}pg_ctl "$$@"; fi; }; \
	if [ -f $$d/cluster/postmaster.pid ] && ! ctl stop -m fast -D $$d/cluster; then \
		ctl status -D $$d/cluster >/dev/null 2>&1; \
		if [ $$? -ne 3 ]; then echo "could not stop the test cluster in $$d/cluster; left it in place"; exit 1; fi; \
	fi; \
	rm -rf $$d
