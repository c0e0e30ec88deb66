// Routers with BFD beside their BGP session to Lifeline, each in the router's network namespace
// of a netns lab (test/support/netns.ts), for test/integration/bfd-routers.test.ts: BIRD 2 (`protocol bfd`
// and `bfd on` in the BGP protocol) and FRR (bgpd with `neighbor X bfd` and a bfdd profile; FRR's
// bgpd reaches bfdd through zebra, so all three run). The configs are the ones docs/bgp.md gives
// operators. `bfd` null: the same router without BFD, for the hold-time baseline.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { requireCommand, stopProcess, waitFor } from './peers';

export interface BfdRouterOptions {
  readonly kind: 'bird' | 'frr';
  /** The router's namespace, its address there and Lifeline's (a directly connected peer). */
  readonly netns: string;
  readonly address: string;
  readonly peerAddress: string;
  readonly bfd: { readonly intervalMs: number; readonly multiplier: number } | null;
  /** BGP hold time (the router keeps 9 s: the least a router commonly allows is 3 s). */
  readonly holdTimeS: number;
}

export interface BfdRouter {
  readonly options: BfdRouterOptions;
  established(): boolean;
  /** Whether the router holds `prefix` from Lifeline. */
  hasRoute(prefix: string): boolean;
  /** The router's BFD session state toward Lifeline: `up`, `down`, `init`, or '' for none. */
  bfdState(): string;
  /** The pids of the router's BFD (FRR's bfdd), for a test that stops only BFD; null for BIRD. */
  bfdPid(): number | null;
  log(): string;
  stop(): Promise<void>;
}

function run(argv: readonly string[]): string {
  const result = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 5000 });
  return result.status === 0 ? result.stdout : '';
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** BIRD's config: BFD on every interface at the given pace, and `bfd on` in the BGP protocol. */
export function birdConfig(options: BfdRouterOptions, dir: string): string {
  const bfd = options.bfd;
  const protocol =
    bfd === null
      ? ''
      : `protocol bfd {
  interface "*" {
    min rx interval ${bfd.intervalMs} ms; min tx interval ${bfd.intervalMs} ms;
    multiplier ${bfd.multiplier};
  };
}
`;
  return `log "${dir}/bird.log" all;
router id ${options.address};
ipv4 table t4;
protocol device { scan time 10; }
${protocol}protocol bgp lifeline {
  local ${options.address} as 65000;
  neighbor ${options.peerAddress} as 65010;
  passive on;${bfd === null ? '' : '\n  bfd on;'}
  hold time ${options.holdTimeS}; min hold time 3; keepalive time ${options.holdTimeS / 3};
  connect retry time 1; error wait time 1, 5;
  ipv4 { table t4; import all; export none; };
}
`;
}

/** FRR's configs: bfdd's profile and bgpd's neighbor with `bfd` and that profile. */
export function frrConfigs(options: BfdRouterOptions, dir: string): Record<string, string> {
  const n = options.peerAddress;
  const bfd = options.bfd;
  const bfdd = [
    `log file ${dir}/bfdd.log informational`,
    'bfd',
    ' profile lifeline',
    `  detect-multiplier ${bfd?.multiplier ?? 3}`,
    `  transmit-interval ${bfd?.intervalMs ?? 300}`,
    `  receive-interval ${bfd?.intervalMs ?? 300}`,
    ' exit',
    'exit',
  ];
  const bgpd = [
    'frr defaults traditional',
    `log file ${dir}/bgpd.log informational`,
    'debug bgp neighbor-events',
    'router bgp 65000',
    ` bgp router-id ${options.address}`,
    ' no bgp ebgp-requires-policy',
    ` neighbor ${n} remote-as 65010`,
    ` neighbor ${n} timers ${options.holdTimeS / 3} ${options.holdTimeS}`,
    ` neighbor ${n} timers connect 1`,
    ` neighbor ${n} passive`,
    ...(bfd === null ? [] : [` neighbor ${n} bfd`, ` neighbor ${n} bfd profile lifeline`]),
    ' address-family ipv4 unicast',
    `  neighbor ${n} activate`,
    ' exit-address-family',
  ];
  return {
    'bfdd.conf': bfdd.join('\n') + '\n',
    'bgpd.conf': bgpd.join('\n') + '\n',
    'zebra.conf': `log file ${dir}/zebra.log informational\n`,
  };
}

