// The Debian packages as an operator gets them (issue 23): built by `npm run package`, checked by
// lintian, each architecture's binaries its own, and the amd64 package installed, upgraded,
// downgraded and purged with dpkg and apt in a throwaway Debian 12 system (the root that
// scripts/debian-root.sh makes once, booted by systemd-nspawn: real systemd, Debian's nodejs 18),
// peering with a real BIRD 2 outside it whose table is sampled every few milliseconds: with graceful
// restart the route never leaves BIRD during an upgrade or a downgrade; without it the withdrawal
// is the clean one (CEASE). The state and the secrets survive each.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ARCHES, elfMachine, makeDebs } from '../../build/deb.mjs';
import { makePackage } from '../../build/package.mjs';
import { PresenceSampler } from '../../lab/fleet-router';
import { BootedRoot, debianRootMissing, ensureDebianRoot } from '../support/debian-root';
import { randomPort, waitFor } from '../support/peers';
import { startRouter, type Router } from '../support/routers';
import { skipping } from '../support/complete';

const skip = skipping('deb test', debianRootMissing());

const PREFIX = '192.0.2.53/32';
const BIRD = '127.0.23.1';
const LIFELINE = '127.0.23.2';
const TARGET = '127.0.23.3';
/** lintian's warnings that are right for this package, with why (docs/install.md says so too). */
const EXPECTED_WARNINGS = [
  // An upload to Debian's archive closes an ITP bug; this package is not uploaded there.
  'initial-upload-closes-no-bugs',
];

let made: Awaited<ReturnType<typeof makePackage>>;
let newer: string;
let lintian: Promise<{ stdout: string; stderr: string }>;

/** What a child writes, once it exits. */
function output(child: ChildProcess): Promise<{ stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((done) => child.on('close', () => done({ stdout, stderr })));
}
const figures: string[] = [];

