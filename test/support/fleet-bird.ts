// A BIRD 2 for the fleet tests (issue 12): it holds routes for 192.0.2.53/32 and 2001:db8:53::/48
// from two other "sites" (static routes tagged 65010:2 and 65010:3), one of ours reflected back
// (65010:1) and one held as last resort (65010:4 with 65010:666), each with the sites' AS 65010
// as its origin as a site's route has (BIRD adds its own 65000 in front), and sends every path to
// its one neighbour with ADD-PATH (`add paths tx`). `birdc disable s3_ipv4` takes a site away.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { birdc as query, birdUp } from '../../lab/bird';
import { requireCommand, stopProcess, waitFor } from './peers';

function sites(table: 'ipv4' | 'ipv6', prefix: string): string {
  const tagged: [string, string][] = [
    ['s2', '(65010,2)'],
    ['s3', '(65010,3)'],
    ['us', '(65010,1)'],
    ['lr', '(65010,4)); bgp_community.add((65010,666)'],
  ];
  return tagged
    .map(
      ([name, community]) => `protocol static ${name}_${table} {
  ${table} { table ${table === 'ipv4' ? 't4' : 't6'}; };
  route ${prefix} blackhole { bgp_path.prepend(65010); bgp_community.add(${community}); };
}
`,
    )
    .join('');
}

export interface FleetBird {
  process: ChildProcess;
  birdc: (...args: string[]) => string;
  log: () => string;
  stop: () => Promise<void>;
}

/**
 * BIRD on `address`:`port` (passive), AS 65000, with the four "sites" in its tables, sending them
 * all with ADD-PATH to `neighbor` (AS 65010), and taking that neighbour's routes into t4/t6.
 */
export async function startFleetBird(options: {
  address: string;
  neighbor: string;
  port: number;
}): Promise<FleetBird> {
  const port = options.port;
  requireCommand('/usr/sbin/bird', 'bird2');
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-fleet-bird-'));
  const ctl = join(dir, 'bird.ctl');
  writeFileSync(
    join(dir, 'bird.conf'),
    `log "${dir}/bird.log" all;
router id ${options.address};
ipv4 table t4;
ipv6 table t6;
${sites('ipv4', '192.0.2.53/32')}${sites('ipv6', '2001:db8:53::/48')}
protocol bgp fw {
  local ${options.address} port ${port} as 65000;
  neighbor ${options.neighbor} as 65010;
  strict bind on; passive on; multihop 2;
  hold time 9; min hold time 3; keepalive time 3;
  connect retry time 1; error wait time 1, 5;
  ipv4 { table t4; import all; export all; add paths tx; };
  ipv6 { table t6; import all; export all; add paths tx; next hop address ::1; };
}
`,
  );
  const child = spawn('/usr/sbin/bird', ['-f', '-c', join(dir, 'bird.conf'), '-s', ctl], {
    stdio: 'ignore',
  });
  // A failed query throws (lab/bird.ts), so that no failure reads as an empty table.
  const birdc = (...args: string[]): string => query(ctl, ...args);
  await waitFor(() => birdUp(ctl), 5000, 'BIRD');
  const log = (): string => {
    try {
      return readFileSync(join(dir, 'bird.log'), 'utf8');
    } catch {
      return '';
    }
  };
  const stop = async (): Promise<void> => {
    await stopProcess(child);
    rmSync(dir, { recursive: true, force: true });
  };
  return { process: child, birdc, log, stop };
}
