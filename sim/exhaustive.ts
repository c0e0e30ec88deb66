// The exhaustive check of the decision engine and the override arbiter: for small parameters
// (rise and fall 1 to 3, hold-down 0 to 2 rounds, damping off or on, two services, the pin,
// console overrides with and without expiry) every reachable state is visited by breadth-first
// search, one round per step, with every input (each service healthy or not) and every operator
// action between rounds. The invariants are checked on every edge and in every state; the output
// gives the count of states. A state is keyed by what the future depends on: streaks capped at
// max(rise, fall), times as ages capped at the bounds they are compared with, the flap penalty
// decayed to now and rounded to a unit.

import type { ServiceConfig } from '../firmware/config';
import { AutoState, DecisionEngine } from '../firmware/decision';
import { RouteState } from '../firmware/announcer';
import { OverrideArbiter, OverrideKind, UNDECIDED } from '../firmware/override';
import { planted } from '../firmware/planted';

/** One round; equal to the damping half-life, so that the penalty takes few values. */
const ROUND_MS = 1000;
const SERVICES = 2;
const STATES_MAX = 2_000_000;

interface Params {
  readonly rise: number;
  readonly fall: number;
  readonly holdDownMs: number;
  readonly damping: boolean;
}

/** A node of the search: the engine's and the arbiter's state, the routes, the time. */
interface Node {
  readonly engine: DecisionEngine;
  readonly arbiter: OverrideArbiter;
  readonly effective: number[];
  nowMs: number;
}

function serviceConfig(params: Params, s: number): ServiceConfig {
  // Service 1 is small and fixed (rise 1, fall 2): the product of two large services is too big
  // to search in a test's time, and service 1 is there for the pin and `all`, which are shared.
  const damping = params.damping && s === 0;
  return {
    name: 's' + s,
    quorum: 1,
    rise: s === 0 ? params.rise : 1,
    fall: s === 0 ? params.fall : 2,
    holdDownMs: s === 0 ? params.holdDownMs : 0,
    damping: damping
      ? { halfLifeMs: 1000, penalty: 1000, suppress: 1500, reuse: 750, maxSuppressMs: 3000 }
      : null,
  } as unknown as ServiceConfig;
}

/** Copies every typed array of `source` (public and private alike) into `target`'s. */
function copyInto(target: object, source: object): void {
  const to = target as Record<string, Uint8Array>;
  const from = source as Record<string, Uint8Array>;
  for (const key in from) if (ArrayBuffer.isView(from[key])) to[key]!.set(from[key]!);
}

function fresh(params: Params): Node {
  const configs = [serviceConfig(params, 0), serviceConfig(params, 1)];
  return {
    engine: new DecisionEngine(configs),
    arbiter: new OverrideArbiter(SERVICES, OverrideKind.Announce),
    effective: [UNDECIDED, UNDECIDED],
    nowMs: 0,
  };
}

/** `target` becomes a copy of `source` (a successor is computed in a scratch node). */
function copyNode(target: Node, source: Node): Node {
  copyInto(target.engine, source.engine);
  copyInto(target.arbiter, source.arbiter);
  target.arbiter.pinAsserted = source.arbiter.pinAsserted;
  for (let s = 0; s < SERVICES; s++) target.effective[s] = source.effective[s]!;
  target.nowMs = source.nowMs;
  return target;
}

