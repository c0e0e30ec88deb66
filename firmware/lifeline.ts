// The firmware: scheduler, probe table, decision engine and announcer composed over one HAL. Rounds
// start on a drift-free grid (`intervalMs`, or `fastIntervalMs` while a service is part-way through
// a rise or fall); every target is probed at once; each answer is recorded as it comes; the round
// ends when every target has answered or at `timeoutMs`, and the decision engine then steps each
// service. One wake-up timer drives it all. Nothing here allocates between transitions.

import { assert } from './assert';
import { ROUTE_STATE_NAMES, RouteState, type Announcer } from './announcer';
import { AUDIT_RING_RECORDS, AuditLog } from './audit';
import {
  OVERRIDE_NAMES,
  OVERRIDE_PERSIST_MS,
  OVERRIDES_FILE,
  OverrideArbiter,
  OverrideKind,
  UNDECIDED,
} from './override';
import type { Config } from './config';
import { Bfd, BFD_SOCKET_BASE } from './bfd/bfd';
import { AUTO_STATE_NAMES, AutoState, DecisionEngine, REASON_NAMES, Step } from './decision';
import { FleetGuard } from './guard';
import type { Hal, HalClient } from './hal';
import { Bug, planted } from './planted';
import { Counter } from './probe-statistics';
import { Outcome, OUTCOME_NAMES, ProbeTable, SlotState } from './probes';
import { typed } from './slab';
import {
  BFD,
  EXEC_TARGETS,
  OVERRIDES,
  FLEET,
  PASSIVE_PEERS,
  RELOAD,
  STATISTICS,
  STOP,
} from './features';

/** Counters of the scheduler itself. */
export interface LoopCounters {
  rounds: number;
  /** Rounds skipped because the loop was late by more than one interval (a stalled host). */
  roundsSkipped: number;
}

/** Rounds whose durations are kept (`Lifeline.roundMs`). */
export const ROUND_HISTORY = 16;

export class Lifeline implements HalClient {
  /** The running config; a reload (appliance/reload.ts, Node only) puts a new one in its place. */
  config: Config;
  // The tables sized by the config: a reload (appliance/reload-tables.ts) makes them again between
  // rounds, carrying each kept service's state over by name.
  probes: ProbeTable;
  engine: DecisionEngine;
  readonly counters: LoopCounters;
  readonly audit: AuditLog;
  // The state of the features a build may leave out (the arbiter here; the guard, BFD, and the
  // stop's and the reload's callbacks below): each one object of its feature's own module, made
  // when the config uses the feature and null otherwise. Read only behind the feature's constant
  // (firmware/features.ts): on a board without the feature the reads fold away, and the build then
  // drops the field's write and the feature's module whole.
  /**
   * The overrides (OVERRIDES: a console or a pin): the arbiter, with what of them is on storage
   * and when they are re-written (firmware/override.ts). A reload makes it again.
   */
  arbiter: OverrideArbiter | null;
  /** Per service, the route state last given to the announcer (UNDECIDED before the first). */
  effective: Uint8Array;
  /** Clock time at which the last round ended (the watchdogs' proof of a live loop). */
  readonly lastRoundEndMs: Float64Array;
  /**
   * The durations of the last `ROUND_HISTORY` rounds, from sending to the last answer or the
   * timeout, in a ring indexed by the round count (the on-device bench reads it).
   */
  readonly roundMs: Float64Array;
  names: readonly string[];
  /** Per service, backbone targets healthy and local check result of the last completed round. */
  healthyTargets: Uint16Array;
  localOk: Uint8Array;
  /** The fleet guard (FLEET: firmware/guard.ts) with `fleet` or `guard` configured, else null. */
  readonly guard: FleetGuard | null;
  /**
   * BFD (BFD: firmware/bfd/bfd.ts) with a peer's `bfd` configured, else null: another timer on
   * the one wake-up, beside the probes and the announcer. Made at the start, once the speaker has
   * its sessions.
   */
  bfd: Bfd | null;

