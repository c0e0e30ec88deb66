// BFD against real routers (issue 25): BIRD 2 and FRR's bfdd, each in a network namespace joined
// to Lifeline's by a veth link (single hop, RFC 5881: TTL 255 both ways, checked by both). For
// each: the session comes Up; a frozen appliance (SIGSTOP) loses its routes at the router within
// intervalMs x multiplier plus a margin, at 100 ms x 3 and 300 ms x 3, where without BFD the
// router waits for the hold time; they come back when it runs again; a cut link is seen by both
// sides; a router whose BFD stops takes the BGP session down on Lifeline's side too, which then
// waits for BFD before it connects again (RFC 5882 4.1). Timings are bounds that hold on a loaded
// machine (the margin is generous, the hold time far away), and the measured figures are printed.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startDnsmasq, type Dnsmasq } from '../../lab/dnsmasq';
import { startBfdRouter, type BfdRouter } from '../support/bfd-routers';
import { makeNetnsLab, type NetnsLab, type NetnsPeer } from '../support/netns';
import { stopProcess, waitFor } from '../support/peers';
import { skipping } from '../support/complete';

const PREFIX = '192.0.2.53/32';
const HOLD_TIME_S = 9;
/** Past the detection time: the router's polling, its own scheduling and a loaded machine. */
const MARGIN_MS = 500;

function namespacesAvailable(prefix: string): string {
  if (process.getuid?.() !== 0) return 'not root';
  const probe = spawnSync(
    'bash',
    ['-c', 'ip netns add ' + prefix + '-probe && ip netns del ' + prefix + '-probe'],
    { encoding: 'utf8' },
  );
  return probe.status === 0 ? '' : (probe.stderr || 'ip netns add failed').trim();
}

const unavailable = namespacesAvailable('llb' + process.pid);
const skip = skipping(
  'bfd-routers test',
  unavailable === '' ? '' : 'network namespaces cannot be made here: ' + unavailable,
);

