// Shared fixtures: configs for the sim and loopback tests, and a firmware on the sim HAL.

import { spawnSync } from 'node:child_process';

import { ExaBgpAnnouncer } from '../firmware/announcer';
import { type Config } from '../firmware/config';
import { readConfig } from '../config/validate';
import { Lifeline } from '../firmware/lifeline';
import { SimHal } from '../hal/sim/index';

/**
 * A fuzz's length: `full` inputs, or a twentieth of them in a mutation run (LIFELINE_MUTATION=1,
 * set by test/setup/stryker.vitest.config.ts), which runs the covering tests once per mutant.
 */
export function fuzzRuns(full: number): number {
  return process.env['LIFELINE_MUTATION'] === '1' ? full / 20 : full;
}

export interface ServiceOptions {
  quorum?: number;
  targets?: number;
  rise?: number;
  fall?: number;
  holdDownMs?: number;
  damping?: Record<string, number>;
  local?: boolean;
  tcpTargets?: number;
}

export interface ConfigOptions extends ServiceOptions {
  intervalMs?: number;
  timeoutMs?: number;
  fastIntervalMs?: number;
}

/** A valid config: one service `dns` on 192.0.2.53/32 and 2001:db8:53::/48, targets 10.0.0.1.. */
export function document(options: ConfigOptions = {}): Record<string, unknown> {
  const targets: Record<string, unknown>[] = [];
  for (let i = 0; i < (options.targets ?? 3); i++) {
    targets.push({
      name: 'dc' + (i + 1),
      kind: 'dns',
      address: '10.0.0.' + (i + 1),
      port: 53,
      query: 'health.example.',
      type: 'A',
    });
  }
  for (let i = 0; i < (options.tcpTargets ?? 0); i++) {
    targets.push({ name: 'tcp' + (i + 1), kind: 'tcp', address: '10.0.1.' + (i + 1), port: 443 });
  }
  const service: Record<string, unknown> = {
    name: 'dns',
    prefixes: ['192.0.2.53/32', '2001:db8:53::/48'],
    backbone: { quorum: options.quorum ?? 2, targets },
    rise: options.rise ?? 3,
    fall: options.fall ?? 3,
    holdDownMs: options.holdDownMs ?? 0,
  };
  if (options.damping !== undefined) service['damping'] = options.damping;
  if (options.local === true)
    service['local'] = {
      kind: 'dns',
      address: '127.0.0.1',
      port: 53,
      query: 'example.com.',
      type: 'SOA',
    };
  const probe: Record<string, number> = {
    intervalMs: options.intervalMs ?? 250,
    timeoutMs: options.timeoutMs ?? 200,
  };
  if (options.fastIntervalMs !== undefined) probe['fastIntervalMs'] = options.fastIntervalMs;
  return {
    device: { name: 'test-edge' },
    probe,
    services: [service],
    announcer: { kind: 'exabgp' },
  };
}

export function config(options: ConfigOptions = {}): Config {
  const result = readConfig(document(options));
  if (result.config === null)
    throw new Error('fixture config invalid:\n' + result.errors.join('\n'));
  return result.config;
}

export interface SimRig {
  sim: SimHal;
  lifeline: Lifeline;
  config: Config;
  /** The last announcer line, or '' before any. */
  last(): string;
}

/** A firmware on the sim HAL, started at time 0; `before` sets the simulated targets up first. */
export function simRig(
  options: ConfigOptions = {},
  seed = 1,
  before?: (sim: SimHal) => void,
): SimRig {
  const built = config(options);
  const sim = new SimHal({ socketsMax: 64, seed });
  const lifeline = new Lifeline(built, sim, new ExaBgpAnnouncer(built, sim));
  // Sockets get their ids at start; the behaviour of target N (in config order) can be set before.
  if (before !== undefined) before(sim);
  lifeline.start();
  return {
    sim,
    lifeline,
    config: built,
    last: () => (sim.emitted.length === 0 ? '' : sim.emitted[sim.emitted.length - 1]!),
  };
}

