// The bugs planted to prove the simulator has teeth (firmware/planted.ts, and a torn replace in the
// simulated storage), each with the invariant meant to catch it and the seeds it may take: a
// simulator that found a planted bug only by some other, accidental failure, or only after many
// more seeds than it used to, has lost the check the bug was planted for. `npm run sim --
// --calibrate` replays the search that set the bounds (test/unit/sim.test.ts holds them).

import { Bug } from '../firmware/planted';
import { runSeed, type RunResult } from './run';

/** The schedules the planted bugs are searched on: 300 s each (the campaign's too). */
export const PLANTED_SCHEDULE_MS = 300 * 1000;

export interface PlantedCase {
  /** Its name on the command line (`--bug NAME`). */
  readonly name: string;
  readonly description: string;
  /** Planted firmware bugs (a bit set of Bug). */
  readonly bugs: number;
  /** The HAL bug instead: a replace cut by a power cut is torn. */
  readonly tornReplace: boolean;
  /** The invariant meant to catch it (sim/invariants.ts, sim/world.ts). */
  readonly invariant: string;
  /**
   * What its detail must say: where one invariant covers several rules (an exception escaping
   * holds the firmware's own assertions; `OK only for what is durable` both files), which one.
   */
  readonly detail: string;
  /** The first seed that found it when the bound was set (`--calibrate`). */
  readonly calibratedSeed: number;
  /** Seeds 1..seedsMax must find it: twice the calibrated seed. */
  readonly seedsMax: number;
}

interface Expected {
  readonly invariant: string;
  readonly detail: string;
  readonly seed: number;
}

function planted(
  name: string,
  description: string,
  bug: { bugs: number } | { tornReplace: true },
  expected: Expected,
): PlantedCase {
  return {
    name,
    description,
    bugs: 'bugs' in bug ? bug.bugs : 0,
    tornReplace: 'tornReplace' in bug,
    invariant: expected.invariant,
    detail: expected.detail,
    calibratedSeed: expected.seed,
    seedsMax: 2 * expected.seed,
  };
}

const ESCAPES = 'no exception escapes';
const DURABLE = 'OK only for what is durable';

/** Calibrated with 300 s schedules (`npm run sim -- --calibrate`): the seed each took then. */
export const PLANTED: readonly PlantedCase[] = [
  planted(
    'corrupt-overrides',
    'a boot wedged by a corrupt overrides.json',
    { bugs: Bug.CorruptOverridesThrow },
    { invariant: ESCAPES, detail: 'SyntaxError', seed: 1 },
  ),
  planted(
    'ok-without-save',
    'an override change answered OK but lost on a full disk',
    { bugs: Bug.OkWithoutSave },
    { invariant: DURABLE, detail: 'overrides.json', seed: 1 },
  ),
  // It needs a timed override, a kill -9 with the clock behind, then the grant run out: rarer.
  planted(
    'wall-clock-trusted',
    'an override restored for a year when the clock was wrong',
    { bugs: Bug.WallClockTrusted },
    { invariant: 'an override never outlives its grant', detail: '', seed: 705 },
  ),
  planted(
    'used-code-forgotten',
    'a used recovery code accepted again after a storage fault',
    { bugs: Bug.UsedCodeForgotten },
    { invariant: DURABLE, detail: 'accepted, use not stored', seed: 4 },
  ),
  // The engine's own assertions of "How it decides" trip before the observer's rule can.
  planted(
    'fall-early',
    'a withdrawal one unhealthy round early',
    { bugs: Bug.FallEarly },
    { invariant: ESCAPES, detail: 'assertion failed: a withdrawal comes after `fall`', seed: 2 },
  ),
  planted(
    'hold-down-ignored',
    'a re-announcement within the hold-down',
    { bugs: Bug.HoldDownIgnored },
    {
      invariant: ESCAPES,
      detail: 'assertion failed: an announcement waits out the hold-down',
      seed: 1,
    },
  ),
  planted(
    'pin-unaudited',
    'a route change by the pin without an audit record',
    { bugs: Bug.PinUnaudited },
    { invariant: 'every route change has an audit record', detail: '', seed: 1 },
  ),
  planted(
    'pin-beaten-by-console',
    'a console override that beats the pin',
    { bugs: Bug.PinBeatenByConsole },
    { invariant: 'routes follow pin, override, decision', detail: '', seed: 14 },
  ),
  planted(
    'torn-replace',
    'a replace torn by a power cut (a HAL bug)',
    { tornReplace: true },
    { invariant: 'durable state is the old or the new', detail: '', seed: 3 },
  ),
];

/** Whether `result` is `planted` found as meant: its invariant, and the rule its detail names. */
export function foundAsMeant(planted: PlantedCase, result: RunResult): boolean {
  return result.invariant === planted.invariant && result.detail.includes(planted.detail);
}

/** The planted case called `name`, or null. */
export function plantedCase(name: string): PlantedCase | null {
  for (const planted of PLANTED) if (planted.name === name) return planted;
  return null;
}

/** The first of seeds 1..seedsMax whose run fails with `planted` in force (null: none failed). */
export function firstFailing(
  planted: PlantedCase,
  options: { seedsMax: number; durationMs: number },
): RunResult | null {
  for (let seed = 1; seed <= options.seedsMax; seed++) {
    const result = runSeed({
      seed,
      durationMs: options.durationMs,
      bugs: planted.bugs,
      tornReplace: planted.tornReplace,
    });
    if (result.invariant !== '') return result;
  }
  return null;
}
