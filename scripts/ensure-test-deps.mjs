// Before `npm test`: the integration tests need real peers from Debian (BIRD 2, FRR, GoBGP, ExaBGP,
// dnsmasq, Prometheus and Alertmanager), and the Debian tools that build, check and install the
// packages.
// Installs what is missing when running as root with apt-get (as CI and these machines do);
// otherwise says exactly what to install and fails.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const NEEDED = [
  ['/usr/sbin/bird', 'bird2'],
  ['/usr/sbin/birdc', 'bird2'],
  ['/usr/sbin/exabgp', 'exabgp'],
  ['/usr/sbin/dnsmasq', 'dnsmasq-base'],
  ['/usr/bin/socat', 'socat'],
  ['/usr/sbin/nft', 'nftables'],
  ['/usr/bin/dig', 'dnsutils'],
  ['/usr/sbin/ip', 'iproute2'],
  ['/usr/bin/promtool', 'prometheus'],
  ['/usr/bin/prometheus', 'prometheus'],
  ['/usr/bin/prometheus-alertmanager', 'prometheus-alertmanager'],
  // Self-signed certificates for the metrics server's TLS (test/metrics-server.test.ts).
  ['/usr/bin/openssl', 'openssl'],
  ['/usr/bin/amtool', 'prometheus-alertmanager'],
  ['/usr/bin/systemd-notify', 'systemd'],
  ['/usr/bin/systemd-analyze', 'systemd'],
  ['/usr/bin/qemu-aarch64', 'qemu-user'],
  ['/usr/lib/frr/bgpd', 'frr'],
  ['/usr/bin/vtysh', 'frr'],
  ['/usr/bin/gobgpd', 'gobgpd'],
  ['/usr/bin/gobgp', 'gobgpd'],
  // The TCP MD5 addon: built for this machine by the build, and for a Pi by the release.
  ['/usr/bin/gcc', 'gcc'],
  ['/usr/bin/aarch64-linux-gnu-gcc', 'gcc-aarch64-linux-gnu'],
  ['/usr/bin/arm-linux-gnueabihf-gcc', 'gcc-arm-linux-gnueabihf'],
  ['/usr/aarch64-linux-gnu/include/stdio.h', 'libc6-dev-arm64-cross'],
  ['/usr/arm-linux-gnueabihf/include/stdio.h', 'libc6-dev-armhf-cross'],
  // The Debian packages (build/deb.mjs, test/deb.test.ts): built with dpkg-deb, the addon stripped
  // by each architecture's binutils, checked by lintian, installed and upgraded in a Debian 12 root
  // made by debootstrap and booted by systemd-nspawn (scripts/debian-root.sh).
  ['/usr/bin/dpkg-deb', 'dpkg'],
  ['/usr/bin/readelf', 'binutils'],
  ['/usr/bin/x86_64-linux-gnu-strip', 'binutils-x86-64-linux-gnu'],
  ['/usr/bin/aarch64-linux-gnu-strip', 'binutils-aarch64-linux-gnu'],
  ['/usr/bin/arm-linux-gnueabihf-strip', 'binutils-arm-linux-gnueabihf'],
  ['/usr/bin/lintian', 'lintian'],
  ['/usr/sbin/debootstrap', 'debootstrap'],
  ['/usr/bin/systemd-nspawn', 'systemd-container'],
  ['/usr/bin/nsenter', 'util-linux'],
  ['/usr/bin/qemu-arm', 'qemu-user'],
];

const missing = [...new Set(NEEDED.filter(([path]) => !existsSync(path)).map(([, pkg]) => pkg))];
if (missing.length === 0) process.exit(0);
const root = process.getuid?.() === 0;
if (!root || !existsSync('/usr/bin/apt-get')) {
  process.stderr.write(
    'npm test needs the Debian packages: ' +
      missing.join(' ') +
      '\n' +
      'install them with: sudo apt-get install --no-install-recommends ' +
      missing.join(' ') +
      '\n',
  );
  process.exit(1);
}
const list = missing.join(' ');
process.stderr.write('installing Debian packages for the integration tests: ' + list + '\n');
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
const run = (args) => spawnSync('apt-get', args, { stdio: 'inherit', env }).status === 0;
const installed =
  run(['update', '-qq']) && run(['install', '-y', '-qq', '--no-install-recommends', ...missing]);
if (!installed) {
  process.stderr.write('apt-get failed to install: ' + list + '\n');
  process.exit(1);
}
