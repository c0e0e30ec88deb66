// Real peers for the integration tests: ExaBGP here, BIRD 2 from the lab (lab/bird.ts), each in its
// own temporary directory, started and stopped by the tests themselves (Debian packages bird2,
// exabgp, dnsmasq-base; scripts/ensure-test-deps.mjs installs them). Loopback addresses only.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { requireCommand as requireInstalled, stopProcess } from '../../lab/processes';
import { NEEDED } from '../../scripts/ensure-test-deps.mjs';
import { docBlock, substitute } from './doc-snippets';

export { waitFor, stopProcess, randomPort } from '../../lab/processes';

/**
 * Fails the test when `path` is missing, and when the pretest's table (which installs it) lacks
 * it: a tool this machine happens to have must not hide a missing install step.
 */
export function requireCommand(path: string, debianPackage: string): void {
  if (!NEEDED.some(([row, name]) => row === path && name === debianPackage)) {
    throw new Error(
      path + ' (' + debianPackage + ') is not in scripts/ensure-test-deps.mjs: add it there',
    );
  }
  requireInstalled(path, debianPackage);
}
export { startBird, type Bird, type BirdOptions } from '../../lab/bird';

export interface ExaBgp {
  readonly process: ChildProcess;
  log(): string;
  stop(): Promise<void>;
}

/** `lifeline run` of the built bundle with the config at `configPath`, as a shell command. */
export function lifelineRunCommand(configPath: string): string {
  return process.execPath + ' ' + resolve('dist/lifeline.mjs') + ' run --config ' + configPath;
}

/**
 * The ExaBGP configuration for the fleet view in docs/fleet-safety.md, with its
 * addresses, ASes and command replaced, and the port to connect to added.
 */
function guideExaBgp(options: {
  peerAddress: string;
  peerPort: number;
  localAddress: string;
  as: number;
  peerAs: number;
  processCommand: string;
}): string {
  const text = substitute(docBlock('docs/fleet-safety.md', 'exabgp'), {
    '192.0.2.1': options.peerAddress,
    '192.0.2.10': options.localAddress,
  });
  return text
    .replace(/^ {2}run .*;$/m, '  run ' + options.processCommand + ';')
    .replace(/local-as \d+;/, 'local-as ' + options.as + ';')
    .replace(/peer-as \d+;/, 'peer-as ' + options.peerAs + ';')
    .replace(/^(neighbor \S+ \{)$/m, '$1\n  connect ' + options.peerPort + ';');
}

/**
 * ExaBGP connecting to BIRD, running `processCommand` as its API process. With `fleetView` it runs
 * docs/fleet-safety.md's configuration: it asks for every path (ADD-PATH receive) and passes the
 * negotiated families and the received UPDATEs to the process as JSON (the fleet view of
 * appliance/exabgp-fleet.ts).
 */
export function startExaBgp(options: {
  peerAddress: string;
  peerPort: number;
  localAddress: string;
  as: number;
  peerAs: number;
  processCommand: string;
  fleetView?: boolean;
}): ExaBgp {
  requireCommand('/usr/sbin/exabgp', 'exabgp');
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-exabgp-'));
  writeFileSync(
    join(dir, 'exabgp.conf'),
    options.fleetView === true
      ? guideExaBgp(options)
      : `process lifeline {
  run ${options.processCommand};
  encoder text;
}
neighbor ${options.peerAddress} {
  connect ${options.peerPort};
  router-id ${options.localAddress};
  local-address ${options.localAddress};
  local-as ${options.as};
  peer-as ${options.peerAs};
  hold-time 9;
  family { ipv4 unicast; ipv6 unicast; }
  api { processes [ lifeline ]; }
}
`,
  );
  let log = '';
  const env = {
    ...process.env,
    'exabgp.daemon.user': execFileSync('id', ['-un'], { encoding: 'utf8' }).trim(),
    'exabgp.daemon.drop': 'false',
    'exabgp.log.destination': 'stdout',
    'exabgp.tcp.bind': '',
    'exabgp.api.cli': 'false',
  };
  const child = spawn('/usr/sbin/exabgp', [join(dir, 'exabgp.conf')], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  return {
    process: child,
    log: () => log,
    stop: async () => {
      await stopProcess(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
