// `npm run bench` / `lifeline bench`: the latency benchmarks, run on the device itself. Each figure
// is compared with a baseline measured in the same run (machines here are shared and noisy): the
// decision step and the DNS codec per operation, and a full probe round of the firmware over
// loopback UDP against a real responder next to a bare dgram query->reply to the same responder.

import { createSocket, type Socket } from 'node:dgram';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname } from 'node:path';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { Bench } from 'tinybench';

import { DecisionEngine } from '../firmware/decision';
import { fixtureExpected, healthReplyFixture } from '../firmware/device-bench';
import { decodeReply, encodeQuery, setQueryId } from '../firmware/dns';
import { dnsmasqPath, DNSMASQ_RECORD, startDnsmasq } from '../lab/dnsmasq';
import { DnsResponder } from '../lab/responder';
import { randomPort } from '../lab/processes';
import { measureBgp, type Timings } from './bgp';
import { E2E_FALL, E2E_INTERVAL_MS, E2E_TIMEOUT_MS, measureEndToEnd } from './e2e';
import { deviceBench } from './device';
import { m4IntervalMs, m4Rows, measureM4 } from './m4';
import { measureNodeAllocation, nodeAllocationChild } from './node-alloc';
import { measureOverrides } from './override';
import { measureStartup } from './startup';
import { benchConfig, RoundDriver } from './rounds';
import { benchResult, commitOf, hostMachine } from './report';
import { row, statistics, table, type BenchRow } from './rows';

const BATCH = 1000;
/** The targets the Node bench holds (issue 24, item 4): a probe round over bare dgram... */
const PROBE_ROUND_OVER_BARE = 1.3;
/** ...and start-up over a bare Node's, in ms. */
const STARTUP_OVER_BARE_MS = 60;

function rowOf(
  bench: Bench,
  name: string,
  figure: { id: string; perCall: number; good: string; note: string; baseline?: string },
): BenchRow {
  const task = bench.getTask(name);
  const result = task?.result;
  if (result === undefined || !('latency' in result))
    throw new Error('bench ' + name + ' did not complete');
  const scale = 1e6 / figure.perCall;
  return row({
    id: figure.id,
    name,
    medianNs: result.latency.p50 * scale,
    p99Ns: result.latency.p99 * scale,
    maxNs: result.latency.max * scale,
    madNs: result.latency.mad * scale,
    samples: result.latency.samplesCount,
    baseline: figure.baseline ?? null,
    good: figure.good,
    note: figure.note,
  });
}

/** Bytes allocated per call of `operation` over `count` calls after warm-up, and GCs seen. */
async function bytesPerOperation(
  operation: () => void,
  count: number,
): Promise<{ bytes: number; gcs: number }> {
  for (let i = 0; i < 100000; i++) operation();
  let gcs = 0;
  const observer = new PerformanceObserver((list) => (gcs += list.getEntries().length));
  observer.observe({ entryTypes: ['gc'] });
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < count; i++) operation();
  const after = process.memoryUsage().heapUsed;
  await new Promise((resolve) => setImmediate(resolve));
  observer.disconnect();
  return { bytes: Math.max(0, after - before) / count, gcs };
}

/** The baseline: the same query bytes, sent with bare dgram sockets, waiting for every reply. */
class BareDgram {
  private readonly sockets: Socket[] = [];
  private waiting = 0;
  private done: (() => void) | null = null;
  private readonly query = new Uint8Array(300);
  private readonly queryLength: number;
  constructor(
    private readonly address: string,
    private readonly port: number,
    count: number,
  ) {
    this.queryLength = encodeQuery(this.query, DNSMASQ_RECORD, 1);
    for (let i = 0; i < count; i++) {
      const socket = createSocket('udp4');
      socket.on('message', () => {
        if (--this.waiting === 0) this.done!();
      });
      this.sockets.push(socket);
    }
  }
  round(): Promise<void> {
    return new Promise((resolve) => {
      this.done = resolve;
      this.waiting = this.sockets.length;
      for (const socket of this.sockets)
        socket.send(this.query, 0, this.queryLength, this.port, this.address);
    });
  }
  close(): void {
    for (const socket of this.sockets) socket.close();
  }
}