function key(node: Node, params: Params): string {
  const { engine, arbiter, nowMs } = node;
  const cap = Math.max(params.rise, params.fall);
  const parts: number[] = [arbiter.pinAsserted ? 1 : 0];
  for (let s = 0; s < SERVICES; s++) {
    engine.decay(s, nowMs);
    const suppressedAge = engine.suppressed[s] === 1 ? nowMs - engine.suppressedAtMs[s]! : -1;
    parts.push(
      engine.state[s]!,
      engine.reason[s]!,
      Math.min(engine.healthyStreak[s]!, cap),
      Math.min(engine.unhealthyStreak[s]!, cap),
      Math.min(nowMs - engine.changedAtMs[s]!, params.holdDownMs + 1),
      // Penalties under 100 are one state (an abstraction: they halve every round, and a
      // withdrawal adds 1000 against thresholds of 1500 and 750).
      engine.penalty[s]! < 100 ? 0 : Math.round(engine.penalty[s]!),
      Math.min(suppressedAge, 3001),
      arbiter.kind[s]!,
      Math.min(arbiter.expiresAtMs[s]! - nowMs, 1e9),
      node.effective[s]!,
    );
  }
  return parts.join(',');
}

/** The operator's actions between two rounds: none, the pin, and per service five overrides. */
const ACTIONS = 2 + SERVICES * 5;

function act(node: Node, action: number): void {
  const arbiter = node.arbiter;
  if (action === 1) arbiter.pinAsserted = !arbiter.pinAsserted;
  if (action < 2) return;
  const s = (action - 2) % SERVICES;
  const which = Math.floor((action - 2) / SERVICES);
  const nowMs = node.nowMs;
  if (which === 0) arbiter.set(s, OverrideKind.Announce, nowMs + ROUND_MS, ROUND_MS);
  if (which === 1) arbiter.set(s, OverrideKind.Announce, nowMs + 3 * ROUND_MS, 3 * ROUND_MS);
  if (which === 2) arbiter.set(s, OverrideKind.Withdraw, nowMs + 2 * ROUND_MS, 2 * ROUND_MS);
  if (which === 3) arbiter.set(s, OverrideKind.Withdraw, Infinity, Infinity);
  if (which === 4) arbiter.set(s, OverrideKind.None, Infinity, Infinity);
}

function automatic(engine: DecisionEngine, s: number): number {
  const state = engine.state[s];
  if (state === AutoState.Init) return UNDECIDED;
  return state === AutoState.Up ? RouteState.Announced : RouteState.Withdrawn;
}

/** What Lifeline.reconcile does: the routes follow the arbiter, unless nothing is decided. */
function reconcile(node: Node): void {
  for (let s = 0; s < SERVICES; s++) {
    const target = node.arbiter.effective(s, automatic(node.engine, s));
    if (target !== UNDECIDED) node.effective[s] = target;
  }
}

/** One edge: an action, then a round with `health` (bit s: service s healthy). */
function successor(next: Node, node: Node, params: Params, action: number, health: number) {
  copyNode(next, node);
  act(next, action);
  reconcile(next);
  const startMs = next.nowMs;
  next.nowMs = startMs + ROUND_MS;
  const arbiter = next.arbiter;
  for (let s = 0; s < SERVICES; s++) {
    if (arbiter.expiresAtMs[s]! <= next.nowMs)
      arbiter.set(s, OverrideKind.None, Infinity, Infinity);
  }
  for (let s = 0; s < SERVICES; s++) {
    const before = next.engine.state[s]!;
    const healthy = (health >> s) & 1;
    next.engine.step(s, healthy, true, startMs, next.nowMs);
    checkEdge(next, params, s, before, healthy === 1);
  }
  reconcile(next);
}

function violation(text: string): never {
  throw new Error('exhaustive: ' + text);
}

