// The fleet lab (`lifeline lab --scenario fleet`, and the fleet guard's BIRD test): three Lifeline
// sites, each a real `lifeline run` process probing two data centres of its own, announce one
// anycast prefix to a BIRD 2 route server (fleet-router.ts) that sends each site the others'
// paths. The October 2021 cut takes every site's data centres at once; the router's route log and
// a sampler of its table give the prefix's presence, the sites' audit trails what each decided.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { absences, FleetRouter, PresenceSampler, type RouteEvent } from './fleet-router';
import { randomPort } from './processes';

export const FLEET_PREFIX = '192.0.2.53/32';
export const FLEET_PREFIX_V6 = '2001:db8:53::/48';
export const SITE_AS = 65010;
export const ROUTER_AS = 65000;
export const ROUTER_ADDRESS = '127.0.120.2';
export const LAST_RESORT_COMMUNITY = '65010:666';
export const LAST_RESORT_MED = 500;
/**
 * The sites: BIRD protocol name, device name, BGP address, site community. The rejoin offsets of
 * the device names (FNV-1a-32 of the name over 2^32, of a 2000 ms window) are 1118 ms, 99 ms and
 * 1779 ms: the two that rejoin together are far apart, so their spread shows.
 */
export const SITES = [
  { name: 'sjc', device: 'edge-sjc1', address: '127.0.120.11', community: '65010:1' },
  { name: 'gru', device: 'edge-gru1', address: '127.0.120.12', community: '65010:2' },
  { name: 'fra', device: 'edge-fra1', address: '127.0.120.13', community: '65010:3' },
] as const;
export const INTERVAL_MS = 100;
/** `fleet.settleMs` of the guarded sites. */
export const SETTLE_MS = 500;
export const FALL = 3;
export const RISE = 2;

/** A data centre a site probes: a DNS server that can be cut (made silent) and restored. */
export interface DataCentre {
  readonly address: string;
  readonly port: number;
  cut(): void;
  restore(): void;
  stop(): Promise<void>;
}

export interface SiteOptions {
  /** `dist/lifeline.mjs`. */
  readonly program: string;
  readonly dir: string;
  readonly device: string;
  readonly address: string;
  readonly community: string;
  readonly routerPort: number;
  /** The router's address (default ROUTER_ADDRESS). */
  readonly routerAddress?: string;
  readonly dataCentres: readonly DataCentre[];
  /** The `fleet` section without `siteCommunity`; null: no fleet (the community on the service). */
  readonly fleet: Record<string, unknown> | null;
  readonly guard: Record<string, unknown> | null;
  /** More keys of the service (`local`, ...). */
  readonly service?: Record<string, unknown>;
  /** The `console` section: then the console is on the process's stdin and stdout. */
  readonly console?: Record<string, unknown>;
  readonly holdDownMs?: number;
  /** `metrics.listen` (HOST:PORT), for a test that reads the site's view from its metrics. */
  readonly metricsListen?: string;
  /** The peer's `nextHopV4` (absent: our address; FRR refuses 127.0.0.0/8 as martian). */
  readonly nextHopV4?: string;
  /** `announcer.localAs` (absent: SITE_AS, the fleet's one AS). */
  readonly localAs?: number;
}

/** The config of one site. */
export function siteDocument(options: SiteOptions): Record<string, unknown> {
  const service: Record<string, unknown> = {
    name: 'dns',
    prefixes: [FLEET_PREFIX, FLEET_PREFIX_V6],
    rise: RISE,
    fall: FALL,
    holdDownMs: options.holdDownMs ?? 500,
    backbone: {
      quorum: 1,
      targets: options.dataCentres.map((centre, i) => ({
        name: 'dc' + (i + 1),
        kind: 'dns',
        address: centre.address,
        port: centre.port,
        query: 'probe.test.',
      })),
    },
    ...options.service,
  };
  if (options.fleet === null) service['communities'] = [options.community];
  const document: Record<string, unknown> = {
    device: { name: options.device },
    probe: { intervalMs: INTERVAL_MS, timeoutMs: 80 },
    services: [service],
    announcer: {
      kind: 'bgp',
      localAs: options.localAs ?? SITE_AS,
      routerId: options.address,
      peers: [
        {
          address: options.routerAddress ?? ROUTER_ADDRESS,
          port: options.routerPort,
          remoteAs: ROUTER_AS,
          holdTimeS: 9,
          localAddress: options.address,
          nextHopV6: '2001:db8::' + options.address.split('.')[3],
          ...(options.nextHopV4 === undefined ? {} : { nextHopV4: options.nextHopV4 }),
        },
      ],
    },
  };
  if (options.fleet !== null)
    document['fleet'] = { siteCommunity: options.community, ...options.fleet };
  if (options.guard !== null) document['guard'] = options.guard;
  if (options.console !== undefined) document['console'] = options.console;
  if (options.metricsListen !== undefined) document['metrics'] = { listen: options.metricsListen };
  return document;
}

/** One site: a `lifeline run` process; its log (stderr) and, with a console, its replies. */
export class Site {
  private logText = '';
  private output = '';
  private constructor(
    readonly options: SiteOptions,
    readonly child: ChildProcess,
  ) {
    child.stderr!.on('data', (chunk: Buffer) => (this.logText += chunk.toString()));
    child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
  }

  static start(options: SiteOptions): Site {
    const path = join(options.dir, options.device + '.json');
    writeFileSync(path, JSON.stringify(siteDocument(options)));
    const args = [options.program, 'run', '--config', path];
    if (options.console !== undefined) args.push('--console', 'stdio');
    const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    return new Site(options, child);
  }

