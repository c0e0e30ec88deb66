#!/usr/bin/env bash
# The core's unit tests on ARM64: Debian's arm64 nodejs (and the libraries it needs) unpacked into a
# sysroot, run under qemu-user; the machine's own node is not touched. Needs root (dpkg architecture,
# apt) the first time; the sysroot is kept in .cache/arm64-sysroot for later runs.
set -euo pipefail
cd "$(dirname "$0")/.."
SYSROOT=$PWD/.cache/arm64-sysroot
# The arm64 binaries, and the architecture-independent modules Debian's node loads from /usr/share.
PACKAGES=(nodejs libnode108 libc6 libgcc-s1 libstdc++6 gcc-12-base libuv1 libssl3 libicu72 zlib1g libbrotli1
  libc-ares2 libnghttp2-14)
MODULES=(node-acorn node-cjs-module-lexer node-undici node-busboy node-xtend)
command -v qemu-aarch64 >/dev/null || { echo "qemu-aarch64 missing: apt-get install qemu-user" >&2; exit 2; }
if [[ ! -x $SYSROOT/usr/bin/node ]]; then
  dpkg --print-foreign-architectures | grep -qx arm64 || { dpkg --add-architecture arm64; apt-get update -qq; }
  [[ -n $(apt-cache policy nodejs:arm64 | sed -n "s/ *Candidate: //p") ]] || apt-get update -qq
  rm -rf "$SYSROOT.debs" && mkdir -p "$SYSROOT.debs" "$SYSROOT"
  (cd "$SYSROOT.debs" && apt-get download -qq "${PACKAGES[@]/%/:arm64}" "${MODULES[@]}" 2>&1 | grep -v unsandboxed || true)
  for deb in "$SYSROOT.debs"/*.deb; do dpkg -x "$deb" "$SYSROOT"; done
  rm -rf "$SYSROOT.debs"
fi
npx esbuild scripts/arm64/main.ts --bundle --platform=node --target=node18 --format=esm \
  --outfile=dist/arm64-core-check.mjs --alias:vitest=./scripts/arm64/vitest-shim.ts --log-level=warning
exec qemu-aarch64 -L "$SYSROOT" "$SYSROOT/usr/bin/node" dist/arm64-core-check.mjs