  /** Per service, its backbone targets. */
  targetCount: Uint16Array;
  /**
   * A round is out (sent, not all answered or timed out). Read by the on-device bench, which runs
   * its slices only between rounds, so that it neither delays a round's answers nor its timing.
   */
  roundActive: boolean;
  private roundSentAtMs: number;
  /**
   * When the announcer's timers are next due (its last tick's answer), or undefined when it was
   * asked something since: a round's own steps tick it only then (a tick costs a board some 3 ms).
   * Kept only where BFD is not built in (boards, see arm): on Node every wake-up ticks.
   */
  private announcerDueMs: number | undefined;
  private roundScheduledMs: number;
  private roundDeadlineMs: number;
  private nextRoundMs: number;
  /**
   * 0 before the start and after the stop, 1 running, 2 stopped probing but the announcer still at
   * work (a graceful shutdown; never on a board, which does not stop).
   */
  private phase: number;
  /** What runs once a stop is done (STOP: a board never stops), or null. */
  private onStopped: (() => void) | null;
  /**
   * What is to run once no round is out (RELOAD: appliance/reload-tables.ts), or null. A board
   * reloads by reflashing.
   */
  betweenRoundsDue: ((nowMs: number) => void) | null;

  constructor(
    config: Config,
    /** Its clock is the on-device bench's (firmware/device-bench.ts). */
    readonly hal: Hal,
    /** Read by a reload (appliance/reload-tables.ts), which gives the announcer its new config. */
    readonly announcer: Announcer,
    /** Audit records kept in memory (default 256; fewer on a microcontroller). */
    auditRecords?: number,
  ) {
    this.config = config;
    this.probes = new ProbeTable(config);
    this.engine = new DecisionEngine(config.services);
    this.counters = { rounds: 0, roundsSkipped: 0 };
    this.audit = new AuditLog(hal, auditRecords ?? AUDIT_RING_RECORDS);
    this.effective = typed(Uint8Array, 1, config.services.length).fill(UNDECIDED);
    this.lastRoundEndMs = typed(Float64Array, 8, 1);
    this.roundMs = new Float64Array(ROUND_HISTORY);
    this.names = config.services.map((service) => service.name);
    const serviceCount = config.services.length;
    this.healthyTargets = typed(Uint16Array, 2, serviceCount);
    this.localOk = typed(Uint8Array, 1, serviceCount);
    this.targetCount = typed(Uint16Array, 2, serviceCount);
    for (let s = 0; s < serviceCount; s++) this.targetCount[s] = config.services[s]!.targets.length;
    this.roundActive = false;
    this.roundSentAtMs = 0;
    this.announcerDueMs = undefined;
    this.roundScheduledMs = 0;
    this.roundDeadlineMs = 0;
    this.nextRoundMs = 0;
    this.arbiter = OVERRIDES
      ? new OverrideArbiter(
          serviceCount,
          config.overridePin?.action === 'withdraw' ? OverrideKind.Withdraw : OverrideKind.Announce,
        )
      : null;
    this.phase = 0;
    this.guard =
      FLEET && (config.fleet !== null || config.guard !== null)
        ? new FleetGuard({
            config,
            view: announcer.fleet ?? null,
            audit: this.audit,
            log: (line) => hal.log(line),
            names: this.names,
          })
        : null;
    this.bfd = null;
    this.onStopped = null;
    this.betweenRoundsDue = null;
  }

  /** Opens the sockets and starts the first round at once. */
  start(): void {
    assert(this.phase !== 1, 'started once');
    this.phase = 1;
    this.hal.attach(this);
    this.probes.open(this.hal);
    this.announcer.start();
    if (BFD) {
      // The speaker has a seam for BFD when a peer has `bfd` (firmware/bfd/bfd.ts).
      const client = this.announcer.bfdClient;
      this.bfd = client === undefined ? null : new Bfd(this.config, this.hal, this.audit, client);
      this.bfd?.open();
    }
    this.restoreOverrides();
    this.nextRoundMs = this.hal.clock.nowMs();
    this.hal.log(
      'boot device=' +
        this.config.deviceName +
        ' services=' +
        this.config.services.length +
        ' targets=' +
        this.probes.slotCount +
        ' intervalMs=' +
        this.config.intervalMs +
        ' timeoutMs=' +
        this.config.timeoutMs +
        ' fastIntervalMs=' +
        this.config.fastIntervalMs +
        ' announcer=' +
        this.config.announcer.kind,
    );
    this.wake();
  }

