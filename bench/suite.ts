// `npm run bench` / `lifeline bench`: the latency benchmarks, run on the device itself. Each figure
// is compared with a baseline measured in the same run (machines here are shared and noisy): the
// decision step and the DNS codec per operation, and a full probe round of the firmware over
// loopback UDP against a real responder next to a bare dgram query->reply to the same responder.

import { createSocket, type Socket } from 'node:dgram';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { Bench } from 'tinybench';

import { DecisionEngine } from '../firmware/decision';
import { fixtureExpected, healthReplyFixture } from '../firmware/device-bench';
import { decodeReply, encodeQuery, setQueryId } from '../firmware/dns';
import { dnsmasqPath, DNSMASQ_RECORD, startDnsmasq } from '../lab/dnsmasq';
import { DnsResponder } from '../lab/responder';
import { measureBgp, summarise } from './bgp';
import { E2E_FALL, E2E_INTERVAL_MS, E2E_TIMEOUT_MS, measureEndToEnd } from './e2e';
import { deviceBench } from './device';
import { measureNodeAllocation, nodeAllocationChild } from './node-alloc';
import { measureOverrides } from './override';
import { measureStartup } from './startup';
import { benchConfig, RoundDriver } from './rounds';
import { table, type BenchRow } from './rows';

const BATCH = 1000;

function rowOf(bench: Bench, name: string, perCall: number, note: string): BenchRow {
  const task = bench.getTask(name);
  const result = task?.result;
  if (result === undefined || !('latency' in result))
    throw new Error('bench ' + name + ' did not complete');
  const medianNs = (result.latency.p50 * 1e6) / perCall;
  return {
    name,
    medianNs,
    p99Ns: (result.latency.p99 * 1e6) / perCall,
    opsPerSecond: 1e9 / medianNs,
    samples: result.latency.samplesCount,
    note,
  };
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
    sink += decodeReply(fixture.reply, fixture.replyLength, expected);
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
    rowOf(
      bench,
      'decision step',
      BATCH,
      stepBytes.bytes.toFixed(3) + ' B/op, ' + stepBytes.gcs + ' GCs in 1e6',
    ),
  );
  rows.push(
    rowOf(
      bench,
      'dns decode reply (A, expectAddress)',
      BATCH,
      decodeBytes.bytes.toFixed(3) + ' B/op, ' + decodeBytes.gcs + ' GCs in 1e6',
    ),
  );
  rows.push(
    rowOf(bench, 'dns encode query (boot-time path)', BATCH, 'per probe only the ID is patched'),
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
    port = 20000 + Math.floor(Math.random() * 20000);
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
  const base = rowOf(
    bench,
    'bare dgram query->reply x3 (baseline)',
    1,
    'responder: ' + responderKind,
  );
  const firmware = rowOf(bench, 'firmware probe round x3 (node HAL)', 1, '');
  firmware.note =
    (firmware.medianNs / base.medianNs).toFixed(2) +
    'x baseline median, ' +
    (firmware.p99Ns / base.p99Ns).toFixed(2) +
    'x p99';
  rows.push(base, firmware);
  extra['probeRoundRatioMedian'] = firmware.medianNs / base.medianNs;
  extra['probeRoundRatioP99'] = firmware.p99Ns / base.p99Ns;
  extra['responder'] = responderKind;
}

async function bgpBenches(rows: BenchRow[], extra: Record<string, unknown>): Promise<void> {
  const [written, baseline, received] = (await measureBgp()).map(summarise) as [
    ReturnType<typeof summarise>,
    ReturnType<typeof summarise>,
    ReturnType<typeof summarise>,
  ];
  const row = (entry: ReturnType<typeof summarise>, note: string): BenchRow => ({
    ...entry,
    opsPerSecond: 1e9 / entry.medianNs,
    note,
  });
  rows.push(
    row(written, 'synchronous: copy of the prebuilt UPDATE'),
    row(baseline, 'the same bytes, no firmware'),
    row(
      received,
      (received.medianNs / baseline.medianNs).toFixed(2) +
        'x baseline median, ' +
        (received.p99Ns / baseline.p99Ns).toFixed(2) +
        'x p99',
    ),
  );
  extra['bgpDecisionToWireMedianNs'] = received.medianNs;
  extra['bgpDecisionToWireP99Ns'] = received.p99Ns;
}

async function overrideBenches(rows: BenchRow[], extra: Record<string, unknown>): Promise<void> {
  const [consoleLine, pinEdge] = (await measureOverrides()).map(summarise) as [
    ReturnType<typeof summarise>,
    ReturnType<typeof summarise>,
  ];
  rows.push({
    ...consoleLine,
    opsPerSecond: 1e9 / consoleLine.medianNs,
    note: 'in process: bytes in -> peer',
  });
  rows.push({
    ...pinEdge,
    opsPerSecond: 1e9 / pinEdge.medianNs,
    note: 'inotify wakes the reader; 10 ms poll as fallback',
  });
  extra['consoleToUpdateMedianNs'] = consoleLine.medianNs;
  extra['consoleToUpdateP99Ns'] = consoleLine.p99Ns;
  extra['pinToUpdateMedianNs'] = pinEdge.medianNs;
  extra['pinToUpdateP99Ns'] = pinEdge.p99Ns;
}