/** The rules of "How it decides", on one round of service `s`. */
function checkEdge(node: Node, params: Params, s: number, before: number, healthy: boolean) {
  const engine = node.engine;
  const after = engine.state[s]!;
  const limits = serviceConfig(params, s);
  if (healthy && engine.healthyStreak[s] === 0) violation('a healthy round counts');
  if (!healthy && engine.unhealthyStreak[s] === 0) violation('an unhealthy round counts');
  if (engine.healthyStreak[s]! > 0 && engine.unhealthyStreak[s]! > 0)
    violation('one streak at a time');
  if (
    after === AutoState.Down &&
    before !== AutoState.Down &&
    engine.unhealthyStreak[s]! < limits.fall
  )
    violation('withdrawn before fall');
  if (!healthy && engine.unhealthyStreak[s]! >= limits.fall && after !== AutoState.Down)
    violation('not withdrawn after fall');
  if (after === AutoState.Up && before !== AutoState.Up) {
    if (engine.healthyStreak[s]! < limits.rise) violation('announced before rise');
    if (engine.suppressed[s] === 1) violation('announced while suppressed');
  }
  const free =
    node.nowMs - engine.changedAtMs[s]! >= limits.holdDownMs && engine.suppressed[s] === 0;
  if (healthy && engine.healthyStreak[s]! >= limits.rise && free && after !== AutoState.Up)
    violation('not announced after rise, free of hold-down and damping');
}

/** The routes in a state: pin, then console override, then the automatic decision. */
function checkState(node: Node): void {
  for (let s = 0; s < SERVICES; s++) {
    const arbiter = node.arbiter;
    const expected = arbiter.pinAsserted
      ? RouteState.Announced
      : arbiter.kind[s] === OverrideKind.Announce
        ? RouteState.Announced
        : arbiter.kind[s] === OverrideKind.Withdraw
          ? RouteState.Withdrawn
          : automatic(node.engine, s);
    if (expected !== UNDECIDED && node.effective[s] !== expected) violation('routes as arbitrated');
    if (arbiter.expiresAtMs[s]! <= node.nowMs) violation('an override outlived its expiry');
    if (node.engine.penalty[s]! > 6000 + 1e-6) violation('penalty above its ceiling');
  }
}

/** Breadth-first search of one parameter set; returns the number of states. */
export function explore(params: Params): number {
  const start = fresh(params);
  const child = fresh(params);
  const seen = new Set<string>([key(start, params)]);
  let frontier = [start];
  while (frontier.length > 0) {
    const next: Node[] = [];
    for (const node of frontier) {
      for (let action = 0; action < ACTIONS; action++) {
        for (let health = 0; health < 4; health++) {
          successor(child, node, params, action, health);
          checkState(child);
          const childKey = key(child, params);
          if (seen.has(childKey)) continue;
          seen.add(childKey);
          if (seen.size > STATES_MAX) violation('more than ' + STATES_MAX + ' states');
          next.push(copyNode(fresh(params), child));
        }
      }
    }
    frontier = next;
  }
  return seen.size;
}

export interface ExhaustiveOptions {
  /** The hold-downs searched (default 0, 1 and 2 rounds). */
  readonly holdDownsMs?: readonly number[];
  /** Planted bugs (firmware/planted.ts) in force, to show the search finds them. */
  readonly bugs?: number;
}

/** Every parameter set; one line each and a total. Throws at the first violation. */
export function exhaustive(options: ExhaustiveOptions = {}): {
  lines: string[];
  states: number;
} {
  const holdDowns = options.holdDownsMs ?? [0, ROUND_MS, 2 * ROUND_MS];
  const lines: string[] = [];
  let states = 0;
  // The engine reads the flags at construction; they are put back to 0 whatever happens.
  planted.bugs = options.bugs ?? 0;
  try {
    for (const damping of [false, true])
      for (const holdDownMs of holdDowns)
        for (let rise = 1; rise <= 3; rise++)
          for (let fall = 1; fall <= 3; fall++) {
            const count = explore({ rise, fall, holdDownMs, damping });
            states += count;
            lines.push(
              'rise ' +
                rise +
                ' fall ' +
                fall +
                ' holdDownMs ' +
                holdDownMs +
                ' damping ' +
                (damping ? 'on' : 'off') +
                ': ' +
                count +
                ' states',
            );
          }
  } finally {
    planted.bugs = 0;
  }
  lines.push(
    'exhaustive: ' +
      states +
      ' states in ' +
      lines.length +
      ' parameter sets, ' +
      'every invariant held',
  );
  return { lines, states };
}
