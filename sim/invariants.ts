// The simulator's invariants, checked after every event (docs/simulation.md, "The
// invariants"). The Observer keeps its own model of what the firmware must have done, from what it
// can see from outside (each round's tally, the console's replies, the announcer's lines, the
// audit lines, the durable files), and compares it with the firmware's state: the decision engine
// is re-derived round by round, overrides are timed against their grants across restarts, used
// recovery codes are remembered across restarts, the router's table is rebuilt from the lines.

import { RouteState } from '../firmware/announcer';
import { hashCode } from '../firmware/auth';
import { parseDuration } from '../firmware/console';
import { AutoState } from '../firmware/decision';
import { OverrideKind, OVERRIDES_FILE, UNDECIDED } from '../firmware/override';
import type { BgpSpeaker } from '../firmware/bgp/speaker';
import type { Config } from '../firmware/config';
import type { Lifeline } from '../firmware/lifeline';
import type { SimHal } from '../hal/sim/index';
import type { SimRouter } from './router';
import type { SimStorage } from './storage';

export class SimViolation extends Error {
  constructor(
    readonly invariant: string,
    readonly detail: string,
  ) {
    super(invariant + ': ' + detail);
  }
}

interface Grant {
  readonly kind: number;
  readonly grantedMs: number;
  activeMs: number;
}

const SERVICES = 2;

/**
 * What the observer may read of the world (sim/world.ts): the firmware's state, what it let out
 * (the announcer's lines, the router's table) and the durable files.
 */
export interface ObservedWorld {
  readonly config: Config;
  readonly hal: SimHal;
  readonly lifeline: Lifeline;
  readonly router: SimRouter;
  readonly speaker: BgpSpeaker | null;
  readonly storage: SimStorage;
  /** Whether the box is up (between a boot and a crash or stop). */
  readonly running: boolean;
  /** World time, in ms. */
  nowMs(): number;
  /** The pin's raw level, since when, and the level the debouncer last reported. */
  readonly pinRaw: number;
  readonly pinRawSinceMs: number;
  readonly pinSettled: number;
}

export class Observer {
  /** The router's table (ExaBGP's view): prefix to announced. */
  readonly router: { [prefix: string]: boolean };
  private emittedSeen: number;
  private lastMs: number;
  private rounds: number;
  private readonly healthyStreak: number[];
  private readonly unhealthyStreak: number[];
  private readonly autoState: number[];
  private readonly changedAtMs: number[];
  private readonly effective: number[];
  private readonly routeChanges: number[];
  private readonly routesAudited: number[];
  private readonly penalty: number[];
  private readonly penaltyAtMs: number[];
  private readonly suppressedAtMs: number[];
  /** Every grant ever made, per service, and the one in force now (null: none being timed). */
  private readonly grants: Grant[][];
  private readonly active: (Grant | null)[];
  private bootOverrides: string | undefined;
  private mapPending: boolean;
  readonly usedCodes: string[];
  /** Checks made (for the figures). */
  checks: number;

  constructor(private readonly world: ObservedWorld) {
    this.router = {};
    this.emittedSeen = 0;
    this.lastMs = 0;
    this.rounds = 0;
    this.healthyStreak = [0, 0];
    this.unhealthyStreak = [0, 0];
    this.autoState = [0, 0];
    this.changedAtMs = [-Infinity, -Infinity];
    this.effective = [UNDECIDED, UNDECIDED];
    this.routeChanges = [0, 0];
    this.routesAudited = [0, 0];
    this.penalty = [0, 0];
    this.penaltyAtMs = [0, 0];
    this.suppressedAtMs = [-1, -1];
    this.grants = [[], []];
    this.active = [null, null];
    this.bootOverrides = undefined;
    this.mapPending = false;
    this.usedCodes = [];
    this.checks = 0;
  }

  /** A new boot: the firmware's state starts afresh; the world's (router, grants) does not. */
  booting(): void {
    this.emittedSeen = 0;
    this.lastMs = 0;
    this.rounds = 0;
    for (let s = 0; s < SERVICES; s++) {
      this.healthyStreak[s] = this.unhealthyStreak[s] = 0;
      this.autoState[s] = AutoState.Init;
      this.changedAtMs[s] = -Infinity;
      this.effective[s] = UNDECIDED;
      this.routeChanges[s] = this.routesAudited[s] = 0;
      this.penalty[s] = 0;
      this.suppressedAtMs[s] = -1;
    }
    this.bootOverrides = this.world.storage.files[OVERRIDES_FILE];
    this.mapPending = true;
  }

