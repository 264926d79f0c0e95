#!/usr/bin/env bash
# setup.sh makes a fresh Debian or Ubuntu machine ready to run ContainerPub:
# Podman with runc (crun refuses the hybrid cgroups of some hosts), the user
# namespace ranges for --userns=auto, a static busybox for the Go builder
# image, and the tools the tests and benchmarks use. It needs root and is
# safe to run again: it only installs what is missing.
set -euo pipefail

log() { echo "setup.sh: $*" >&2; }

if [[ $(id -u) != 0 ]]; then
	exec sudo --preserve-env=PATH "$0" "$@"
fi

packages=(podman runc uidmap slirp4netns fuse-overlayfs busybox-static
	ca-certificates curl wrk)
missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
if ((${#missing[@]} > 0)); then
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq "${missing[@]}" >&2
fi

# --userns=auto takes ranges from the "containers" entries.
for f in /etc/subuid /etc/subgid; do
	if ! grep -q '^containers:' "$f" 2>/dev/null; then
		log "adding a containers range to $f"
		echo "containers:1000000:1000000000" >>"$f"
	fi
done

if ! command -v go >/dev/null; then
	if [[ -x /usr/local/go/bin/go ]]; then
		log "Go is at /usr/local/go/bin: add it to PATH"
	else
		log "Go 1.26 or later is needed: install it to /usr/local/go"
		exit 1
	fi
fi
log "ready: $(podman --version), $(runc --version | head -n1)"
