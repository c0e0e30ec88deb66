// Before `npm test`: the integration tests need real peers from Debian (BIRD 2, FRR, GoBGP, ExaBGP,
// dnsmasq, Prometheus and Alertmanager) and the tools they are driven with.
// Installs what is missing when running as root with apt-get (as CI and these machines do);
// otherwise says exactly what to install and fails. NEEDED is the one list of the Debian tools the
// tests use: test/test-deps.test.ts fails when a test spawns or requires a command that is not in
// it (or in an Essential package, which every Debian has), so that a test cannot pass only on a
// machine that happened to have its tool.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** [path, Debian package]: the file whose absence means the package must be installed. */
export const NEEDED = [
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
  // The device-class bench on the emulated Cortex-M4 (test/m4-bench.test.ts, bench/m4.ts): the
  // tool ../shared/tools/espruino-mcu is a Python script that runs qemu-system-arm.
  ['/usr/bin/qemu-system-arm', 'qemu-system-arm'],
  ['/usr/bin/python3', 'python3-minimal'],
  ['/usr/lib/frr/bgpd', 'frr'],
  // BFD at FRR (test/bfd-routers.test.ts): bgpd reaches bfdd through zebra.
  ['/usr/lib/frr/bfdd', 'frr'],
  ['/usr/lib/frr/zebra', 'frr'],
  ['/usr/bin/vtysh', 'frr'],
  ['/usr/bin/gobgpd', 'gobgpd'],
  ['/usr/bin/gobgp', 'gobgpd'],
  // The wall clock as a fault (test/clock.test.ts); a tmpfs for the full disk (test/full-disk).
  ['/usr/bin/faketime', 'faketime'],
  ['/usr/bin/mount', 'mount'],
  ['/usr/bin/umount', 'mount'],
  // The docs test lists what the repository tracks (a fresh clone has git; a tarball may not).
  ['/usr/bin/git', 'git'],
  // The TCP MD5 addon: built for this machine by the build, and for a Pi by the release.
  ['/usr/bin/gcc', 'gcc'],
  ['/usr/bin/aarch64-linux-gnu-gcc', 'gcc-aarch64-linux-gnu'],
  ['/usr/bin/arm-linux-gnueabihf-gcc', 'gcc-arm-linux-gnueabihf'],
  ['/usr/aarch64-linux-gnu/include/stdio.h', 'libc6-dev-arm64-cross'],
  ['/usr/arm-linux-gnueabihf/include/stdio.h', 'libc6-dev-armhf-cross'],
];

/** Installs the missing packages as root, or says what to install and exits 1. */
function ensure() {
  const missing = [...new Set(NEEDED.filter(([path]) => !existsSync(path)).map(([, pkg]) => pkg))];
  if (missing.length === 0) return;
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
}

// Imported by the tests for the table; run by `npm test`'s pretest step.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href)
  ensure();
