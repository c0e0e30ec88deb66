// Before `npm test`: the integration tests need real peers from Debian (BIRD 2, FRR, GoBGP, ExaBGP,
// dnsmasq, Prometheus and Alertmanager).
// Installs what is missing when running as root with apt-get (as CI and these machines do);
// otherwise says exactly what to install and fails. In a complete run (LIFELINE_TEST_COMPLETE=1,
// as .ci/run sets; test/support/complete.ts) it also checks what no package brings and without
// which tests would skip: root, and the Espruino interpreter's Linux builds.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The real interpreter's builds (test/support/espruino-real.ts looks for the same). */
const ESPRUINO_BUILDS = ['espruino', 'espruino-5100', 'espruino-1700'];

/** What a complete run lacks here, one line each (empty: nothing). */
function completeRunProblems() {
  const problems = [];
  if (process.getuid?.() !== 0)
    problems.push('not root: the namespace, tmpfs and arm64 tests need root');
  const dir = process.env['LIFELINE_ESPRUINO_DIR'] ?? resolve('..', 'shared', 'tools', 'espruino');
  for (const build of ESPRUINO_BUILDS)
    if (!existsSync(join(dir, build)))
      problems.push(
        'no Espruino Linux build at ' + join(dir, build) + ' (../shared/tools/espruino)',
      );
  return problems;
}

if (process.env['LIFELINE_TEST_COMPLETE'] === '1') {
  const problems = completeRunProblems();
  if (problems.length > 0) {
    process.stderr.write(
      'LIFELINE_TEST_COMPLETE=1, but tests would skip:\n' +
        problems.map((line) => '  ' + line + '\n').join(''),
    );
    process.exit(1);
  }
}

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
