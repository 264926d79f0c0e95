# ContainerPub: run `make help` for the targets.
GO ?= go
export PATH := $(PATH):/usr/local/go/bin

.PHONY: help build test lint bench demo fmt

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

build: ## build bin/dart_cloud_backend and bin/dart_cloud
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/ ./cmd/dart_cloud_backend ./cmd/dart_cloud

test: ## install what the tests need, start PostgreSQL, run every test (needs root)
	scripts/test.sh

lint: ## run golangci-lint
	golangci-lint run ./...

bench: build ## run the benchmarks of BENCHMARKS.md
	scripts/bench.sh

demo: ## set up, start the backend, deploy examples/hello and call it
	scripts/demo.sh

fmt: ## format the code
	gofmt -w $$(git ls-files '*.go')
