# Developer shortcuts. CI runs .ci/run, which is the source of truth.
GO ?= go
STATICCHECK_VERSION ?= v0.8.2
STATICCHECK := $(shell $(GO) env GOPATH)/bin/staticcheck

.PHONY: test lint bench demo fuzz layer

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

# Every fuzz target of the module, each for FUZZTIME (default 30s). Minimising
# a new input is capped: uncapped, it can take most of a short run.
FUZZTIME ?= 30s
fuzz:
	@for p in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$p | grep '^Fuzz'); do \
			echo "== $$p $$f"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 100x $$p || exit 1; \
		done; \
	done

# The extension as a Lambda layer for each architecture: dist/lambdaotel-extension-<arch>.zip
# with extensions/lambdaotel-extension inside (stripped, static).
ARCHS ?= amd64 arm64
layer:
	@mkdir -p dist
	@for a in $(ARCHS); do \
		GOOS=linux GOARCH=$$a CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o dist/lambdaotel-extension-$$a ./cmd/lambdaotel-extension || exit 1; \
		$(GO) run ./cmd/mklayer -exe dist/lambdaotel-extension-$$a -out dist/lambdaotel-extension-$$a.zip || exit 1; \
		echo "dist/lambdaotel-extension-$$a.zip ($$(stat -c %s dist/lambdaotel-extension-$$a) bytes stripped)"; \
	done
