// The benchmarks that run on the device itself (`lifeline bench --device`): the decision step and
// the DNS reply decoder, timed with the board's own clock, median and p99 per operation, and the
// running firmware's probe rounds. They run in slices beside the firmware, never as one call: on a
// Cortex-M4 the whole bench is minutes of work (a DNS decode alone is ~20 ms there), and one
// blocking call that long stops the firmware's timers and sockets, so the routers' hold timers
// expire (issue 20, item 5). Each turn (`benchTurn`, from a timer of hal/espruino/main.ts) runs
// as many operations as fit in a slice (at least one) and returns, and only while no probe round
// is out, so the rounds keep their grid and their timing. A sample is `perBatch` operations,
// timed as the sum of the slices that ran them less each slice's own timing cost, so that neither
// the waits between slices nor the slicing are in the figures.
//
// To add a figure (a calibration loop, a round's bookkeeping over a fake socket, the BGP codec:
// issue 24), add an Operation, its name and its loop in `benchSlice`: the slicing, the samples and
// the rows follow. The slices' own durations are kept (the longest is what the firmware waited at
// most), and so is the time the bench took next to the rounds run meanwhile: where a duty cycle
// (the CPU a round costs over the interval) can be read from. The timed loops allocate nothing.
//
// A record and functions, not a class: most functions here have one caller, so the board build
// writes them in there, and a board holds the bench's state only while a bench exists.

import { DecisionEngine } from './decision';
import {
  decodeReply,
  encodeQuery,
  type ExpectedReplies,
  replyBuffer,
  type ReplyBuffer,
  setQueryId,
} from './dns';
import type { Clock } from './hal';
import type { Lifeline } from './lifeline';

export interface DeviceBenchRow {
  readonly name: string;
  /** -1 for a row that is not a timing (memory, counts). */
  readonly medianNs: number;
  readonly p99Ns: number;
  readonly samples: number;
  readonly note?: string;
}

/** What the bench times, in the order it runs them. */
export const enum Operation {
  DecisionStep = 0,
  DnsDecode = 1,
  /** The calibration loop, one call of `calibrate(CALIBRATION_ITERATIONS)` per sample: last. */
  Calibration = 2,
  Count = 3,
}

/** The calibration loop's iterations per call, here and on the emulated Cortex-M4. */
export const CALIBRATION_ITERATIONS = 100;

/** Slices whose durations are kept for the slice row (a ring: the last ones). */
const SLICE_HISTORY = 64;
/** The longest a slice runs (less on a faster probe interval: a fifth of it). */
const SLICE_MS = 10;
/** While a probe round is out the bench waits, and looks again this much later. */
const ROUND_WAIT_MS = 5;

/**
 * The calibration loop: a fixed piece of work whose time is the interpreter's speed index (issue
 * 24). A figure taken on one build, divided by this loop's time there, can be scaled to another
 * build by its own loop's time. The emulated Cortex-M4's bench runs the same function
 * (bench/m4-program.ts).
 */
export function calibrate(iterations: number): number {
  let sum = 0;
  for (let i = 0; i < iterations; i++) sum += i & 7;
  return sum;
}

/** Median and p99 of the first `count` samples, in ns per operation. */
export function summarise(name: string, samples: Float64Array, count: number): DeviceBenchRow {
  // A plain array to sort: Espruino has no Array.prototype.slice to `.call` on a typed array.
  const sorted: number[] = [];
  for (let i = 0; i < count; i++) sorted.push(samples[i]!);
  sorted.sort((a, b) => a - b);
  return {
    name,
    medianNs: sorted[Math.floor(sorted.length / 2)]!,
    p99Ns: sorted[Math.floor(sorted.length * 0.99)]!,
    samples: sorted.length,
  };
}

