// The benchmarks that run on the device itself (`lifeline bench --device`): the decision step and
// the DNS reply decoder, timed with the board's own clock, median and p99 per operation. They run
// in slices beside the running firmware, never as one call: on a Cortex-M4 the whole bench is
// minutes of work (a DNS decode alone is ~20 ms there), and one blocking call that long stops the
// firmware's timers and sockets, so the routers' hold timers expire (issue 20, item 5). Each
// slice runs as many operations as fit in `sliceNs` (at least one) and returns; the caller
// (hal/espruino/main.ts) schedules the next one from a timer, between the firmware's probe rounds.
// A sample is `perBatch` operations, timed as the sum of the slices that ran them, so that the
// waits between slices are not in the figures.
//
// To add a figure (a calibration loop, a round's bookkeeping over a fake socket, the BGP codec:
// issue 24), add an Operation, its name and its case in `run`: the slicing, the samples and the
// rows follow. The slices' own durations are kept (the longest is what the firmware waited at
// most), which is also where a duty cycle can be read from: the bench's CPU next to the rounds'.
// Allocates only at construction and for its rows; the timed loops allocate nothing.

import { DecisionEngine } from './decision';
import { decodeReply, encodeQuery, setQueryId } from './dns';

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
  Count = 2,
}

/** The rows' names, by Operation. */
const OPERATION_NAMES: readonly string[] = ['device: decision step', 'device: dns decode reply'];

/** Slices whose durations are kept for the slice row (a ring: the last ones). */
const SLICE_HISTORY = 64;

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
  readonly reply: Uint8Array;
  readonly replyLength: number;
}

/**
 * A query for health.example. A (ID 0) and its healthy reply: NOERROR, one answer 203.0.113.53.
 * The on-device bench and the host bench decode the same bytes.
 */
export function healthReplyFixture(): ReplyFixture {
  const query = new Uint8Array(300);
  const queryLength = encodeQuery(query, 'health.example.', 1);
  const reply = new Uint8Array(512);
  reply.set(query.subarray(0, queryLength));
  reply[2] = 0x81;
  reply[3] = 0x80;
  reply[7] = 1;
  reply.set([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 203, 0, 113, 53], queryLength);
  return { query, queryLength, reply, replyLength: queryLength + 16 };
}

export interface DeviceBenchOptions {
  /** The board's clock in ns (a function of the top level on a board: no closure). */
  readonly nowNs: () => number;
  /** Samples per operation. */
  readonly batches: number;
  /** Operations per sample. */
  readonly perBatch: number;
  /** How long a slice may run: it stops before, once it knows an operation's cost. */
  readonly sliceNs: number;
}

/** One run of the bench, taken a slice at a time (`slice`) until it is done (`rows`). */
export class DeviceBench {
  /** The operation being timed (Operation.Count: done). */
  operation: number;
  private batch: number;
  /** Operations done of the current sample, and their time so far. */
  private done: number;
  private batchNs: number;
  /** Operations the next slice runs (1 until the first has said what one costs). */
  private chunk: number;
  /** The timing's own cost per slice (measureOverhead). */
  private overheadNs: number;
  private readonly samples: Float64Array;
  /** Slices run, their durations (ring), the longest. */
  slices: number;
  private readonly sliceNs: Float64Array;
  sliceNsMax: number;
  private readonly engine: DecisionEngine;
  private readonly fixture: ReplyFixture;
  private readonly expect: Uint8Array;
  private time: number;
  private decodes: number;

  constructor(readonly options: DeviceBenchOptions) {
    this.operation = 0;
    this.batch = 0;
    this.done = 0;
    this.batchNs = 0;
    this.chunk = 1;
    this.overheadNs = 0;
    this.samples = new Float64Array(options.batches * Operation.Count);
    this.slices = 0;
    this.sliceNs = new Float64Array(SLICE_HISTORY);
    this.sliceNsMax = 0;
    // One service as the config validator would make it (not used: it would bring the validator
    // in).
    this.engine = new DecisionEngine([
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
    ]);
    this.fixture = healthReplyFixture();
    this.expect = new Uint8Array([203, 0, 113, 53]);
    this.time = 0;
    this.decodes = 0;
  }

