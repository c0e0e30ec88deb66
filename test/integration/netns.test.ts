// The outage, end to end over real network cuts: Lifeline in its own network namespace, three data
// centres (dnsmasq) and the upstream router (BIRD 2) each in theirs, joined by veth links. The test
// cuts the links (silent drop, then link down), checks the withdrawal at BIRD against the bound,
// overrides through a real pty while the backbone is down, restores, and reads the audit log. It
// makes and removes its own namespaces, and skips only where namespaces cannot be made.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startDnsmasq, type Dnsmasq } from '../../lab/dnsmasq';
import { dnsTargets, document, keygen } from '../helpers';
import { skipping } from '../support/complete';
import { makeNetnsLab, type NetnsLab } from '../support/netns';
import { requireCommand, startBird, stopProcess, waitFor, type Bird } from '../support/peers';

const PREFIX = 'llt' + process.pid;
const INTERVAL_MS = 100;
const TIMEOUT_MS = 80;
const FALL = 3;
const BOUND_MS = TIMEOUT_MS + (FALL - 1) * INTERVAL_MS;

function namespacesAvailable(): string {
  if (process.getuid?.() !== 0) return 'not root';
  const probe = spawnSync(
    'bash',
    ['-c', 'ip netns add ' + PREFIX + '-probe && ip netns del ' + PREFIX + '-probe'],
    { encoding: 'utf8' },
  );
  return probe.status === 0 ? '' : (probe.stderr || 'ip netns add failed').trim();
}

const unavailable = namespacesAvailable();
const skip = skipping(
  'netns test',
  unavailable === '' ? '' : 'network namespaces cannot be made here: ' + unavailable,
);

