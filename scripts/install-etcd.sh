#!/bin/sh
# Installs etcd (server and etcdctl) from Debian for the benchmark's reference side.
# Exits 0 when `etcd` is already on PATH; needs root (or passwordless sudo) otherwise.
set -eu
if command -v etcd >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
  echo "install-etcd: not root and no sudo: cannot install etcd-server" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends etcd-server etcd-client
# The package starts a system etcd on 2379/2380 where systemd runs; the benchmark brings its own.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  $SUDO systemctl disable --now etcd >/dev/null 2>&1 || true
fi
command -v etcd >/dev/null 2>&1
