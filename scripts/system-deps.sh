#!/bin/sh
# System programs the tests run, installed from Debian when missing (`npm test` runs this first
# through the `pretest` script, .ci/run before `npm test`). With everything present it only
# checks PATH and prints nothing. Installing needs root and apt-get; otherwise it names what to
# install and exits 1.
set -eu

# One "command:debian-package" per line; add a line for each new program a test runs.
DEPS="
promtool:prometheus
prometheus:prometheus
chromium:chromium
"

missing_packages=""
missing_commands=""
for dep in $DEPS; do
  command=${dep%%:*}
  package=${dep#*:}
  command -v "$command" >/dev/null 2>&1 && continue
  missing_commands="$missing_commands $command"
  case " $missing_packages " in
    *" $package "*) ;;
    *) missing_packages="$missing_packages $package" ;;
  esac
done
[ -z "$missing_packages" ] && exit 0

echo "system-deps: not on PATH:${missing_commands} (Debian package(s)${missing_packages})"
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: cannot install: this needs root and apt-get; run 'apt-get install -y --no-install-recommends${missing_packages}' as root (or install the programs${missing_commands} another way) and try again" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "system-deps: apt-get update"
apt-get update
echo "system-deps: apt-get install -y --no-install-recommends${missing_packages}"
# shellcheck disable=SC2086 # one word per package
apt-get install -y --no-install-recommends $missing_packages
# Debian starts a system Prometheus on :9090 where systemd runs; the tests start their own.
case " $missing_packages " in
  *" prometheus "*)
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
      systemctl disable --now prometheus >/dev/null 2>&1 || true
    fi
    ;;
esac

for dep in $DEPS; do
  command=${dep%%:*}
  if ! command -v "$command" >/dev/null 2>&1; then
    echo "system-deps: '$command' is still not on PATH after installing ${dep#*:}" >&2
    exit 1
  fi
done
echo "system-deps: installed${missing_packages}"
