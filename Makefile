# Oxygen: orchestrate + oxygen over one SQLite store.
GO      ?= go
BIN     ?= bin
PREFIX  ?= $(HOME)/.local
COVER   ?= coverage
export CGO_ENABLED = 0

.PHONY: all build test cover demo bench bench-scale install install-server vet fmt clean

all: build

# oxygen-pg and orchestrate-pg are the same tools with the PostgreSQL
# driver (the serverstore tag): oxygen and orchestrate leave it out to
# start faster, and hand a command to them when a store is on a server.
build:
	$(GO) build -trimpath -o $(BIN)/ ./cmd/orchestrate ./cmd/oxygen ./cmd/oxygen-mcp ./cmd/orchestrate-dashboard
	$(GO) build -trimpath -tags serverstore -o $(BIN)/oxygen-pg ./cmd/oxygen
	$(GO) build -trimpath -tags serverstore -o $(BIN)/orchestrate-pg ./cmd/orchestrate

test:
	$(GO) vet ./...
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
		echo "SKIP: TestDashboardInABrowser: Chromium is not installed (apt-get install chromium); the dashboard's HTTP tests still run"
	@[ -n "$$OXYGEN_TEST_POSTGRES_URL" ] || \
		echo "SKIP: PostgreSQL store tests and the e2e PostgreSQL pass: OXYGEN_TEST_POSTGRES_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)"
	$(GO) test -count=1 -timeout 18m ./...

# cover runs the same tests as test, with coverage: the unit tests write
# theirs to $(COVER)/unit, and the real binaries the e2e tests run (always
# built with -cover) write theirs to $(COVER)/e2e through GOCOVERDIR. It
# prints each package's share, merged, then the total; the profile is left
# in $(COVER)/cover.out for go tool cover -html.
cover:
	rm -rf $(COVER) && mkdir -p $(COVER)/unit $(COVER)/e2e
	$(GO) test -count=1 -timeout 18m -cover -coverpkg=./... $$($(GO) list ./... | grep -v /e2e$$) -args -test.gocoverdir=$(abspath $(COVER))/unit
	GOCOVERDIR=$(abspath $(COVER))/e2e $(GO) test -count=1 -timeout 18m ./e2e/
	$(GO) tool covdata percent -i=$(COVER)/unit,$(COVER)/e2e
	$(GO) tool covdata textfmt -i=$(COVER)/unit,$(COVER)/e2e -o $(COVER)/cover.out
	$(GO) tool cover -func=$(COVER)/cover.out | tail -n 1

demo: build
	./scripts/demo.sh

bench: build
	$(GO) test -run '^$$' -bench . -benchtime 200x ./workflow/
	$(GO) test -run '^$$' -bench . -benchtime 5x ./capsules/
	$(GO) test -run '^$$' -bench . -benchtime 50x ./internal/dashboard/
	./scripts/bench-processes.sh
	./scripts/bench-hook.sh
	./scripts/bench-claim-files.sh

# bench-scale times commands on generated stores of growing size (see
# scripts/bench-scale.sh); the stores are cached, so only the first run
# generates them. With BENCH_STORE_URL=postgres://... it runs on a server
# store: each store is copied there with orchestrate store migrate, the
# results go to results-postgres.tsv and growth-postgres.svg, and the
# schemas it creates are dropped at exit (psql needed).
SCALE_ROUNDS ?= 11
SCALE_SIZES  ?= 1000 10000 100000
bench-scale: build
	./scripts/bench-scale.sh $(SCALE_ROUNDS) $(SCALE_SIZES)

install: build
	mkdir -p $(PREFIX)/bin
	install -m 0755 $(BIN)/orchestrate $(BIN)/oxygen $(BIN)/orchestrate-pg $(BIN)/oxygen-pg $(BIN)/oxygen-mcp $(BIN)/orchestrate-dashboard $(PREFIX)/bin/

# install-server is install for a machine whose repositories keep their
# stores on a server: the server builds go in under the plain names too, so
# no command pays for a hand-off (SQLite stores still work, starting a
# little slower).
install-server: install
	install -m 0755 $(BIN)/orchestrate-pg $(PREFIX)/bin/orchestrate
	install -m 0755 $(BIN)/oxygen-pg $(PREFIX)/bin/oxygen

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(BIN)