async function computeBenches(rows: BenchRow[], extra: Record<string, unknown>): Promise<void> {
  const config = benchConfig('127.0.0.1', 53, 3);
  const engine = new DecisionEngine(config.services);
  const fixture = healthReplyFixture();
  const expected = fixtureExpected(fixture);
  let time = 0;
  let sink = 0;
  const step = (): void => {
    time += 250;
    sink += engine.step(0, (time & 1023) === 0 ? 0 : 3, true, time, time);
  };
  const decode = (): void => {
    // A new ID each time, written into both buffers as the HAL's copy and the next probe would:
    // with constant inputs the optimiser may hoist the loads and the figure would be fiction.
    const id = time++ & 0xff;
    fixture.query[1] = id;
    fixture.reply[1] = id;
    sink += decodeReply(fixture.buffer, fixture.replyLength, expected, 0);
  };
  const encode = (): void => {
    setQueryId(fixture.query, time++ & 0xffff);
    sink += encodeQuery(fixture.query, 'health.example.', 1);
  };
  const bench = new Bench({ time: 1500, warmupTime: 300 });
  bench.add('decision step', () => {
    for (let i = 0; i < BATCH; i++) step();
  });
  bench.add('dns decode reply (A, expectAddress)', () => {
    for (let i = 0; i < BATCH; i++) decode();
  });
  bench.add('dns encode query (boot-time path)', () => {
    for (let i = 0; i < BATCH; i++) encode();
  });
  await bench.run();
  const stepBytes = await bytesPerOperation(step, 1000000);
  const decodeBytes = await bytesPerOperation(decode, 1000000);
  rows.push(
    rowOf(bench, 'decision step', {
      id: 'decision-step',
      perCall: BATCH,
      good: '< 100 ns and 0 B/op',
      note: stepBytes.bytes.toFixed(3) + ' B/op, ' + stepBytes.gcs + ' GCs in 1e6',
    }),
    rowOf(bench, 'dns decode reply (A, expectAddress)', {
      id: 'dns-decode',
      perCall: BATCH,
      good: '< 500 ns and 0 B/op',
      note: decodeBytes.bytes.toFixed(3) + ' B/op, ' + decodeBytes.gcs + ' GCs in 1e6',
    }),
    rowOf(bench, 'dns encode query (boot-time path)', {
      id: 'dns-encode',
      perCall: BATCH,
      good: 'any: at boot only',
      note: 'per probe only the ID is patched',
    }),
  );
  extra['decisionStepBytesPerOp'] = stepBytes.bytes;
  extra['decisionStepGcs'] = stepBytes.gcs;
  extra['sink'] = sink & 1;
}

async function roundBenches(rows: BenchRow[], extra: Record<string, unknown>): Promise<void> {
  const address = '127.0.0.1';
  let port = 0;
  let stop: () => Promise<void>;
  let responderKind: string;
  if (dnsmasqPath() !== null) {
    port = randomPort();
    const dnsmasq = await startDnsmasq(address, port);
    stop = dnsmasq.stop;
    responderKind = 'dnsmasq';
  } else {
    const responder = await DnsResponder.start({ address });
    port = responder.port;
    stop = () => responder.close();
    responderKind = 'in-process responder (dnsmasq not installed)';
  }
  const driver = new RoundDriver(benchConfig(address, port, 3));
  const bare = new BareDgram(address, port, 3);
  const bench = new Bench({ time: 3000, warmupTime: 500 });
  bench.add('bare dgram query->reply x3 (baseline)', () => bare.round());
  bench.add('firmware probe round x3 (node HAL)', () => driver.round());
  await bench.run();
  driver.probes.close();
  bare.close();
  await stop();
  const base = rowOf(bench, 'bare dgram query->reply x3 (baseline)', {
    id: 'probe-round-bare-dgram',
    perCall: 1,
    good: "the machine's own: no target",
    note: 'responder: ' + responderKind,
  });
  const firmware = rowOf(bench, 'firmware probe round x3 (node HAL)', {
    id: 'probe-round',
    perCall: 1,
    baseline: base.id,
    good: '<= ' + PROBE_ROUND_OVER_BARE + 'x baseline median',
    note: '',
  });
  const ratio = firmware.medianNs / base.medianNs;
  firmware.note = ratioNote(firmware, base) + verdict(ratio <= PROBE_ROUND_OVER_BARE);
  rows.push(base, firmware);
  extra['probeRoundRatioMedian'] = firmware.medianNs / base.medianNs;
  extra['probeRoundRatioP99'] = firmware.p99Ns / base.p99Ns;
  extra['responder'] = responderKind;
}