/** Starts `argv` in namespace `netns`, its output kept in `out`. */
function spawnIn(netns: string, argv: string[], out: { text: string }): ChildProcess {
  const child = spawn('ip', ['netns', 'exec', netns, ...argv], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => (out.text += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out.text += chunk.toString()));
  return child;
}

async function startBird(options: BfdRouterOptions, dir: string): Promise<BfdRouter> {
  requireCommand('/usr/sbin/bird', 'bird2');
  writeFileSync(join(dir, 'bird.conf'), birdConfig(options, dir));
  const ctl = join(dir, 'bird.ctl');
  const out = { text: '' };
  const child = spawnIn(
    options.netns,
    ['/usr/sbin/bird', '-f', '-c', join(dir, 'bird.conf'), '-s', ctl],
    out,
  );
  const birdc = (...args: string[]): string => run(['/usr/sbin/birdc', '-s', ctl, ...args]);
  await waitFor(() => birdc('show', 'status').includes('Daemon is up'), 8000, 'BIRD\n' + out.text);
  return {
    options,
    established: () => birdc('show', 'protocols', 'lifeline').includes('Established'),
    hasRoute: (prefix) => birdc('show', 'route', 'for', prefix, 'table', 't4').includes(prefix),
    bfdState: () => {
      const line = birdc('show', 'bfd', 'sessions')
        .split('\n')
        .find((text) => text.startsWith(options.peerAddress + ' '));
      return line === undefined ? '' : line.split(/\s+/)[2]!.toLowerCase();
    },
    bfdPid: () => null,
    log: () => out.text + readText(join(dir, 'bird.log')),
    stop: async () => {
      await stopProcess(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startFrr(options: BfdRouterOptions, dir: string): Promise<BfdRouter> {
  requireCommand('/usr/lib/frr/bgpd', 'frr');
  // zebra and bfdd drop to the frr user (they will not run as root outside the frrvty group):
  // the directory is theirs to write too.
  chmodSync(dir, 0o777);
  for (const [name, text] of Object.entries(frrConfigs(options, dir)))
    writeFileSync(join(dir, name), text);
  const common = (name: string): string[] => [
    ...['-f', join(dir, name + '.conf'), '-i', join(dir, name + '.pid')],
    ...['-z', join(dir, 'zserv.api'), '--vty_socket', dir, '-P', '0'],
  ];
  const out = { text: '' };
  const children = [spawnIn(options.netns, ['/usr/lib/frr/zebra', ...common('zebra')], out)];
  const vtysh = (daemon: string, command: string): string =>
    run(['/usr/bin/vtysh', '--vty_socket', dir, '-d', daemon, '-c', command]);
  await waitFor(
    () => vtysh('zebra', 'show version').includes('FRRouting'),
    8000,
    'zebra\n' + out.text,
  );
  const bfdctl = ['--bfdctl', join(dir, 'bfdd.sock')];
  children.push(spawnIn(options.netns, ['/usr/lib/frr/bfdd', ...common('bfdd'), ...bfdctl], out));
  const bgpd = [...common('bgpd'), '-S', '-p', '179', '-l', options.address];
  children.push(spawnIn(options.netns, ['/usr/lib/frr/bgpd', ...bgpd], out));
  await waitFor(
    () =>
      vtysh('bgpd', 'show bgp summary').includes('BGP router identifier') &&
      vtysh('bfdd', 'show bfd peers').includes('BFD Peers'),
    8000,
    'bgpd and bfdd\n' + out.text,
  );
  return {
    options,
    established: () =>
      /"bgpState":"Established"/.test(
        vtysh('bgpd', `show bgp neighbors ${options.peerAddress} json`),
      ),
    hasRoute: (prefix) =>
      vtysh('bgpd', `show bgp ipv4 unicast ${prefix} json`)
        .replace(/\s/g, '')
        .includes('"paths":[{'),
    bfdState: () => {
      const text = vtysh('bfdd', `show bfd peer ${options.peerAddress} json`);
      return /"status":"(\w+)"/.exec(text)?.[1] ?? '';
    },
    bfdPid: () => Number(readText(join(dir, 'bfdd.pid')).trim()) || null,
    log: () =>
      out.text + ['zebra', 'bfdd', 'bgpd'].map((d) => readText(join(dir, d + '.log'))).join(''),
    stop: async () => {
      for (const child of children.reverse()) await stopProcess(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts the router of `options.kind` in its namespace. */
export async function startBfdRouter(options: BfdRouterOptions): Promise<BfdRouter> {
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-bfd-' + options.kind + '-'));
  return options.kind === 'bird' ? startBird(options, dir) : startFrr(options, dir);
}
