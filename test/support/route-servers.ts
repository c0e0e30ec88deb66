// The route servers of docs/fleet-safety.md, run as the guide gives them: BIRD 2, FRR's bgpd
// (without zebra) and GoBGP, each configured from its snippet there with the documentation
// addresses replaced by loopback ones and a listening port of the test's, and nothing else changed
// but the daemon's own log. What each sends a site comes from the router itself (its adj-RIB-out),
// so a test can tell what the router does from what Lifeline makes of it.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { randomPort, requireCommand, stopProcess, waitFor } from './peers';
import { substitute } from './doc-snippets';

export type RouteServerKind = 'bird' | 'frr' | 'gobgp';

export interface RouteServerOptions {
  readonly kind: RouteServerKind;
  /** The configuration as the guide gives it, with its documentation addresses. */
  readonly config: string;
  /** Each documentation address (or prefix) in it, and the loopback one that stands for it. */
  readonly addresses: Readonly<Record<string, string>>;
  /** The router's own address in the config (a key of `addresses`). */
  readonly routerAddress: string;
  readonly port: number;
}

/** One path the router sends a site. */
export interface SentPath {
  readonly prefix: string;
  readonly communities: readonly string[];
  readonly asPath: string;
}

function run(argv: readonly string[]): string {
  const result = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 5000 });
  return result.status === 0 ? result.stdout : '';
}

