// A real BIRD 2 (Debian's bird2) as a passive eBGP router on loopback, in a temporary directory of
// its own, for the lab's rigs, the benchmarks and the integration tests.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { query, queryOrNull, requireCommand, stopProcess, waitFor } from './processes';

const BIRDC = '/usr/sbin/birdc';

/** birdc's "not in the table" answer (it exits 1 with it), for `query`. */
const NOT_FOUND = /^Network not found$/m;

/**
 * `birdc -s control ARGS...`'s answer; throws when birdc fails (no BIRD at `control`, a syntax
 * error, a time-out), so that no failed query reads as an empty table.
 */
export function birdc(control: string, ...args: string[]): string {
  return query([BIRDC, '-s', control, ...args], { answerWhen: NOT_FOUND });
}

/** Whether BIRD at `control` answers and is up: for the start-up poll, before its socket is. */
export function birdUp(control: string): boolean {
  const status = queryOrNull([BIRDC, '-s', control, 'show', 'status']);
  return status !== null && status.includes('Daemon is up');
}

export interface Bird {
  readonly dir: string;
  readonly port: number;
  readonly process: ChildProcess;
  /** BIRD's own log (protocol events, received notifications). */
  log(): string;
  /** Stops BIRD but keeps its directory, for a restart with the same options and `dir`. */
  kill(): Promise<void>;
  /** `birdc show route table T all` output; throws when birdc fails. */
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
  await waitFor(() => birdUp(ctl), 5000, 'BIRD control socket');
  return {
    dir,
    port: options.port,
    process: child,
    routes: (table) => birdc(ctl, 'show', 'route', 'table', table, 'all'),
    log: () => {
      try {
        return readFileSync(join(dir, 'bird.log'), 'utf8');
      } catch {
        return '';
      }
    },
    kill: () => stopProcess(child),
    established: () => birdc(ctl, 'show', 'protocols', 'fw').includes('Established'),
    stop: async () => {
      await stopProcess(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
