// Runs schedules: one seed (`runSeed`), a campaign of many, and the shrinker that reduces a
// failing schedule to fewer events that still fail the same invariant. A run's trace (every event,
// and the console's replies) is its fingerprint: the same seed gives the same trace, byte for byte.

import { describeEvent, drawSchedule, type SimEvent } from './schedule';
import { planted } from '../firmware/planted';
import { SimViolation } from './invariants';
import { World, type WorldOptions } from './world';

export interface RunResult {
  readonly seed: number;
  /** The invariant that failed, or '' when the run passed. */
  readonly invariant: string;
  readonly detail: string;
  /** Index in the schedule of the event at or before which it failed (-1: passed). */
  readonly failedAt: number;
  readonly trace: string[];
  readonly simulatedMs: number;
  readonly checks: number;
  /** The durable files and the router's table at the end: part of what a replay must repeat. */
  readonly final: string;
}

export interface RunOptions extends WorldOptions {
  readonly durationMs: number;
}

/** Plays `schedule` on a fresh world of `options.seed`; stops at the first violation. */
export function runSchedule(options: RunOptions, schedule: readonly SimEvent[]): RunResult {
  const trace: string[] = [];
  let world: World | null = null;
  let invariant = '';
  let detail = '';
  let failedAt = -1;
  let index = 0;
  try {
    world = new World(options);
    for (; index < schedule.length; index++) {
      const event = schedule[index]!;
      world.apply(event);
      trace.push(describeEvent(event) + replies(world, event));
    }
    world.apply({ atMs: options.durationMs, kind: 'type', a: 0, b: 0, text: 'status\n' });
  } catch (error) {
    failedAt = index;
    if (error instanceof SimViolation) {
      invariant = error.invariant;
      detail = error.detail;
    } else {
      invariant = 'no exception escapes';
      detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    }
    trace.push((index < schedule.length ? describeEvent(schedule[index]!) : 'end') + ' FAILED');
  } finally {
    planted.bugs = 0;
  }
  return {
    seed: options.seed,
    invariant,
    detail,
    failedAt,
    trace,
    simulatedMs: world === null ? 0 : Math.max(world.nowMs(), options.durationMs),
    checks: world === null ? 0 : world.observer.checks,
    final:
      world === null
        ? ''
        : JSON.stringify({ files: world.storage.files, router: world.observer.router }),
  };
}

function replies(world: World, event: SimEvent): string {
  if (event.kind !== 'type' && event.kind !== 'login' && event.kind !== 'code') return '';
  const last = world.lastReplies;
  return last.length === 0 ? '' : ' -> ' + last[last.length - 1];
}

export function runSeed(options: RunOptions): RunResult {
  return runSchedule(options, drawSchedule(options.seed, options.durationMs));
}

/**
 * Shrinks a failing schedule: drops ever smaller chunks of events while the run still fails the
 * same invariant (delta debugging), within `runsMax` runs. Returns the shortest schedule found.
 */
export function shrink(
  options: RunOptions,
  schedule: readonly SimEvent[],
  invariant: string,
  runsMax = 400,
): SimEvent[] {
  let current = schedule.slice();
  let runs = 0;
  const fails = (candidate: SimEvent[]): boolean => {
    runs++;
    return runSchedule(options, candidate).invariant === invariant;
  };
  // Nothing after the failing event matters.
  const first = runSchedule(options, current);
  if (first.failedAt >= 0) current = current.slice(0, first.failedAt + 1);
  for (let chunk = current.length >> 1; chunk >= 1 && runs < runsMax; chunk >>= 1) {
    for (let start = 0; start < current.length && runs < runsMax;) {
      const candidate = current.slice(0, start).concat(current.slice(start + chunk));
      if (candidate.length > 0 && fails(candidate)) current = candidate;
      else start += chunk;
    }
  }
  return current;
}

export interface CampaignResult {
  readonly runs: number;
  readonly failures: RunResult[];
  readonly simulatedMs: number;
  readonly wallMs: number;
  readonly checks: number;
}

/**
 * Runs seeds `first` to `first + count - 1`: every one of them, however long it takes (a campaign
 * that stopped at a wall-clock limit would check less on a slower machine and still pass). `now`
 * only measures.
 */
export function campaign(
  options: {
    first: number;
    count: number;
    durationMs: number;
    bugs?: number;
    tornReplace?: boolean;
  },
  now: () => number,
): CampaignResult {
  const startMs = now();
  const failures: RunResult[] = [];
  let simulatedMs = 0;
  let checks = 0;
  let runs = 0;
  for (; runs < options.count; runs++) {
    const result = runSeed({
      seed: options.first + runs,
      durationMs: options.durationMs,
      bugs: options.bugs ?? 0,
      tornReplace: options.tornReplace ?? false,
    });
    simulatedMs += result.simulatedMs;
    checks += result.checks;
    if (result.invariant !== '') failures.push(result);
  }
  return { runs, failures, simulatedMs, wallMs: now() - startMs, checks };
}
