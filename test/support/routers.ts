// The routers operators run, as peers of the built-in speaker in the interop matrix: BIRD 2, FRR's
// bgpd (alone, without zebra) and GoBGP, each in a temporary directory of its own, on loopback
// addresses in 127.0.13.0/24, started and stopped by the tests (Debian packages bird2, frr,
// gobgpd; scripts/ensure-test-deps.mjs installs them). One interface for the three, so that a
// case is written once and run against each. A query that fails throws (lab/processes.ts `query`):
// a router that cannot answer never reads as one without the route.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { birdc, birdUp } from '../../lab/bird';
import { query, queryOrNull } from '../../lab/processes';
import { randomPort, requireCommand, stopProcess, waitFor } from './peers';

export type RouterKind = 'bird' | 'frr' | 'gobgp';

export interface RouterOptions {
  readonly kind: RouterKind;
  /** The router's own address (its router id too). */
  readonly address: string;
  /** Where it listens for Lifeline, or 0 when Lifeline listens and the router connects. */
  readonly port: number;
  readonly as: number;
  /** Lifeline's address and AS. */
  readonly peerAddress: string;
  readonly peerAs: number;
  /** Lifeline's listening port: the router connects there (Lifeline passive). */
  readonly connectPort?: number;
  /** TCP MD5 (RFC 2385) secret. */
  readonly password?: string;
  /** FRR only: its OPEN in RFC 9072's extended format (`extended-optional-parameters`). */
  readonly extendedOptionalParameters?: boolean;
}

/** A route as the router holds it. */
export interface RouterRoute {
  readonly asPath: string;
  /** LOCAL_PREF as the router computed it (FRR sets 0 for GRACEFUL_SHUTDOWN), or null. */
  readonly localPref: number | null;
  readonly communities: string;
}

