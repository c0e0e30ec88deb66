// A reload: the running firmware takes a new, validated config between rounds without a flap
// (docs/reference.md, "Reload"). The tables the config sizes (probes, decision engine, per-service
// arrays, overrides, the announcer's prebuilt messages) are made again, once, and each service
// whose name is in both configs carries its state over: its automatic decision, streaks, damping
// penalty, override and routes. So a service that did not change is untouched, a removed one is
// withdrawn, an added one starts as at boot (`rise` rounds to its first decision), and changed
// targets or timings are used from the next round. The steady loop stays allocation-free: this
// runs only when asked. Node only: a board reloads by reflashing (nothing here is in its build).

import { ExaBgpAnnouncer } from '../firmware/announcer';
import { BgpSpeaker } from '../firmware/bgp/speaker';
import { reloadExaBgp, reloadSpeaker, type PeersReloaded } from './reload-announcers';
import type { Config, ServiceConfig } from '../firmware/config';
import { DecisionEngine } from '../firmware/decision';
import type { Lifeline } from '../firmware/lifeline';
import { OverrideArbiter, UNDECIDED } from '../firmware/override';
import { ProbeTable } from '../firmware/probes';

/**
 * Runs `apply` between rounds: at once when no round is out, else as soon as the one out
 * completes, before the next is sent (Lifeline.wake: the tables a reload makes again are never
 * those of a round in flight). A later call replaces one still waiting. A function here, not a
 * method of the firmware, so that a board's build carries none of it.
 */
export function betweenRounds(lifeline: Lifeline, apply: (nowMs: number) => void): void {
  lifeline.betweenRoundsDue = apply;
  if (!lifeline.roundActive) lifeline.wake();
}

/** What a reload did, for its audit record. */
export interface ReloadSummary {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** Kept by name, with settings that differ (targets, timings, prefixes, attributes). */
  readonly changed: readonly string[];
  readonly peers: PeersReloaded;
}

/** Per service of `next`, the index of the service of the same name in `old`, or -1. */
export function serviceMap(old: Config, next: Config): Int16Array {
  const previousOf = new Int16Array(next.services.length).fill(-1);
  for (let s = 0; s < next.services.length; s++) {
    const name = next.services[s]!.name;
    for (let o = 0; o < old.services.length; o++)
      if (old.services[o]!.name === name) previousOf[s] = o;
  }
  return previousOf;
}

function sameService(a: ServiceConfig, b: ServiceConfig): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A new table of `count` entries with `old`'s entry `previousOf[i]` at each i that has one. */
function carry<T extends Uint8Array | Uint16Array | Uint32Array | Float64Array>(
  fresh: T,
  old: T,
  previousOf: Int16Array,
): T {
  for (let i = 0; i < previousOf.length; i++)
    if (previousOf[i]! >= 0) fresh[i] = old[previousOf[i]!]!;
  return fresh;
}

/** The decision engine's state of each kept service, carried over into `fresh`. */
function carryEngine(fresh: DecisionEngine, old: DecisionEngine, previousOf: Int16Array): void {
  carry(fresh.state, old.state, previousOf);
  carry(fresh.reason, old.reason, previousOf);
  carry(fresh.healthyStreak, old.healthyStreak, previousOf);
  carry(fresh.unhealthyStreak, old.unhealthyStreak, previousOf);
  carry(fresh.changedAtMs, old.changedAtMs, previousOf);
  carry(fresh.streakStartMs, old.streakStartMs, previousOf);
  carry(fresh.penalty, old.penalty, previousOf);
  carry(fresh.penaltyAtMs, old.penaltyAtMs, previousOf);
  carry(fresh.suppressed, old.suppressed, previousOf);
  carry(fresh.suppressedAtMs, old.suppressedAtMs, previousOf);
  carry(fresh.transitions, old.transitions, previousOf);
}

/** A probe slot's identity across configs: its service's name, its own name, local or not. */
function slotKey(config: Config, probes: ProbeTable, slot: number): string {
  const service = config.services[probes.service[slot]!]!.name;
  return service + '\n' + probes.targets[slot]!.name + '\n' + probes.local[slot];
}

/**
 * Each kept target's counters and round-trip figures (the metrics), carried over by name. (Node
 * always has the statistics.)
 */
