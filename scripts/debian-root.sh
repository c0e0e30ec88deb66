#!/usr/bin/env bash
# The Debian 12 root the package is tested in (test/integration/deb.test.ts), and whose nodejs (Node 18, as
# on a Raspberry Pi) runs the built program's tests (test/integration/node18.test.ts): minbase with systemd
# and the package's Depends, made once with debootstrap from Debian's package mirror and kept in
# .cache/debian12-root (made again when the package list below changes). The tests never change
# it: they work in an overlay on it. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD/.cache/debian12-root
# systemd and dbus: the package's postinst and upgrades run against a real systemd (booted in the
# root by systemd-nspawn). nodejs (with ca-certificates, which it recommends) and adduser: the
# package's Depends.
PACKAGES=systemd,systemd-sysv,dbus,nodejs,ca-certificates,adduser
STAMP=$ROOT/.lifeline-root
if [[ -f $STAMP && $(cat "$STAMP") == "$PACKAGES" ]]; then exit 0; fi
command -v debootstrap >/dev/null || { echo "debootstrap missing: apt-get install debootstrap" >&2; exit 2; }
rm -rf "$ROOT" "$ROOT.new"
mkdir -p "$(dirname "$ROOT")"
started=$SECONDS
debootstrap --variant=minbase --include="$PACKAGES" bookworm "$ROOT.new" >"$ROOT.log" 2>&1 ||
  { tail -20 "$ROOT.log" >&2; exit 1; }
rm -f "$ROOT.new"/var/cache/apt/archives/*.deb
echo "$PACKAGES" >"$ROOT.new/.lifeline-root"
mv "$ROOT.new" "$ROOT"
echo "made $ROOT in $((SECONDS - started)) s" >&2