export interface Router {
  readonly options: RouterOptions;
  established(): boolean;
  /** `prefix` in the router's table, or null. */
  route(prefix: string): RouterRoute | null;
  log(): string;
  /** Stops the router, keeping its directory for `start` again. */
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

function readLog(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

const family = (prefix: string): 4 | 6 => (prefix.includes(':') ? 6 : 4);

abstract class BaseRouter implements Router {
  protected child: ChildProcess | null = null;
  protected output = '';
  readonly dir: string;

  constructor(readonly options: RouterOptions) {
    this.dir = mkdtempSync(join(tmpdir(), 'lifeline-' + options.kind + '-'));
    this.configure();
  }

  protected abstract configure(): void;
  protected abstract argv(): string[];
  protected abstract ready(): boolean;
  abstract established(): boolean;
  abstract route(prefix: string): RouterRoute | null;

  log(): string {
    return this.output;
  }

  async start(): Promise<void> {
    const argv = this.argv();
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.child = child;
    await waitFor(
      () => child.exitCode === null && this.ready(),
      8000,
      this.options.kind + ' to start\n' + this.log(),
    );
  }

  async kill(): Promise<void> {
    await stopProcess(this.child);
    this.child = null;
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

class BirdRouter extends BaseRouter {
  private get control(): string {
    return join(this.dir, 'bird.ctl');
  }

  protected configure(): void {
    const o = this.options;
    const listen =
      o.port === 0
        ? `local ${o.address} as ${o.as};`
        : `local ${o.address} port ${o.port} as ${o.as};`;
    const neighbor =
      o.connectPort === undefined
        ? `neighbor ${o.peerAddress} as ${o.peerAs}; passive on;`
        : `neighbor ${o.peerAddress} port ${o.connectPort} as ${o.peerAs};`;
    const password = o.password === undefined ? '' : `password "${o.password}";`;
    writeFileSync(
      join(this.dir, 'bird.conf'),
      `log "${this.dir}/bird.log" all;
router id ${o.address};
ipv4 table t4;
ipv6 table t6;
protocol bgp fw {
  ${listen}
  ${neighbor}
  ${password}
  strict bind on; multihop 2;
  hold time 9; min hold time 3; keepalive time 3;
  connect retry time 1; connect delay time 1; error wait time 1, 5;
  graceful restart aware;
  ipv4 { table t4; import all; export none; };
  ipv6 { table t6; import all; export none; next hop address ::1; };
}
`,
    );
  }

  protected argv(): string[] {
    requireCommand('/usr/sbin/bird', 'bird2');
    return ['/usr/sbin/bird', '-f', '-c', join(this.dir, 'bird.conf'), '-s', this.control];
  }

  protected ready(): boolean {
    return birdUp(this.control);
  }

  override log(): string {
    return this.output + readLog(join(this.dir, 'bird.log'));
  }

  established(): boolean {
    return birdc(this.control, 'show', 'protocols', 'fw').includes('Established');
  }

  route(prefix: string): RouterRoute | null {
    const table = family(prefix) === 4 ? 't4' : 't6';
    const text = birdc(this.control, 'show', 'route', 'for', prefix, 'table', table, 'all');
    if (!text.includes(prefix)) return null;
    const localPref = /BGP\.local_pref: (\d+)/.exec(text);
    return {
      asPath: /BGP\.as_path: ([\d ]*)/.exec(text)?.[1]?.trim() ?? '',
      localPref: localPref === null ? null : Number(localPref[1]),
      communities: /BGP\.community: (.*)/.exec(text)?.[1]?.trim() ?? '',
    };
  }
}

class FrrRouter extends BaseRouter {
  protected configure(): void {
    const o = this.options;
    const n = o.peerAddress;
    const lines = [
      'frr defaults traditional',
      'hostname lifeline-test',
      `log file ${this.dir}/bgpd.log debugging`,
      'debug bgp neighbor-events',
      `router bgp ${o.as}`,
      ` bgp router-id ${o.address}`,
      ' no bgp ebgp-requires-policy',
      ' no bgp network import-check',
      ' bgp graceful-restart',
      ` neighbor ${n} remote-as ${o.peerAs}`,
      ` neighbor ${n} update-source ${o.address}`,
      ` neighbor ${n} ebgp-multihop 2`,
      ` neighbor ${n} timers 3 9`,
      ` neighbor ${n} timers connect 1`,
      o.connectPort === undefined
        ? ` neighbor ${n} passive`
        : ` neighbor ${n} port ${o.connectPort}`,
      o.password === undefined ? '' : ` neighbor ${n} password ${o.password}`,
      o.extendedOptionalParameters === true ? ` neighbor ${n} extended-optional-parameters` : '',
      ' address-family ipv4 unicast',
      `  neighbor ${n} activate`,
      ' exit-address-family',
      ' address-family ipv6 unicast',
      `  neighbor ${n} activate`,
      ' exit-address-family',
    ];
    writeFileSync(
      join(this.dir, 'bgpd.conf'),
      lines.filter((line) => line !== '').join('\n') + '\n',
    );
  }

  protected argv(): string[] {
    requireCommand('/usr/lib/frr/bgpd', 'frr');
    const d = this.dir;
    // -Z: no zebra; -S: stay root (no frr user needed); -P 0: no vty TCP port.
    return [
      '/usr/lib/frr/bgpd',
      ...['-f', join(d, 'bgpd.conf'), '-i', join(d, 'bgpd.pid'), '-z', join(d, 'zserv.api')],
      ...['--vty_socket', d, '-Z', '-S', '-P', '0'],
      ...['-p', String(this.options.port), '-l', this.options.address],
    ];
  }

  private vtyshArgv(command: string): string[] {
    return ['/usr/bin/vtysh', '--vty_socket', this.dir, '-d', 'bgpd', '-c', command];
  }

  vtysh(command: string): string {
    return query(this.vtyshArgv(command));
  }

  protected ready(): boolean {
    const summary = queryOrNull(this.vtyshArgv('show bgp summary'));
    return summary !== null && summary.includes('BGP router identifier');
  }

  override log(): string {
    return this.output + readLog(join(this.dir, 'bgpd.log'));
  }

  established(): boolean {
    const text = this.vtysh(`show bgp neighbors ${this.options.peerAddress} json`);
    return /"bgpState":"Established"/.test(text);
  }

  route(prefix: string): RouterRoute | null {
    const afi = family(prefix) === 4 ? 'ipv4' : 'ipv6';
    // An absent prefix is `{}` (exit status 0).
    const text = this.vtysh(`show bgp ${afi} unicast ${prefix} json`);
    const parsed = JSON.parse(text) as {
      paths?: { aspath?: { string?: string }; locPrf?: number; community?: { string?: string } }[];
    };
    const path = parsed.paths?.[0];
    if (path === undefined) return null;
    return {
      asPath: path.aspath?.string ?? '',
      localPref: path.locPrf ?? null,
      communities: path.community?.string ?? '',
    };
  }
}

class GobgpRouter extends BaseRouter {
  private readonly apiPort = randomPort();

  protected configure(): void {
    const o = this.options;
    const transport =
      o.connectPort === undefined
        ? `    passive-mode = true\n    local-address = "${o.address}"`
        : `    passive-mode = false\n    local-address = "${o.address}"\n    remote-port = ${o.connectPort}`;
    const password = o.password === undefined ? '' : `    auth-password = "${o.password}"\n`;
    writeFileSync(
      join(this.dir, 'gobgpd.toml'),
      `[global.config]
  as = ${o.as}
  router-id = "${o.address}"
  port = ${o.port === 0 ? -1 : o.port}
  local-address-list = ["${o.address}"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "${o.peerAddress}"
    peer-as = ${o.peerAs}
${password}  [neighbors.transport.config]
${transport}
  [neighbors.ebgp-multihop.config]
    enabled = true
    multihop-ttl = 2
  [neighbors.timers.config]
    hold-time = 9
    keepalive-interval = 3
    connect-retry = 1
  [neighbors.graceful-restart.config]
    enabled = true
    helper-only = true
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
    [neighbors.afi-safis.mp-graceful-restart.config]
      enabled = true
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
    [neighbors.afi-safis.mp-graceful-restart.config]
      enabled = true
`,
    );
  }

  protected argv(): string[] {
    requireCommand('/usr/bin/gobgpd', 'gobgpd');
    return [
      '/usr/bin/gobgpd',
      ...['-f', join(this.dir, 'gobgpd.toml'), '-p', '-l', 'info'],
      ...['--api-hosts', this.options.address + ':' + this.apiPort, '--pprof-disable'],
    ];
  }

  private gobgpArgv(args: readonly string[]): string[] {
    return ['/usr/bin/gobgp', '-u', this.options.address, '-p', String(this.apiPort), ...args];
  }

  gobgp(...args: string[]): string {
    return query(this.gobgpArgv(args));
  }

  protected ready(): boolean {
    const neighbors = queryOrNull(this.gobgpArgv(['neighbor']));
    return neighbors !== null && neighbors.includes('Peer');
  }

  established(): boolean {
    return /BGP state = established/i.test(this.gobgp('neighbor', this.options.peerAddress));
  }

  route(prefix: string): RouterRoute | null {
    const afi = family(prefix) === 4 ? 'ipv4' : 'ipv6';
    // An absent prefix is `{}` (exit status 0).
    const text = this.gobgp('global', 'rib', '-a', afi, prefix, '-j');
    if (!text.includes(prefix)) return null;
    const parsed = JSON.parse(text) as Record<
      string,
      {
        attrs?: {
          type: number;
          as_paths?: { asns: number[] }[];
          value?: number;
          communities?: number[];
        }[];
      }[]
    >;
    const attrs = parsed[prefix]?.[0]?.attrs ?? [];
    const asPath = attrs
      .find((attr) => attr.type === 2)
      ?.as_paths?.flatMap((segment) => segment.asns);
    const localPref = attrs.find((attr) => attr.type === 5)?.value;
    const communities = attrs.find((attr) => attr.type === 8)?.communities ?? [];
    return {
      asPath: (asPath ?? []).join(' '),
      localPref: localPref ?? null,
      communities: communities.map((value) => (value >>> 16) + ':' + (value & 0xffff)).join(' '),
    };
  }
}

/** Starts the router of `options.kind`. */
export async function startRouter(options: RouterOptions): Promise<Router> {
  const router =
    options.kind === 'bird'
      ? new BirdRouter(options)
      : options.kind === 'frr'
        ? new FrrRouter(options)
        : new GobgpRouter(options);
  await router.start();
  return router;
}
