#!/usr/bin/env bash
# Install Baleine on Debian 12 (as root): the Debian packages it runs on, a Python
# virtual environment in /opt/baleine with the package, the `baleine` command in
# /usr/local/bin, and a first image built from Debian's busybox-static, since no
# registry can be assumed. Idempotent. `--test` also installs what the tests use.
# It creates the `baleine` group (the API socket is root:baleine 0660: membership is
# root-equivalent) and, where systemd runs the machine, baleine.service and
# baleine.socket (`systemctl enable --now baleine`). `--uninstall` removes what it
# installed and keeps the data (images, containers, volumes) unless `--purge`.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
prefix=${BALEINE_PREFIX:-/opt/baleine}
units=/etc/systemd/system
with_tests=0
uninstall=0
purge=0
for arg in "$@"; do
  case "$arg" in
    --test) with_tests=1 ;;
    --uninstall) uninstall=1 ;;
    --purge) uninstall=1; purge=1 ;;
    *) echo "usage: install.sh [--test | --uninstall [--purge]]" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  echo "install.sh must run as root" >&2
  exit 1
fi

systemd_runs() { [ -d /run/systemd/system ]; }

if [ "$uninstall" = 1 ]; then
  if systemd_runs && [ -f "$units/baleine.service" ]; then
    systemctl disable --now baleine.service baleine.socket >/dev/null 2>&1 || true
  fi
  rm -f "$units/baleine.service" "$units/baleine.socket"
  systemd_runs && systemctl daemon-reload || true
  if [ -f /run/baleine/baleine.pid ]; then
    kill "$(cat /run/baleine/baleine.pid)" 2>/dev/null || true  # a daemon started on demand
  fi
  rm -f /usr/local/bin/baleine
  rm -rf "$prefix"
  if [ "$purge" = 1 ]; then
    rm -rf /var/lib/baleine /etc/baleine /var/log/baleine /run/baleine
    getent group baleine >/dev/null && groupdel baleine || true
    echo "Baleine is removed, with its data"
  else
    echo "Baleine is removed; its data stays in /var/lib/baleine (install.sh --purge removes it)"
  fi
  exit 0
fi

packages=(python3 python3-venv runc conmon tini busybox-static iptables iproute2 conntrack procps xz-utils zstd bzip2 ca-certificates)
[ "$with_tests" = 1 ] && packages+=(skopeo docker-registry docker-compose chromium)  # chromium: tests/integration/test_ui.py
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
# The command itself: not pip's console-script wrapper, which runs `site` and imports
# `re` (a third of `baleine version`'s time), but the interpreter isolated and without
# site (-IS), told where the package lives (baleine/cli/launcher.py). Rewritten at
# every install (pip restores its wrapper on upgrade); removed with $prefix.
"$prefix/bin/python" -I -m baleine.cli.launcher "$prefix/bin/baleine" "$prefix/bin/python3"
ln -sf "$prefix/bin/baleine" /usr/local/bin/baleine

# Who may use the engine: root and the members of the baleine group.
getent group baleine >/dev/null || groupadd --system baleine
mkdir -p /etc/baleine /var/log/baleine
if systemd_runs; then
  install -m 0644 "$here/contrib/systemd/baleine.service" "$here/contrib/systemd/baleine.socket" "$units/"
  systemctl daemon-reload
  echo "systemd units installed: systemctl enable --now baleine"
fi

# A first image, made locally from Debian's static busybox.
# Our own binary, whatever else PATH holds.
bin="$prefix/bin/baleine"
if ! "$bin" image inspect busybox >/dev/null 2>&1; then
  "$here/scripts/busybox-rootfs.sh" | "$bin" import -c 'CMD ["sh"]' -m "busybox-static from Debian" - busybox:latest >/dev/null
  echo "Imported busybox:latest from Debian's busybox-static"
fi
echo "Baleine is installed: $("$bin" version --format '{{.Server.Version}}' 2>/dev/null || echo '?')"
