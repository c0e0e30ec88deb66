// The interop matrix: the built-in speaker (`lifeline run`, announcer "bgp") against the routers
// operators run, BIRD 2, FRR's bgpd and GoBGP, each a peer of one Lifeline on loopback. Every case
// is a row run against each router it applies to; the case names say which. Lifeline probes three
// real DNS servers (dnsmasq) as the backbone and a fourth as its local service, and announces an
// IPv4 /32 and an IPv6 /128, with graceful shutdown (RFC 8326) for GRACEFUL_MS.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startDnsmasq, type Dnsmasq } from '../../lab/dnsmasq';
import { dnsTargets, document } from '../helpers';
import { randomPort, stopProcess, waitFor } from '../support/peers';
import { startRouter, type Router, type RouterKind } from '../support/routers';

const KINDS: readonly RouterKind[] = ['bird', 'frr', 'gobgp'];
const ADDRESSES: Record<RouterKind, string> = {
  bird: '127.0.13.2',
  frr: '127.0.13.3',
  gobgp: '127.0.13.4',
};
const LOCAL = '127.0.13.1';
const DNS = ['127.0.13.41', '127.0.13.42', '127.0.13.43'];
const LOCAL_DNS = '127.0.13.44';
const GRACEFUL_MS = 3000;
/**
 * Long enough for GoBGP: for 5 s after a session drops it closes every connection it is offered
 * (its idle hold), so Lifeline, back 2 s after it went, gets in on its third or fourth attempt.
 */
const RESTART_S = 12;
const V4 = '192.0.2.53/32';
const V6 = '2001:db8:53::53/128';

