#!/usr/bin/env bash
# The core's unit tests on Debian 12's nodejs (Node 18, what a Raspberry Pi runs), for ARCH amd64,
# arm64 or armhf: `scripts/node18-check.sh ARCH`. amd64 runs in the Debian 12 root of the package
# tests (scripts/debian-root.sh), this project bind-mounted into it in a mount namespace of its own;
# arm64 and armhf run Debian's nodejs for that architecture (and the libraries it needs), unpacked
# into a sysroot, under qemu-user. The machine's own node is not touched. Needs root (dpkg
# architectures, apt, mounts) the first time; the root and the sysroots are kept in .cache.
set -euo pipefail
cd "$(dirname "$0")/.."
ARCH=${1:?usage: scripts/node18-check.sh amd64|arm64|armhf}
BUNDLE=dist/node18-core-check.mjs
npx esbuild scripts/arm64/main.ts --bundle --platform=node --target=node18 --format=esm \
  --outfile=$BUNDLE --alias:vitest=./scripts/arm64/vitest-shim.ts --log-level=warning
if [[ $ARCH == amd64 ]]; then
  bash scripts/debian-root.sh
  ROOT=$PWD/.cache/debian12-root
  exec unshare --mount sh -c "mount --bind '$PWD' '$ROOT/mnt' &&
    exec chroot '$ROOT' sh -c 'cd /mnt && exec /usr/bin/node $BUNDLE'"
fi
case $ARCH in
  arm64) QEMU=qemu-aarch64 LIBARCH=aarch64-linux-gnu ;;
  # The second emulated architecture leaves out the long randomized runs (vitest-shim.ts), which
  # arm64 and amd64 run: under qemu they alone take three minutes.
  armhf) QEMU=qemu-arm LIBARCH=arm-linux-gnueabihf; export LIFELINE_SKIP_LONG=1 ;;
  *) echo "unknown ARCH $ARCH: amd64, arm64 or armhf" >&2; exit 2 ;;
esac
SYSROOT=$PWD/.cache/$ARCH-sysroot
# The binaries, and the architecture-independent modules Debian's node loads from /usr/share.
PACKAGES=(nodejs libnode108 libc6 libgcc-s1 libstdc++6 gcc-12-base libuv1 libssl3 libicu72 zlib1g libbrotli1
  libc-ares2 libnghttp2-14)
MODULES=(node-acorn node-cjs-module-lexer node-undici node-busboy node-xtend)
command -v $QEMU >/dev/null || { echo "$QEMU missing: apt-get install qemu-user" >&2; exit 2; }
if [[ ! -x $SYSROOT/usr/bin/node ]]; then
  dpkg --print-foreign-architectures | grep -qx "$ARCH" || { dpkg --add-architecture "$ARCH"; apt-get update -qq || true; }
  [[ -n $(apt-cache policy "nodejs:$ARCH" | sed -n "s/ *Candidate: //p") ]] || apt-get update -qq || true
  rm -rf "$SYSROOT.debs" && mkdir -p "$SYSROOT.debs" "$SYSROOT"
  (cd "$SYSROOT.debs" && apt-get download -qq "${PACKAGES[@]/%/:$ARCH}" "${MODULES[@]}" 2>&1 | grep -v unsandboxed || true)
  for deb in "$SYSROOT.debs"/*.deb; do dpkg -x "$deb" "$SYSROOT"; done
  rm -rf "$SYSROOT.debs"
fi
[[ -d $SYSROOT/usr/lib/$LIBARCH ]] || { echo "$SYSROOT is not an $ARCH sysroot" >&2; exit 2; }
exec $QEMU -L "$SYSROOT" "$SYSROOT/usr/bin/node" $BUNDLE
