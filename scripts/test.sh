#!/usr/bin/env bash
# test.sh runs every test against real services: it makes the machine
# ready (setup.sh), starts PostgreSQL (postgres.sh), and runs the Go tests
# with the race detector. No test may skip for a missing service here.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin

scripts/setup.sh
url=$(scripts/postgres.sh | tail -n1)
export CONTAINERPUB_TEST_POSTGRES_URL=$url
export CONTAINERPUB_REQUIRE_SERVICES=1
go vet ./...
go test -race -count=1 -timeout 45m "$@" ./...
