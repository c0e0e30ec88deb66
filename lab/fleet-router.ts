// The fleet lab's router: one BIRD 2 (Debian's bird2) as the route server of a fleet of Lifeline
// sites on loopback. It sends every site the paths of the others (ADD-PATH tx, RFC 7911: a router
// otherwise sends only its best path), logs every route change with millisecond timestamps, and
// answers on its control socket, which a sampler polls every few milliseconds. Both give the
// presence of the anycast prefix at the router: the lab's timeline and the fleet test's figures.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';

import { birdc, birdUp } from './bird';

export const BIRD_PATH = '/usr/sbin/bird';
export const BIRDC_PATH = '/usr/sbin/birdc';

export interface RouterSite {
  /** The BIRD protocol's name (letters and digits). */
  readonly name: string;
  readonly address: string;
  readonly as: number;
  /** Offer ADD-PATH tx to this site (default true). */
  readonly addPaths?: boolean;
  /** Send this site the others' routes at all (default true). */
  readonly exportRoutes?: boolean;
}

export interface RouterOptions {
  readonly dir: string;
  readonly address: string;
  readonly port: number;
  readonly as: number;
  readonly prefix: string;
  /** A second, IPv6, prefix: its paths go to the sites too (MP_REACH_NLRI with path ids). */
  readonly prefixV6?: string;
  readonly sites: readonly RouterSite[];
}

/** One path of the prefix in BIRD's table. */
export interface RouterPath {
  readonly site: string;
  readonly communities: readonly string[];
  readonly med: number;
}

/** A change of a site's route, from BIRD's route log (wall-clock ms). */
export interface RouteEvent {
  readonly atMs: number;
  readonly site: string;
  readonly present: boolean;
}

function birdConfig(options: RouterOptions): string {
  const sites = options.sites.map((site) => {
    const common =
      'import all; ' +
      (site.exportRoutes === false ? 'export none' : 'export all') +
      '; add paths ' +
      (site.addPaths === false ? 'off' : 'tx') +
      ';';
    // An IPv4 session has no IPv6 address of its own for the next hop of IPv6 routes.
    const v6 =
      options.prefixV6 === undefined
        ? ''
        : `\n  ipv6 { table t6; ${common} next hop address 2001:db8::2; };`;
    return `protocol bgp ${site.name} from site {
  neighbor ${site.address} as ${site.as};
  ipv4 { table t4; ${common} };${v6}
}`;
  });
  return `log "${options.dir}/bird.log" all;
timeformat log "%F %T.%3f";
timeformat protocol "%F %T.%3f";
timeformat route "%F %T.%3f";
router id ${options.address};
ipv4 table t4;
ipv6 table t6;
template bgp site {
  local ${options.address} port ${options.port} as ${options.as};
  strict bind on; passive on; multihop 2;
  hold time 9; min hold time 3; keepalive time 3;
  connect retry time 1; error wait time 1, 5;
  debug { states, routes };
}
${sites.join('\n')}
`;
}

/** BIRD's local log time (`%F %T.%3f`) as epoch ms. */
function parseLogTime(text: string): number {
  return new Date(text.replace(' ', 'T')).getTime();
}

export class FleetRouter {
  private constructor(
    readonly options: RouterOptions,
    private readonly child: ChildProcess,
    readonly control: string,
  ) {}

  static available(): boolean {
    return existsSync(BIRD_PATH) && existsSync(BIRDC_PATH);
  }