describe.skipIf(skip)('the outage over real network cuts (network namespaces)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-netns-'));
  let lab: NetnsLab;
  const servers: Dnsmasq[] = [];
  let bird: Bird;
  let socat: ChildProcess;
  let lifeline: ChildProcess;
  let port: SerialPort;
  let replies = '';
  let log = '';
  let codes: string[] = [];

  const present = (): boolean => bird.routes('t4').includes('192.0.2.53/32');
  const context = (): string => '\nlifeline log:\n' + log.slice(-3000);
  const command = async (line: string): Promise<string> => {
    replies = '';
    port.write(line + '\r\n');
    await waitFor(() => /(^|\n)(OK|ERR)[^\n]*\r?\n/.test(replies), 5000, 'a reply to ' + line);
    return replies;
  };

  beforeAll(async () => {
    requireCommand('/usr/sbin/nft', 'nftables');
    const made = makeNetnsLab(PREFIX, ['dc1', 'dc2', 'dc3', 'rtr']);
    if (typeof made === 'string') throw new Error('namespaces: ' + made);
    lab = made;
    const [dc1, dc2, dc3, rtr] = lab.peers as [
      (typeof lab.peers)[0],
      (typeof lab.peers)[0],
      (typeof lab.peers)[0],
      (typeof lab.peers)[0],
    ];
    for (const dc of [dc1, dc2, dc3]) servers.push(await startDnsmasq(dc.address, 53, dc.ns));
    bird = await startBird({
      address: rtr.address,
      port: 179,
      as: 65000,
      peerAddress: rtr.fwAddress,
      peerAs: 65010,
      netns: rtr.ns,
    });
    socat = spawn('socat', [
      'pty,raw,echo=0,link=' + join(dir, 'ttyS0'),
      'pty,raw,echo=0,link=' + join(dir, 'operator'),
    ]);
    codes = keygen(join(dir, 'key'), join(dir, 'codes'), 2);
    const doc = document({
      intervalMs: INTERVAL_MS,
      timeoutMs: TIMEOUT_MS,
      fall: FALL,
      rise: 2,
      quorum: 2,
    }) as any;
    doc.services[0].prefixes = ['192.0.2.53/32'];
    doc.services[0].backbone.targets = dnsTargets([dc1.address, dc2.address, dc3.address], 53);
    doc.announcer = {
      kind: 'bgp',
      localAs: 65010,
      routerId: '192.0.2.10',
      peers: [
        {
          address: rtr.address,
          remoteAs: 65000,
          holdTimeS: 9,
          localAddress: rtr.fwAddress,
          nextHopV4: rtr.fwAddress,
        },
      ],
    };
    doc.console = {
      device: join(dir, 'ttyS0'),
      keyFile: join(dir, 'key'),
      recoveryCodesFile: join(dir, 'codes'),
    };
    doc.stateDir = join(dir, 'state');
    writeFileSync(join(dir, 'config.json'), JSON.stringify(doc));
    await waitFor(
      () => spawnSync('test', ['-e', join(dir, 'operator')]).status === 0,
      5000,
      'the ptys',
    );
    lifeline = spawn(
      'ip',
      [
        'netns',
        'exec',
        lab.fw,
        process.execPath,
        'dist/lifeline.mjs',
        'run',
        '--config',
        join(dir, 'config.json'),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    lifeline.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    port = new SerialPort({ path: join(dir, 'operator'), baudRate: 115200 });
    port.on('data', (data: Buffer) => (replies += data.toString('latin1')));
    await waitFor(present, 20000, 'the route at BIRD across the namespaces' + context());
  }, 60000);

  afterAll(async () => {
    port?.close();
    await stopProcess(lifeline ?? null);
    await bird?.stop();
    for (const server of servers) await server.stop();
    socat?.kill();
    lab?.remove();
  });

  /**
   * Cuts every data centre; returns the wall time to the withdrawal at BIRD and the firmware's
   * transition line (with its streak and sinceMs). The bound is timeout + (fall-1)·interval from
   * the first unanswered probe: the decision comes on the fall-th unanswered round (the streak, a
   * count); the times are figures, which a loaded machine stretches (bench/e2e.ts measures them).
   */
  async function cutAll(mode: 'drop' | 'down'): Promise<{ wallMs: number; down: string }> {
    const logLength = log.length;
    const cutAt = performance.now();
    for (const dc of lab.peers.slice(0, 3)) lab.cut(dc, mode);
    await waitFor(() => !present(), 5000, 'the withdrawal at BIRD (' + mode + ')' + context());
    const wallMs = performance.now() - cutAt;
    await waitFor(
      () => /state=down .*sinceMs=\d+/.test(log.slice(logLength)),
      2000,
      'the transition line',
    );
    const down = /state=down .*sinceMs=\d+.*/.exec(log.slice(logLength))![0];
    const figure = wallMs.toFixed(0) + ' ms after the cut (bound ' + BOUND_MS + ' ms): ';
    console.log('netns ' + mode + ': withdrawn at BIRD ' + figure + down);
    return { wallMs, down };
  }

  it('a silent drop on every data-centre link withdraws the route at BIRD within the bound', async () => {
    const { down } = await cutAll('drop');
    expect(down).toMatch(new RegExp(' streak=' + FALL + ' sinceMs='));
    expect(log).toMatch(/failed=dc0\(timeout\),dc1\(timeout\),dc2\(timeout\)/);
    for (const dc of lab.peers.slice(0, 3)) lab.restore(dc);
    await waitFor(present, 5000, 'the route after the restore' + context());
  });

  it('links down withdraw it too; the operator re-announces through the pty while they are down', async () => {
    const { down } = await cutAll('down');
    expect(down).toMatch(new RegExp(' streak=' + FALL + ' sinceMs='));
    expect(await command('auth code ' + codes[0])).toMatch(/OK authenticated/);
    const sent = performance.now();
    expect(await command('announce all for 10m')).toMatch(/OK announce all for 10m/);
    await waitFor(present, 3000, 'the override at BIRD with the backbone down' + context());
    expect(performance.now() - sent).toBeLessThan(1000);
    expect(await command('status')).toMatch(
      /state=announced auto=down override=announce\(600s\) pin=off healthy=0\/3/,
    );
  });

  it('after the restore, auto hands back to the automatic decision, and the audit log shows every step', async () => {
    for (const dc of lab.peers.slice(0, 3)) lab.restore(dc);
    await waitFor(
      async () => /auto=up/.test(await command('status')),
      5000,
      'auto=up after the restore',
    );
    expect(await command('status')).toMatch(/state=announced auto=up override=announce/);
    expect(await command('auto')).toMatch(/OK auto all/);
    expect(present()).toBe(true);
    const audit = await command('log 40');
    for (const step of [
      'transition service=dns state=down reason=fall',
      'routes service=dns routes=withdrawn cause=auto',
      'auth-ok method=recovery-code',
      'override service=dns override=announce forMs=600000 by=console',
      'routes service=dns routes=announced cause=override',
      'override service=dns override=none by=console',
      'transition service=dns state=up reason=rise',
    ]) {
      expect(audit, step).toContain(step);
    }
  });
});