  /**
   * Restores the stored overrides. A state file is input like any other: whatever it holds (or
   * whatever goes wrong reading it), boot goes on without the overrides it could not vouch for.
   * (Called once: the board build writes it in at its call.)
   */
  private restoreOverrides(): void {
    const nowMs = this.hal.clock.nowMs();
    let notes: string[] = [];
    if (OVERRIDES) {
      const arbiter = this.arbiter;
      assert(arbiter !== null, 'an arbiter with OVERRIDES');
      try {
        notes = arbiter.restore(this.hal.storage, nowMs, this.hal.wallClockMs(), this.names);
      } catch (error) {
        if ((planted.bugs & Bug.CorruptOverridesThrow) !== 0) throw error;
        for (let s = 0; s < this.names.length; s++)
          arbiter.set(s, OverrideKind.None, Infinity, Infinity);
        notes = [OVERRIDES_FILE + ' could not be restored (' + String(error) + '): no overrides'];
      }
    } else if (this.hal.storage !== null && this.hal.storage.read(OVERRIDES_FILE) !== null) {
      // Left by a firmware with a console: with neither console nor pin nothing could end an
      // override, so the automatic decision rules (and the file stays for one that can).
      notes = [OVERRIDES_FILE + ' ignored: no console or pin on this board to end an override'];
    }
    for (const note of notes)
      this.audit.record('config', 'problem="' + note.split('"').join("'") + '"');
    this.audit.record(
      'boot',
      'device=' + this.config.deviceName + ' services=' + this.names.length,
    );
    if (OVERRIDES) {
      const arbiter = this.arbiter;
      assert(arbiter !== null, 'an arbiter with OVERRIDES');
      let restored = false;
      for (let s = 0; s < this.names.length; s++) {
        if (arbiter.kind[s] === OverrideKind.None) continue;
        const remaining = arbiter.expiresAtMs[s]! - nowMs;
        this.audit.record(
          'override',
          'service=' +
            this.names[s] +
            ' override=' +
            OVERRIDE_NAMES[arbiter.kind[s]!] +
            (remaining === Infinity ? '' : ' forMs=' + Math.round(remaining)) +
            ' by=restore',
        );
        this.reconcile(s, 'restore');
        restored = true;
      }
      // What the restart cost is written at once: a crash loop cannot keep an override alive.
      if (restored) this.persistOrEnd(nowMs);
    }
  }

  /**
   * Stops probing, closes the sockets and lets the announcer withdraw (or keep) the routes;
   * `onStopped` runs once the announcer is done, at once or after its graceful shutdown (until
   * then the wake-ups and stream events go on to it). `keepRoutes` keeps them whatever
   * `onShutdown` says: a stop for a restart that graceful restart covers (an upgrade).
   */
  stop(onStopped?: () => void, keepRoutes?: boolean): void {
    if (!STOP) return;
    if (this.phase !== 1) return;
    this.phase = 2;
    if (OVERRIDES) {
      const arbiter = this.arbiter;
      assert(arbiter !== null, 'an arbiter with OVERRIDES');
      if (arbiter.persistDueMs !== Infinity) this.persistOverrides(this.hal.clock.nowMs(), true);
    }
    this.onStopped = onStopped ?? null;
    this.probes.close();
    // AdminDown first: the routers then take the BGP session's end as no path failure.
    if (BFD) this.bfd?.shutdown(this.hal.clock.nowMs());
    const withdraw = keepRoutes !== true && this.config.announcer.onShutdown === 'withdraw';
    this.announcer.shutdown(withdraw);
    this.hal.log('shutdown routes=' + (withdraw ? 'withdrawn' : 'kept'));
    this.continueStop(this.hal.clock.nowMs());
  }

