// The probe table: one slot per target (every service's backbone targets, then its local check),
// each with its query bytes encoded at boot, its socket, its state in the current round and its
// counters. `send` starts a probe, the HAL events resolve it, `expire` times out what is left.
// Nothing here allocates after `open`.

import { assert } from './assert';
import type { Config, TargetConfig } from './config';
import {
  decodeReply,
  encodeQuery,
  DNS_REPLY_BYTES_MAX,
  type ExpectedReplies,
  type ReplyBuffer,
  ReplyVerdict,
} from './dns';
import { ExecResult, ExecResults } from './exec-results';
import type { Hal, TcpProbeSocket, UdpSocket } from './hal';
import { Counter, COUNTER_COUNT, ProbeStatistics } from './probe-statistics';
import { typed } from './slab';
import { EXEC_TARGETS, STATISTICS, STOP } from './features';

export const enum SlotState {
  Idle = 0,
  Pending = 1,
  Healthy = 2,
  Failed = 3,
}

/** Why a slot's last probe ended the way it did (for transition reasons and status). */
export const enum Outcome {
  None = 0,
  Healthy = 1,
  Timeout = 2,
  WrongRcode = 3,
  AddressMissing = 4,
  SocketFailed = 5,
}

export const OUTCOME_NAMES: readonly string[] = [
  'none',
  'ok',
  'timeout',
  'rcode',
  'no-address',
  'unreachable',
];

const KIND_DNS = 0;
const KIND_TCP = 1;
const KIND_EXEC = 2;
const RANDOM_POOL_BYTES = 64;

/** A target's kind in the table: no exec target on a board (refused there), the test folds. */
function kindOf(target: TargetConfig): number {
  if (target.kind === 'dns') return KIND_DNS;
  if (EXEC_TARGETS && target.kind === 'exec') return KIND_EXEC;
  return KIND_TCP;
}

/**
 * An `exec` slot answers at once with its command's last result: exit 0 is healthy, another exit
 * `rcode`, killed at its time limit `timeout`, not started (or no run ended yet) `unreachable`.
 * Its round-trip time is the run's. A function, not a method: a board's build drops it.
 */
function execAnswer(table: ProbeTable, slot: number, nowMs: number): void {
  const results = table.execResults;
  assert(results !== null, 'exec results with an exec target');
  const result = results.result[slot]!;
  // Its round-trip time is the run's: as if sent when the run began.
  if (STATISTICS) table.statistics!.sentAtMs[slot] = nowMs - results.runMs[slot]!;
  if (result === ExecResult.Healthy) table.resolve(slot, Outcome.Healthy, Counter.Healthy, nowMs);
  else if (result === ExecResult.Failed)
    table.resolve(slot, Outcome.WrongRcode, Counter.WrongRcode, nowMs);
  else if (result === ExecResult.TimedOut)
    table.resolve(slot, Outcome.Timeout, Counter.Timeout, nowMs);
  else table.resolve(slot, Outcome.SocketFailed, Counter.SocketFailed, nowMs);
}

export class ProbeTable implements ExpectedReplies, ReplyBuffer {
  readonly slotCount: number;
  readonly targets: readonly TargetConfig[];
  /** Service index of each slot, and whether the slot is that service's local check. */
  readonly service: Uint8Array;
  readonly local: Uint8Array;
  readonly state: Uint8Array;
  readonly outcome: Uint8Array;
  /** Each slot's counters and round-trip times (STATISTICS), else null: a board has no metrics. */
  readonly statistics: ProbeStatistics | null;
  /** The `exec` targets' last results (EXEC_TARGETS), else null: a board runs no commands. */
  readonly execResults: ExecResults | null;
  pendingCount: number;
  private readonly kind: Uint8Array;
  readonly queries: readonly Uint8Array[];
  readonly queryWords: Uint32Array;
  readonly queryLength: Uint16Array;
  readonly rcodeMask: Uint16Array;
  readonly expect: Uint8Array;
  readonly expectLength: Uint8Array;
  /**
   * The buffer replies are read into, and after it each query on a word of its own: one array
   * (`replyWords` is `queryWords`), as a board counts every typed array's RAM.
   */
  readonly replyBytes: Uint8Array;
  readonly replyWords: Uint32Array;
  private readonly randomPool: Uint8Array;
  private randomOffset: number;
  /** Per slot, its socket: a UdpSocket for a DNS target, a TcpProbeSocket for a TCP one. */
  private readonly sockets: (UdpSocket | TcpProbeSocket | null)[];
  private hal: Hal | null;