export interface ReplyFixture {
  readonly query: Uint8Array;
  readonly queryLength: number;
  /** The query's bytes as words (ExpectedReplies.queryWords). */
  readonly queryWords: Uint32Array;
  /** The reply's bytes (`buffer.replyBytes`), and the buffer that holds it. */
  readonly reply: Uint8Array;
  readonly buffer: ReplyBuffer;
  readonly replyLength: number;
}

/** What `fixture`'s reply must match, as slot 0: its query, NOERROR, the answer 203.0.113.53. */
export function fixtureExpected(fixture: ReplyFixture): ExpectedReplies {
  const expect = new Uint8Array(16);
  expect.set([203, 0, 113, 53]);
  return {
    queries: [fixture.query],
    queryWords: fixture.queryWords,
    queryLength: new Uint16Array([fixture.queryLength]),
    rcodeMask: new Uint16Array([1]),
    expect,
    expectLength: new Uint8Array([4]),
  };
}

/**
 * A query for health.example. A (ID 0) and its healthy reply: NOERROR, one answer 203.0.113.53.
 * The on-device bench and the host bench decode the same bytes.
 */
export function healthReplyFixture(): ReplyFixture {
  const queryWords = new Uint32Array(75);
  const query = new Uint8Array(queryWords.buffer);
  const queryLength = encodeQuery(query, 'health.example.', 1);
  const buffer = replyBuffer();
  const reply = buffer.replyBytes;
  reply.set(query.subarray(0, queryLength));
  reply[2] = 0x81;
  reply[3] = 0x80;
  reply[7] = 1;
  reply.set([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 203, 0, 113, 53], queryLength);
  return { query, queryWords, queryLength, reply, buffer, replyLength: queryLength + 16 };
}

export interface DeviceBenchOptions {
  readonly clock: Clock;
  /** Samples per operation. */
  readonly batches: number;
  /** Operations per sample. */
  readonly perBatch: number;
  /** The running firmware, whose rounds the bench waits for and reports; null: none runs. */
  readonly firmware: Lifeline | null;
}

/** A bench in progress: its whole state, made by startBench, dropped once its rows are read. */
export interface DeviceBench {
  readonly options: DeviceBenchOptions;
  /** The operation being timed (Operation.Count: done), the sample, operations done of it. */
  operation: number;
  batch: number;
  done: number;
  /** The current sample's time so far. */
  batchNs: number;
  /** Operations the next slice runs (1 until the first has said what one costs). */
  chunk: number;
  /** The timing's own cost per slice (benchSlice). */
  overheadNs: number;
  readonly sliceLimitNs: number;
  readonly samples: Float64Array;
  /** Slices run, their durations (a ring of the last ones), the longest. */
  slices: number;
  readonly sliceNs: Float64Array;
  sliceNsMax: number;
  readonly engine: DecisionEngine;
  readonly fixture: ReplyFixture;
  readonly expected: ExpectedReplies;
  time: number;
  decodes: number;
  /** When the bench started, and the firmware's rounds and skipped rounds then. */
  readonly startMs: number;
  readonly rounds: number;
  readonly skipped: number;
  /** The rows, once every sample is taken (the caller may add its own), until collected. */
  result: DeviceBenchRow[] | null;
}

export function startBench(options: DeviceBenchOptions): DeviceBench {
  const firmware = options.firmware;
  const fixture = healthReplyFixture();
  const intervalMs = firmware === null ? Infinity : firmware.config.fastIntervalMs;
  return {
    options,
    operation: 0,
    batch: 0,
    done: 0,
    batchNs: 0,
    chunk: 1,
    overheadNs: 0,
    sliceLimitNs: Math.min(SLICE_MS, intervalMs / 5) * 1e6,
    samples: new Float64Array(options.batches * Operation.Count),
    slices: 0,
    sliceNs: new Float64Array(SLICE_HISTORY),
    sliceNsMax: 0,
    // One service as the config validator would make it (not used: it would bring the validator
    // in).
    engine: new DecisionEngine([
      {
        name: 'dns',
        prefixes: [],
        quorum: 2,
        targets: [],
        local: null,
        rise: 3,
        fall: 3,
        holdDownMs: 0,
        damping: null,
        announce: { med: -1, communities: [], communityValues: [] },
        drain: null,
      },
    ]),
    fixture,
    expected: fixtureExpected(fixture),
    time: 0,
    decodes: 0,
    startMs: options.clock.nowMs(),
    rounds: firmware === null ? 0 : firmware.counters.rounds,
    skipped: firmware === null ? 0 : firmware.counters.roundsSkipped,
    result: null,
  };
}