  private continueStop(nowMs: number): void {
    if (!STOP) return;
    const nextMs = this.announcer.tick(nowMs);
    if (!this.announcer.stopped()) return this.hal.setWakeup(nextMs);
    this.phase = 0;
    const onStopped = this.onStopped;
    this.onStopped = null;
    if (onStopped !== null) onStopped();
  }

  nowMs(): number {
    return this.hal.clock.nowMs();
  }

  wake(): void {
    if (STOP) if (this.phase === 2) return this.continueStop(this.hal.clock.nowMs());
    if (this.phase !== 1) return;
    const nowMs = this.hal.clock.nowMs();
    if (this.roundActive && nowMs >= this.roundDeadlineMs) {
      this.probes.expire(nowMs);
      this.completeRound(nowMs);
    }
    if (RELOAD)
      if (!this.roundActive && this.betweenRoundsDue !== null) {
        const apply = this.betweenRoundsDue;
        this.betweenRoundsDue = null;
        this.announcerDueMs = undefined; // a reload gives the announcer its new config
        apply(nowMs);
      }
    if (!this.roundActive && nowMs >= this.nextRoundMs) {
      this.roundActive = true;
      this.roundScheduledMs = this.nextRoundMs;
      this.roundSentAtMs = nowMs;
      this.roundDeadlineMs = nowMs + this.config.timeoutMs;
      this.probes.sendAll(nowMs);
      // Only `exec` targets (answered at once from their last run): the round is complete now.
      if (EXEC_TARGETS) if (this.probes.pendingCount === 0) this.completeRound(nowMs);
    }
    this.arm(nowMs, true);
  }

  /**
   * Runs the announcer's timers and arms the one wake-up for whichever comes first. A round's own
   * step (`roundStep`: its sending, its end) runs them only when they are due or the announcer
   * was asked something since they last ran: every other event that reaches the announcer (its
   * streams, a reload) arms without `roundStep`, and a route change forgets `announcerDueMs`.
   */
  private arm(nowMs: number, roundStep: boolean): void {
    if (this.audit.pendingSuppressed > 0) this.audit.flush(nowMs);
    let expiryMs = Infinity;
    if (OVERRIDES) {
      // The console overrides whose time has come end, and the remaining time is re-written.
      const arbiter = this.arbiter;
      assert(arbiter !== null, 'an arbiter with OVERRIDES');
      if (nowMs >= arbiter.nextExpiryMs()) {
        for (let s = 0; s < this.names.length; s++) {
          if (arbiter.expiresAtMs[s]! > nowMs) continue;
          arbiter.set(s, OverrideKind.None, Infinity, Infinity);
          this.audit.record('override', 'service=' + this.names[s] + ' override=none by=expiry');
          this.reconcile(s, 'expiry');
        }
        this.persistOrEnd(nowMs);
      } else if (nowMs >= arbiter.persistDueMs) this.persistOrEnd(nowMs);
      expiryMs = arbiter.nextExpiryMs();
      if (arbiter.persistDueMs < expiryMs) expiryMs = arbiter.persistDueMs;
    }
    // Where BFD is built in (Node: a board has none), a session's BFD timers (below) may change
    // its own at any time: the announcer runs at every wake-up there, as a tick costs Node little.
    let announcerMs: number;
    if (BFD) announcerMs = this.announcer.tick(nowMs);
    else {
      const dueMs = this.announcerDueMs;
      if (!roundStep || dueMs === undefined || nowMs >= dueMs) {
        // Forgotten during the tick: a HAL that reports an event at once (the board's refused
        // connect) arms again from inside it with the announcer's newer answer, which this older
        // one must not overwrite (the session would wait for its old timer to retry).
        this.announcerDueMs = undefined;
        announcerMs = this.announcer.tick(nowMs);
        const newer = this.announcerDueMs as number | undefined;
        if (newer === undefined) this.announcerDueMs = announcerMs;
        else if (newer < announcerMs) announcerMs = newer;
      } else announcerMs = dueMs;
    }
    if (BFD) {
      const bfd = this.bfd;
      if (bfd !== null) {
        bfd.tick(nowMs);
        if (bfd.dueMs[0]! < announcerMs) announcerMs = bfd.dueMs[0]!;
      }
    }
    const probeMs = this.roundActive ? this.roundDeadlineMs : this.nextRoundMs;
    if (FLEET) {
      const guard = this.guard;
      if (guard !== null) {
        // Called only when one is due: a double argument to a call that is not inlined is boxed.
        if (guard.rejoinNextMs[0]! <= nowMs)
          for (let s = guard.rejoinDue(nowMs); s >= 0; s = guard.rejoinDue(nowMs))
            this.reconcile(s, 'rejoin');
        // Read from a typed array: a double returned by a call would be boxed (allocated).
        if (guard.rejoinNextMs[0]! < expiryMs) expiryMs = guard.rejoinNextMs[0]!;
      }
    }
    const soonestMs = announcerMs < probeMs ? announcerMs : probeMs;
    this.hal.setWakeup(expiryMs < soonestMs ? expiryMs : soonestMs);
  }

