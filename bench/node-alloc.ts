// Bytes allocated per probe round by the Node HAL (STYLE.md: the core allocates nothing; Node's
// sockets and timers cannot, and their cost is measured against a per-round budget). A child
// process with a fixed 64 MB young generation runs real rounds (3 targets, dnsmasq on loopback)
// after a warm-up and a forced GC, sees no scavenge, and divides the heap's growth by the rounds.

import { spawn } from 'node:child_process';
import { PerformanceObserver } from 'node:perf_hooks';
import { runInNewContext } from 'node:vm';

import { dnsmasqPath, startDnsmasq } from '../lab/dnsmasq';
import { randomPort } from '../lab/processes';
import { benchConfig, RoundDriver } from './rounds';

const ROUNDS = 5000;

export interface NodeAllocation {
  readonly bytesPerRound: number;
  readonly gcs: number;
  readonly rounds: number;
}

export function measureNodeAllocation(): Promise<NodeAllocation | string> {
  if (dnsmasqPath() === null) return Promise.resolve('dnsmasq is not installed');
  const flags = ['--expose-gc', '--min-semi-space-size=64', '--max-semi-space-size=64'];
  const child = spawn(
    process.execPath,
    [...flags, process.argv[1]!, 'bench', '--node-alloc-child'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve) =>
    child.on('exit', () => {
      const match = /<<(.*)>>/.exec(out);
      resolve(
        match === null ? 'the measuring process failed' : (JSON.parse(match[1]!) as NodeAllocation),
      );
    }),
  );
}

/** In the child: warm up, collect, then count the bytes of ROUNDS rounds. */
export async function nodeAllocationChild(): Promise<number> {
  const port = randomPort();
  const dnsmasq = await startDnsmasq('127.0.0.1', port);
  const driver = new RoundDriver(benchConfig('127.0.0.1', port, 3));
  for (let i = 0; i < 2000; i++) await driver.round();
  (runInNewContext('gc') as () => void)();
  let gcs = 0;
  const observer = new PerformanceObserver((list) => (gcs += list.getEntries().length));
  observer.observe({ entryTypes: ['gc'] });
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < ROUNDS; i++) await driver.round();
  const after = process.memoryUsage().heapUsed;
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  driver.probes.close();
  await dnsmasq.stop();
  const result: NodeAllocation = { bytesPerRound: (after - before) / ROUNDS, gcs, rounds: ROUNDS };
  process.stdout.write('<<' + JSON.stringify(result) + '>>\n');
  return 0;
}