/** A row of timings measured in ms (the round trips of bgp.ts, override.ts, startup.ts, e2e.ts). */
function timingsRow(
  timings: Timings,
  figure: { id: string; baseline?: string; good: string; note: string; perSecond?: boolean },
): BenchRow {
  return row({
    ...statistics(timings.samplesMs),
    id: figure.id,
    name: timings.name,
    baseline: figure.baseline ?? null,
    good: figure.good,
    note: figure.note,
    ...(figure.perSecond === false ? { opsPerSecond: 0 } : {}),
  });
}

/** Whether a figure holds its target, for its note. */
function verdict(held: boolean): string {
  return held ? ' (target held)' : ' (TARGET MISSED)';
}

function ratioNote(figure: BenchRow, base: BenchRow): string {
  const p99 = Number.isNaN(figure.p99Ns)
    ? ''
    : ', ' + (figure.p99Ns / base.p99Ns).toFixed(2) + 'x p99';
  return (figure.medianNs / base.medianNs).toFixed(2) + 'x baseline median' + p99;
}

async function bgpBenches(rows: BenchRow[], extra: Record<string, unknown>): Promise<void> {
  const [writtenTimes, baselineTimes, receivedTimes] = (await measureBgp()) as [
    Timings,
    Timings,
    Timings,
  ];
  const baseline = timingsRow(baselineTimes, {
    id: 'bgp-bare-write',
    good: "the machine's own: no target",
    note: 'the same bytes, no firmware',
  });
  const received = timingsRow(receivedTimes, {
    id: 'bgp-decision-to-peer',
    baseline: baseline.id,
    good: '<= 1.5x baseline median',
    note: '',
  });
  received.note = ratioNote(received, baseline);
  rows.push(
    timingsRow(writtenTimes, {
      id: 'bgp-decision-to-socket',
      good: '< 50 us (a copy)',
      note: 'synchronous: copy of the prebuilt UPDATE',
    }),
    baseline,
    received,
  );
  extra['bgpDecisionToWireMedianNs'] = received.medianNs;
  extra['bgpDecisionToWireP99Ns'] = received.p99Ns;
}

async function overrideBenches(rows: BenchRow[], extra: Record<string, unknown>): Promise<void> {
  const [consoleTimes, pinTimes] = (await measureOverrides()) as [Timings, Timings];
  const consoleLine = timingsRow(consoleTimes, {
    id: 'override-console-to-peer',
    good: '< 5 ms',
    note: 'in process: bytes in -> peer',
  });
  const pinEdge = timingsRow(pinTimes, {
    id: 'override-pin-to-peer',
    good: '< 15 ms (inotify; the poll is 10 ms)',
    note: 'inotify wakes the reader; 10 ms poll as fallback',
  });
  rows.push(consoleLine, pinEdge);
  extra['consoleToUpdateMedianNs'] = consoleLine.medianNs;
  extra['consoleToUpdateP99Ns'] = consoleLine.p99Ns;
  extra['pinToUpdateMedianNs'] = pinEdge.medianNs;
  extra['pinToUpdateP99Ns'] = pinEdge.p99Ns;
}

/**
 * Exec to the first probe, next to a bare Node's exec to its first datagram; and check-config's
 * exec to exit, next to a bare Node's.
 */