  streamConnected(streamId: number): void {
    if (this.phase === 0) return;
    this.announcer.streamConnected(streamId);
    this.afterStreamEvent();
  }

  streamReceived(streamId: number, length: number): void {
    if (this.phase === 0) return;
    this.announcer.streamReceived(streamId, length);
    this.afterStreamEvent();
  }

  streamClosed(streamId: number): void {
    if (this.phase === 0) return;
    this.announcer.streamClosed(streamId);
    this.afterStreamEvent();
  }

  streamWritable(streamId: number): void {
    if (this.phase === 0) return;
    this.announcer.streamWritable(streamId);
    this.afterStreamEvent();
  }

  streamIncoming(listenerId: number, address: string): number {
    // The Espruino build cannot listen (firmware/bgp/speaker.ts): nothing of this on the board.
    if (!PASSIVE_PEERS) return -1;
    if (this.phase === 0) return -1;
    const streamId = this.announcer.streamIncoming(listenerId, address);
    this.afterStreamEvent();
    return streamId;
  }

  private afterStreamEvent(): void {
    const nowMs = this.hal.clock.nowMs();
    if (this.phase === 1) this.arm(nowMs, false);
    else this.continueStop(nowMs);
  }

  datagramReceived(socketId: number, length: number, fromPeer: boolean): void {
    if (BFD)
      if (socketId >= BFD_SOCKET_BASE) {
        const nowMs = this.hal.clock.nowMs();
        if (this.phase === 1 && this.bfd !== null && this.bfd.received(socketId, length, nowMs))
          this.arm(nowMs, false);
        return;
      }
    // The clock is read where it is used: an answer's round-trip time (STATISTICS), the round's
    // end. A board keeps no statistics: it reads the clock once a round, not once an answer.
    const nowMs = STATISTICS ? this.hal.clock.nowMs() : 0;
    // The round's end is checked here, not in a call per answer: a board pays for each call.
    if (this.probes.received(socketId, length, fromPeer, nowMs) && this.probes.pendingCount === 0)
      this.afterResolve(STATISTICS ? nowMs : this.hal.clock.nowMs());
  }

  socketFailed(socketId: number): void {
    if (BFD) if (socketId >= BFD_SOCKET_BASE) return; // BFD notices a dead path by its own timers
    const nowMs = this.hal.clock.nowMs();
    if (this.probes.settle(socketId, Outcome.SocketFailed, Counter.SocketFailed, nowMs))
      this.afterResolve(nowMs);
  }

  socketConnected(socketId: number): void {
    const nowMs = this.hal.clock.nowMs();
    if (this.probes.settle(socketId, Outcome.Healthy, Counter.Healthy, nowMs))
      this.afterResolve(nowMs);
  }