  constructor(config: Config) {
    const targets: TargetConfig[] = [];
    for (const entry of config.services) {
      for (const target of entry.targets) targets.push(target);
      if (entry.local !== null) targets.push(entry.local);
    }
    const count = targets.length;
    this.slotCount = count;
    this.targets = targets;
    // Slot by slot in the order above: each service's backbone targets, then its local one.
    this.service = typed(Uint8Array, 1, count);
    this.local = typed(Uint8Array, 1, count);
    let slot = 0;
    for (let s = 0; s < config.services.length; s++) {
      const entry = config.services[s]!;
      for (let i = 0; i < entry.targets.length; i++) this.service[slot++] = s;
      if (entry.local !== null) {
        this.service[slot] = s;
        this.local[slot++] = 1;
      }
    }
    assert(slot === count, 'a slot per target');
    this.state = typed(Uint8Array, 1, count);
    this.outcome = typed(Uint8Array, 1, count);
    this.statistics = STATISTICS ? new ProbeStatistics(count) : null;
    this.execResults = EXEC_TARGETS ? new ExecResults(count) : null;
    this.pendingCount = 0;
    this.kind = typed(Uint8Array, 1, count);
    this.queryLength = typed(Uint16Array, 2, count);
    this.rcodeMask = typed(Uint16Array, 2, count);
    this.expect = typed(Uint8Array, 1, count * 16);
    this.expectLength = typed(Uint8Array, 1, count);
    this.randomPool = typed(Uint8Array, 1, RANDOM_POOL_BYTES);
    this.randomOffset = RANDOM_POOL_BYTES;
    this.sockets = [];
    this.hal = null;
    const encoded = this.encodeQueries();
    // Each query at the start of a word after the reply buffer's, at its own size rounded up to
    // a word.
    let words = DNS_REPLY_BYTES_MAX / 4;
    for (let slot = 0; slot < count; slot++) words += (this.queryLength[slot]! + 3) >> 2;
    this.replyWords = new Uint32Array(words);
    this.queryWords = this.replyWords;
    this.replyBytes = new Uint8Array(this.replyWords.buffer, 0, DNS_REPLY_BYTES_MAX);
    this.queries = this.placeQueries(encoded);
  }

  /** The queries `encoded` copied to their words of `queryWords`, as views of their own. */
  private placeQueries(encoded: readonly Uint8Array[]): Uint8Array[] {
    const queries: Uint8Array[] = [];
    let at = DNS_REPLY_BYTES_MAX;
    for (let slot = 0; slot < this.slotCount; slot++) {
      const query = new Uint8Array(this.queryWords.buffer, at, this.queryLength[slot]!);
      query.set(encoded[slot]!);
      queries.push(query);
      at += ((this.queryLength[slot]! + 3) >> 2) * 4;
    }
    return queries;
  }

  /** Each slot's kind, accepted RCODEs, expected address, and query (a copy, dropped at boot). */
  private encodeQueries(): Uint8Array[] {
    const targets = this.targets;
    const queries: Uint8Array[] = [];
    // Each query is encoded once into the largest query's room, then copied out at its own size.
    const scratch = new Uint8Array(12 + 255 + 4);
    for (let slot = 0; slot < this.slotCount; slot++) {
      const target = targets[slot]!;
      this.kind[slot] = kindOf(target);
      this.rcodeMask[slot] = target.rcodeMask;
      if (target.expectAddress !== null) {
        this.expect.set(target.expectAddress.bytes, slot * 16);
        this.expectLength[slot] = target.expectAddress.bytes.length;
      }
      const length =
        target.kind === 'dns' ? encodeQuery(scratch, target.query, target.recordType) : 0;
      this.queryLength[slot] = length;
      const query = new Uint8Array(length);
      query.set(scratch.subarray(0, length));
      queries.push(query);
    }
    return queries;
  }

  /** Opens every socket; the HAL must already have the firmware attached. */
  open(hal: Hal): void {
    assert(this.hal === null && this.sockets.length === 0, 'the sockets open once');
    this.hal = hal;
    for (let slot = 0; slot < this.slotCount; slot++) {
      const target = this.targets[slot]!;
      // An `exec` target has no socket: the host runs its command (appliance/exec-checks.ts).
      if (EXEC_TARGETS && target.address === null) {
        this.sockets.push(null);
        continue;
      }
      const family = target.address!.family;
      const address = target.address!.text;
      const dns = target.kind === 'dns';
      const receive = this.replyBytes;
      this.sockets.push(
        dns
          ? hal.openUdp({ socketId: slot, family, address, port: target.port, receive })
          : hal.openTcp({ socketId: slot, family, address, port: target.port }),
      );
    }
  }

  /** Closes every socket (never on a board, which does not stop). */
  close(): void {
    if (!STOP) return;
    for (let slot = 0; slot < this.sockets.length; slot++) this.sockets[slot]?.close();
  }

  /** Counts `counter` of `slot` (not on a board); false, for a dropped datagram or event. */
  private count(slot: number, counter: Counter): boolean {
    assert(slot >= 0 && slot < this.slotCount && counter < COUNTER_COUNT, 'a slot and counter');
    if (STATISTICS) this.statistics!.count(slot, counter);
    return false;
  }

