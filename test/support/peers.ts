// Real peers for the integration tests: BIRD 2 as a passive eBGP router and ExaBGP, each in its own
// temporary directory, started and stopped by the tests themselves (Debian packages bird2, exabgp,
// dnsmasq-base; scripts/ensure-test-deps.mjs installs them). Loopback addresses only.

import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export function requireCommand(path: string, debianPackage: string): void {
  if (spawnSync('test', ['-x', path]).status !== 0) {
    throw new Error(
      path +
        ' is missing: install the Debian package ' +
        debianPackage +
        ' (npm test does it as root)',
    );
  }
}

export async function waitFor(
  check: () => boolean | Promise<boolean>,
  limitMs: number,
  what: string,
): Promise<number> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > limitMs)
      throw new Error('timed out after ' + limitMs + ' ms waiting for ' + what);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return performance.now() - started;
}

export function stopProcess(
  child: ChildProcess | null,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  return new Promise((resolve) => {
    if (child === null || child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

export interface Bird {
  readonly dir: string;
  readonly port: number;
  readonly process: ChildProcess;
  /** BIRD's own log (protocol events, received notifications). */
  log(): string;
  /** Stops BIRD but keeps its directory, for a restart with the same options and `dir`. */
  kill(): Promise<void>;
  /** `birdc show route table T all` output. */
  routes(table: 't4' | 't6'): string;
  established(): boolean;
  stop(): Promise<void>;
}

export interface BirdOptions {
  address: string;
  port: number;
  as: number;
  peerAddress: string;
  peerAs: number;
  /** A directory to reuse (a restart keeps the same log). */
  dir?: string;
  /** A network namespace to run BIRD in (its control socket stays reachable: it is a file). */
  netns?: string;
  /** Log every route change (with BIRD's millisecond timestamps), for latency measurements. */
  debugRoutes?: boolean;
}

export async function startBird(options: BirdOptions): Promise<Bird> {
  requireCommand('/usr/sbin/bird', 'bird2');
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'lifeline-bird-'));
  const ctl = join(dir, 'bird.ctl');
  writeFileSync(
    join(dir, 'bird.conf'),
    `log "${dir}/bird.log" all;
router id ${options.address};
ipv4 table t4;
ipv6 table t6;
protocol bgp fw {
  local ${options.address} port ${options.port} as ${options.as};
  neighbor ${options.peerAddress} as ${options.peerAs};
  strict bind on; passive on; multihop 2;${options.debugRoutes === true ? '\n  debug { routes };' : ''}
  hold time 9; min hold time 3; keepalive time 3;
  connect retry time 1; error wait time 1, 5;
  ipv4 { table t4; import all; export none; };
  ipv6 { table t6; import all; export none; next hop address ::1; };
}
`,
  );
  const argv = ['/usr/sbin/bird', '-f', '-c', join(dir, 'bird.conf'), '-s', ctl];
  const full = options.netns === undefined ? argv : ['ip', 'netns', 'exec', options.netns, ...argv];
  const child = spawn(full[0]!, full.slice(1), { stdio: 'ignore' });
  const birdc = (...args: string[]): string => {
    const result = spawnSync('/usr/sbin/birdc', ['-s', ctl, ...args], { encoding: 'utf8' });
    return result.status === 0 ? result.stdout : '';
  };
  await waitFor(
    () => birdc('show', 'status').includes('Daemon is up'),
    5000,
    'BIRD control socket',
  );
  return {
    dir,
    port: options.port,
    process: child,
    routes: (table) => birdc('show', 'route', 'table', table, 'all'),
    log: () => {
      try {
        return readFileSync(join(dir, 'bird.log'), 'utf8');
      } catch {
        return '';
      }
    },
    kill: () => stopProcess(child),
    established: () => birdc('show', 'protocols', 'fw').includes('Established'),
    stop: async () => {
      await stopProcess(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

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
 * ExaBGP connecting to BIRD, running `processCommand` as its API process. With `fleetView` it asks
 * for every path (ADD-PATH receive) and passes the received UPDATEs to the process as JSON (the
 * fleet view of appliance/exabgp-fleet.ts).
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
  const api = options.fleetView
    ? `capability { add-path receive; }
  api { processes [ lifeline ]; neighbor-changes; receive { parsed; update; } }`
    : 'api { processes [ lifeline ]; }';
  writeFileSync(
    join(dir, 'exabgp.conf'),
    `process lifeline {
  run ${options.processCommand};
  encoder ${options.fleetView ? 'json' : 'text'};
}
neighbor ${options.peerAddress} {
  connect ${options.peerPort};
  router-id ${options.localAddress};
  local-address ${options.localAddress};
  local-as ${options.as};
  peer-as ${options.peerAs};
  hold-time 9;
  family { ipv4 unicast; ipv6 unicast; }
  ${api}
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

/**
 * A free UDP/TCP port above 20000, chosen at random (collisions are retried by the caller's start).
 */
export function randomPort(): number {
  return 20000 + Math.floor(Math.random() * 30000);
}