  private afterResolve(nowMs: number): void {
    if (this.phase !== 1 || !this.roundActive || this.probes.pendingCount > 0) return;
    this.completeRound(nowMs);
    if (RELOAD) if (this.betweenRoundsDue !== null) return this.wake();
    this.arm(nowMs, true);
  }

  /**
   * The round is over: its figures, the tally per service, the guard's view, each service's
   * decision, and the next round on the grid. (Its parts are methods of their own for the reader:
   * the board build writes each in at its one call.)
   */
  private completeRound(nowMs: number): void {
    assert(
      this.roundActive && this.probes.pendingCount === 0,
      'a round completes once, with nothing pending',
    );
    this.roundActive = false;
    this.roundMs[this.counters.rounds % ROUND_HISTORY] = nowMs - this.roundSentAtMs;
    this.counters.rounds++;
    this.lastRoundEndMs[0] = nowMs;
    this.tally();
    if (FLEET)
      if (this.guard !== null) {
        this.guard.roundAtMs[0] = nowMs;
        this.guard.round(this.healthyTargets, this.targetCount, this.localOk);
      }
    const fast = this.decide(nowMs);
    if (FLEET) {
      // What "down" means changed for a service that stayed down: its routes follow.
      if (this.guard !== null)
        for (let s = 0; s < this.engine.serviceCount; s++)
          if (this.guard.changed[s] === 1) this.reconcile(s, 'guard');
    }
    this.scheduleNextRound(nowMs, fast);
  }

  /** Counts, per service, its healthy backbone targets and whether its local target is healthy. */
  private tally(): void {
    this.healthyTargets.fill(0);
    this.localOk.fill(1);
    const probes = this.probes;
    for (let slot = 0; slot < probes.slotCount; slot++) {
      const s = probes.service[slot]!;
      assert(s < this.healthyTargets.length, 'a slot of a configured service');
      const healthy = probes.state[slot] === SlotState.Healthy;
      if (probes.local[slot] === 1) {
        if (!healthy) this.localOk[s] = 0;
      } else if (healthy) {
        this.healthyTargets[s] = this.healthyTargets[s]! + 1;
      }
    }
  }

  /**
   * Steps each service's decision engine on the tally; a changed automatic state is recorded and
   * the routes follow. Returns whether a service is in transition (the next round comes fast).
   */
  private decide(nowMs: number): boolean {
    let fast = false;
    const engine = this.engine;
    for (let s = 0; s < engine.serviceCount; s++) {
      assert(this.healthyTargets[s]! <= this.targetCount[s]!, 'no more healthy than targets');
      const step = engine.step(
        s,
        this.healthyTargets[s]!,
        this.localOk[s] === 1,
        this.roundSentAtMs,
        nowMs,
      );
      if (step === Step.Changed) {
        // The automatic state changed: record why, and let the arbiter decide the routes.
        this.audit.record('transition', this.describeTransition(s, nowMs));
        if (FLEET)
          if (this.guard !== null)
            this.guard.stateChanged(s, nowMs, engine.state[s]!, engine.transitions[s]!);
        this.reconcile(s, 'auto');
      }
      fast = fast || engine.inTransition(s);
    }
    return fast;
  }

  /**
   * The next round on the grid: an interval (the fast one when `fast`) after the last scheduled
   * one; late by more than an interval, the rounds that cannot be had back are skipped.
   */
  private scheduleNextRound(nowMs: number, fast: boolean): void {
    const intervalMs = fast ? this.config.fastIntervalMs : this.config.intervalMs;
    assert(intervalMs > 0, 'a probe interval');
    let nextMs = this.roundScheduledMs + intervalMs;
    if (nextMs <= nowMs) {
      const missed = Math.floor((nowMs - nextMs) / intervalMs) + 1;
      this.counters.roundsSkipped += missed;
      nextMs += missed * intervalMs;
    }
    assert(nextMs > nowMs, 'the next round is in the future');
    this.nextRoundMs = nextMs;
  }