  /** Operations done of all there are to do (for the host's progress). */
  progress(): string {
    const options = this.options;
    const done = (this.operation * options.batches + this.batch) * options.perBatch + this.done;
    return done + '/' + Operation.Count * options.batches * options.perBatch;
  }

  /**
   * Runs `count` operations of the current kind. What the loops read is in locals first: on the
   * interpreter a property lookup costs about as much as the operation's own steps.
   */
  private run(count: number): void {
    if (this.operation === Operation.DecisionStep) {
      const engine = this.engine;
      let time = this.time;
      for (let i = 0; i < count; i++) {
        time += 250;
        engine.step(0, (time & 1023) === 0 ? 0 : 3, true, time, time);
      }
      this.time = time;
      return;
    }
    const fixture = this.fixture;
    const query = fixture.query;
    const queryLength = fixture.queryLength;
    const reply = fixture.reply;
    const replyLength = fixture.replyLength;
    const expect = this.expect;
    const first = this.decodes;
    for (let i = first; i < first + count; i++) {
      setQueryId(query, i & 0xffff);
      reply[0] = query[0]!;
      reply[1] = query[1]!;
      decodeReply(reply, replyLength, query, queryLength, 1, expect, 0, 4);
    }
    this.decodes = first + count;
  }

  /**
   * What timing a slice costs besides its operations (reading the clock, starting `run`), the least
   * of a few tries: a slice on a slow board runs one or two operations, and the old single call
   * spread this over 200. It is taken off every slice's time in the samples.
   */
  private measureOverhead(): void {
    const nowNs = this.options.nowNs;
    let leastNs = Infinity;
    for (let i = 0; i < 3; i++) {
      const startNs = nowNs();
      this.run(0);
      const tookNs = nowNs() - startNs;
      if (tookNs < leastNs) leastNs = tookNs;
    }
    this.overheadNs = leastNs;
  }

  /**
   * Runs one slice: as many operations as fit in `sliceNs` by the last slice's measure, at least
   * one, never past the end of a sample. Returns true when every sample has been taken.
   */
  slice(): boolean {
    const options = this.options;
    if (this.operation >= Operation.Count) return true;
    if (this.batch === 0 && this.done === 0) this.measureOverhead();
    const count = Math.min(this.chunk, options.perBatch - this.done);
    const startNs = options.nowNs();
    this.run(count);
    const tookNs = options.nowNs() - startNs;
    this.sliceNs[this.slices % SLICE_HISTORY] = tookNs;
    this.slices++;
    if (tookNs > this.sliceNsMax) this.sliceNsMax = tookNs;
    this.chunk = Math.max(1, Math.floor((options.sliceNs * count) / Math.max(tookNs, 1)));
    this.batchNs += Math.max(0, tookNs - this.overheadNs);
    this.done += count;
    if (this.done < options.perBatch) return false;
    this.samples[this.operation * options.batches + this.batch] = this.batchNs / options.perBatch;
    this.done = 0;
    this.batchNs = 0;
    this.chunk = 1; // the next operation may cost more: learn it again
    if (++this.batch < options.batches) return false;
    this.batch = 0;
    return ++this.operation >= Operation.Count;
  }

  /** Each operation's row, then the slices' (how long the firmware waited for the bench). */
  rows(): DeviceBenchRow[] {
    const batches = this.options.batches;
    const rows: DeviceBenchRow[] = [];
    for (let operation = 0; operation < Operation.Count; operation++) {
      const samples = this.samples.subarray(operation * batches, (operation + 1) * batches);
      rows.push(summarise(OPERATION_NAMES[operation]!, samples, batches));
    }
    const kept = Math.min(this.slices, SLICE_HISTORY);
    const slices = summarise('device: bench slice', this.sliceNs, kept);
    rows.push({
      name: slices.name,
      medianNs: slices.medianNs,
      p99Ns: slices.p99Ns,
      samples: this.slices,
      note:
        'the last ' +
        kept +
        ' of ' +
        this.slices +
        ' slices, the longest ' +
        Math.round(this.sliceNsMax / 1e3) +
        ' us; the firmware runs between them',
    });
    return rows;
  }
}
