# Developer shortcuts. CI runs .ci/run, which is the source of truth.
GO ?= go
STATICCHECK_VERSION ?= v0.8.2
STATICCHECK := $(shell $(GO) env GOPATH)/bin/staticcheck

.PHONY: test lint bench demo fuzz

test:
	$(GO) test -race ./...

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	@test -x $(STATICCHECK) || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$(STATICCHECK) ./...

bench:
	$(GO) test -run '^$$' -bench . -benchtime 5000x ./lambdasim

demo:
	$(GO) run ./cmd/lambdasim demo

# Each fuzz target for FUZZTIME (default 30s).
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzReadEvents$$' -fuzztime $(FUZZTIME) ./lambdasim
	@for f in $$($(GO) test -list '^Fuzz' ./lambdaapi | grep ^Fuzz); do \
		$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) ./lambdaapi || exit 1; done
