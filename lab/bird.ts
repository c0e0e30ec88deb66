// A real BIRD 2 (Debian's bird2) as a passive eBGP router on loopback, in a temporary directory of
// its own, for the lab's rigs, the benchmarks and the integration tests.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { requireCommand, stopProcess, waitFor } from './processes';

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
  const debug = options.debugRoutes === true ? '\n  debug { routes };' : '';
  writeFileSync(
    join(dir, 'bird.conf'),
    `log "${dir}/bird.log" all;
router id ${options.address};
ipv4 table t4;
ipv6 table t6;
protocol bgp fw {
  local ${options.address} port ${options.port} as ${options.as};
  neighbor ${options.peerAddress} as ${options.peerAs};
  strict bind on; passive on; multihop 2;${debug}
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