/** Lifeline in the lab's namespace, its BGP peer the router with `bfd` as given (or none). */
function startLifeline(
  lab: NetnsLab,
  rtr: NetnsPeer,
  bfd: { intervalMs: number; multiplier: number } | null,
): { child: ChildProcess; log: () => string } {
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-bfd-'));
  const peer: Record<string, unknown> = {
    address: rtr.address,
    remoteAs: 65000,
    holdTimeS: HOLD_TIME_S,
    localAddress: rtr.fwAddress,
  };
  if (bfd !== null) peer['bfd'] = bfd;
  // Sixteen probes every 200 ms beside BFD: rounds that keep the loop busy.
  const targets = [];
  for (let i = 0; i < 16; i++)
    targets.push({ name: 'rtr' + i, kind: 'dns', address: rtr.address, query: 'probe.test.' });
  const config = {
    device: { name: 'bfd-test' },
    probe: { intervalMs: 200, timeoutMs: 150 },
    metrics: { listen: rtr.fwAddress + ':9143' },
    services: [
      {
        name: 'dns',
        prefixes: [PREFIX],
        rise: 1,
        fall: 3,
        holdDownMs: 0,
        backbone: {
          quorum: 1,
          targets,
        },
      },
    ],
    announcer: { kind: 'bgp', localAs: 65010, routerId: rtr.fwAddress, peers: [peer] },
  };
  const path = join(dir, 'lifeline.json');
  writeFileSync(path, JSON.stringify(config));
  const argv = ['netns', 'exec', lab.fw, process.execPath, resolve('dist/lifeline.mjs')];
  const child = spawn('ip', [...argv, 'run', '--config', path], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  return { child, log: () => log };
}

/** Lifeline's metric `name` (the first sample), scraped from inside its namespace. */
function metric(lab: NetnsLab, rtr: NetnsPeer, name: string): number {
  const url = 'http://' + rtr.fwAddress + ':9143/metrics';
  const script = `fetch('${url}').then((r) => r.text()).then((t) => process.stdout.write(t))`;
  const text = spawnSync('ip', ['netns', 'exec', lab.fw, process.execPath, '-e', script], {
    encoding: 'utf8',
    timeout: 10000,
  }).stdout;
  const line = text.split('\n').find((sample) => sample.startsWith('lifeline_' + name));
  return line === undefined ? NaN : Number(line.split(' ').pop());
}

/** Milliseconds until `check` holds, polled as fast as the router's CLI answers. */
function msUntil(check: () => boolean, limitMs: number): number {
  const startedMs = performance.now();
  while (!check()) {
    if (performance.now() - startedMs > limitMs) return Infinity;
  }
  return performance.now() - startedMs;
}

/** The router's interface toward Lifeline, cut or restored in both directions (nftables). */
function cutBothWays(rtr: NetnsPeer, cut: boolean): void {
  const table =
    'table inet bfdcut { chain in { type filter hook input priority 0; policy drop; };' +
    ' chain out { type filter hook output priority 0; policy drop; }; }';
  const script = cut ? `nft -f - <<'EOT'\n${table}\nEOT` : 'nft delete table inet bfdcut';
  const result = spawnSync('ip', ['netns', 'exec', rtr.ns, 'bash', '-c', script], {
    encoding: 'utf8',
  });
  expect(result.status, result.stderr).toBe(0);
}

/** Only the router's BFD packets to Lifeline stop (nftables on UDP 3784): its BFD is gone. */
function dropRouterBfd(rtr: NetnsPeer, drop: boolean): void {
  const table =
    'table inet bfdstop { chain out { type filter hook output priority 0; udp dport 3784 drop; }; }';
  const script = drop ? `nft -f - <<'EOT'\n${table}\nEOT` : 'nft delete table inet bfdstop';
  const result = spawnSync('ip', ['netns', 'exec', rtr.ns, 'bash', '-c', script], {
    encoding: 'utf8',
  });
  expect(result.status, result.stderr).toBe(0);
}

const figures: string[] = [];

for (const kind of ['bird', 'frr'] as const) {
  describe.skipIf(skip)(`BFD with ${kind === 'bird' ? 'BIRD 2' : "FRR's bfdd"}`, () => {
    let lab: NetnsLab;
    let rtr: NetnsPeer;
    let dns: Dnsmasq;
    let router: BfdRouter | null = null;
    let lifeline: { child: ChildProcess; log: () => string } | null = null;
    const context = (): string =>
      '\nlifeline:\n' +
      (lifeline?.log().slice(-3000) ?? '') +
      '\nrouter:\n' +
      (router?.log().slice(-3000) ?? '');

    /** Router and Lifeline with `bfd` (null: without), up and the route at the router. */
    const startPair = async (
      bfd: { intervalMs: number; multiplier: number } | null,
    ): Promise<void> => {
      await stopPair();
      router = await startBfdRouter({
        kind,
        netns: rtr.ns,
        address: rtr.address,
        peerAddress: rtr.fwAddress,
        bfd,
        holdTimeS: HOLD_TIME_S,
      });
      lifeline = startLifeline(lab, rtr, bfd);
      await waitFor(() => router!.hasRoute(PREFIX), 30000, 'the route at the router' + context());
      if (bfd !== null)
        await waitFor(() => router!.bfdState() === 'up', 20000, 'BFD Up' + context());
    };
    const stopPair = async (): Promise<void> => {
      if (lifeline !== null) {
        lifeline.child.kill('SIGCONT');
        await stopProcess(lifeline.child);
      }
      lifeline = null;
      await router?.stop();
      router = null;
    };

    beforeAll(async () => {
      const made = makeNetnsLab('llb' + kind[0] + process.pid, ['rtr']);
      if (typeof made === 'string') throw new Error('namespaces: ' + made);
      lab = made;
      rtr = lab.peers[0]!;
      dns = await startDnsmasq(rtr.address, 53, rtr.ns);
    });

    afterAll(async () => {
      await stopPair();
      await dns?.stop();
      lab?.remove();
      if (kind === 'frr')
        console.log('router-side time from freeze to route gone:\n' + figures.join('\n'));
    });

    /** Until BFD and BGP are up on both sides and Lifeline's log has been quiet for 2 s. */
    const settled = async (): Promise<void> => {
      let length = -1;
      let quietSinceMs = performance.now();
      await waitFor(
        () => {
          const log = lifeline!.log();
          if (log.length !== length) [length, quietSinceMs] = [log.length, performance.now()];
          const up = router!.bfdState() === 'up' && router!.established();
          return up && performance.now() - quietSinceMs > 2000;
        },
        30000,
        'BFD and BGP settled' + context(),
      );
    };

    /** Freezes Lifeline, times the route's going at the router, and lets it run again. */
    const freeze = async (): Promise<{ goneMs: number; backMs: number; lateMs: number }> => {
      const pid = lifeline!.child.pid!;
      // A few seconds of steady state first: the session and its timers settled.
      await new Promise((done) => setTimeout(done, 2000));
      expect(router!.hasRoute(PREFIX), 'the route before the freeze' + context()).toBe(true);
      const lateMs = 1000 * metric(lab, rtr, 'bfd_transmit_late_seconds_max');
      process.kill(pid, 'SIGSTOP');
      const goneMs = msUntil(() => !router!.hasRoute(PREFIX), 4 * HOLD_TIME_S * 1000);
      process.kill(pid, 'SIGCONT');
      const backMs = msUntil(() => router!.hasRoute(PREFIX), 60000);
      return { goneMs, backMs, lateMs };
    };

    for (const [intervalMs, multiplier] of [
      [100, 3],
      [300, 3],
    ] as const) {
      it(`${intervalMs} ms x ${multiplier}: a frozen appliance's routes go in the detection time`, async () => {
        await startPair({ intervalMs, multiplier });
        await waitFor(
          () => /audit bfd peer=\S+ state=up/.test(lifeline!.log()),
          5000,
          'Up' + context(),
        );
        const { goneMs, backMs, lateMs } = await freeze();
        const detectionMs = intervalMs * multiplier;
        figures.push(
          `  ${kind} BFD ${intervalMs} ms x ${multiplier}: ${Math.round(goneMs)} ms` +
            ` (detection ${detectionMs} ms), back ${Math.round(backMs)} ms after the thaw;` +
            ` before the freeze a transmit was at most ${Math.round(lateMs)} ms late`,
        );
        console.log(figures[figures.length - 1]);
        expect(goneMs, 'route gone' + context()).toBeLessThanOrEqual(detectionMs + MARGIN_MS);
        // Busy rounds never held a transmit back past what the router allows: the one wake-up
        // serves BFD when its time comes (a timer of its own would share the same thread).
        expect(lateMs, 'transmit lateness' + context()).toBeLessThan(detectionMs - intervalMs);
        // The point of it: nowhere near the hold time.
        expect(goneMs / (HOLD_TIME_S * 1000)).toBeLessThan(0.25);
        expect(backMs, 'route back' + context()).toBeLessThan(60000);
        await waitFor(() => router!.bfdState() === 'up', 20000, 'BFD Up again' + context());
      }, 120000);
    }

    it('without BFD: the router waits for the hold time', async () => {
      await startPair(null);
      const { goneMs, backMs } = await freeze();
      figures.push(`  ${kind} without BFD (hold time ${HOLD_TIME_S} s): ${Math.round(goneMs)} ms`);
      console.log(figures[figures.length - 1]);
      // The hold time less the time since our last message (a KEEPALIVE every third of it, and
      // the router's timer may start at our OPEN): seconds, not the BFD's fraction of one.
      expect(goneMs / (HOLD_TIME_S * 1000), 'route gone' + context()).toBeGreaterThan(1 / 3);
      expect(backMs).toBeLessThan(60000);
    }, 120000);

    it('a cut link is seen by both sides, and both recover', async () => {
      await startPair({ intervalMs: 100, multiplier: 3 });
      const logBefore = lifeline!.log().length;
      cutBothWays(rtr, true);
      const goneMs = msUntil(() => !router!.hasRoute(PREFIX), 4 * HOLD_TIME_S * 1000);
      expect(goneMs, 'route gone at the router' + context()).toBeLessThanOrEqual(300 + MARGIN_MS);
      await waitFor(
        () =>
          /audit bfd peer=\S+ state=down from=up diag=control-detection-time-expired/.test(
            lifeline!.log().slice(logBefore),
          ),
        5000,
        'Lifeline seeing the cut' + context(),
      );
      expect(lifeline!.log().slice(logBefore)).toMatch(
        /bgp peer=\S+ state=idle from=established reason=bfd-down/,
      );
      cutBothWays(rtr, false);
      await waitFor(() => router!.hasRoute(PREFIX), 60000, 'the route back' + context());
      await waitFor(() => router!.bfdState() === 'up', 20000, 'BFD Up again' + context());
      const up = /state=down from=up[\s\S]*audit bfd peer=\S+ state=up/;
      await waitFor(() => up.test(lifeline!.log().slice(logBefore)), 5000, 'Up again' + context());
    }, 120000);

    it('a router whose BFD stops takes the BGP session down on our side too, until BFD is back', async () => {
      await startPair({ intervalMs: 100, multiplier: 3 });
      // Settled first: FRR's bfdd may reset a new session once (it signals Down, and Lifeline
      // drops BGP as RFC 5882 says); wait for BFD and BGP both up and two quiet seconds.
      await settled();
      const logBefore = lifeline!.log().length;
      // FRR: its BFD daemon frozen. BIRD runs BFD in the one process: its BFD packets dropped.
      const bfdd = router!.bfdPid();
      if (bfdd !== null) process.kill(bfdd, 'SIGSTOP');
      else dropRouterBfd(rtr, true);
      try {
        await waitFor(
          () =>
            /bgp peer=\S+ state=idle from=established reason=bfd-down/.test(
              lifeline!.log().slice(logBefore),
            ),
          5000,
          'Lifeline dropping the BGP session' + context(),
        );
        // RFC 5882 4.1: no new BGP session while BFD, once Up, is down, past every backoff.
        await new Promise((done) => setTimeout(done, 6000));
        const since = lifeline!.log().slice(logBefore);
        const dropped = since.search(/reason=bfd-down/);
        expect(since.slice(dropped), 'no BGP session while BFD is down' + context()).not.toMatch(
          /state=established/,
        );
        expect(router!.hasRoute(PREFIX)).toBe(false);
      } finally {
        if (bfdd !== null) process.kill(bfdd, 'SIGCONT');
        else dropRouterBfd(rtr, false);
      }
      await waitFor(() => router!.hasRoute(PREFIX), 60000, 'the route back' + context());
      // BFD Up again, and only then the BGP session (its log lines may trail the router's view).
      const again = /state=down from=up[\s\S]*audit bfd peer=\S+ state=up[\s\S]*state=established/;
      await waitFor(
        () => again.test(lifeline!.log().slice(logBefore)),
        5000,
        'the order' + context(),
      );
    }, 120000);
  });
}
