#!/usr/bin/env bash
# Install Baleine on Debian 12 (as root): the Debian packages it runs on, a Python
# virtual environment in /opt/baleine with the package, the `baleine` command in
# /usr/local/bin, and a first image built from Debian's busybox-static, since no
# registry can be assumed. Idempotent. `--test` also installs what the tests use.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
prefix=${BALEINE_PREFIX:-/opt/baleine}
with_tests=0
[ "${1:-}" = "--test" ] && with_tests=1

if [ "$(id -u)" -ne 0 ]; then
  echo "install.sh must run as root" >&2
  exit 1
fi

packages=(python3 python3-venv runc tini busybox-static iptables iproute2 conntrack procps xz-utils zstd bzip2 ca-certificates)
[ "$with_tests" = 1 ] && packages+=(skopeo docker-registry docker-compose)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian's interpreter, not whatever `python3` is first in PATH: the monitor of
# every container starts it, so it must be lean and always there.
if [ ! -x "$prefix/bin/python" ]; then
  /usr/bin/python3 -m venv "$prefix"
fi
extra=""
[ "$with_tests" = 1 ] && extra="[test]"
"$prefix/bin/pip" install -q --disable-pip-version-check --upgrade "$here$extra"
ln -sf "$prefix/bin/baleine" /usr/local/bin/baleine

# A first image, made locally from Debian's static busybox.
# Our own binary, whatever else PATH holds.
bin="$prefix/bin/baleine"
if ! "$bin" image inspect busybox >/dev/null 2>&1; then
  "$here/scripts/busybox-rootfs.sh" | "$bin" import -c 'CMD ["sh"]' -m "busybox-static from Debian" - busybox:latest >/dev/null
  echo "Imported busybox:latest from Debian's busybox-static"
fi
echo "Baleine is installed: $("$bin" version --format '{{.Server.Version}}' 2>/dev/null || echo '?')"
