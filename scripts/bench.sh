#!/usr/bin/env bash
# bench.sh runs the benchmarks of BENCHMARKS.md: it makes the machine
# ready, builds cpbench (bench/cpbench), and runs it against the backend
# and CLI binaries (`make bench` builds them first; this script builds
# them only when they are missing). cpbench starts its own backend on a
# fresh data directory and takes about seven minutes. The Markdown report
# goes to stdout and, when the run succeeds, to bench/results/latest.md;
# progress goes to stderr. Arguments are passed to cpbench (see
# `go run ./bench/cpbench -h`), for example -profile-dir DIR.
#
# CONTAINERPUB_BENCH_BIN names another directory holding
# dart_cloud_backend and dart_cloud, so that a benchmark can run binaries
# built elsewhere without touching bin/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin

scripts/setup.sh

bin=${CONTAINERPUB_BENCH_BIN:-bin}
if [[ ! -x $bin/dart_cloud_backend || ! -x $bin/dart_cloud ]]; then
	if [[ $bin != bin ]]; then
		echo "bench.sh: $bin lacks dart_cloud_backend or dart_cloud" >&2
		exit 1
	fi
	make build >&2
fi

go build -o "$bin/cpbench" ./bench/cpbench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p bench/results
# The report is written to the results only once the run has succeeded,
# so that a failed run leaves the last good report in place.
"$bin/cpbench" -backend "$bin/dart_cloud_backend" -cli "$bin/dart_cloud" -repo . "$@" | tee "$work/report.md"
cp "$work/report.md" bench/results/latest.md
echo "bench.sh: report written to bench/results/latest.md" >&2