function files(dir: string): string[] {
  const listed = spawnSync('find', [dir, '-type', 'f'], { encoding: 'utf8' }).stdout;
  return listed.split('\n').filter((line) => line !== '');
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

describe.skipIf(skip)('the Debian packages', () => {
  beforeAll(async () => {
    made = await makePackage({ debs: true });
    // The same program as a later version: what `apt install ./NEW.deb` upgrades to.
    const out = mkdtempSync(join(tmpdir(), 'lifeline-newer-'));
    const [deb] = await makeDebs({
      release: 'dist/package/lifeline-0.1.0',
      version: '0.1.1-1',
      outDir: out,
      arches: ['amd64'],
    });
    newer = deb!.file;
    // lintian takes long: it runs while the packages are installed below, and is read at the end.
    lintian = output(spawn('lintian', ['--no-cfg', ...made.debs.map((deb) => deb.file)]));
  }, 600000);

  afterAll(() => {
    if (figures.length > 0) process.stdout.write(figures.join('\n') + '\n');
  });

  it('are built for amd64, arm64 and armhf, with SHA256SUMS beside them', () => {
    expect(made.debs.map((deb) => deb.arch)).toEqual(['amd64', 'arm64', 'armhf']);
    const sums = readFileSync(made.checksums!, 'utf8').trim().split('\n');
    expect(sums.map((line) => line.split('  ')[1])).toEqual([
      'lifeline-0.1.0.tar.gz',
      'lifeline_0.1.0-1_amd64.deb',
      'lifeline_0.1.0-1_arm64.deb',
      'lifeline_0.1.0-1_armhf.deb',
    ]);
    const check = spawnSync('sha256sum', ['--check', '--strict', 'SHA256SUMS'], {
      cwd: 'dist',
      encoding: 'utf8',
    });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    for (const deb of made.debs) figures.push('package ' + deb.file + ': ' + deb.bytes + ' bytes');
  });

  it('lay out Debian places, with the binaries of their own architecture only', () => {
    for (const arch of ARCHES) {
      const deb = made.debs.find((candidate) => candidate.arch === arch.debian)!.file;
      const field = (name: string): string =>
        spawnSync('dpkg-deb', ['-f', deb, name], { encoding: 'utf8' }).stdout.trim();
      expect(field('Architecture')).toBe(arch.debian);
      expect(field('Depends')).toMatch(/^nodejs \(>= 18\), adduser, libc6 \(>= 2\.\d+\)/);
      const dir = mkdtempSync(join(tmpdir(), 'lifeline-deb-'));
      expect(spawnSync('dpkg-deb', ['-R', deb, dir]).status).toBe(0);
      expect(readFileSync(join(dir, 'DEBIAN/conffiles'), 'utf8')).toBe(
        '/etc/lifeline/config.json\n',
      );
      expect(readlinkSync(join(dir, 'usr/bin/lifeline'))).toBe('../lib/lifeline/lifeline.mjs');
      const unit = readFileSync(join(dir, 'lib/systemd/system/lifeline.service'), 'utf8');
      expect(unit).toMatch(/^User=lifeline$/m);
      expect(unit).toMatch(/^ExecStart=\/usr\/bin\/node \/usr\/lib\/lifeline\/lifeline\.mjs run /m);
      for (const path of [
        'usr/share/man/man1/lifeline.1.gz',
        'usr/share/doc/lifeline/copyright',
        'usr/share/doc/lifeline/changelog.Debian.gz',
        'usr/share/doc/lifeline/docs/reference.md',
        'usr/share/doc/lifeline/examples/prometheus/lifeline.rules.yml',
        'usr/share/doc/lifeline/examples/grafana/lifeline-fleet.json',
        'usr/lib/lifeline/board/build.mjs',
        'usr/lib/lifeline/board/reserved-names.json',
        'usr/lib/lifeline/board/board-edits.json',
        'usr/lib/lifeline/tcp-md5/linux-' + arch.node + '/tcp_md5.node',
      ])
        expect(statSync(join(dir, path)).isFile(), path).toBe(true);
      // Every binary is for this architecture: serialport's bindings, the MD5 addon, esbuild.
      const binaries = files(dir).filter((path) => elfMachine(path) !== null);
      expect(binaries.length, arch.debian).toBeGreaterThanOrEqual(3);
      for (const path of binaries) expect(elfMachine(path), path).toBe(arch.machine);
      expect(binaries.some((path) => /\/bin\/esbuild$/.test(path))).toBe(true);
    }
  });

  describe('installed in Debian 12', () => {
    let system: BootedRoot;
    let router: Router;
    let target: Server;
    let targetPort: number;

    beforeAll(async () => {
      const madeMs = ensureDebianRoot();
      if (madeMs > 0) figures.push('the Debian 12 root made in ' + madeMs + ' ms (first run)');
      const booting = Date.now();
      system = await BootedRoot.boot();
      figures.push('booted in ' + (Date.now() - booting) + ' ms');
      targetPort = randomPort();
      target = createServer((socket) => socket.destroy());
      await new Promise<void>((done) => target.listen(targetPort, TARGET, done));
      router = await startRouter({
        kind: 'bird',
        address: BIRD,
        port: randomPort(),
        as: 65000,
        peerAddress: LIFELINE,
        peerAs: 65010,
      });
      for (const deb of [made.debs[0]!.file, newer])
        expect(spawnSync('cp', [deb, system.path('/root/')]).status).toBe(0);
    }, 600000);

    afterAll(async () => {
      await system?.stop();
      await router?.stop();
      target?.close();
    });

    it('installs, upgrades and downgrades without the route leaving BIRD, keeping the state', async () => {
      await installed(system);
      writeConfig(system, router, targetPort, 60);
      seedState(system);
      system.must('systemctl start lifeline');
      await announced(system, 1);
      const secrets = stateDigest(system);
      const audit = system.read('/var/lib/lifeline/audit.log');
      let boots = 1;
      for (const [what, command] of [
        ['upgrade', 'apt-get install -y -q ./' + newer.split('/').pop()],
        ['downgrade', 'apt-get install -y -q --allow-downgrades ./lifeline_0.1.0-1_amd64.deb'],
      ] as const) {
        const absentMs = await acrossInstall(system, router, command, ++boots);
        figures.push(
          'graceful restart, ' + what + ': the route absent ' + absentMs + ' ms at BIRD',
        );
        expect(absentMs, what).toBe(0);
        expect(stateDigest(system), what).toEqual(secrets);
        // The audit log goes on where it was; the override was restored by the new process.
        expect(system.read('/var/lib/lifeline/audit.log').startsWith(audit)).toBe(true);
        expect(lastBoot(system)).toMatch(/override service=spare override=withdraw by=restore/);
      }
      expect(system.must("dpkg-query -W -f '${Version}' lifeline")).toBe('0.1.0-1');
      expect(router.log()).not.toMatch(/Administrative shutdown/);
    }, 300000);

    it('without graceful restart, withdraws cleanly for the upgrade and announces again', async () => {
      writeConfig(system, router, targetPort, 0);
      const boots = bootCount(system);
      system.must('systemctl restart lifeline');
      await announced(system, boots + 1);
      const ceases = (router.log().match(/Received: Administrative shutdown/g) ?? []).length;
      const absentMs = await acrossInstall(
        system,
        router,
        'apt-get install -y -q ./' + newer.split('/').pop(),
        boots + 2,
      );
      figures.push('without graceful restart, upgrade: the route absent ' + absentMs + ' ms');
      expect(absentMs).toBeGreaterThan(0);
      // The old process withdrew and said CEASE (administrative shutdown), as on any stop.
      expect((router.log().match(/Received: Administrative shutdown/g) ?? []).length).toBe(
        ceases + 1,
      );
    }, 300000);

    it('runs the board build and the device bench from the package, anywhere, on Node 18', () => {
      const version = system.must('cd / && runuser -u lifeline -- lifeline --version');
      expect(version).toMatch(/running on Node 18\./);
      system.must(
        'cd / && runuser -u lifeline -- lifeline flash --output /tmp/board.js --config ' +
          '/usr/share/doc/lifeline/examples/espruino.example.json',
      );
      // Byte for byte the development tree's build of the same config (the bundle is ASCII).
      expect(system.must('cat /tmp/board.js')).toBe(
        readFileSync('dist/lifeline-espruino.js', 'latin1'),
      );
      const bench = system.run('cd / && runuser -u lifeline -- lifeline bench --device /dev/none');
      expect(bench.status).toBe(1);
      expect(bench.stderr).toMatch(/^bench: cannot open \/dev\/none/);
      expect(system.must('lifeline flash --help')).toContain('--bundle FILE');
    });

    it('purges: the service stops, the routes go, the state goes, the user stays', async () => {
      system.must('apt-get purge -y -q lifeline');
      await waitFor(() => router.route(PREFIX) === null, 5000, 'the withdrawal at BIRD');
      expect(system.run('test -e /var/lib/lifeline').status).not.toBe(0);
      expect(system.run('test -e /lib/systemd/system/lifeline.service').status).not.toBe(0);
      expect(system.must('id -u lifeline').trim()).toMatch(/^\d+$/);
    });
  });

  it('pass lintian: no error, and only the warnings known to be right', async () => {
    const result = await lintian;
    const tags = (result.stdout + result.stderr)
      .split('\n')
      .filter((line) => /^[EW]: /.test(line))
      .map((line) => line.slice(0, 1) + ' ' + line.split(' ')[2]);
    expect(
      tags.filter((tag) => tag.startsWith('E')),
      result.stdout,
    ).toEqual([]);
    expect([...new Set(tags)]).toEqual(EXPECTED_WARNINGS.map((tag) => 'W ' + tag));
  }, 300000);
});

/** The first install, with an invalid config already there: enabled, not started, and why. */
async function installed(system: BootedRoot): Promise<void> {
  system.must('mkdir -p /etc/lifeline && echo \'{"device": {}}\' > /etc/lifeline/config.json');
  const install = system.run('dpkg --force-confold -i /root/lifeline_0.1.0-1_amd64.deb');
  expect(install.status, install.stdout + install.stderr).toBe(0);
  expect(install.stderr).toMatch(/device\.name: is required/);
  expect(install.stderr).toMatch(/lifeline: not \(re\)started: \/etc\/lifeline\/config\.json/);
  expect(system.must('systemctl is-enabled lifeline').trim()).toBe('enabled');
  expect(system.run('systemctl is-active lifeline').stdout.trim()).toBe('inactive');
  expect(system.must('id -nG lifeline')).toMatch(/\bdialout\b/);
  expect(system.must('stat -c %U:%a /var/lib/lifeline /etc/lifeline')).toBe(
    'lifeline:700\nroot:2750\n',
  );
  // keygen as the operator runs it: the service's group reads what it made.
  system.must(
    'lifeline keygen --key-file /etc/lifeline/console.key --codes-file ' +
      '/etc/lifeline/recovery-codes',
  );
  expect(system.must('stat -c %G:%a /etc/lifeline/console.key')).toBe('lifeline:640\n');
}

function writeConfig(system: BootedRoot, router: Router, targetPort: number, restartTimeS: number) {
  const backbone = {
    quorum: 1,
    targets: [{ name: 'dc', kind: 'tcp', address: TARGET, port: targetPort }],
  };
  const service = (name: string, prefix: string) => ({
    name,
    prefixes: [prefix],
    backbone,
    rise: 2,
    fall: 3,
    holdDownMs: 0,
  });
  const config = {
    device: { name: 'edge-deb-1' },
    probe: { intervalMs: 200, timeoutMs: 150 },
    services: [service('dns', PREFIX), service('spare', '192.0.2.99/32')],
    announcer: {
      kind: 'bgp',
      localAs: 65010,
      routerId: '192.0.2.10',
      restartTimeS,
      peers: [
        {
          address: BIRD,
          port: router.options.port,
          remoteAs: 65000,
          localAddress: LIFELINE,
          holdTimeS: 9,
          nextHopV4: '192.0.2.10',
        },
      ],
    },
    console: {
      keyFile: '/etc/lifeline/console.key',
      recoveryCodesFile: '/etc/lifeline/recovery-codes',
    },
    stateDir: '/var/lib/lifeline',
  };
  system.must("cat > /etc/lifeline/config.json <<'EOF'\n" + JSON.stringify(config) + '\nEOF');
  system.must('runuser -u lifeline -- lifeline check-config /etc/lifeline/config.json');
}

/** State as an operator would leave it: a used recovery code and an override until `auto`. */
function seedState(system: BootedRoot): void {
  const override =
    '[{"service":"spare","kind":"withdraw","grantedMs":null,"remainingMs":null,' +
    '"writtenAtWallMs":0}]';
  system.must(
    "echo '" +
      'ab'.repeat(32) +
      "' > /var/lib/lifeline/recovery-used && echo '" +
      override +
      "' > /var/lib/lifeline/overrides.json && chown lifeline: /var/lib/lifeline/*",
  );
}

/** The files that must come through an upgrade unchanged. */
function stateDigest(system: BootedRoot): Record<string, string> {
  const digest: Record<string, string> = {};
  for (const path of [
    '/etc/lifeline/console.key',
    '/etc/lifeline/recovery-codes',
    '/var/lib/lifeline/recovery-used',
  ])
    digest[path] = sha256(system.path(path));
  const overrides = JSON.parse(system.read('/var/lib/lifeline/overrides.json'));
  digest['overrides'] = JSON.stringify(overrides.map((o: any) => [o.service, o.kind]));
  return digest;
}

function bootCount(system: BootedRoot): number {
  return (system.read('/var/lib/lifeline/audit.log').match(/ boot device=/g) ?? []).length;
}

function lastBoot(system: BootedRoot): string {
  const audit = system.read('/var/lib/lifeline/audit.log');
  return audit.slice(audit.lastIndexOf(' boot device='));
}

/** Waits for the `boots`th boot to announce the route (at BIRD too). */
async function announced(system: BootedRoot, boots: number): Promise<void> {
  await waitFor(
    () =>
      bootCount(system) >= boots && /routes service=dns routes=announced/.test(lastBoot(system)),
    20000,
    'boot ' + boots + ' to announce:\n' + system.run('journalctl -u lifeline -n 30').stdout,
  );
}

/**
 * Runs `command` (an install) in the system while sampling BIRD's table every 2 ms, until the
 * new Lifeline (boot `boots`) announced and its End-of-RIB ended the router's graceful restart;
 * the milliseconds the route was missing.
 */
async function acrossInstall(
  system: BootedRoot,
  router: Router,
  command: string,
  boots: number,
): Promise<number> {
  const sampler = new PresenceSampler(join((router as any).dir, 'bird.ctl'), PREFIX, 2);
  await sampler.start();
  const fromMs = Date.now();
  const result = await system.runAsync('cd /root && ' + command);
  expect(result.status, result.stdout + result.stderr).toBe(0);
  // Sampled all through the install, not only after it: at least one sample per 20 ms.
  const installMs = Date.now() - fromMs;
  expect(sampler.samples, 'samples during ' + installMs + ' ms').toBeGreaterThan(installMs / 20);
  figures.push(
    command.split(' ').slice(-1)[0] + ': ' + installMs + ' ms, ' + sampler.samples + ' samples',
  );
  await announced(system, boots);
  // Past the new session's End-of-RIB, when BIRD drops what was not announced again.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const toMs = Date.now();
  sampler.stop();
  expect(sampler.samples).toBeGreaterThan((toMs - fromMs) / 50);
  expect(router.route(PREFIX)).not.toBeNull();
  return sampler.absentMs(fromMs, toMs);
}