  /** Starts one probe on every slot. */
  sendAll(nowMs: number): void {
    assert(this.pendingCount === 0, 'a round starts after the previous one ended');
    this.state.fill(SlotState.Pending);
    if (STATISTICS)
      for (let slot = 0; slot < this.slotCount; slot++) this.statistics!.sent(slot, nowMs);
    this.pendingCount = this.slotCount;
    assert(this.hal !== null && this.sockets.length === this.slotCount, 'the sockets open');
    // The sends come after every slot is marked: a HAL that reports synchronously finds them
    // pending.
    for (let slot = 0; slot < this.slotCount; slot++) {
      if (this.kind[slot] === KIND_TCP) {
        (this.sockets[slot] as TcpProbeSocket).connect();
      } else if (EXEC_TARGETS && this.kind[slot] === KIND_EXEC) {
        execAnswer(this, slot, nowMs);
      } else {
        // An unpredictable 16-bit query ID: the next two bytes of a pool refilled from the HAL
        // every 32 IDs.
        if (this.randomOffset >= RANDOM_POOL_BYTES) {
          this.hal!.fillRandom(this.randomPool);
          this.randomOffset = 0;
        }
        const pool = this.randomPool;
        const query = this.queries[slot]!;
        query[0] = pool[this.randomOffset]!;
        query[1] = pool[this.randomOffset + 1]!;
        this.randomOffset += 2;
        (this.sockets[slot] as UdpSocket).send(query, this.queryLength[slot]!);
      }
    }
  }

  /** Ends `slot`'s probe (ProbeTable's own, and execAnswer's). */
  resolve(slot: number, outcome: Outcome, counter: Counter, nowMs: number): void {
    assert(
      this.state[slot] === SlotState.Pending && this.pendingCount > 0,
      'resolve a pending slot',
    );
    this.state[slot] = outcome === Outcome.Healthy ? SlotState.Healthy : SlotState.Failed;
    this.outcome[slot] = outcome;
    if (STATISTICS) if (outcome === Outcome.Healthy) this.statistics!.answered(slot, nowMs);
    this.pendingCount--;
    if (STATISTICS) this.count(slot, counter);
  }

  /** A datagram for `slot` is in the receive buffer. Returns true when it resolved the slot. */
  received(slot: number, length: number, fromPeer: boolean, nowMs: number): boolean {
    if (slot < 0 || slot >= this.slotCount) return false;
    if (!fromPeer) return this.count(slot, Counter.WrongSource);
    if (this.state[slot] !== SlotState.Pending) return this.count(slot, Counter.Late);
    assert(this.kind[slot] === KIND_DNS, 'a datagram only for a DNS probe');
    const verdict = decodeReply(this, length, this, slot);
    // The usual verdict first: a board pays for each comparison.
    if (verdict === ReplyVerdict.Healthy) {
      this.resolve(slot, Outcome.Healthy, Counter.Healthy, nowMs);
      return true;
    }
    if (verdict === ReplyVerdict.Mismatch) return this.count(slot, Counter.Mismatch);
    if (verdict === ReplyVerdict.Malformed) return this.count(slot, Counter.Malformed);
    if (verdict === ReplyVerdict.WrongRcode)
      this.resolve(slot, Outcome.WrongRcode, Counter.WrongRcode, nowMs);
    else this.resolve(slot, Outcome.AddressMissing, Counter.AddressMissing, nowMs);
    return true;
  }

  /**
   * A TCP connect was accepted (Outcome.Healthy, Counter.Healthy), or a send failed or a
   * connection was refused (Outcome.SocketFailed, Counter.SocketFailed). Returns true when it
   * resolved the slot.
   */
  settle(slot: number, outcome: Outcome, counter: Counter, nowMs: number): boolean {
    assert(outcome !== Outcome.Healthy || counter === Counter.Healthy, 'an outcome its counter');
    if (slot < 0 || slot >= this.slotCount) return false;
    if (this.state[slot] !== SlotState.Pending) return this.count(slot, Counter.Late);
    if (this.kind[slot] === KIND_TCP) (this.sockets[slot] as TcpProbeSocket).abort();
    this.resolve(slot, outcome, counter, nowMs);
    return true;
  }

  /** Times out every slot still pending. */
  expire(nowMs: number): void {
    for (let slot = 0; slot < this.slotCount && this.pendingCount > 0; slot++) {
      if (this.state[slot] !== SlotState.Pending) continue;
      if (this.kind[slot] === KIND_TCP) (this.sockets[slot] as TcpProbeSocket).abort();
      this.resolve(slot, Outcome.Timeout, Counter.Timeout, nowMs);
    }
    assert(this.pendingCount === 0, 'nothing pending after expiry');
  }

  /** `slot`'s count of `counter` (the metrics and the tests read it). */
  counter(slot: number, counter: Counter): number {
    assert(STATISTICS && this.statistics !== null, 'the table keeps counters');
    return this.statistics.counter(slot, counter);
  }
}