  log(): string {
    return this.logText;
  }

  /** The site's audit records matching `pattern`, with their wall-clock time. */
  audit(pattern: RegExp): { atMs: number; text: string }[] {
    const found: { atMs: number; text: string }[] = [];
    for (const line of this.logText.split('\n')) {
      const match = /^(\S+Z) \d+ audit (.*)$/.exec(line);
      if (match !== null && pattern.test(match[2]!))
        found.push({ atMs: Date.parse(match[1]!), text: match[2]! });
    }
    return found;
  }

  /** Types `line` at the console; resolves with the reply lines, the last one OK or ERR. */
  async command(line: string, limitMs = 5000): Promise<string[]> {
    const from = this.output.length;
    this.child.stdin!.write(line + '\n');
    const started = Date.now();
    for (;;) {
      const lines = this.output.slice(from).split(/\r?\n/);
      const end = lines.findIndex((reply) => /^(OK|ERR)\b/.test(reply));
      if (end >= 0) return lines.slice(0, end + 1);
      if (Date.now() - started > limitMs)
        throw new Error('no reply to "' + line + '":\n' + this.output.slice(from));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return resolve();
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.child.kill('SIGTERM');
    });
  }
}

export interface FleetLabOptions {
  readonly program: string;
  /** The fleet guard on (fleet and guard sections) or off (today's independent decisions). */
  readonly guard: boolean;
  readonly rejoinSpreadMs: number;
  /** Starts data centre `index` of site `site` (two per site). */
  readonly dataCentre: (site: number, index: number) => Promise<DataCentre>;
  /** The `console` section of site `site` (then on its stdio), or undefined for none. */
  readonly console?: (site: number) => Record<string, unknown> | undefined;
}

export async function until(check: () => boolean, limitMs: number): Promise<number | null> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > limitMs) return null;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return Date.now() - started;
}

/** The router, three sites and their data centres, started together. */
export class FleetLab {
  private constructor(
    readonly options: FleetLabOptions,
    readonly dir: string,
    readonly router: FleetRouter,
    readonly sampler: PresenceSampler,
    readonly sites: readonly Site[],
    readonly centres: readonly (readonly DataCentre[])[],
  ) {}

  static async start(options: FleetLabOptions): Promise<FleetLab> {
    const dir = mkdtempSync(join(tmpdir(), 'lifeline-fleet-'));
    mkdirSync(join(dir, 'router'));
    const router = await FleetRouter.start({
      dir: join(dir, 'router'),
      address: ROUTER_ADDRESS,
      port: randomPort(),
      as: ROUTER_AS,
      prefix: FLEET_PREFIX,
      prefixV6: FLEET_PREFIX_V6,
      sites: SITES.map((site) => ({ name: site.name, address: site.address, as: SITE_AS })),
    });
    const centres: DataCentre[][] = [];
    for (let s = 0; s < SITES.length; s++)
      centres.push([await options.dataCentre(s, 0), await options.dataCentre(s, 1)]);
    const fleet = options.guard
      ? {
          lastResortCommunity: LAST_RESORT_COMMUNITY,
          lastResortMed: LAST_RESORT_MED,
          rejoinSpreadMs: options.rejoinSpreadMs,
          // Five rounds: far above the loopback router's propagation (milliseconds).
          settleMs: SETTLE_MS,
        }
      : null;
    const sites = SITES.map((site, s) =>
      Site.start({
        program: options.program,
        dir,
        device: site.device,
        address: site.address,
        community: site.community,
        routerPort: router.options.port,
        dataCentres: centres[s]!,
        fleet,
        guard: null,
        ...(options.console?.(s) === undefined ? {} : { console: options.console(s)! }),
      }),
    );
    const sampler = new PresenceSampler(router.control, FLEET_PREFIX);
    await sampler.start();
    return new FleetLab(options, dir, router, sampler, sites, centres);
  }

  /** Sites (by index) whose path at the router carries the last-resort community. */
  holding(): string[] {
    return this.router
      .paths()
      .filter((path) => path.communities.includes(LAST_RESORT_COMMUNITY))
      .map((path) => path.site);
  }

  /** Sites whose path at the router is a normal one (site community, no last-resort community). */
  normal(): string[] {
    return this.router
      .paths()
      .filter((path) => !path.communities.includes(LAST_RESORT_COMMUNITY))
      .map((path) => path.site);
  }

  /** The router's table and log and every site's log, for a failure's message. */
  context(): string {
    return [
      this.router.routes(),
      ...this.sites.map((site, s) => SITES[s]!.name + ' log:\n' + site.log()),
      'router log:\n' + this.router.log().slice(-6000),
    ].join('\n');
  }

  cut(sites: readonly number[]): void {
    for (const s of sites) for (const centre of this.centres[s]!) centre.cut();
  }

  restore(sites: readonly number[]): void {
    for (const s of sites) for (const centre of this.centres[s]!) centre.restore();
  }

  events(): RouteEvent[] {
    return this.router.events();
  }

  absences(fromMs: number, toMs: number): { fromMs: number; toMs: number }[] {
    return absences(this.router.events(), fromMs, toMs);
  }

  /** Route changes the router received from every site so far. */
  received(): number {
    return SITES.reduce((sum, site) => sum + this.router.received(site.name), 0);
  }

  async stop(): Promise<void> {
    this.sampler.stop();
    await Promise.all(this.sites.map((site) => site.stop()));
    await this.router.stop();
    for (const list of this.centres) for (const centre of list) await centre.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
