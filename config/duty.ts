// A board's duty cycle: the CPU a probe round costs it over the probe interval, estimated from a
// config before it is flashed (`lifeline check-config FILE --board CLASS`) or from the board's own
// calibration loop (`lifeline bench --device`). The cost model is measured on the emulated
// Cortex-M4 (bench/m4.ts: the real Espruino for an STM32F405 under qemu, deterministic), and each
// board class is that time times a factor: measured for none of them, assumed as said below.
// Past half the interval a board has too little room left for its BGP session, its console and a
// late reply (issue 24): both commands warn.

import type { Config } from '../firmware/config';

/**
 * The emulated Cortex-M4's figures (bench/m4.ts, 2026-12-06, bench/m4-config.json; the round built
 * alone as a board builds it, a round's mean over one keepalive interval, so with its share of the
 * BGP session's upkeep, and each reply copied in as the board's HAL copies it): rounds of three
 * and of one DNS target took 59.9 and 28.7 ms (213.7 and 94.1 before issue 24's item 3, built as a
 * board built it then; 181.9 and 72.6 as measured then), so a round of one service with one BGP
 * peer costs `fixedMs` plus `perDnsTargetMs` per DNS target (its decode, 9.6 ms, is most of it); a
 * TCP target costs its bookkeeping only. test/integration/m4-bench.test.ts fails when the measured
 * figures pass these (they must never understate the cost).
 */
export const M4_ROUND = {
  /** A round of three DNS targets less two of them: decision, round end, BGP timers (13.0). */
  fixedMs: 14.5,
  /** (round of three - round of one) / 2: send, copy, decode, settle (15.6). */
  perDnsTargetMs: 16,
  /** Per TCP target: the per-target bookkeeping without a decode (the DNS target's less 9.6). */
  perTcpTargetMs: 6,
  /** The calibration loop (firmware/device-bench.ts `calibrate(100)`) on the emulated board. */
  calibrationMs: 17.3,
} as const;

/** The duty cycle past which both commands warn. */
export const DUTY_CYCLE_LIMIT = 0.5;

export interface BoardClass {
  readonly name: string;
  /** How much slower than the emulated Cortex-M4 it runs the interpreter. */
  readonly factor: number;
  /** Where the factor comes from. */
  readonly source: string;
}

const PICO: BoardClass = {
  name: 'Espruino Pico / STM32F4',
  factor: 1.3,
  source:
    'assumed: 1.3x the emulated M4 (one public figure: a float loop 458 us on a Pico, 351 us ' +
    'emulated; qemu counts instructions, not flash wait states)',
};

/** The board classes `check-config --board` knows. */
export const BOARD_CLASSES: { readonly [key: string]: BoardClass } = {
  m4: { name: 'the emulated Cortex-M4', factor: 1, source: 'measured (bench/m4.ts)' },
  pico: PICO,
  stm32f4: PICO,
  esp8266: {
    name: 'ESP8266',
    factor: 2.5,
    source:
      'assumed, not measured: 2.5x the emulated M4 (80 MHz, the interpreter and the code run ' +
      'from SPI flash through a cache)',
  },
  esp32: {
    name: 'ESP32',
    factor: 0.6,
    source: 'assumed, not measured: 0.6x the emulated M4 (240 MHz, one core for JavaScript)',
  },
};

/** A round's CPU on the emulated Cortex-M4, in ms, for `config`'s targets (local checks too). */
export function m4RoundMs(config: Config): number {
  let dns = 0;
  let tcp = 0;
  for (const service of config.services) {
    const targets = service.local === null ? service.targets : [...service.targets, service.local];
    for (const target of targets) {
      if (target.kind === 'dns') dns++;
      else tcp++;
    }
  }
  return m4RoundMsOf({ services: config.services.length, dns, tcp });
}

/** The same from the counts alone (what a board reports of its config). */
export function m4RoundMsOf(counts: { services: number; dns: number; tcp: number }): number {
  // The fixed part is one service's: each further service adds its decision step and round end.
  const services = Math.max(1, counts.services);
  return (
    M4_ROUND.fixedMs * services +
    M4_ROUND.perDnsTargetMs * counts.dns +
    M4_ROUND.perTcpTargetMs * counts.tcp
  );
}

export interface DutyCycle {
  readonly roundMs: number;
  readonly intervalMs: number;
  readonly duty: number;
  /** The shortest probe interval at which the duty cycle stays within DUTY_CYCLE_LIMIT. */
  readonly shortestIntervalMs: number;
  /** The config key of `intervalMs`: `probe.intervalMs`, or `probe.fastIntervalMs`. */
  readonly key: string;
}

/**
 * The duty cycle of `config` on a board `factor` times slower than the emulated Cortex-M4, at the
 * fastest interval it runs at: `fastIntervalMs` (never longer than `intervalMs`) while a service
 * rises or falls, which is when a board is busiest.
 */
export function dutyCycle(config: Config, factor: number): DutyCycle {
  const roundMs = m4RoundMs(config) * factor;
  if (config.fastIntervalMs < config.intervalMs)
    return dutyCycleOf(roundMs, config.fastIntervalMs, 'probe.fastIntervalMs');
  return dutyCycleOf(roundMs, config.intervalMs);
}

/** The duty cycle of a round of `roundMs` of CPU every `intervalMs` (the config's `key`). */
export function dutyCycleOf(
  roundMs: number,
  intervalMs: number,
  key: string = 'probe.intervalMs',
): DutyCycle {
  return {
    roundMs,
    intervalMs,
    duty: roundMs / intervalMs,
    shortestIntervalMs: Math.ceil(roundMs / DUTY_CYCLE_LIMIT),
    key,
  };
}

/** The warning line when the duty cycle passes the limit, else null. */
export function dutyCycleWarning(cycle: DutyCycle, board: string): string | null {
  if (cycle.duty <= DUTY_CYCLE_LIMIT) return null;
  return (
    cycle.key +
    ': warning: on ' +
    board +
    ' a probe round takes about ' +
    Math.round(cycle.roundMs) +
    ' ms of CPU, ' +
    Math.round(cycle.duty * 100) +
    '% of the ' +
    cycle.intervalMs +
    ' ms interval (more than ' +
    DUTY_CYCLE_LIMIT * 100 +
    '%): use ' +
    cycle.shortestIntervalMs +
    ' ms or more, or fewer targets'
  );
}