async function startupBenches(rows: BenchRow[], extra: Record<string, unknown>): Promise<void> {
  const [bareTimes, firmwareTimes, bareExitTimes, checkTimes] = await measureStartup(
    process.argv[1]!,
  );
  const bare = timingsRow(bareTimes, {
    id: 'startup-bare-node',
    good: "the machine's own: no target",
    note: 'node -e sending one datagram',
    perSecond: false,
  });
  const firmware = timingsRow(firmwareTimes, {
    id: 'startup-first-probe',
    baseline: bare.id,
    good: '<= baseline + ' + STARTUP_OVER_BARE_MS + ' ms',
    note: '',
    perSecond: false,
  });
  const overMs = (firmware.medianNs - bare.medianNs) / 1e6;
  firmware.note =
    '+' +
    overMs.toFixed(1) +
    ' ms over the baseline median' +
    verdict(overMs <= STARTUP_OVER_BARE_MS);
  rows.push(bare, firmware);
  extra['startupOverBareMedianMs'] = overMs;
  // check-config from exec to exit, next to a bare `node -e 0` (a pipeline runs it per change).
  const bareExit = timingsRow(bareExitTimes, {
    id: 'startup-bare-exit',
    good: "the machine's own: no target",
    note: 'node -e 0',
    perSecond: false,
  });
  const check = timingsRow(checkTimes, {
    id: 'startup-check-config',
    baseline: bareExit.id,
    good: 'as close to the baseline as start-up allows',
    note: '',
    perSecond: false,
  });
  const checkOverMs = (check.medianNs - bareExit.medianNs) / 1e6;
  check.note = '+' + checkOverMs.toFixed(1) + ' ms over the baseline median';
  rows.push(bareExit, check);
  extra['checkConfigOverBareMedianMs'] = checkOverMs;
}

async function endToEndBenches(rows: BenchRow[], extra: Record<string, unknown>): Promise<void> {
  const measured = await measureEndToEnd();
  if (typeof measured === 'string') {
    process.stdout.write('end-to-end benchmarks skipped: ' + measured + '\n');
    return;
  }
  const bound = E2E_TIMEOUT_MS + (E2E_FALL - 1) * E2E_INTERVAL_MS;
  const figures = [
    { id: 'e2e-detect-to-bird', good: '<= ' + (bound + E2E_INTERVAL_MS) + ' ms' },
    { id: 'e2e-first-miss-to-decision', good: '<= ' + bound + ' ms + a few ms' },
    { id: 'e2e-console-to-bird', good: '<= 5 ms p99 (BIRD logs in ms)' },
    { id: 'e2e-pin-to-bird', good: '<= 5 ms p99 (BIRD logs in ms)' },
  ];
  const notes = [
    'bound ' + bound + ' ms + one ' + E2E_INTERVAL_MS + ' ms interval of phase',
    'bound ' + bound + ' ms',
    '',
    '',
  ];
  measured.forEach((timings, i) => {
    const entry = timingsRow(timings, {
      ...figures[i]!,
      note: notes[i]! + (notes[i] === '' ? '' : ', ') + timings.samplesMs.length + ' runs',
      perSecond: false,
    });
    rows.push(entry);
    extra['e2e:' + entry.name] = {
      medianMs: entry.medianNs / 1e6,
      p99Ms: entry.p99Ns / 1e6,
      samples: entry.samples,
    };
  });
}

/**
 * The bench of an Espruino board (`--device`), then the same operations on this host's Node in the
 * same table, for the ratio. A sentence on failure.
 */
async function boardBenches(
  device: string,
  rows: BenchRow[],
  extra: Record<string, unknown>,
): Promise<string | null> {
  const measured = await deviceBench(device);
  if (typeof measured === 'string') return measured;
  rows.push(...measured.rows);
  extra['device'] = measured.board;
  // What the board's rounds probe, as its bench reported it, for the result's config summary.
  const rounds = measured.rows.find((entry) => entry.id === 'device-probe-rounds-during-the-bench');
  const probed = /interval \d+ ms, services=\d+ dns=\d+ tcp=\d+/.exec(rounds?.note ?? '');
  if (probed !== null) extra['deviceConfig'] = 'the flashed config: ' + probed[0];
  await computeBenches(rows, extra);
  return null;
}

/** What the Node bench probes with, for the result's config summary. */
const NODE_CONFIG =
  'benchConfig: 1 service, 3 DNS targets (A, expectAddress) on loopback, ExaBGP; ' +
  'the BGP and override figures: the built-in speaker to one loopback peer; ' +
  'M4: bench/m4-config.json (1 service, 3 DNS targets, 1 BGP peer, 250 ms)';

/**
 * The repository keeps its results in bench/results/; run elsewhere (the installed package, any
 * working directory) the figures are written only where --json says.
 */
function defaultJsonPath(): string | null {
  if (!existsSync('bench/results')) return null;
  return 'bench/results/bench-' + new Date().toISOString().replace(/[:.]/g, '-') + '.json';
}