describe('interop matrix: the built-in speaker against BIRD 2, FRR and GoBGP', () => {
  const servers: Dnsmasq[] = [];
  const routers = {} as Record<RouterKind, Router>;
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-interop-'));
  let lifeline: ChildProcess | null = null;
  let log = '';
  let local: Dnsmasq;
  /** When each of Lifeline's log lines arrived (test clock), to time what the routers see. */
  const lines: { atMs: number; line: string }[] = [];
  const figures: string[] = [];

  function startLifeline(): ChildProcess {
    const child = spawn(
      process.execPath,
      ['dist/lifeline.mjs', 'run', '--config', join(dir, 'config.json')],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stderr!.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      const atMs = performance.now();
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push({ atMs, line });
    });
    child.stdout!.on('data', (chunk: Buffer) => (log += 'STDOUT ' + chunk.toString()));
    return child;
  }

  const context = (kind: RouterKind): string =>
    '\nlifeline log:\n' + log + '\n' + kind + ' log:\n' + routers[kind].log().slice(-6000);
  const present = (kind: RouterKind) => (): boolean =>
    routers[kind].route(V4) !== null && routers[kind].route(V6) !== null;
  const absent = (kind: RouterKind) => (): boolean =>
    routers[kind].route(V4) === null && routers[kind].route(V6) === null;

  beforeAll(async () => {
    const dnsPort = randomPort();
    for (const address of DNS) servers.push(await startDnsmasq(address, dnsPort));
    local = await startDnsmasq(LOCAL_DNS, dnsPort);
    const peers = [];
    for (const kind of KINDS) {
      const port = randomPort();
      routers[kind] = await startRouter({
        kind,
        address: ADDRESSES[kind],
        port,
        as: 65000,
        peerAddress: LOCAL,
        peerAs: 65010,
      });
      peers.push({
        address: ADDRESSES[kind],
        port,
        remoteAs: 65000,
        holdTimeS: 9,
        localAddress: LOCAL,
        nextHopV4: '192.0.2.10',
        nextHopV6: '2001:db8::10',
      });
    }
    const doc = document({ intervalMs: 100, timeoutMs: 80, fall: 3, rise: 2, quorum: 2 }) as any;
    doc.services[0].prefixes = [V4, V6];
    doc.services[0].backbone.targets = dnsTargets(DNS, dnsPort);
    doc.services[0].local = {
      kind: 'dns',
      address: LOCAL_DNS,
      port: dnsPort,
      query: 'probe.test.',
    };
    doc.announcer = {
      kind: 'bgp',
      localAs: 65010,
      routerId: '192.0.2.10',
      gracefulShutdownMs: GRACEFUL_MS,
      restartTimeS: RESTART_S,
      peers,
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(doc));
    lifeline = startLifeline();
  });

  afterAll(async () => {
    await stopProcess(lifeline);
    for (const kind of KINDS) await routers[kind]?.stop();
    for (const server of servers) await server.stop();
    await local?.stop();
    if (figures.length > 0) console.log('interop figures:\n' + figures.join('\n'));
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(KINDS)(
    '%s: the session comes up; the /32 and the /128 arrive with AS path 65010',
    async (kind) => {
      await waitFor(() => routers[kind].established(), 15000, 'Established' + context(kind));
      await waitFor(present(kind), 8000, 'both routes' + context(kind));
      for (const prefix of [V4, V6]) expect(routers[kind].route(prefix)!.asPath).toBe('65010');
      expect(log).not.toMatch(/STDOUT/);
    },
  );

  /** Waits until `check` holds at every router; returns when it did at each (test clock). */
  async function atEvery(check: (kind: RouterKind) => boolean, what: string) {
    const seenAtMs = {} as Record<RouterKind, number>;
    await waitFor(
      () => {
        for (const kind of KINDS)
          if (seenAtMs[kind] === undefined && check(kind)) seenAtMs[kind] = performance.now();
        return KINDS.every((kind) => seenAtMs[kind] !== undefined);
      },
      GRACEFUL_MS + RESTART_S * 1000 + 8000,
      what + KINDS.map(context).join(''),
    );
    return seenAtMs;
  }

  const withdrawnAtMs = (): number => {
    for (let i = lines.length - 1; i >= 0; i--)
      if (/ routes service=dns routes=withdrawn/.test(lines[i]!.line)) return lines[i]!.atMs;
    throw new Error('no withdrawal in the log\n' + log);
  };
  const shutdownSeen = (kind: RouterKind): boolean => {
    const route = routers[kind].route(V4);
    if (route === null || !/65535:0|\(65535,0\)|graceful-shutdown/.test(route.communities))
      return false;
    // FRR acts on it itself (RFC 8326 4.2: LOCAL_PREF 0); BIRD and GoBGP leave it to policy.
    return kind !== 'frr' || route.localPref === 0;
  };

  it('a backbone failure: GRACEFUL_SHUTDOWN first (FRR: local-pref 0), the routes go GRACEFUL_MS later', async () => {
    servers[0]!.pause();
    servers[1]!.pause();
    const shutAtMs = await atEvery(shutdownSeen, 'GRACEFUL_SHUTDOWN');
    const goneAtMs = await atEvery((kind) => absent(kind)(), 'the withdrawal');
    const decidedAtMs = withdrawnAtMs();
    for (const kind of KINDS) {
      const shutMs = shutAtMs[kind] - decidedAtMs;
      const goneMs = goneAtMs[kind] - decidedAtMs;
      figures.push(
        `${kind}: graceful: shutdown seen +${shutMs.toFixed(0)} ms, gone +${goneMs.toFixed(0)} ms`,
      );
      expect(shutMs, kind).toBeLessThan(1500);
      expect(goneMs, kind).toBeGreaterThan(GRACEFUL_MS - 200);
      expect(goneMs, kind).toBeLessThan(GRACEFUL_MS + 3000);
    }
    servers[0]!.resume();
    servers[1]!.resume();
    await atEvery((kind) => present(kind)() && !shutdownSeen(kind), 'the routes again');
    expect(routers.frr.route(V4)!.localPref).not.toBe(0);
  });

  it('the local service failing withdraws at once, without graceful shutdown', async () => {
    local.pause();
    const goneAtMs = await atEvery((kind) => absent(kind)(), 'the urgent withdrawal');
    const decidedAtMs = withdrawnAtMs();
    for (const kind of KINDS) {
      const goneMs = goneAtMs[kind] - decidedAtMs;
      figures.push(`${kind}: urgent: gone +${goneMs.toFixed(0)} ms`);
      expect(goneMs, kind).toBeLessThan(1500);
    }
    local.resume();
    await atEvery((kind) => present(kind)(), 'the routes again');
  });

  it('the routes survive a Lifeline restart (SIGKILL, started again) within the restart time', async () => {
    await atEvery((kind) => present(kind)(), 'the routes');
    const killedAtMs = performance.now();
    const exited = new Promise((resolve) => lifeline!.once('exit', resolve));
    lifeline!.kill('SIGKILL');
    await exited;
    const missing = { bird: 0, frr: 0, gobgp: 0 } as Record<RouterKind, number>;
    let polls = 0;
    const poll = (): void => {
      polls++;
      for (const kind of KINDS) if (routers[kind].route(V4) === null) missing[kind]++;
    };
    // Down for 2 s, then back: the routers hold the routes all along, and take them afresh.
    while (performance.now() - killedAtMs < 2000) poll();
    const established = log.split('state=established').length;
    lifeline = startLifeline();
    await waitFor(
      () => {
        poll();
        return log.split('state=established').length >= established + KINDS.length;
      },
      // A router still clearing the old session may refuse the first attempts: Lifeline's
      // backoff (1, 2, 4, 8 s) then sets the pace.
      30000,
      'the sessions again' + KINDS.map(context).join(''),
    );
    for (let i = 0; i < 20; i++) poll();
    figures.push(
      `restart within ${RESTART_S} s: ${polls} polls over ` +
        `${(performance.now() - killedAtMs).toFixed(0)} ms, route missing in ` +
        KINDS.map((kind) => kind + ' ' + missing[kind]).join(', '),
    );
    for (const kind of KINDS) expect(missing[kind], kind + context(kind)).toBe(0);
  });

  it('the routes go when Lifeline does not come back within the restart time', async () => {
    await atEvery((kind) => routers[kind].established() && present(kind)(), 'the routes');
    // Let End-of-RIB arrive (the routes are no longer stale), then kill for good.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const killedAtMs = performance.now();
    const exited = new Promise((resolve) => lifeline!.once('exit', resolve));
    lifeline!.kill('SIGKILL');
    await exited;
    lifeline = null;
    const goneAtMs = await atEvery((kind) => absent(kind)(), 'the routes to go');
    for (const kind of KINDS) {
      const goneMs = goneAtMs[kind] - killedAtMs;
      figures.push(
        `${kind}: not back: gone after ${goneMs.toFixed(0)} ms (restart time ${RESTART_S} s)`,
      );
      expect(goneMs, kind).toBeGreaterThan(RESTART_S * 1000 - 500);
      expect(goneMs, kind).toBeLessThan(RESTART_S * 1000 + 3000);
    }
  });

  it('frr: an admin reset (clear bgp: CEASE 6/4) is followed by a retry after 200 ms', async () => {
    lifeline = startLifeline();
    await atEvery((kind) => routers[kind].established() && present(kind)(), 'the routes');
    const clearedAtMs = performance.now();
    (routers.frr as Router & { vtysh(command: string): string }).vtysh('clear bgp ' + LOCAL);
    await waitFor(
      () => /cease\/administrative-reset/.test(log),
      3000,
      'the CEASE' + context('frr'),
    );
    await waitFor(
      () => routers.frr.established() && present('frr')(),
      5000,
      'the session again' + context('frr'),
    );
    const backMs = performance.now() - clearedAtMs;
    figures.push(
      `frr: clear bgp (CEASE 6/4): session and routes back after ${backMs.toFixed(0)} ms`,
    );
    expect(backMs).toBeLessThan(1500);
  });

  it('a stop (SIGTERM) shuts down gracefully: GRACEFUL_SHUTDOWN, then the withdrawal, CEASE, exit 0', async () => {
    const exited = new Promise<number | null>((resolve) => lifeline!.once('exit', resolve));
    const stoppedAtMs = performance.now();
    lifeline!.kill('SIGTERM');
    const shutAtMs = await atEvery(shutdownSeen, 'GRACEFUL_SHUTDOWN on stop');
    const goneAtMs = await atEvery((kind) => absent(kind)(), 'the withdrawal on stop');
    expect(await exited).toBe(0);
    const exitMs = performance.now() - stoppedAtMs;
    lifeline = null;
    for (const kind of KINDS) {
      const shutMs = shutAtMs[kind] - stoppedAtMs;
      const goneMs = goneAtMs[kind] - stoppedAtMs;
      figures.push(
        `${kind}: SIGTERM: shutdown seen +${shutMs.toFixed(0)} ms, gone +${goneMs.toFixed(0)} ms`,
      );
      expect(shutMs, kind).toBeLessThan(1000);
      expect(goneMs, kind).toBeGreaterThan(GRACEFUL_MS - 300);
    }
    expect(exitMs).toBeLessThan(GRACEFUL_MS + 3000);
    expect(routers.bird.log()).toMatch(/Received: Administrative shutdown/);
  });
});

describe('interop matrix, passive: BIRD 2, FRR and GoBGP connect to Lifeline', () => {
  const PASSIVE_ADDRESSES: Record<RouterKind, string> = {
    bird: '127.0.13.5',
    frr: '127.0.13.6',
    gobgp: '127.0.13.7',
  };
  const servers: Dnsmasq[] = [];
  const routers = {} as Record<RouterKind, Router>;
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-interop-passive-'));
  const listenPort = randomPort();
  const figures: string[] = [];
  let lifeline: ChildProcess | null = null;
  let log = '';

  const context = (kind: RouterKind): string =>
    '\nlifeline log:\n' + log + '\n' + kind + ' log:\n' + routers[kind].log().slice(-6000);
  const present = (kind: RouterKind): boolean =>
    routers[kind].route(V4) !== null && routers[kind].route(V6) !== null;

  beforeAll(async () => {
    const dnsPort = randomPort();
    const dns = ['127.0.13.45', '127.0.13.46', '127.0.13.47'];
    for (const address of dns) servers.push(await startDnsmasq(address, dnsPort));
    // FRR signs its connection (TCP MD5): the key is on Lifeline's listener for its address only.
    writeFileSync(join(dir, 'frr.secret'), 'passive-md5-secret\n', { mode: 0o600 });
    const peers = KINDS.map((kind) => ({
      address: PASSIVE_ADDRESSES[kind],
      port: listenPort,
      remoteAs: 65000,
      holdTimeS: 9,
      localAddress: LOCAL,
      passive: true,
      ...(kind === 'frr' ? { passwordFile: join(dir, 'frr.secret') } : {}),
      nextHopV4: '192.0.2.10',
      nextHopV6: '2001:db8::10',
    }));
    const doc = document({ intervalMs: 100, timeoutMs: 80, fall: 3, rise: 2, quorum: 2 }) as any;
    doc.services[0].prefixes = [V4, V6];
    doc.services[0].backbone.targets = dnsTargets(dns, dnsPort);
    doc.announcer = { kind: 'bgp', localAs: 65010, routerId: '192.0.2.10', peers };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(doc));
    lifeline = spawn(
      process.execPath,
      ['dist/lifeline.mjs', 'run', '--config', join(dir, 'config.json')],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    lifeline.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    for (const kind of KINDS) {
      routers[kind] = await startRouter({
        kind,
        address: PASSIVE_ADDRESSES[kind],
        port: 0,
        as: 65000,
        peerAddress: LOCAL,
        peerAs: 65010,
        connectPort: listenPort,
        ...(kind === 'frr' ? { password: 'passive-md5-secret' } : {}),
      });
    }
  });

  afterAll(async () => {
    await stopProcess(lifeline);
    for (const kind of KINDS) await routers[kind]?.stop();
    for (const server of servers) await server.stop();
    if (figures.length > 0) console.log('interop figures (passive):\n' + figures.join('\n'));
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(KINDS)(
    '%s connects (FRR signed, MD5); the session comes up, both families arrive',
    async (kind) => {
      await waitFor(() => routers[kind].established(), 15000, 'Established' + context(kind));
      await waitFor(() => present(kind), 8000, 'both routes' + context(kind));
      const line = new RegExp('bgp peer=' + PASSIVE_ADDRESSES[kind] + ':\\d+ state=established');
      await waitFor(() => line.test(log), 3000, 'the log line' + context(kind));
      expect(log).not.toMatch(/connect-failed|md5:/);
    },
  );

  it.each(KINDS)('%s restarts: the routes are back as soon as it connects again', async (kind) => {
    await routers[kind].kill();
    const startedAtMs = performance.now();
    await routers[kind].start();
    await waitFor(() => present(kind), 15000, 'the routes after the restart' + context(kind));
    const backMs = performance.now() - startedAtMs;
    figures.push(`${kind}: restarted, routes back ${backMs.toFixed(0)} ms after its start`);
    // GoBGP's first connect waits its minimum connect retry (5 s, whatever the config says) and
    // a random part (seen: 5 to 9 s after its start); BIRD and FRR connect within about a second.
    expect(backMs).toBeLessThan(kind === 'gobgp' ? 12000 : 3000);
  });
});

describe('interop matrix, TCP MD5 (RFC 2385): up with the right password, refused with a wrong one', () => {
  const SECRET = 'lifeline-md5-secret';
  /** Each router, its address, and whether it holds the same secret as Lifeline. */
  const CASES: readonly { kind: RouterKind; address: string; right: boolean }[] = [
    { kind: 'bird', address: '127.0.13.8', right: true },
    { kind: 'frr', address: '127.0.13.9', right: true },
    { kind: 'gobgp', address: '127.0.13.10', right: true },
    { kind: 'bird', address: '127.0.13.11', right: false },
    { kind: 'frr', address: '127.0.13.12', right: false },
  ];
  const servers: Dnsmasq[] = [];
  const routers: Router[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-interop-md5-'));
  let startedAtMs = 0;
  let lifeline: ChildProcess | null = null;
  let log = '';

  const context = (i: number): string =>
    '\nlifeline log:\n' + log + '\nrouter log:\n' + routers[i]!.log().slice(-4000);

  beforeAll(async () => {
    const dnsPort = randomPort();
    const dns = ['127.0.13.48', '127.0.13.49', '127.0.13.50'];
    for (const address of dns) servers.push(await startDnsmasq(address, dnsPort));
    writeFileSync(join(dir, 'bgp.secret'), SECRET + '\n', { mode: 0o600 });
    const peers = [];
    for (const { kind, address, right } of CASES) {
      const port = randomPort();
      routers.push(
        await startRouter({
          kind,
          address,
          port,
          as: 65000,
          peerAddress: LOCAL,
          peerAs: 65010,
          password: right ? SECRET : 'not-' + SECRET,
        }),
      );
      peers.push({
        address,
        port,
        remoteAs: 65000,
        holdTimeS: 9,
        localAddress: LOCAL,
        passwordFile: join(dir, 'bgp.secret'),
        nextHopV4: '192.0.2.10',
        nextHopV6: '2001:db8::10',
      });
    }
    const doc = document({ intervalMs: 100, timeoutMs: 80, fall: 3, rise: 2, quorum: 2 }) as any;
    doc.services[0].prefixes = [V4, V6];
    doc.services[0].backbone.targets = dnsTargets(dns, dnsPort);
    doc.announcer = { kind: 'bgp', localAs: 65010, routerId: '192.0.2.10', peers };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(doc));
    startedAtMs = performance.now();
    lifeline = spawn(
      process.execPath,
      ['dist/lifeline.mjs', 'run', '--config', join(dir, 'config.json')],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    lifeline.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  });

  afterAll(async () => {
    await stopProcess(lifeline);
    for (const router of routers) await router.stop();
    for (const server of servers) await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(
    CASES.map((c, i) => [c.kind, c.address, i] as const).filter(([, , i]) => CASES[i]!.right),
  )(
    '%s (%s), same secret: the signed session comes up and both families arrive',
    async (_kind, _address, i) => {
      await waitFor(() => routers[i]!.established(), 15000, 'Established' + context(i));
      await waitFor(
        () => routers[i]!.route(V4) !== null && routers[i]!.route(V6) !== null,
        8000,
        'both routes' + context(i),
      );
    },
  );

  it.each(
    CASES.map((c, i) => [c.kind, c.address, i] as const).filter(([, , i]) => !CASES[i]!.right),
  )(
    '%s (%s), another secret: no session (its kernel drops SYNs signed with another key)',
    async (_kind, address, i) => {
      // More than a connect timeout (5 s) after Lifeline started: it has tried, and been ignored.
      const waitMs = startedAtMs + 8000 - performance.now();
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
      expect(routers[i]!.established(), context(i)).toBe(false);
      expect(routers[i]!.route(V4)).toBeNull();
      expect(log).not.toMatch(new RegExp('bgp peer=' + address + ':\\d+ state=established'));
      expect(log).toMatch(new RegExp('bgp peer=' + address + ':\\d+ state=idle .*connect-'));
    },
  );
});

describe('interop matrix, FRR with extended-optional-parameters: its OPEN in RFC 9072 format (issue 20)', () => {
  const ADDRESS = '127.0.13.13';
  const servers: Dnsmasq[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-interop-rfc9072-'));
  let router: Router | null = null;
  let lifeline: ChildProcess | null = null;
  let log = '';

  beforeAll(async () => {
    const dnsPort = randomPort();
    const dns = ['127.0.13.51', '127.0.13.52', '127.0.13.53'];
    for (const address of dns) servers.push(await startDnsmasq(address, dnsPort));
    const port = randomPort();
    router = await startRouter({
      kind: 'frr',
      address: ADDRESS,
      port,
      as: 65000,
      peerAddress: LOCAL,
      peerAs: 65010,
      extendedOptionalParameters: true,
    });
    const doc = document({ intervalMs: 100, timeoutMs: 80, fall: 3, rise: 2, quorum: 2 }) as any;
    doc.services[0].prefixes = [V4, V6];
    doc.services[0].backbone.targets = dnsTargets(dns, dnsPort);
    doc.announcer = {
      kind: 'bgp',
      localAs: 65010,
      routerId: '192.0.2.10',
      peers: [
        {
          address: ADDRESS,
          port,
          remoteAs: 65000,
          holdTimeS: 9,
          localAddress: LOCAL,
          nextHopV4: '192.0.2.10',
          nextHopV6: '2001:db8::10',
        },
      ],
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(doc));
    lifeline = spawn(
      process.execPath,
      // LIFELINE_BUNDLE: another build (an older one, to see the failure).
      [
        process.env['LIFELINE_BUNDLE'] ?? 'dist/lifeline.mjs',
        'run',
        '--config',
        join(dir, 'config.json'),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    lifeline.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  });

  afterAll(async () => {
    await stopProcess(lifeline);
    await router?.stop();
    for (const server of servers) await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('frr: Lifeline takes its OPEN (it refused it with 1/2), answers in the same format, and the session comes up', async () => {
    const context = (): string =>
      '\nlifeline log:\n' + log + '\nfrr log:\n' + router!.log().slice(-4000);
    await waitFor(() => router!.established(), 15000, 'Established' + context());
    await waitFor(
      () => router!.route(V4) !== null && router!.route(V6) !== null,
      8000,
      'both routes' + context(),
    );
    // FRR 8.4 misreads the usual OPEN of the first connection (2/0); the second speaks its format.
    expect(log).not.toMatch(/sent notification/);
    expect(log.match(/received notification 2\/0/g)?.length ?? 0, context()).toBeLessThanOrEqual(1);
  });
});
