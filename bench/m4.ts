// The device-class bench: bench/m4-program.ts (built as dist/bench-m4.js for the parts timed
// alone and dist/bench-m4-round.js for the rounds, see build/targets.mjs) on the real Espruino
// for an STM32F405 under qemu with instruction counting (../shared/tools/espruino-mcu, its
// README): time there is deterministic and proportional to what a Cortex-M4 board executes. It
// gives the decision step, the DNS decode, a probe round's CPU (three DNS targets and a BGP
// session, over fake sockets), the BGP codec and the calibration loop, and from them the duty
// cycle of a board at the config's interval (bench/m4-config.json: 250 ms). Part of `npm run
// bench`; test/integration/m4-bench.test.ts runs a small one. Skips, saying why, without qemu or
// the tool.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { DUTY_CYCLE_LIMIT } from '../config/duty';
import { row, type BenchRow } from './rows';

/** The tool: $LIFELINE_ESPRUINO_MCU_DIR, or ../shared/tools/espruino-mcu beside the project. */
export const M4_TOOL_DIR =
  process.env['LIFELINE_ESPRUINO_MCU_DIR'] ?? resolve('..', 'shared', 'tools', 'espruino-mcu');
const QEMU = '/usr/bin/qemu-system-arm';
const PYTHON = '/usr/bin/python3';
/**
 * The emulated run's own run-to-run spread is below 1e-6 (the same instructions every time); a
 * change smaller than this is not worth a mark.
 */
const M4_NOISE = 0.001;

/** A build of the program (`file`): beside this module when bundled (dist/), else in dist/. */
function bundlePath(file = 'bench-m4.js'): string {
  const beside = fileURLToPath(new URL('./' + file, import.meta.url));
  return existsSync(beside) ? beside : resolve('dist', file);
}

/** The two builds of the program: the parts timed alone, and the rounds. */
const BUNDLES = ['bench-m4.js', 'bench-m4-round.js'];

/** Why the device-class bench cannot run here, or null when it can. */
export function m4Missing(): string | null {
  if (!existsSync(QEMU))
    return 'qemu-system-arm is not installed (apt-get install qemu-system-arm)';
  if (!existsSync(PYTHON)) return 'python3 is not installed (the tool is a Python script)';
  for (const file of ['run', 'espruino-stm32f405.elf'])
    if (!existsSync(join(M4_TOOL_DIR, file)))
      return (
        'no emulated Cortex-M4 Espruino at ' +
        join(M4_TOOL_DIR, file) +
        ' (see its README; or set LIFELINE_ESPRUINO_MCU_DIR)'
      );
  for (const file of BUNDLES)
    if (!existsSync(bundlePath(file)))
      return 'no ' + bundlePath(file) + ': run node build.mjs first';
  return null;
}

export interface M4Row {
  id: string;
  name: string;
  samplesNs: number[];
  note: string;
}

/** The config's probe interval, as the program has it embedded. */
export function m4IntervalMs(): number {
  const config = JSON.parse(readFileSync(resolve('bench', 'm4-config.json'), 'utf8')) as {
    probe: { intervalMs: number };
  };
  return config.probe.intervalMs;
}

/** Runs one build of the program (`file`) on the emulated board: its rows, or what went wrong. */
function runM4(file: string, call: string): Promise<M4Row[] | string> {
  const args = [join(M4_TOOL_DIR, 'run'), bundlePath(file), '--call', call, '--timeout', '900'];
  return new Promise((done) => {
    const child = spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('exit', (status) => {
      const text = stdout.trim();
      // The program's answer is JSON: the rows as [id, name, samplesNs, note], or a sentence.
      if (status !== 0 || !/^["[]/.test(text))
        return done('the emulated board failed (' + status + '): ' + (stderr + text).slice(-400));
      const answer = JSON.parse(text) as [string, string, number[], string][] | string;
      if (typeof answer === 'string') return done('the program on the emulated board: ' + answer);
      done(answer.map(([id, name, samplesNs, note]) => ({ id, name, samplesNs, note })));
    });
  });
}

/**
 * Runs both builds of the program on the emulated board (one after the other: each is one qemu
 * at full speed): the rows in the table's order, or a sentence saying what went wrong.
 */
export async function measureM4(options: {
  batches: number;
  perBatch: number;
}): Promise<M4Row[] | string> {
  const missing = m4Missing();
  if (missing !== null) return missing;
  const call = 'm4Bench(' + options.batches + ',' + options.perBatch + ')';
  const parts = await runM4(BUNDLES[0]!, call);
  if (typeof parts === 'string') return parts;
  const rounds = await runM4(BUNDLES[1]!, call);
  if (typeof rounds === 'string') return rounds;
  // The rounds after the decode, as the table has always listed them.
  const at = parts.findIndex((figure) => figure.id === 'm4-dns-decode') + 1;
  return [...parts.slice(0, at), ...rounds, ...parts.slice(at)];
}

function median(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** What a good value is, by row. */
const M4_GOOD: { readonly [id: string]: string } = {
  'm4-calibration': 'a speed index: no target (a board divides its own by it)',
  'm4-dns-decode': 'the round is where it counts (below)',
  'm4-probe-round': '<= half the probe interval',
  'm4-duty-cycle': '<= 50% (check-config warns past it)',
};

/**
 * The table's rows: each measured figure, then the derived ones: a round's own bookkeeping (the
 * round less its three decodes) and the duty cycle at `intervalMs`.
 */
export function m4Rows(measured: readonly M4Row[], intervalMs: number): BenchRow[] {
  const rows = measured.map((figure) =>
    row({
      id: figure.id,
      name: figure.name,
      medianNs: median(figure.samplesNs),
      p99Ns: Math.max(...figure.samplesNs),
      samples: figure.samplesNs.length,
      fixedNoise: M4_NOISE,
      good: M4_GOOD[figure.id] ?? '',
      note: figure.note + (figure.note === '' ? '' : ', ') + 'emulated time',
    }),
  );
  const find = (id: string): BenchRow | undefined => rows.find((entry) => entry.id === id);
  const round = find('m4-probe-round');
  const decode = find('m4-dns-decode');
  if (round === undefined || decode === undefined) return rows;
  rows.push(
    row({
      id: 'm4-round-bookkeeping',
      name: 'M4: probe round less its 3 decodes',
      medianNs: round.medianNs - 3 * decode.medianNs,
      p99Ns: NaN,
      samples: round.samples,
      fixedNoise: M4_NOISE,
      note: 'derived: sends, slots, decision, BGP timers',
    }),
  );
  const duty = round.medianNs / 1e6 / intervalMs;
  rows.push(
    row({
      id: 'm4-duty-cycle',
      name: 'M4: duty cycle at ' + intervalMs + ' ms',
      unit: '%',
      medianNs: Math.round(duty * 1000) / 10,
      p99Ns: NaN,
      samples: round.samples,
      fixedNoise: M4_NOISE,
      opsPerSecond: 0,
      good: M4_GOOD['m4-duty-cycle']!,
      note:
        'round CPU / interval; holds 50% from ' +
        Math.ceil((2 * round.medianNs) / 1e6) +
        ' ms' +
        (duty > DUTY_CYCLE_LIMIT ? ' (OVER 50%)' : ''),
    }),
  );
  return rows;
}