function carryProbeFigures(old: ProbeTable, oldConfig: Config, fresh: ProbeTable, config: Config) {
  const slotOf = new Map<string, number>();
  for (let slot = 0; slot < old.slotCount; slot++) slotOf.set(slotKey(oldConfig, old, slot), slot);
  const before = old.statistics!;
  const after = fresh.statistics!;
  const counters = before.counters.length / Math.max(1, old.slotCount);
  const buckets = before.rttBuckets.length / Math.max(1, old.slotCount);
  for (let slot = 0; slot < fresh.slotCount; slot++) {
    const from = slotOf.get(slotKey(config, fresh, slot));
    if (from === undefined) continue;
    after.rttMs[slot] = before.rttMs[from]!;
    after.rttSumMs[slot] = before.rttSumMs[from]!;
    after.counters.set(
      before.counters.subarray(from * counters, (from + 1) * counters),
      slot * counters,
    );
    after.rttBuckets.set(
      before.rttBuckets.subarray(from * buckets, (from + 1) * buckets),
      slot * buckets,
    );
  }
}

/**
 * The overrides (and whether each is on storage) of each kept service, carried over, and when
 * they are re-written. (Node always has overrides: the arbiter is there.)
 */
function carryOverrides(lifeline: Lifeline, count: number, previousOf: Int16Array): void {
  const old = lifeline.arbiter!;
  const arbiter = new OverrideArbiter(count, old.pinAction);
  arbiter.pinAsserted = old.pinAsserted;
  carry(arbiter.kind, old.kind, previousOf);
  carry(arbiter.expiresAtMs, old.expiresAtMs, previousOf);
  carry(arbiter.grantedMs, old.grantedMs, previousOf);
  carry(arbiter.recorded, old.recorded, previousOf);
  arbiter.persistDueMs = old.persistDueMs;
  lifeline.arbiter = arbiter;
}

/**
 * Puts `config` in place of `lifeline`'s running one. To be called between rounds
 * (betweenRounds), with a config the validator accepted and that changes nothing a reload
 * cannot change (appliance/reload.ts says what: the announcer's kind, the fleet guard, ...).
 */
export function reloadLifeline(lifeline: Lifeline, config: Config, nowMs: number): ReloadSummary {
  const old = lifeline.config;
  const previousOf = serviceMap(old, config);
  const count = config.services.length;
  const oldEffective = lifeline.effective;
  const effective = carry(new Uint8Array(count).fill(UNDECIDED), oldEffective, previousOf);
  let peers: PeersReloaded = { kept: config.announcer.peers.length, restarted: 0 };
  const announcer = lifeline.announcer;
  if (announcer instanceof BgpSpeaker) peers = reloadSpeaker(announcer, config, previousOf, nowMs);
  else if (announcer instanceof ExaBgpAnnouncer)
    reloadExaBgp(announcer, { config, previousOf, oldEffective, effective });
  const probes = new ProbeTable(config);
  carryProbeFigures(lifeline.probes, old, probes, config);
  lifeline.probes.close();
  probes.open(lifeline.hal);
  lifeline.probes = probes;
  const engine = new DecisionEngine(config.services);
  carryEngine(engine, lifeline.engine, previousOf);
  lifeline.engine = engine;
  lifeline.effective = effective;
  lifeline.healthyTargets = carry(new Uint16Array(count), lifeline.healthyTargets, previousOf);
  lifeline.localOk = carry(new Uint8Array(count), lifeline.localOk, previousOf);
  lifeline.targetCount = new Uint16Array(count);
  for (let s = 0; s < count; s++) lifeline.targetCount[s] = config.services[s]!.targets.length;
  carryOverrides(lifeline, count, previousOf);
  lifeline.names = config.services.map((service) => service.name);
  lifeline.config = config;
  // A changed `drain` or override may change what a kept service's routes are to be.
  for (let s = 0; s < count; s++) lifeline.reconcile(s, 'reload');
  lifeline.persistOrEnd(nowMs);
  const added: string[] = [];
  const changed: string[] = [];
  for (let s = 0; s < count; s++) {
    const before = previousOf[s]!;
    if (before < 0) added.push(config.services[s]!.name);
    else if (!sameService(old.services[before]!, config.services[s]!))
      changed.push(config.services[s]!.name);
  }
  const removed = old.services
    .filter((service) => !lifeline.names.includes(service.name))
    .map((service) => service.name);
  return { added, removed, changed, peers };
}