function readLog(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

const afi = (prefix: string): string => (prefix.includes(':') ? 'ipv6' : 'ipv4');

export abstract class RouteServer {
  protected child: ChildProcess | null = null;
  protected output = '';
  readonly dir: string;
  /** The router's own address on loopback. */
  readonly address: string;

  constructor(readonly options: RouteServerOptions) {
    this.dir = mkdtempSync(join(tmpdir(), 'lifeline-rs-' + options.kind + '-'));
    this.address = options.addresses[options.routerAddress]!;
  }

  /** The configuration file's text: the guide's, substituted, with the daemon's log. */
  abstract configText(): string;
  protected abstract argv(): string[];
  protected abstract ready(): boolean;
  /** The session with the site at loopback `site` is Established. */
  abstract established(site: string): boolean;
  /** The paths of `prefix` the router sends the site at loopback `site` (its adj-RIB-out). */
  abstract sent(site: string, prefix: string): SentPath[];
  /** The paths of `prefix` the router holds, from every peer and its own. */
  abstract held(prefix: string): SentPath[];
  abstract log(): string;

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

  async stop(): Promise<void> {
    await stopProcess(this.child);
    this.child = null;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

class BirdServer extends RouteServer {
  private get control(): string {
    return join(this.dir, 'bird.ctl');
  }

  configText(): string {
    // The port is the one change inside the guide's text: `local A as N` listens on it.
    const config = substitute(this.options.config, this.options.addresses).replace(
      /local (\S+) as/g,
      'local $1 port ' + this.options.port + ' as',
    );
    return `log "${this.dir}/bird.log" all;\ndebug protocols { states, routes };\n${config}`;
  }

  protected argv(): string[] {
    requireCommand('/usr/sbin/bird', 'bird2');
    writeFileSync(join(this.dir, 'bird.conf'), this.configText());
    return ['/usr/sbin/bird', '-f', '-c', join(this.dir, 'bird.conf'), '-s', this.control];
  }

  private birdc(...args: string[]): string {
    return run(['/usr/sbin/birdc', '-s', this.control, ...args]);
  }

  protected ready(): boolean {
    return this.birdc('show', 'status').includes('Daemon is up');
  }

  log(): string {
    return this.output + readLog(join(this.dir, 'bird.log'));
  }

  /** The BIRD protocol of the site at `site`. */
  private protocol(site: string): string {
    const text = this.birdc('show', 'protocols', 'all');
    for (const block of text.split(/\n(?=\S)/)) {
      if (block.includes('Neighbor address: ' + site + '\n')) return block.split(' ')[0]!;
    }
    return '';
  }

  established(site: string): boolean {
    const name = this.protocol(site);
    return name !== '' && this.birdc('show', 'protocols', name).includes('Established');
  }

  held(prefix: string): SentPath[] {
    const table = afi(prefix) === 'ipv4' ? 'master4' : 'master6';
    return this.paths(prefix, this.birdc('show', 'route', 'table', table, 'for', prefix, 'all'));
  }

  sent(site: string, prefix: string): SentPath[] {
    const name = this.protocol(site);
    if (name === '') return [];
    const table = afi(prefix) === 'ipv4' ? 'master4' : 'master6';
    const text = this.birdc('show', 'route', 'table', table, 'for', prefix, 'export', name, 'all');
    return this.paths(prefix, text);
  }

  /** The paths in `show route ... all` output. */
  private paths(prefix: string, text: string): SentPath[] {
    return text
      .split(/\n(?=\S| {10,}\S)/)
      .filter((block) => /\[\w+ [\d\-: .]+from /.test(block))
      .map((block) => ({
        prefix,
        communities: [
          ...(/BGP\.community: (.*)/.exec(block)?.[1] ?? '').matchAll(/\((\d+),(\d+)\)/g),
        ].map((m) => m[1] + ':' + m[2]),
        asPath: /BGP\.as_path: ([\d ]*)/.exec(block)?.[1]?.trim() ?? '',
      }));
  }
}

class FrrServer extends RouteServer {
  configText(): string {
    const config = substitute(this.options.config, this.options.addresses);
    return `log file ${this.dir}/bgpd.log debugging\ndebug bgp neighbor-events\n${config}`;
  }

  protected argv(): string[] {
    requireCommand('/usr/lib/frr/bgpd', 'frr');
    const d = this.dir;
    writeFileSync(join(d, 'bgpd.conf'), this.configText());
    // -Z: no zebra; -S: stay root; -P 0: no vty TCP port; -p/-l: the port and address to listen.
    return [
      '/usr/lib/frr/bgpd',
      ...['-f', join(d, 'bgpd.conf'), '-i', join(d, 'bgpd.pid'), '-z', join(d, 'zserv.api')],
      ...['--vty_socket', d, '-Z', '-S', '-P', '0'],
      ...['-p', String(this.options.port), '-l', this.address],
    ];
  }

  vtysh(command: string): string {
    return run(['/usr/bin/vtysh', '--vty_socket', this.dir, '-d', 'bgpd', '-c', command]);
  }

  protected ready(): boolean {
    return this.vtysh('show bgp summary').includes('BGP router identifier');
  }

  log(): string {
    return this.output + readLog(join(this.dir, 'bgpd.log'));
  }

  established(site: string): boolean {
    return /"bgpState":"Established"/.test(this.vtysh(`show bgp neighbors ${site} json`));
  }

  held(prefix: string): SentPath[] {
    return this.paths(prefix, null);
  }

  sent(site: string, prefix: string): SentPath[] {
    // FRR's adj-RIB-out shows one path per prefix; each path of the prefix names its receivers.
    return this.paths(prefix, site);
  }

  /** The paths of `prefix`, those advertised to `site` unless null. */
  private paths(prefix: string, site: string | null): SentPath[] {
    const text = this.vtysh(`show bgp ${afi(prefix)} unicast ${prefix} json`);
    if (text === '') return [];
    const parsed = JSON.parse(text) as {
      paths?: {
        aspath?: { string?: string };
        community?: { list?: string[] };
        advertisedTo?: Record<string, unknown>;
      }[];
    };
    return (parsed.paths ?? [])
      .filter((path) => site === null || path.advertisedTo?.[site] !== undefined)
      .map((path) => ({
        prefix,
        communities: path.community?.list ?? [],
        // FRR writes an empty AS_PATH (its own route) as "Local".
        asPath: path.aspath?.string === 'Local' ? '' : (path.aspath?.string ?? ''),
      }));
  }
}

class GobgpServer extends RouteServer {
  private readonly apiPort = randomPort();

  configText(): string {
    // GoBGP's port and listening address are keys of [global.config]: added under the header.
    return substitute(this.options.config, this.options.addresses).replace(
      '[global.config]\n',
      `[global.config]\n  port = ${this.options.port}\n  local-address-list = ["${this.address}"]\n`,
    );
  }

  protected argv(): string[] {
    requireCommand('/usr/bin/gobgpd', 'gobgpd');
    writeFileSync(join(this.dir, 'gobgpd.toml'), this.configText());
    return [
      '/usr/bin/gobgpd',
      ...['-f', join(this.dir, 'gobgpd.toml'), '-p', '-l', 'debug'],
      ...['--api-hosts', this.address + ':' + this.apiPort, '--pprof-disable'],
    ];
  }

  gobgp(...args: string[]): string {
    return run(['/usr/bin/gobgp', '-u', this.address, '-p', String(this.apiPort), ...args]);
  }

  protected ready(): boolean {
    return this.gobgp('global').includes('AS');
  }

  log(): string {
    return this.output;
  }

  established(site: string): boolean {
    return /BGP state = established/i.test(this.gobgp('neighbor', site));
  }

  held(prefix: string): SentPath[] {
    // With a prefix, `global rib` shows its best path only.
    return this.paths(prefix, this.gobgp('global', 'rib', '-a', afi(prefix), '-j'));
  }

  sent(site: string, prefix: string): SentPath[] {
    return this.paths(
      prefix,
      this.gobgp('neighbor', site, 'adj-out', prefix, '-a', afi(prefix), '-j'),
    );
  }

  /** The paths in `gobgp ... -j` output. */
  private paths(prefix: string, text: string): SentPath[] {
    if (text.trim() === '' || !text.includes(prefix)) return [];
    const parsed = JSON.parse(text) as Record<
      string,
      { attrs?: { type: number; as_paths?: { asns: number[] }[]; communities?: number[] }[] }[]
    >;
    return (parsed[prefix] ?? []).map((path) => {
      const attrs = path.attrs ?? [];
      const communities = attrs.find((attr) => attr.type === 8)?.communities ?? [];
      const asns = attrs.find((attr) => attr.type === 2)?.as_paths?.flatMap((s) => s.asns) ?? [];
      return {
        prefix,
        communities: communities.map((value) => (value >>> 16) + ':' + (value & 0xffff)),
        asPath: asns.join(' '),
      };
    });
  }
}

/** Starts the route server of `options.kind` from its configuration in the guide. */
export async function startRouteServer(options: RouteServerOptions): Promise<RouteServer> {
  const server =
    options.kind === 'bird'
      ? new BirdServer(options)
      : options.kind === 'frr'
        ? new FrrServer(options)
        : new GobgpServer(options);
  await server.start();
  return server;
}