  /** The automatic decision of `s` as a route state, or UNDECIDED before the first. */
  automaticRoute(s: number): number {
    const state = this.engine.state[s];
    if (state === AutoState.Init) return UNDECIDED;
    if (FLEET) {
      const guard = this.guard;
      if (guard !== null && this.config.services[s]!.drain === null) {
        if (state === AutoState.Up)
          return guard.rejoinAtMs[s] === Infinity ? RouteState.Announced : RouteState.Withdrawn;
        return guard.downRoute[s]!;
      }
    }
    if (state === AutoState.Up) return RouteState.Announced;
    return this.config.services[s]!.drain !== null ? RouteState.Drained : RouteState.Withdrawn;
  }

  /**
   * Brings service `s`'s routes to what pin, console and automatic decision say. Rare: allocates.
   */
  reconcile(s: number, cause: string): void {
    let target = this.automaticRoute(s);
    if (OVERRIDES) {
      const arbiter = this.arbiter;
      assert(arbiter !== null, 'an arbiter with OVERRIDES');
      target = arbiter.effective(s, target);
    }
    if (target === UNDECIDED || target === this.effective[s]) return;
    if (OVERRIDES)
      assert(
        target === RouteState.Announced ||
          this.arbiter === null ||
          !this.arbiter.pinAsserted ||
          this.arbiter.pinAction !== OverrideKind.Announce,
        'an asserted announce pin announces',
      );
    let detail = '';
    if (FLEET)
      if (this.guard !== null)
        detail = this.guard.routesChanged(s, this.effective[s]!, target, cause);
    this.effective[s] = target;
    // The local service failed: the routes go at once, without a graceful shutdown.
    const urgent = cause === 'auto' && this.localOk[s] === 0;
    this.announcerDueMs = undefined;
    this.announcer.serviceStateChanged(s, target as RouteState, urgent);
    if (cause === 'pin' && (planted.bugs & Bug.PinUnaudited) !== 0) return;
    this.audit.record(
      'routes',
      'service=' +
        this.names[s] +
        ' routes=' +
        ROUTE_STATE_NAMES[target] +
        ' cause=' +
        cause +
        detail,
    );
  }

  /**
   * A console override of service `s` (-1: all): `kind` for `durationMs` (Infinity: until auto).
   * Takes effect at once; returns false when it could not be made durable (storage failed), so
   * that nobody is told OK for what a restart would lose.
   */
  setOverride(s: number, kind: OverrideKind, durationMs: number, by: string): boolean {
    if (!OVERRIDES) return false;
    const arbiter = this.arbiter;
    assert(arbiter !== null, 'an arbiter with OVERRIDES');
    const nowMs = this.hal.clock.nowMs();
    for (let service = 0; service < this.names.length; service++) {
      if (s >= 0 && service !== s) continue;
      arbiter.set(service, kind, nowMs + durationMs, durationMs);
      arbiter.recorded[service] = 0;
      let duration =
        kind === OverrideKind.None || durationMs === Infinity ? '' : ' forMs=' + durationMs;
      if (FLEET)
        if (kind === OverrideKind.Withdraw && this.guard !== null)
          if (this.guard.wouldRemoveLastSite(service, this.effective[service]!))
            duration += ' last-site=yes';
      this.audit.record(
        'override',
        'service=' +
          this.names[service] +
          ' override=' +
          OVERRIDE_NAMES[kind] +
          duration +
          ' by=' +
          by,
      );
      this.reconcile(service, 'override');
    }
    const saved = this.persistOverrides(nowMs, false);
    if (!saved) {
      const problem = OVERRIDES_FILE + ' could not be written: the override is lost on restart';
      this.audit.record('config', 'problem="' + problem + '"');
    }
    if (this.phase === 1) this.arm(nowMs, false);
    return saved || (planted.bugs & Bug.OkWithoutSave) !== 0;
  }