/** Operations done of all there are to do (for the host's progress). */
export function benchProgress(bench: DeviceBench): string {
  const options = bench.options;
  // The calibration's samples are one call each (the loop is its own batch): it comes last.
  const perBatch = bench.operation === Operation.Calibration ? 1 : options.perBatch;
  const before = bench.operation * options.batches * options.perBatch;
  const done = before + bench.batch * perBatch + bench.done;
  return done + '/' + (Operation.Calibration * options.perBatch + 1) * options.batches;
}

/**
 * One turn, from the caller's timer: a slice, unless a probe round is out (its replies and its
 * timing are the firmware's). Returns the milliseconds until the next turn, or -1 once `result`
 * holds the rows.
 */
export function benchTurn(bench: DeviceBench): number {
  const firmware = bench.options.firmware;
  if (firmware !== null && firmware.roundActive) return ROUND_WAIT_MS;
  if (!benchSlice(bench)) return 0;
  bench.result = benchRows(bench);
  return -1;
}

/**
 * Runs one slice: as many operations as fit in the slice by the last slice's measure, at least
 * one, never past the end of a sample. Returns true when every sample has been taken. An
 * operation's first slice first runs three empty ones: what the timing itself costs (reading the
 * clock, the loop's set-up; the least of the three) is taken off every slice's time in the
 * samples, since a slice on a slow board runs one or two operations where the single call of old
 * spread that cost over 200. One function, the operations' loops in it: a helper called from here
 * would stay defined on a board (see the module's comment). What the loops read is in locals
 * first: on the interpreter a property lookup costs about as much as an operation's own steps.
 */
function benchSlice(bench: DeviceBench): boolean {
  const options = bench.options;
  const clock = options.clock;
  const perBatch = bench.operation === Operation.Calibration ? 1 : options.perBatch;
  const count = Math.min(bench.chunk, perBatch - bench.done);
  const first = bench.batch === 0 && bench.done === 0;
  let leastNs = Infinity;
  let tookNs = 0;
  for (let pass = first ? 0 : 3; pass < 4; pass++) {
    const operations = pass < 3 ? 0 : count;
    const startMs = clock.nowMs();
    if (bench.operation === Operation.DecisionStep) {
      const engine = bench.engine;
      let time = bench.time;
      for (let done = 0; done < operations; done++) {
        time += 250;
        engine.step(0, (time & 1023) === 0 ? 0 : 3, true, time, time);
      }
      bench.time = time;
    } else if (bench.operation === Operation.Calibration) {
      for (let done = 0; done < operations; done++) calibrate(CALIBRATION_ITERATIONS);
    } else {
      const fixture = bench.fixture;
      const query = fixture.query;
      const reply = fixture.reply;
      const expected = bench.expected;
      const from = bench.decodes;
      for (let id = from; id < from + operations; id++) {
        setQueryId(query, id & 0xffff);
        reply[0] = query[0]!;
        reply[1] = query[1]!;
        decodeReply(fixture.buffer, fixture.replyLength, expected, 0);
      }
      bench.decodes = from + operations;
    }
    tookNs = (clock.nowMs() - startMs) * 1e6;
    if (pass < 3 && tookNs < leastNs) leastNs = tookNs;
  }
  if (first) bench.overheadNs = leastNs;
  bench.sliceNs[bench.slices % SLICE_HISTORY] = tookNs;
  bench.slices++;
  if (tookNs > bench.sliceNsMax) bench.sliceNsMax = tookNs;
  bench.chunk = Math.max(1, Math.floor((bench.sliceLimitNs * count) / Math.max(tookNs, 1)));
  bench.batchNs += Math.max(0, tookNs - bench.overheadNs);
  bench.done += count;
  if (bench.done < perBatch) return false;
  bench.samples[bench.operation * options.batches + bench.batch] = bench.batchNs / perBatch;
  bench.done = 0;
  bench.batchNs = 0;
  bench.chunk = 1; // the next operation may cost more: learn it again
  if (++bench.batch < options.batches) return false;
  bench.batch = 0;
  return ++bench.operation >= Operation.Count;
}