  crashed(): void {
    for (let s = 0; s < SERVICES; s++) this.active[s] = null;
  }

  /** A clean stop withdrew (or kept) the routes: the router hears it. */
  stopped(): void {
    this.readRouter();
  }

  logged(line: string): void {
    if (line.indexOf('audit routes service=') !== 0) return;
    const s = line.charAt(21) === 'a' ? 0 : 1;
    this.routesAudited[s] = this.routesAudited[s]! + 1;
  }

  /** Every invariant, now. Throws SimViolation at the first that does not hold. */
  check(where: string): void {
    const world = this.world;
    if (!world.running) return;
    this.checks++;
    if (world.speaker !== null) world.router.pump(world.hal);
    const nowMs = world.hal.timeMs;
    if (this.mapPending) this.mapRestored();
    this.timeOverrides(nowMs - this.lastMs);
    this.lastMs = nowMs;
    this.followRounds(nowMs);
    for (let s = 0; s < SERVICES; s++) this.checkDecision(s, nowMs);
    for (let s = 0; s < SERVICES; s++) this.checkEffective(s, nowMs);
    this.readRouter();
    for (let s = 0; s < SERVICES; s++) this.checkRoutes(s);
    const config = world.config;
    const stallMs = 2 * config.intervalMs + config.timeoutMs;
    if (nowMs > stallMs && nowMs - world.lifeline.lastRoundEndMs[0]! > stallMs)
      fail('the loop never stalls', 'no round ended since ' + world.lifeline.lastRoundEndMs[0]);
    if (where === '') fail('unreachable', '');
  }

  /** The overrides restored at boot belong to grants made before (the most recent that fits). */
  private mapRestored(): void {
    this.mapPending = false;
    const arbiter = this.world.lifeline.arbiter!;
    let stored: { service?: string; kind?: string; grantedMs?: number }[] = [];
    try {
      const parsed = JSON.parse(this.bootOverrides ?? '[]') as unknown;
      if (Array.isArray(parsed)) stored = parsed;
    } catch {
      stored = [];
    }
    for (let s = 0; s < SERVICES; s++) {
      this.active[s] = null;
      if (arbiter.kind[s] === OverrideKind.None || arbiter.expiresAtMs[s] === Infinity) continue;
      const name = this.world.lifeline.names[s];
      const entry = stored.filter((item) => item !== null && item.service === name)[0];
      const granted = entry === undefined ? -1 : entry.grantedMs;
      const grants = this.grants[s]!;
      for (let i = grants.length - 1; i >= 0 && this.active[s] === null; i--) {
        if (grants[i]!.kind === arbiter.kind[s] && grants[i]!.grantedMs === granted)
          this.active[s] = grants[i]!;
      }
      if (this.active[s] === null)
        fail('an override is restored only as granted', 'service ' + name + ' was never granted');
    }
  }

  /** Charges the time since the last check to the overrides in force. */
  private timeOverrides(elapsedMs: number): void {
    const arbiter = this.world.lifeline.arbiter!;
    for (let s = 0; s < SERVICES; s++) {
      const grant = this.active[s];
      if (grant === null) continue;
      grant.activeMs += elapsedMs;
      if (grant.activeMs > grant.grantedMs + 1)
        fail(
          'an override never outlives its grant',
          'service ' + s + ' granted ' + grant.grantedMs + ' ms, in force ' + grant.activeMs,
        );
      if (arbiter.kind[s] !== grant.kind || arbiter.expiresAtMs[s] === Infinity)
        this.active[s] = null;
    }
  }

