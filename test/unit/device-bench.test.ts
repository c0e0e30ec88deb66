// The on-device bench (firmware/device-bench.ts) on the simulated HAL: it takes turns beside the
// running firmware, runs no slice while a probe round is out, and reports the rounds that ran
// meanwhile. The same code runs on the real interpreter beside a live BGP session in
// test/integration/espruino-real.test.ts; here the logic, in virtual time.

import { expect, it } from 'vitest';

import { benchProgress, benchTurn, startBench } from '../../firmware/device-bench';
import { simRig } from '../helpers';

it('runs its slices only between probe rounds, and counts the rounds beside it', () => {
  const rig = simRig({ intervalMs: 100, timeoutMs: 50 });
  rig.sim.setAll({ latencyMs: 20 }); // each round is out for 20 ms of every 100
  const bench = startBench({
    clock: rig.sim.clock,
    batches: 100,
    perBatch: 20,
    firmware: rig.lifeline,
  });
  let turns = 0;
  let waits = 0;
  let nextTurnMs = rig.sim.clock.nowMs();
  for (let step = 0; step < 100000 && bench.result === null; step++) {
    rig.sim.runFor(1);
    if (rig.sim.clock.nowMs() < nextTurnMs) continue;
    const before = benchProgress(bench);
    const active = rig.lifeline.roundActive;
    const waitMs = benchTurn(bench);
    turns++;
    if (active) {
      // A round is out: the bench waits and does nothing.
      expect(waitMs).toBeGreaterThan(0);
      expect(benchProgress(bench)).toBe(before);
      waits++;
    } else if (bench.result === null) {
      expect(benchProgress(bench)).not.toBe(before);
    }
    // The virtual clock stands still while a slice runs: one slice per millisecond of it, so
    // that rounds come and go between turns as they would on a board.
    nextTurnMs = rig.sim.clock.nowMs() + Math.max(waitMs, 1);
  }
  expect(bench.result).not.toBeNull();
  expect(waits).toBeGreaterThan(0);
  expect(turns).toBeGreaterThan(waits);
  const rows = bench.result!;
  expect(rows.map((row) => row.name)).toEqual([
    'device: decision step',
    'device: dns decode reply',
    'device: calibration loop',
    'device: bench slice',
    'device: probe round',
    'device: probe rounds during the bench',
  ]);
  expect(rows[0]!.samples).toBe(100);
  expect(rows[2]!.samples).toBe(100); // the calibration loop: one call per sample
  const note = rows[5]!.note!;
  const match = /rounds=(\d+) skipped=(\d+) in (\d+) ms, interval 100 ms/.exec(note);
  // What the rounds probe, for the host's duty-cycle estimate.
  expect(note).toMatch(/, services=1 dns=\d+ tcp=\d+$/);
  expect(match, note).not.toBeNull();
  expect(Number(match![2])).toBe(0);
  expect(Number(match![1])).toBeGreaterThanOrEqual(Math.floor(Number(match![3]) / 100) - 1);
  // Round durations are the firmware's own: the 20 ms the targets take to answer.
  expect(rows[4]!.medianNs).toBe(20e6);
});
