#!/usr/bin/env bash
# demo.sh is the main job on the embedded defaults, from a fresh machine:
# make it ready, build the binaries, start the backend (SQLite, and a
# Podman service it starts itself), register a demo account, deploy
# examples/hello with the CLI, and call it with curl. The backend keeps
# running afterwards; the script prints how to use and stop it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin

scripts/setup.sh
echo "building bin/dart_cloud_backend and bin/dart_cloud" >&2
CGO_ENABLED=0 go build -trimpath -o bin/ ./cmd/dart_cloud_backend ./cmd/dart_cloud

data=${CONTAINERPUB_DATA_DIR:-$HOME/.local/share/containerpub}
addr=${CONTAINERPUB_ADDR:-127.0.0.1:8080}
url=http://$addr
mkdir -p "$data"
log=$data/backend.log

pid=
if curl -fsS "$url/healthz" >/dev/null 2>&1; then
	echo "a backend already answers on $url: using it" >&2
else
	echo "starting the backend on $url (log: $log)" >&2
	CONTAINERPUB_DATA_DIR=$data CONTAINERPUB_ADDR=$addr \
		nohup bin/dart_cloud_backend >>"$log" 2>&1 &
	pid=$!
	echo "$pid" >"$data/backend.pid"
fi
for _ in $(seq 1 300); do
	curl -fsS "$url/readyz" >/dev/null 2>&1 && break
	if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
		# It exited: the address is taken, say, or the data directory in use.
		rm -f "$data/backend.pid"
		echo "the backend exited; the end of $log:" >&2
		tail -n 5 "$log" >&2
		exit 1
	fi
	sleep 0.2
done
curl -fsS "$url/readyz" >/dev/null || { echo "backend not ready; see $log" >&2; exit 1; }

export DART_CLOUD_URL=$url
email=demo@example.com
password=demo-password
# The password is read from standard input, never from a flag.
echo "$password" | bin/dart_cloud login --email "$email" >/dev/null 2>&1 ||
	echo "$password" | bin/dart_cloud register --email "$email"

echo "deploying examples/hello (the first build on a machine also makes the Go builder image: about a minute)" >&2
bin/dart_cloud deploy examples/hello

echo >&2
echo "calling it: curl $url/f/hello/?name=ContainerPub" >&2
curl -fsS "$url/f/hello/?name=ContainerPub"
echo
echo "backend running at $url (pid $(cat "$data/backend.pid" 2>/dev/null || echo '?'), log $log)" >&2
echo "stop it with: kill \$(cat $data/backend.pid)" >&2