/** Backbone targets `dc0`, `dc1`... querying `probe.test.` (the dnsmasq launcher's record). */
export function dnsTargets(addresses: readonly string[], port: number): Record<string, unknown>[] {
  return addresses.map((address, i) => ({
    name: 'dc' + i,
    kind: 'dns',
    address,
    port,
    query: 'probe.test.',
  }));
}

/** The built-in speaker (AS 65010) to one BIRD on 127.0.0.2 (AS 65000), from 127.0.0.1. */
export function bgpAnnouncer(port: number, holdTimeS: number): Record<string, unknown> {
  const peer = {
    address: '127.0.0.2',
    port,
    remoteAs: 65000,
    holdTimeS,
    localAddress: '127.0.0.1',
    nextHopV4: '192.0.2.10',
    nextHopV6: '2001:db8::10',
  };
  return { kind: 'bgp', localAs: 65010, routerId: '192.0.2.10', peers: [peer] };
}

/** Runs `lifeline keygen` into `keyFile` and `codesFile`; returns the printed recovery codes. */
export function keygen(keyFile: string, codesFile: string, count: number): string[] {
  const made = spawnSync(
    process.execPath,
    [
      'dist/lifeline.mjs',
      'keygen',
      '--key-file',
      keyFile,
      '--codes-file',
      codesFile,
      '--codes',
      String(count),
    ],
    { encoding: 'utf8' },
  );
  if (made.status !== 0) throw new Error('keygen failed: ' + made.stderr);
  return printedCodes(made.stdout);
}

/** The recovery codes keygen printed, in their order (`    1  ABCD-EFGH-JKLM-NPQR` each). */
export function printedCodes(stdout: string): string[] {
  return [...stdout.matchAll(/^ +\d+ +([A-Z0-9]{4}(?:-[A-Z0-9]{4}){3})$/gm)].map(
    (match) => match[1]!,
  );
}

/** The SPEC.md example config, verbatim. */
export const SPEC_EXAMPLE = `{
  "device": { "name": "edge-sjc1-dns3" },
  "probe": { "intervalMs": 250, "timeoutMs": 200 },
  "services": [{
    "name": "dns",
    "prefixes": ["192.0.2.53/32", "2001:db8:53::/48"],
    "backbone": {
      "quorum": 2,
      "targets": [
        { "name": "prn", "kind": "dns", "address": "10.1.0.53", "port": 53, "query": "health.example.", "type": "A" },
        { "name": "ash", "kind": "dns", "address": "2001:db8:a::53", "port": 53, "query": "health.example.", "type": "AAAA" },
        { "name": "lla", "kind": "tcp", "address": "10.3.0.1", "port": 443 }
      ]
    },
    "local": { "kind": "dns", "address": "127.0.0.1", "port": 53, "query": "example.com.", "type": "SOA" },
    "rise": 3, "fall": 3, "holdDownMs": 30000,
    "damping": { "halfLifeMs": 900000, "penalty": 1000, "suppress": 3000, "reuse": 750, "maxSuppressMs": 3600000 }
  }],
  "announcer": {
    "kind": "bgp",
    "localAs": 65010, "routerId": "192.0.2.10",
    "peers": [{ "address": "127.0.0.2", "port": 179, "remoteAs": 65000, "holdTimeS": 9, "localAddress": "127.0.0.1",
                "nextHopV4": "192.0.2.10", "nextHopV6": "2001:db8::10" }]
  },
  "console": { "device": "/dev/ttyS0", "baud": 115200, "keyFile": "/etc/lifeline/console.key",
               "recoveryCodesFile": "/etc/lifeline/recovery-codes" },
  "overridePin": { "driver": "gpiochip", "chip": "gpiochip0", "line": 17, "activeLow": true, "debounceMs": 50,
                   "action": "announce" },
  "stateDir": "/var/lib/lifeline",
  "metrics": { "listen": "127.0.0.1:9143" }
}`;

/** The ExaBGP lines that announce and withdraw config()'s two prefixes. */
export const ANNOUNCE = [
  'announce route 192.0.2.53/32 next-hop self',
  'announce route 2001:db8:53::/48 next-hop self',
];
export const WITHDRAW = [
  'withdraw route 192.0.2.53/32 next-hop self',
  'withdraw route 2001:db8:53::/48 next-hop self',
];
