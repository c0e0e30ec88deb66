// Before `npm test`: the integration tests need real peers from Debian (BIRD 2, FRR, GoBGP, ExaBGP,
// dnsmasq, Prometheus and Alertmanager) and the tools they are driven with, and the Debian tools
// that build, check and install the packages. Installs what is missing when running as root with
// apt-get (as CI and these machines do); otherwise says exactly what to install and fails. NEEDED
// is the one list of the Debian tools the tests use: test/integration/test-deps.test.ts fails when
// a test spawns or requires a command that is not in it (or in an Essential package, which every
// Debian has), so that a test cannot pass only on a machine that happened to have its tool. In a
// complete run (LIFELINE_TEST_COMPLETE=1, as .ci/run sets; test/support/complete.ts) it also checks
// what no package brings and without which tests would skip: root, and the Espruino interpreter's
// Linux builds.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The real interpreter's builds (test/support/espruino-real.ts looks for the same). */
const ESPRUINO_BUILDS = ['espruino', 'espruino-5100', 'espruino-1700'];

/** What a complete run lacks here, one line each (empty: nothing). */
function completeRunProblems() {
  const problems = [];
  if (process.getuid?.() !== 0)
    problems.push('not root: the namespace, tmpfs, Node 18 and package tests need root');
  const dir = process.env['LIFELINE_ESPRUINO_DIR'] ?? resolve('..', 'shared', 'tools', 'espruino');
  for (const build of ESPRUINO_BUILDS)
    if (!existsSync(join(dir, build)))
      problems.push(
        'no Espruino Linux build at ' + join(dir, build) + ' (../shared/tools/espruino)',
      );
  return problems;
}

/** In a complete run, fails when tests would skip for want of what no package brings. */
function checkCompleteRun() {
  if (process.env['LIFELINE_TEST_COMPLETE'] !== '1') return;
  const problems = completeRunProblems();
  if (problems.length === 0) return;
  process.stderr.write(
    'LIFELINE_TEST_COMPLETE=1, but tests would skip:\n' +
      problems.map((line) => '  ' + line + '\n').join(''),
  );
  process.exit(1);
}

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
  // Self-signed certificates for the metrics server's TLS (test/integration/metrics-server.test).
  ['/usr/bin/openssl', 'openssl'],
  ['/usr/bin/amtool', 'prometheus-alertmanager'],
  ['/usr/bin/systemd-notify', 'systemd'],
  ['/usr/bin/systemd-analyze', 'systemd'],
  ['/usr/bin/qemu-aarch64', 'qemu-user'],
  // The device-class bench on the emulated Cortex-M4 (test/integration/m4-bench.test.ts,
  // bench/m4.ts): the tool ../shared/tools/espruino-mcu is a Python script that runs
  // qemu-system-arm.
  ['/usr/bin/qemu-system-arm', 'qemu-system-arm'],
  ['/usr/bin/python3', 'python3-minimal'],
  ['/usr/lib/frr/bgpd', 'frr'],
  // BFD at FRR (test/integration/bfd-routers.test.ts): bgpd reaches bfdd through zebra.
  ['/usr/lib/frr/bfdd', 'frr'],
  ['/usr/lib/frr/zebra', 'frr'],
  ['/usr/bin/vtysh', 'frr'],
  ['/usr/bin/gobgpd', 'gobgpd'],
  ['/usr/bin/gobgp', 'gobgpd'],
  // The wall clock as a fault (test/integration/clock.test.ts); a tmpfs for the full disk
  // (test/integration/full-disk.test.ts).
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
  // The Debian packages (build/deb.mjs, test/integration/deb.test.ts): built with dpkg-deb, the
  // addon stripped by each architecture's binutils, checked by lintian, installed and upgraded in a
  // Debian 12 root made by debootstrap and booted by systemd-nspawn (scripts/debian-root.sh).
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
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  checkCompleteRun();
  ensure();
}
