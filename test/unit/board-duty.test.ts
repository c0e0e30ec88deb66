// A board's duty cycle (config/duty.ts): the estimate check-config --board prints before a
// flash, and the one `bench --device` makes from the board's calibration loop (bench/device.ts),
// both warning past 50% of the probe interval.

import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { dutyCycleRow } from '../../bench/device';
import { row } from '../../bench/rows';
import { BOARD_CLASSES, dutyCycle, dutyCycleWarning, M4_ROUND } from '../../config/duty';
import { readConfig } from '../../config/validate';

function config(changes: (doc: Record<string, any>) => void = () => {}) {
  const doc = JSON.parse(readFileSync('bench/m4-config.json', 'utf8'));
  changes(doc);
  const result = readConfig(doc);
  if (result.config === null) throw new Error(result.errors.join('\n'));
  return result.config;
}

describe('the duty cycle before a flash', () => {
  it('is a round of the emulated M4 model, times the class factor, over the interval', () => {
    const held = config(); // one service, three DNS targets, one BGP peer, 250 ms
    const m4 = dutyCycle(held, 1);
    expect(m4.roundMs).toBe(M4_ROUND.fixedMs + 3 * M4_ROUND.perDnsTargetMs);
    expect(m4.duty).toBeCloseTo(m4.roundMs / 250, 9);
    expect(dutyCycleWarning(m4, 'the emulated Cortex-M4')).toBeNull();
    const pico = dutyCycle(held, BOARD_CLASSES['pico']!.factor);
    expect(dutyCycleWarning(pico, 'a Pico')).toBe(
      'probe.intervalMs: warning: on a Pico a probe round takes about 137 ms of CPU, 55% of the ' +
        '250 ms interval (more than 50%): use 273 ms or more, or fewer targets',
    );
    // At the interval it names, the warning is gone.
    const slower = config((doc) => (doc['probe'].intervalMs = pico.shortestIntervalMs));
    expect(dutyCycleWarning(dutyCycle(slower, BOARD_CLASSES['pico']!.factor), 'a Pico')).toBeNull();
    // TCP targets have no decode: three of them fit a Pico at 250 ms.
    const tcp = config((doc) => {
      for (const target of doc['services'][0].backbone.targets) {
        target.kind = 'tcp';
        target.port = 443;
        delete target.query;
        delete target.type;
        delete target.expectAddress;
      }
    });
    expect(dutyCycle(tcp, BOARD_CLASSES['pico']!.factor).duty).toBeLessThan(0.5);
  });
});

describe('the duty cycle a board measures', () => {
  afterEach(() => vi.restoreAllMocks());

  const rows = (calibrationMs: number, note: string) => [
    row({
      id: 'device-calibration-loop',
      name: 'device: calibration loop',
      medianNs: calibrationMs * 1e6,
      p99Ns: calibrationMs * 1e6,
      samples: 51,
    }),
    row({
      id: 'device-probe-rounds-during-the-bench',
      name: 'device: probe rounds during the bench',
      unit: 'count',
      medianNs: NaN,
      p99Ns: NaN,
      samples: 40,
      note,
    }),
  ];

  it('scales the model by the board calibration loop, and warns past 50%', () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    // A board whose loop takes 1.3x the emulated one's, probing what bench/m4-config.json does.
    const note = 'rounds=40 skipped=0 in 10000 ms, interval 250 ms, services=1 dns=3 tcp=0, on X';
    const slow = dutyCycleRow(rows(M4_ROUND.calibrationMs * 1.3, note))!;
    expect(slow).toMatchObject({ id: 'device-duty-cycle', unit: '%', medianNs: 54.6 });
    expect(slow.note).toMatch(/^a round ~136\.5 ms of CPU \(the emulated M4 model x 1\.300/);
    expect(stderr).toHaveBeenCalledWith(
      expect.stringMatching(/^bench: probe\.intervalMs: warning/),
    );
    stderr.mockClear();
    const fast = dutyCycleRow(rows(M4_ROUND.calibrationMs * 0.05, note))!;
    expect(fast.medianNs).toBe(2.1);
    expect(stderr).not.toHaveBeenCalled();
    // Without the firmware (no rounds row), no estimate.
    expect(dutyCycleRow(rows(1, ''))).toBeNull();
  });
});
