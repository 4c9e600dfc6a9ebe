# Oxygen: orchestrate + oxygen over one SQLite store.
GO      ?= go
BIN     ?= bin
PREFIX  ?= $(HOME)/.local
export CGO_ENABLED = 0

.PHONY: all build test demo bench install vet fmt clean

all: build

build:
	$(GO) build -trimpath -o $(BIN)/ ./cmd/orchestrate ./cmd/oxygen

test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 12m ./...

demo: build
	./scripts/demo.sh

bench: build
	$(GO) test -run '^$$' -bench . -benchtime 200x ./workflow/
	./scripts/bench-processes.sh

install: build
	mkdir -p $(PREFIX)/bin
	install -m 0755 $(BIN)/orchestrate $(BIN)/oxygen $(PREFIX)/bin/

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(BIN)
