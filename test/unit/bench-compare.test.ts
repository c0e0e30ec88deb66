// `lifeline bench compare` and the self-describing result of `lifeline bench --json`
// (bench/compare.ts, bench/report.ts): the exact comparison of two fixed results, and the shape
// of a result, its p99 refused where the samples are too few.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { compareResults, readResult } from '../../bench/compare';
import { benchResult, RESULT_FORMAT, type BenchResult } from '../../bench/report';
import { row, table } from '../../bench/rows';

const OLD = 'test/fixtures/bench-old.json';
const NEW = 'test/fixtures/bench-new.json';

const EXPECTED = `old: 0.1.0 aaaaaaaaaaaa, 2026-12-01T10:00:00.000Z, node v20.19.0 on Example CPU @ 2.00GHz, \
2 cores, x64, Linux 6.1.0, load 0.50
     config: benchConfig: 1 service, 3 DNS targets
new: 0.2.0 bbbbbbbbbbbb+dirty, 2026-12-06T10:00:00.000Z, node v22.11.0 on Example CPU @ 2.00GHz, \
2 cores, x64, Linux 6.1.0
     config: benchConfig: 1 service, 3 DNS targets

figure                    old        new        new/old  per baseline  noise   change
decision-step             10.0 ns    10.2 ns    1.02x                  +-2.9%
dns-decode                60.0 ns    30.0 ns    0.50x                  +-3.7%  faster
probe-round-bare-dgram    100.00 us  150.00 us  1.50x                  +-1.4%  SLOWER
probe-round               110.00 us  160.00 us  1.45x    0.97x         +-52%
startup-first-probe       80.00 ms   100.00 ms  1.25x                  +-7.3%  SLOWER
node-hal-bytes-per-round  2000 B     2100 B     1.05x                  ?       noise unknown
mcu-dns-decode            20.40 ms   20.30 ms   1.00x                  +-0.0%  faster
gone-later                5.0 ns     -                                         only in old
new-figure                -          5.0 ns                                    only in new

4 of 9 figures changed beyond the noise of the two runs
`;

describe('bench compare', () => {
  it('prints each figure side by side with its ratio, marking changes beyond the noise', () => {
    // decision-step moved 2% within its +-2.9%: unmarked; probe-round moved 1.45x, but its
    // baseline (the machine) moved 1.5x: unmarked, 0.97x per baseline; the emulated board's
    // figure is deterministic (noise 0): any change is marked.
    const text = compareResults(readResult(OLD) as BenchResult, readResult(NEW) as BenchResult);
    expect(text).toBe(EXPECTED);
  });

  it('refuses a file that is not a result of this format, saying why', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lifeline-compare-'));
    const old = join(dir, 'old.json');
    writeFileSync(old, JSON.stringify({ node: 'v20', rows: [{ name: 'decision step' }] }));
    expect(readResult(old)).toBe(
      old +
        ': format null, not lifeline-bench/1 (written before figures had ids: run the bench again)',
    );
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"rows": [');
    expect(readResult(broken)).toMatch(/^.*broken\.json: .*JSON/);
    expect(readResult(join(dir, 'absent.json'))).toMatch(/absent\.json: ENOENT/);
  });
});

describe('bench --json', () => {
  it('describes its run and gives each figure an id, unit, samples, median, p99 and noise', () => {
    const rows = [
      row({
        id: 'probe-round-bare-dgram',
        name: 'bare dgram query->reply x3 (baseline)',
        medianNs: 100e3,
        p99Ns: 200e3,
        maxNs: 300e3,
        madNs: 5e3,
        samples: 3000,
      }),
      row({
        id: 'startup-first-probe',
        name: 'lifeline run: exec -> first probe',
        medianNs: 80e6,
        p99Ns: 90e6,
        madNs: 2e6,
        samples: 21,
        baseline: 'startup-bare-node',
        good: '<= baseline + 60 ms',
      }),
      row({
        id: 'node-hal-bytes-per-round',
        name: 'node HAL: bytes per probe round x3',
        unit: 'B',
        medianNs: 2000,
        p99Ns: NaN,
        samples: 20000,
      }),
    ];
    const result = benchResult(
      {
        commit: '0123456789ab',
        runtime: 'node v20.19.0',
        machine: 'Example CPU',
        load: 0.5,
        config: 'one service',
        durationMs: 1000,
        date: '2026-12-06T10:00:00.000Z',
      },
      rows,
      { responder: 'dnsmasq' },
    );
    // Through JSON and back: what the file holds.
    const written = JSON.parse(JSON.stringify(result)) as BenchResult;
    expect(written.format).toBe(RESULT_FORMAT);
    expect(written.version).toMatch(/^(\d+\.\d+\.\d+|dev)$/);
    expect(written.commit).toBe('0123456789ab');
    expect(written['responder']).toBe('dnsmasq');
    expect(Object.keys(written.rows[0]!).sort()).toEqual([
      'baseline',
      'good',
      'id',
      'max',
      'median',
      'name',
      'noise',
      'note',
      'p99',
      'samples',
      'unit',
    ]);
    expect(written.rows[0]).toMatchObject({ unit: 'ns', median: 100e3, p99: 200e3, samples: 3000 });
    // 1.96 x 1.2533 x 1.4826 x MAD / sqrt(n) / median.
    expect(written.rows[0]!.noise).toBeCloseTo((3.642 * 5e3) / Math.sqrt(3000) / 100e3, 4);
    // 21 samples: no p99, and the file says why; the largest is there instead.
    expect(written.rows[1]).toMatchObject({
      p99: null,
      max: 90e6,
      baseline: 'startup-bare-node',
      p99Note: '21 samples: too few for a p99 (100 or more needed)',
    });
    expect(written.rows[2]).toMatchObject({ unit: 'B', median: 2000, p99: null, noise: null });
    // The table says the same: a starred largest, and what a good value is.
    const printed = table(rows);
    expect(printed).toMatch(
      /exec -> first probe\s+80\.00 ms\s+90\.00 ms\*\s+13\s+<= baseline \+ 60 ms/,
    );
    expect(printed).toMatch(/\n\* fewer than 100 samples: too few for a p99, the largest is given/);
  });
});