function parseArgs(
  args: readonly string[],
): { jsonPath: string | null; device: string | null } | null {
  let jsonPath = defaultJsonPath();
  let device: string | null = null;
  for (let i = 0; i < args.length; i += 2) {
    if (args[i] === '--json' && args[i + 1] !== undefined) jsonPath = args[i + 1]!;
    else if (args[i] === '--device' && args[i + 1] !== undefined) device = args[i + 1]!;
    else return null;
  }
  return { jsonPath, device };
}

/** The device-class figures, on the emulated Cortex-M4 (bench/m4.ts), or why not. */
async function m4Benches(rows: BenchRow[], extra: Record<string, unknown>): Promise<void> {
  const measured = await measureM4({ batches: 21, perBatch: 3 });
  if (typeof measured === 'string') {
    process.stdout.write('emulated Cortex-M4 bench skipped: ' + measured + '\n');
    return;
  }
  const m4 = m4Rows(measured, m4IntervalMs());
  rows.push(...m4);
  const duty = m4.find((entry) => entry.id === 'm4-duty-cycle');
  if (duty !== undefined) extra['m4DutyCyclePercent'] = duty.medianNs;
}

async function nodeBenches(rows: BenchRow[], extra: Record<string, unknown>): Promise<void> {
  await startupBenches(rows, extra);
  await computeBenches(rows, extra);
  await m4Benches(rows, extra);
  await roundBenches(rows, extra);
  await bgpBenches(rows, extra);
  await overrideBenches(rows, extra);
  await endToEndBenches(rows, extra);
  const allocation = await measureNodeAllocation();
  if (typeof allocation === 'string') {
    process.stdout.write('node HAL allocation: skipped: ' + allocation + '\n');
    return;
  }
  extra['nodeHalBytesPerRound'] = allocation.bytesPerRound;
  rows.push(
    row({
      id: 'node-hal-bytes-per-round',
      name: 'node HAL: bytes per probe round x3',
      unit: 'B',
      medianNs: Math.round(allocation.bytesPerRound),
      p99Ns: NaN,
      maxNs: NaN,
      samples: allocation.rounds,
      good: "a few kB: Node's sockets and timers (the core: 0)",
      note: 'per round (Node sockets and timers; the core: 0), ' + allocation.gcs + ' GCs',
      opsPerSecond: 0,
    }),
  );
}

export async function bench(args: readonly string[]): Promise<number> {
  if (args[0] === '--node-alloc-child') return nodeAllocationChild();
  if (args[0] === 'compare') return (await import('./compare')).compare(args.slice(1));
  const parsed = parseArgs(args);
  if (parsed === null) {
    process.stderr.write(
      'usage: lifeline bench [--json FILE] [--device DEVICE] | bench compare OLD NEW\n',
    );
    return 2;
  }
  const rows: BenchRow[] = [];
  const extra: Record<string, unknown> = {};
  const started = performance.now();
  const date = new Date().toISOString();
  const load = loadavg()[0]!;
  const commit = commitOf();
  let run = { runtime: 'node ' + process.version, machine: hostMachine(), config: NODE_CONFIG };
  if (parsed.device !== null) {
    const failure = await boardBenches(parsed.device, rows, extra);
    if (failure !== null) {
      process.stderr.write('bench: ' + failure + '\n');
      return 1;
    }
    run = {
      runtime: 'Espruino ' + String(extra['device']) + '; host: node ' + process.version,
      machine:
        'board ' + String(extra['device']) + ' on ' + parsed.device + '; host: ' + run.machine,
      config: String(extra['deviceConfig'] ?? 'the config flashed on the board'),
    };
  } else await nodeBenches(rows, extra);
  process.stdout.write(table(rows) + '\n');
  const durationMs = Math.round(performance.now() - started);
  const result = benchResult({ ...run, commit, load, durationMs, date }, rows, extra);
  if (parsed.jsonPath === null) return 0;
  mkdirSync(dirname(parsed.jsonPath), { recursive: true });
  writeFileSync(parsed.jsonPath, JSON.stringify(result, null, 2) + '\n');
  process.stdout.write('\nJSON: ' + parsed.jsonPath + '\n');
  return 0;
}