/**
 * What a round probes (`services=S dns=D tcp=T`), for the host's duty-cycle estimate
 * (bench/device.ts, config/duty.ts).
 */
function probed(firmware: Lifeline): string {
  let dns = 0;
  let tcp = 0;
  const services = firmware.config.services;
  for (let s = 0; s < services.length; s++) {
    const service = services[s]!;
    for (let t = 0; t <= service.targets.length; t++) {
      const target = t < service.targets.length ? service.targets[t]! : service.local;
      if (target !== null && target.kind === 'dns') dns++;
      else if (target !== null) tcp++;
    }
  }
  return 'services=' + services.length + ' dns=' + dns + ' tcp=' + tcp;
}

/**
 * Each operation's row, the slices' (how long the firmware waited for the bench at most), and
 * with a firmware its probe rounds: their durations (the last ones it keeps, run during the
 * bench) and how many ran and were skipped meanwhile.
 */
function benchRows(bench: DeviceBench): DeviceBenchRow[] {
  const batches = bench.options.batches;
  const rows: DeviceBenchRow[] = [];
  for (let operation = 0; operation < Operation.Count; operation++) {
    const samples = bench.samples.subarray(operation * batches, (operation + 1) * batches);
    const name =
      operation === Operation.DecisionStep
        ? 'decision step'
        : operation === Operation.DnsDecode
          ? 'dns decode reply'
          : 'calibration loop';
    rows.push(summarise('device: ' + name, samples, batches));
  }
  const kept = Math.min(bench.slices, SLICE_HISTORY);
  const slices = summarise('device: bench slice', bench.sliceNs, kept);
  rows.push({
    name: slices.name,
    medianNs: slices.medianNs,
    p99Ns: slices.p99Ns,
    samples: bench.slices,
    note:
      'the last ' +
      kept +
      ' of ' +
      bench.slices +
      ' slices, the longest ' +
      Math.round(bench.sliceNsMax / 1e3) +
      ' us; the firmware runs between them',
  });
  const firmware = bench.options.firmware;
  if (firmware === null) return rows;
  const roundMs = firmware.roundMs;
  const rounds = firmware.counters.rounds - bench.rounds;
  const roundsKept = Math.min(firmware.counters.rounds, roundMs.length);
  const roundNs = new Float64Array(roundsKept);
  for (let i = 0; i < roundsKept; i++) roundNs[i] = roundMs[i]! * 1e6;
  if (roundsKept > 0) rows.push(summarise('device: probe round', roundNs, roundsKept));
  rows.push({
    name: 'device: probe rounds during the bench',
    medianNs: -1,
    p99Ns: -1,
    samples: rounds,
    note:
      'rounds=' +
      rounds +
      ' skipped=' +
      (firmware.counters.roundsSkipped - bench.skipped) +
      ' in ' +
      Math.round(bench.options.clock.nowMs() - bench.startMs) +
      ' ms, interval ' +
      firmware.config.intervalMs +
      ' ms, fast ' +
      firmware.config.fastIntervalMs +
      ' ms, ' +
      probed(firmware),
  });
  return rows;
}