  /** Each completed round, tallied as the engine must see it. */
  private followRounds(nowMs: number): void {
    const lifeline = this.world.lifeline;
    const rounds = lifeline.counters.rounds;
    if (rounds === this.rounds) return;
    if (rounds !== this.rounds + 1)
      fail('one round ends per event', rounds + ' after ' + this.rounds);
    this.rounds = rounds;
    for (let s = 0; s < SERVICES; s++) {
      const service = this.world.config.services[s]!;
      const healthy = lifeline.healthyTargets[s]! >= service.quorum && lifeline.localOk[s] === 1;
      this.healthyStreak[s] = healthy ? this.healthyStreak[s]! + 1 : 0;
      this.unhealthyStreak[s] = healthy ? 0 : this.unhealthyStreak[s]! + 1;
    }
    if (nowMs < 0) fail('unreachable', '');
  }
  /** The shadow flap penalty of `s` at `nowMs` (RFC 2439 decay), and whether it suppresses. */
  private suppressedNow(s: number, nowMs: number): boolean {
    const damping = this.world.config.services[s]!.damping;
    if (damping === null || this.suppressedAtMs[s]! < 0) return false;
    const penalty =
      this.penalty[s]! * Math.pow(2, -(nowMs - this.penaltyAtMs[s]!) / damping.halfLifeMs);
    // A margin either side of the thresholds: the engine decays step by step, this in one go.
    if (penalty < damping.reuse * 0.999 || nowMs - this.suppressedAtMs[s]! >= damping.maxSuppressMs)
      this.suppressedAtMs[s] = -1;
    return this.suppressedAtMs[s]! >= 0 && penalty > damping.reuse * 1.001;
  }

  private addPenalty(s: number, nowMs: number): void {
    const damping = this.world.config.services[s]!.damping;
    if (damping === null) return;
    const decayed =
      this.penalty[s]! * Math.pow(2, -(nowMs - this.penaltyAtMs[s]!) / damping.halfLifeMs);
    const ceiling = damping.reuse * Math.pow(2, damping.maxSuppressMs / damping.halfLifeMs);
    this.penalty[s] = Math.min(decayed + damping.penalty, ceiling);
    this.penaltyAtMs[s] = nowMs;
    if (this.suppressedAtMs[s]! < 0 && this.penalty[s]! >= damping.suppress)
      this.suppressedAtMs[s] = nowMs;
  }

  /** Withdrawn only after `fall` bad rounds, announced only after `rise` good ones, held, free. */
  private checkDecision(s: number, nowMs: number): void {
    const engine = this.world.lifeline.engine;
    const service = this.world.config.services[s]!;
    const state = engine.state[s]!;
    const suppressed = this.suppressedNow(s, nowMs);
    if (state !== this.autoState[s]) {
      const what = 'service ' + service.name + ' at ' + nowMs + ' ms';
      if (state === AutoState.Down && this.unhealthyStreak[s]! < service.fall)
        fail('never withdrawn before `fall` unhealthy rounds', what);
      if (state === AutoState.Up) {
        if (this.healthyStreak[s]! < service.rise)
          fail('never announced before `rise` healthy rounds', what);
        if (nowMs - this.changedAtMs[s]! < service.holdDownMs)
          fail('never re-announced within the hold-down', what);
        if (suppressed) fail('never re-announced while suppressed', what);
      }
      if (state === AutoState.Down && this.autoState[s] === AutoState.Up) this.addPenalty(s, nowMs);
      this.autoState[s] = state;
      this.changedAtMs[s] = nowMs;
      return;
    }
    if (state !== AutoState.Down && this.unhealthyStreak[s]! >= service.fall)
      fail('withdrawn after `fall` unhealthy rounds', 'service ' + service.name);
    const free = nowMs - this.changedAtMs[s]! >= service.holdDownMs + service.rise * 250;
    if (state !== AutoState.Up && this.healthyStreak[s]! >= service.rise && free && !suppressed) {
      if (service.damping === null)
        fail('announced after `rise` healthy rounds', 'service ' + service.name + ' at ' + nowMs);
    }
  }

  /** Pin, then console override, then the automatic decision; an asserted pin within debounce. */
  private checkEffective(s: number, nowMs: number): void {
    const world = this.world;
    const lifeline = world.lifeline;
    const arbiter = lifeline.arbiter!;
    if (arbiter.pinAsserted !== (world.pinSettled === 1))
      fail('the firmware sees the debounced pin', 'pin ' + world.pinSettled);
    const kind = arbiter.pinAsserted ? OverrideKind.Announce : arbiter.kind[s]!;
    const expected =
      kind === OverrideKind.Announce
        ? RouteState.Announced
        : kind === OverrideKind.Withdraw
          ? RouteState.Withdrawn
          : lifeline.automaticRoute(s);
    // Undecided (a boot without a decision yet): what was last said stands.
    if (expected !== UNDECIDED && lifeline.effective[s] !== expected)
      fail('routes follow pin, override, decision', 's' + s + ' ' + lifeline.effective[s]);
    const heldMs = world.nowMs() - world.pinRawSinceMs;
    if (world.pinRaw === 1 && heldMs > world.config.overridePin!.debounceMs) {
      if (lifeline.effective[s] !== RouteState.Announced)
        fail('an asserted pin announces within its debounce', 'service ' + s);
    }
    if (lifeline.effective[s] !== this.effective[s]) {
      this.effective[s] = lifeline.effective[s]!;
      this.routeChanges[s] = this.routeChanges[s]! + 1;
    }
    if (this.routeChanges[s] !== this.routesAudited[s])
      fail('every route change has an audit record', 'service ' + s + ' at ' + nowMs);
  }