  /** The override pin changed (after debounce). */
  setPin(asserted: boolean, detail: string): void {
    if (!OVERRIDES) return;
    const arbiter = this.arbiter;
    assert(arbiter !== null, 'an arbiter with OVERRIDES');
    if (asserted === arbiter.pinAsserted) return;
    arbiter.pinAsserted = asserted;
    this.audit.record(
      'pin',
      'state=' +
        (asserted ? 'asserted' : 'released') +
        ' action=' +
        OVERRIDE_NAMES[arbiter.pinAction] +
        (detail === '' ? '' : ' ' + detail),
    );
    for (let s = 0; s < this.names.length; s++) this.reconcile(s, 'pin');
  }

  /**
   * Writes the overrides with their remaining time; again every OVERRIDE_PERSIST_MS while a timed
   * one runs. True when durable (or when there is no storage to be durable in).
   */
  private persistOverrides(nowMs: number, exact: boolean): boolean {
    if (!OVERRIDES) return true;
    const arbiter = this.arbiter;
    assert(arbiter !== null, 'an arbiter with OVERRIDES');
    let timed = false;
    for (let s = 0; s < this.names.length; s++)
      if (arbiter.expiresAtMs[s] !== Infinity) timed = true;
    arbiter.persistDueMs = timed ? nowMs + OVERRIDE_PERSIST_MS : Infinity;
    const storage = this.hal.storage;
    if (storage === null) return true;
    const text = arbiter.serialize(nowMs, this.hal.wallClockMs(), this.names, exact);
    if (!storage.replace(OVERRIDES_FILE, text)) return false;
    arbiter.recorded.fill(1);
    return true;
  }

  /**
   * Writes the overrides; when that fails, every timed override that storage holds ends now. Its
   * remaining time there is stale, and a restart whose wall clock went backwards would grant it
   * again (the simulator's seed 934: a clean stop, a full disk, a crash, the clock at 1970). Ended
   * at the first failed write, it has run at most OVERRIDE_PERSIST_MS since the last good one,
   * which is what a restart charges at least: so it never outlives its grant. An override that
   * never reached storage (answered ERR not-saved) cannot come back, and runs on.
   */
  persistOrEnd(nowMs: number): void {
    if (!OVERRIDES) return;
    const arbiter = this.arbiter;
    assert(arbiter !== null, 'an arbiter with OVERRIDES');
    if (this.persistOverrides(nowMs, false)) return;
    for (let s = 0; s < this.names.length; s++) {
      if (arbiter.expiresAtMs[s] === Infinity || arbiter.recorded[s] === 0) continue;
      arbiter.set(s, OverrideKind.None, Infinity, Infinity);
      this.audit.record('override', 'service=' + this.names[s] + ' override=none by=unrecorded');
      this.reconcile(s, 'expiry');
    }
  }

  describeTransition(s: number, nowMs: number): string {
    const engine = this.engine;
    const service = this.config.services[s]!;
    const failed: string[] = [];
    for (let slot = 0; slot < this.probes.slotCount; slot++) {
      if (this.probes.service[slot] !== s || this.probes.state[slot] !== SlotState.Failed) continue;
      failed.push(
        this.probes.targets[slot]!.name + '(' + OUTCOME_NAMES[this.probes.outcome[slot]!] + ')',
      );
    }
    const streak =
      engine.state[s] === AutoState.Up ? engine.healthyStreak[s]! : engine.unhealthyStreak[s]!;
    return (
      'service=' +
      service.name +
      ' state=' +
      AUTO_STATE_NAMES[engine.state[s]!] +
      ' reason=' +
      REASON_NAMES[engine.reason[s]!] +
      ' healthy=' +
      this.healthyTargets[s] +
      '/' +
      this.targetCount[s] +
      ' quorum=' +
      service.quorum +
      ' local=' +
      (service.local === null ? 'none' : this.localOk[s] === 1 ? 'ok' : 'failed') +
      ' failed=' +
      (failed.length === 0 ? '-' : failed.join(',')) +
      ' streak=' +
      streak +
      ' sinceMs=' +
      Math.round(nowMs - engine.streakStartMs[s]!) +
      ' penalty=' +
      Math.round(engine.penalty[s]!) +
      ' suppressed=' +
      (engine.suppressed[s] === 1 ? 'yes' : 'no')
    );
  }
}