  static async start(options: RouterOptions): Promise<FleetRouter> {
    if (!FleetRouter.available())
      throw new Error(BIRD_PATH + ' is missing: install the Debian package bird2');
    const control = join(options.dir, 'bird.ctl');
    writeFileSync(join(options.dir, 'bird.conf'), birdConfig(options));
    const child = spawn(BIRD_PATH, ['-f', '-c', join(options.dir, 'bird.conf'), '-s', control], {
      stdio: 'ignore',
    });
    const router = new FleetRouter(options, child, control);
    for (let attempt = 0; attempt < 500; attempt++) {
      if (birdUp(control)) return router;
      if (child.exitCode !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    child.kill('SIGKILL');
    throw new Error('BIRD did not start:\n' + router.log());
  }

  /** birdc's answer; throws when the query fails (lab/bird.ts), never an empty table instead. */
  birdc(...args: string[]): string {
    return birdc(this.control, ...args);
  }

  log(): string {
    const path = join(this.options.dir, 'bird.log');
    return existsSync(path) ? readFileSync(path, 'utf8') : '';
  }

  /** `show route all for PREFIX` (the IPv4 prefix unless told): every site's path. */
  routes(prefix = this.options.prefix): string {
    const table = prefix.includes(':') ? 't6' : 't4';
    return this.birdc('show', 'route', 'table', table, 'all', 'for', prefix);
  }

  /** A prefix's paths (the IPv4 prefix unless told), one per site that announces it. */
  paths(prefix = this.options.prefix): RouterPath[] {
    const found: RouterPath[] = [];
    for (const block of this.routes(prefix).split(/\n(?=\S| {10,}\S)/)) {
      const site = /\[(\w+) [\d\-: .]+from /.exec(block);
      if (site === null) continue;
      const communities = /BGP\.community: (.*)/.exec(block)?.[1] ?? '';
      const med = /BGP\.med: (\d+)/.exec(block)?.[1];
      found.push({
        site: site[1]!,
        communities: [...communities.matchAll(/\((\d+),(\d+)\)/g)].map((m) => m[1] + ':' + m[2]),
        med: med === undefined ? -1 : Number(med),
      });
    }
    return found;
  }

  established(site: string): boolean {
    return this.birdc('show', 'protocols', site).includes('Established');
  }

  /** Route changes BIRD received from `site` for IPv4 (updates and withdrawals, per prefix). */
  received(site: string): number {
    const text = this.birdc('show', 'protocols', 'all', site);
    const updates = /Import updates:\s+(\d+)/.exec(text);
    const withdraws = /Import withdraws:\s+(\d+)/.exec(text);
    return Number(updates?.[1] ?? 0) + Number(withdraws?.[1] ?? 0);
  }

  /** Every change of a site's route for the prefix, from BIRD's route log, in order. */
  events(): RouteEvent[] {
    const prefix = this.options.prefix.replace(/[./]/g, '\\$&');
    const pattern = new RegExp(
      '^(\\S+ \\S+) <TRACE> (\\w+)\\.ipv4 > (added|updated|removed)\\S*(?: \\[\\w+\\])? ' +
        prefix +
        ' ',
      'gm',
    );
    return [...this.log().matchAll(pattern)].map((match) => ({
      atMs: parseLogTime(match[1]!),
      site: match[2]!,
      present: match[3] !== 'removed',
    }));
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return resolve();
      this.child.once('exit', () => resolve());
      this.child.kill('SIGTERM');
    });
    rmSync(this.options.dir, { recursive: true, force: true });
  }
}

/** The periods (wall-clock ms) in [fromMs, toMs] during which no site had a route. */
export function absences(
  events: readonly RouteEvent[],
  fromMs: number,
  toMs: number,
): { fromMs: number; toMs: number }[] {
  const present = new Set<string>();
  let at = 0;
  for (; at < events.length && events[at]!.atMs <= fromMs; at++) {
    if (events[at]!.present) present.add(events[at]!.site);
    else present.delete(events[at]!.site);
  }
  const found: { fromMs: number; toMs: number }[] = [];
  let goneAtMs = present.size === 0 ? fromMs : -1;
  for (; at < events.length && events[at]!.atMs <= toMs; at++) {
    const event = events[at]!;
    if (event.present) present.add(event.site);
    else present.delete(event.site);
    if (present.size === 0 && goneAtMs < 0) goneAtMs = event.atMs;
    if (present.size > 0 && goneAtMs >= 0) {
      found.push({ fromMs: goneAtMs, toMs: event.atMs });
      goneAtMs = -1;
    }
  }
  if (goneAtMs >= 0) found.push({ fromMs: goneAtMs, toMs });
  return found;
}

/**
 * Polls BIRD's control socket (`show route for PREFIX`) every `intervalMs` and records each change
 * of the prefix's presence: a second measurement, independent of the route log.
 */
export class PresenceSampler {
  samples = 0;
  readonly changes: { atMs: number; present: boolean }[] = [];
  /** Why sampling stopped before `stop` ('' while it runs): its figures cannot be trusted. */
  failure = '';
  private socket: Socket | null = null;
  private running = false;
  private stopped = false;
  private reply = '';
  private done: (() => void) | null = null;

  constructor(
    private readonly control: string,
    private readonly prefix: string,
    private readonly intervalMs = 2,
  ) {}

  async start(): Promise<void> {
    const socket = connect(this.control);
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => this.receive(text));
    socket.on('error', (error) => this.fail('control socket: ' + error.message));
    socket.on('close', () => this.fail('control socket closed'));
    await this.exchange(null); // the greeting
    if (this.failure !== '') throw new Error('presence sampler: ' + this.failure);
    this.running = true;
    void this.loop();
  }

  private receive(text: string): void {
    this.reply += text;
    if (/(^|\n)\d{4} [^\n]*\n$/.test(this.reply)) this.finish();
  }

  private finish(): void {
    const done = this.done;
    this.done = null;
    done?.();
  }

  /** The socket failed while sampling: no reply is read as an absence after this. */
  private fail(why: string): void {
    if (!this.stopped && this.failure === '') this.failure = why;
    this.running = false;
    this.finish();
  }

  private exchange(command: string | null): Promise<string> {
    this.reply = '';
    return new Promise((resolve) => {
      this.done = () => resolve(this.reply);
      if (command !== null) this.socket!.write(command + '\n');
    });
  }

  /**
   * Whether `reply` (BIRD's answer to `show route ... for PREFIX`) holds the prefix: its last line
   * 0000 (the table, with or without it) or 8001 ("Network not found"); anything else, or a reply
   * cut short, is a failed query, and null.
   */
  private presence(reply: string): boolean | null {
    const code = /(?:^|\n)(\d{4}) [^\n]*\n$/.exec(reply)?.[1];
    if (code === '0000') return reply.includes(this.prefix);
    if (code === '8001') return false;
    return null;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const reply = await this.exchange('show route table t4 for ' + this.prefix);
      if (!this.running) break;
      const present = this.presence(reply);
      if (present === null) {
        this.fail('unexpected reply to show route: ' + JSON.stringify(reply.slice(-200)));
        break;
      }
      this.samples++;
      const last = this.changes[this.changes.length - 1];
      if (last === undefined || last.present !== present)
        this.changes.push({ atMs: Date.now(), present });
      await new Promise((resolve) => setTimeout(resolve, this.intervalMs));
    }
  }

  /** Milliseconds absent in [fromMs, toMs], as sampled; throws when sampling failed. */
  absentMs(fromMs: number, toMs: number): number {
    if (this.failure !== '') throw new Error('presence sampler failed: ' + this.failure);
    let total = 0;
    for (let i = 0; i < this.changes.length; i++) {
      if (this.changes[i]!.present) continue;
      const start = Math.max(this.changes[i]!.atMs, fromMs);
      const end = Math.min(this.changes[i + 1]?.atMs ?? toMs, toMs);
      if (end > start) total += end - start;
    }
    return total;
  }

  stop(): void {
    this.stopped = true;
    this.running = false;
    this.socket?.destroy();
    this.finish();
  }
}