/** Exec to the first probe, next to a bare Node's exec to its first datagram. */
async function startupBenches(rows: BenchRow[], extra: Record<string, unknown>): Promise<void> {
  const [bare, firmware] = (await measureStartup(process.argv[1]!)).map(summarise) as [
    ReturnType<typeof summarise>,
    ReturnType<typeof summarise>,
  ];
  const overMs = (firmware.medianNs - bare.medianNs) / 1e6;
  rows.push({ ...bare, opsPerSecond: 0, note: 'node -e sending one datagram' });
  rows.push({
    ...firmware,
    opsPerSecond: 0,
    note: '+' + overMs.toFixed(1) + ' ms over the baseline median (target <= 60 ms)',
  });
  extra['startupOverBareMedianMs'] = overMs;
}

async function endToEndBenches(rows: BenchRow[], extra: Record<string, unknown>): Promise<void> {
  const measured = await measureEndToEnd();
  if (typeof measured === 'string') {
    process.stdout.write('end-to-end benchmarks skipped: ' + measured + '\n');
    return;
  }
  const bound = E2E_TIMEOUT_MS + (E2E_FALL - 1) * E2E_INTERVAL_MS;
  const notes = [
    'bound ' + bound + ' ms + one ' + E2E_INTERVAL_MS + ' ms interval of phase',
    'bound ' + bound + ' ms',
    'target <= 5 ms p99 (BIRD logs in ms)',
    'target <= 5 ms p99 (BIRD logs in ms)',
  ];
  measured.map(summarise).forEach((entry, i) => {
    rows.push({ ...entry, opsPerSecond: 0, note: notes[i]! + ', ' + entry.samples + ' runs' });
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
  await computeBenches(rows, extra);
  return null;
}

/**
 * The repository keeps its results in bench/results/; run elsewhere (the installed package, any
 * working directory) the figures are written only where --json says.
 */
function defaultJsonPath(): string | null {
  if (!existsSync('bench/results')) return null;
  return 'bench/results/bench-' + new Date().toISOString().replace(/[:.]/g, '-') + '.json';
}

export async function bench(args: readonly string[]): Promise<number> {
  if (args[0] === '--node-alloc-child') return nodeAllocationChild();
  let jsonPath = defaultJsonPath();
  let device: string | null = null;
  for (let i = 0; i < args.length; i += 2) {
    if (args[i] === '--json' && args[i + 1] !== undefined) jsonPath = args[i + 1]!;
    else if (args[i] === '--device' && args[i + 1] !== undefined) device = args[i + 1]!;
    else {
      process.stderr.write('usage: lifeline bench [--json FILE] [--device DEVICE]\n');
      return 2;
    }
  }
  const rows: BenchRow[] = [];
  const extra: Record<string, unknown> = {};
  const started = performance.now();
  if (device !== null) {
    const failure = await boardBenches(device, rows, extra);
    if (failure !== null) {
      process.stderr.write('bench: ' + failure + '\n');
      return 1;
    }
  } else {
    await startupBenches(rows, extra);
    await computeBenches(rows, extra);
    await roundBenches(rows, extra);
    await bgpBenches(rows, extra);
    await overrideBenches(rows, extra);
    await endToEndBenches(rows, extra);
    const allocation = await measureNodeAllocation();
    if (typeof allocation === 'string')
      process.stdout.write('node HAL allocation: skipped: ' + allocation + '\n');
    else extra['nodeHalBytesPerRound'] = allocation.bytesPerRound;
    if (typeof allocation !== 'string') {
      rows.push({
        name: 'node HAL: bytes per probe round x3',
        medianNs: NaN, // not a timing
        p99Ns: NaN,
        opsPerSecond: 0,
        samples: allocation.rounds,
        note:
          Math.round(allocation.bytesPerRound) +
          ' B/round (Node sockets and timers; the core: 0), ' +
          allocation.gcs +
          ' GCs',
      });
    }
  }
  process.stdout.write(table(rows) + '\n');
  if (jsonPath === null) return 0;
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(
    jsonPath,
    JSON.stringify(
      {
        node: process.version,
        arch: process.arch,
        date: new Date().toISOString(),
        durationMs: Math.round(performance.now() - started),
        rows,
        ...extra,
      },
      null,
      2,
    ) + '\n',
  );
  process.stdout.write('\nJSON: ' + jsonPath + '\n');
  return 0;
}
