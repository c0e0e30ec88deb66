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
    expect(pico.roundMs).toBeCloseTo(81.25, 9);
    expect(dutyCycleWarning(pico, 'a Pico')).toBeNull();
    const esp8266 = dutyCycle(held, BOARD_CLASSES['esp8266']!.factor);
    expect(dutyCycleWarning(esp8266, 'an ESP8266')).toBe(
      'probe.intervalMs: warning: on an ESP8266 a probe round takes about 156 ms of CPU, 63% of ' +
        'the 250 ms interval (more than 50%): use 313 ms or more, or fewer targets',
    );
    // At the interval it names, the warning is gone.
    const slower = config((doc) => (doc['probe'].intervalMs = esp8266.shortestIntervalMs));
    expect(dutyCycleWarning(dutyCycle(slower, BOARD_CLASSES['esp8266']!.factor), 'x')).toBeNull();
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

  it('warns at the fastest interval the config runs at: fastIntervalMs, during a transition', () => {
    const fast = config((doc) => {
      doc['probe'].fastIntervalMs = 100;
      doc['probe'].timeoutMs = 90;
    });
    const pico = dutyCycle(fast, BOARD_CLASSES['pico']!.factor);
    expect(pico.intervalMs).toBe(100);
    expect(dutyCycleWarning(pico, 'a Pico')).toBe(
      'probe.fastIntervalMs: warning: on a Pico a probe round takes about 81 ms of CPU, 81% of ' +
        'the 100 ms interval (more than 50%): use 163 ms or more, or fewer targets',
    );
    // The same config without a faster interval holds a Pico.
    expect(dutyCycleWarning(dutyCycle(config(), BOARD_CLASSES['pico']!.factor), 'x')).toBeNull();
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
    // A board whose loop takes 2.5x the emulated one's, probing what bench/m4-config.json does.
    const note = 'rounds=40 skipped=0 in 10000 ms, interval 250 ms, services=1 dns=3 tcp=0, on X';
    const slow = dutyCycleRow(rows(M4_ROUND.calibrationMs * 2.5, note))!;
    expect(slow).toMatchObject({ id: 'device-duty-cycle', unit: '%', medianNs: 62.5 });
    expect(slow.note).toMatch(/^a round ~156\.3 ms of CPU \(the emulated M4 model x 2\.500/);
    expect(stderr).toHaveBeenCalledWith(
      expect.stringMatching(/^bench: probe\.intervalMs: warning/),
    );
    stderr.mockClear();
    const fast = dutyCycleRow(rows(M4_ROUND.calibrationMs * 0.05, note))!;
    expect(fast.medianNs).toBe(1.3);
    expect(stderr).not.toHaveBeenCalled();
    // A firmware that probes faster during a transition: the estimate is at that interval.
    const transition = note.replace('250 ms,', '250 ms, fast 100 ms,');
    const pico = dutyCycleRow(rows(M4_ROUND.calibrationMs * 1.3, transition))!;
    expect(pico.medianNs).toBe(81.3);
    expect(stderr).toHaveBeenCalledWith(
      expect.stringMatching(/^bench: probe\.fastIntervalMs: warning: .* 81% of the 100 ms/),
    );
    // Without the firmware (no rounds row), no estimate.
    expect(dutyCycleRow(rows(1, ''))).toBeNull();
  });
});
