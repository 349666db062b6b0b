#!/usr/bin/env bash
# Debian packages Ardis's tests, demo and benchmarks use: real peers (sshd, smbd),
# reference tools for benchmarks (curl, scp; pigz and zstd: bundles and `tar czf` with pigz), media tools, fitsverify (checks ELT data products),
# docker-compose (validates docker-compose.yml; no Docker engine needed), chromium (the portal's and console's
# browser tests drive it through Playwright). Installs only what is missing.
set -euo pipefail
need=()
for pair in sshd:openssh-server scp:openssh-client smbd:samba smbclient:smbclient curl:curl \
            xorriso:xorriso pdftoppm:poppler-utils enscript:enscript ps2pdf:ghostscript \
            umockdev-run:umockdev mt:mt-st isoinfo:genisoimage pigz:pigz zstd:zstd \
            fitsverify:fitsverify docker-compose:docker-compose chromium:chromium; do
  cmd=${pair%%:*}; pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || need+=("$pkg")
done
# GObject introspection for umockdev (tests drive a fake udev device through it)
[ -e /usr/lib/x86_64-linux-gnu/girepository-1.0/UMockdev-1.0.typelib ] || need+=(gir1.2-umockdev-1.0)
[ -d /usr/lib/python3/dist-packages/gi ] || need+=(python3-gi)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "system-packages: not root; tests needing ${need[*]} will be skipped" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