  private readRouter(): void {
    const emitted = this.world.hal.emitted;
    for (; this.emittedSeen < emitted.length; this.emittedSeen++) {
      const words = emitted[this.emittedSeen]!.split(' ');
      this.router[words[2]!] = words[0] === 'announce';
    }
  }

  /** The router's table equals the effective state of every decided service. */
  private checkRoutes(s: number): void {
    const effective = this.world.lifeline.effective[s]!;
    if (effective === UNDECIDED) return;
    const speaker = this.world.speaker;
    // With the built-in speaker, the router's table counts once both ends are Established.
    if (speaker !== null && !(this.world.router.established && speaker.sessions[0]!.state === 4))
      return;
    const table = speaker === null ? this.router : this.world.router.table;
    for (const { text: prefix } of this.world.config.services[s]!.prefixes) {
      if ((table[prefix] === true) !== (effective === RouteState.Announced))
        fail('the router holds the effective state', prefix + ' at the router');
    }
  }

  /** A console exchange: replies well formed; OK only for what is durable; codes used once. */
  typed(text: string, replies: string[]): void {
    for (const reply of replies) {
      const head = reply.split(' ')[0];
      if (head !== 'OK' && head !== 'ERR' && head !== 'INFO')
        fail('every console reply is OK, ERR or INFO', JSON.stringify(reply));
    }
    const last = replies[replies.length - 1] ?? '';
    const words = text.trim().split(' ');
    if (words[0] === 'auth' && words[1] === 'code' && last === 'OK authenticated')
      this.codeUsed(words.slice(2).join(' '));
    const command = words[0]!;
    if (command !== 'announce' && command !== 'withdraw' && command !== 'auto') return;
    const durable = last.indexOf('OK ' + command) === 0;
    if (!durable && last.indexOf('ERR not-saved') !== 0) return;
    const kind =
      command === 'announce'
        ? OverrideKind.Announce
        : command === 'withdraw'
          ? OverrideKind.Withdraw
          : OverrideKind.None;
    const named = words[1] === 'a' ? 0 : words[1] === 'b' ? 1 : -1;
    const forAt = words.indexOf('for');
    const grantedMs = forAt < 0 ? Infinity : parseDuration(words[forAt + 1]!);
    for (let s = 0; s < SERVICES; s++) {
      if (named >= 0 && s !== named) continue;
      const grant = { kind, grantedMs, activeMs: 0 };
      if (kind !== OverrideKind.None && grantedMs !== Infinity) this.grants[s]!.push(grant);
      this.active[s] = kind !== OverrideKind.None && grantedMs !== Infinity ? grant : null;
      if (durable) this.checkDurable(s, kind, text);
    }
  }

  private checkDurable(s: number, kind: number, text: string): void {
    const name = this.world.lifeline.names[s];
    let entries: { service?: string; kind?: string }[] = [];
    try {
      entries = JSON.parse(this.world.storage.files[OVERRIDES_FILE] ?? '[]');
    } catch {
      fail('OK only for what is durable', OVERRIDES_FILE + ' unreadable after ' + text.trim());
    }
    const entry = entries.filter((item) => item.service === name)[0];
    const stored = entry === undefined ? 'none' : entry.kind;
    if (stored !== ['none', 'announce', 'withdraw'][kind])
      fail('OK only for what is durable', text.trim() + ' answered OK, stored ' + stored);
  }

  private codeUsed(code: string): void {
    if (this.usedCodes.indexOf(code) >= 0)
      fail('a used recovery code never authenticates again', code);
    this.usedCodes.push(code);
    const lines = (this.world.storage.files['recovery-used'] ?? '').split('\n');
    const hash = hashCode(code);
    // A torn append (a power cut) may leave junk before the next line: the hash ends its line.
    if (lines.filter((line) => line.slice(-64) === hash).length === 0)
      fail('OK only for what is durable', 'recovery code ' + code + ' accepted, use not stored');
  }
}

export function fail(invariant: string, detail: string): never {
  throw new SimViolation(invariant, detail);
}
