// The route servers of docs/fleet-safety.md against the real routers (issue 20, items 2 to 4): BIRD
// 2, FRR 8.4 (bgpd without zebra) and GoBGP 3.10, each started from its snippet there with only the
// documentation addresses and the listening port replaced, serve three `lifeline run` sites on
// loopback that probe data centres of their own (in-process DNS responders) and announce
// 192.0.2.53/32 and 2001:db8:53::/48. What each router sends a site comes from the router itself;
// what each site counts, from its metrics and audit. Also: FRR without the snippet's IPv6 block (a
// site that falls alone must still leave), FRR relaying a leak and a route it made up with site
// communities (no sites), and GoBGP with every site in one AS (why the guide gives each its own).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { FLEET_PREFIX, FLEET_PREFIX_V6, Site, type DataCentre } from '../../lab/fleet-lab';
import { DnsResponder } from '../../lab/responder';
import { randomPort } from '../support/peers';
import { docBlock } from '../support/doc-snippets';
import {
  startRouteServer,
  type RouteServer,
  type RouteServerKind,
  type SentPath,
} from '../support/route-servers';

const PROGRAM = 'dist/lifeline.mjs';
const NET = '127.0.141.';
const ROUTER = NET + '1';
const METRICS_PORT = 9143;
/** The guide's sites: documentation address, loopback address, community, device. */
const SITES = [0, 1, 2].map((i) => ({
  name: ['sjc', 'gru', 'fra'][i]!,
  documented: '192.0.2.' + (11 + i),
  address: NET + (11 + i),
  community: '65010:' + (1 + i),
  device: 'edge-' + ['sjc', 'gru', 'fra'][i] + '1',
}));
const LAST_RESORT = '65010:666';

/** A BGP speaker in another AS that leaks the anycast prefix with a site community. */
const LEAK = { documented: '192.0.2.20', address: NET + '20', as: 64999, community: '65010:7' };

/** The guide's documentation addresses and the loopback ones of this test. */
const ADDRESSES: Record<string, string> = { '192.0.2.1': ROUTER, [LEAK.documented]: LEAK.address };
for (const site of SITES) ADDRESSES[site.documented] = site.address;

const GUIDE = 'docs/fleet-safety.md';
/** Each router's snippet in the guide: its fenced block's info string. */
const SNIPPET: Record<RouteServerKind, string> = { bird: 'bird', frr: 'frr', gobgp: 'toml' };

/** The config passes the daemon's own check (bird -p, bgpd -C, gobgpd --dry-run): its output. */
function daemonCheck(server: RouteServer): string {
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-rs-check-'));
  const path = join(dir, 'config');
  writeFileSync(path, server.configText());
  const argv: Record<RouteServerKind, string[]> = {
    bird: ['/usr/sbin/bird', '-p', '-c', path],
    frr: ['/usr/lib/frr/bgpd', '-C', '-f', path, '-Z', '-S', '--vty_socket', dir],
    gobgp: ['/usr/bin/gobgpd', '-f', path, '-d'],
  };
  const [command, ...args] = argv[server.options.kind];
  const result = spawnSync(command!, args, { encoding: 'utf8', timeout: 10000 });
  rmSync(dir, { recursive: true, force: true });
  // bgpd keeps a crash log in /var/tmp/frr/bgpd.PID, made at start and left behind by -C: remove
  // this check's own. One left by an earlier bgpd of the same PID (the kernel reuses them) makes
  // bgpd say so in two lines, about that directory and not the config: not problems either.
  if (server.options.kind === 'frr' && result.pid !== undefined)
    rmSync('/var/tmp/frr/bgpd.' + result.pid, { recursive: true, force: true });
  const crashLog =
    /failed to mkdir "\/var\/tmp\/frr\/|crashlog and per-thread log buffering unavailable/;
  // GoBGP logs its progress as JSON lines at level info: not problems.
  const problems = (result.stdout + result.stderr)
    .split('\n')
    .filter(
      (line) => line.trim() !== '' && !line.includes('"level":"info"') && !crashLog.test(line),
    );
  return [String(result.status), ...problems].join('\n');
}

interface FleetOptions {
  readonly kind: RouteServerKind;
  readonly config: string;
  /** Per site, its own AS (GoBGP), listed in every site's `fleet.siteAs`; absent: one AS. */
  readonly siteAs?: readonly number[];
  /** Sites to start (default all three). */
  readonly sites?: number;
  /** More of each site's service (`prefixes`, ...). */
  readonly service?: Record<string, unknown>;
}

/** A route server from the guide and its sites. */
class Fleet {
  readonly sites: Site[] = [];
  readonly centres: DataCentre[][] = [];

  private constructor(
    readonly options: FleetOptions,
    readonly server: RouteServer,
    private readonly dir: string,
  ) {}

  static async start(options: FleetOptions): Promise<Fleet> {
    const server = await startRouteServer({
      kind: options.kind,
      config: options.config,
      addresses: ADDRESSES,
      routerAddress: '192.0.2.1',
      port: randomPort(),
    });
    const fleet = new Fleet(options, server, mkdtempSync(join(tmpdir(), 'lifeline-fleet-rs-')));
    for (let i = 0; i < (options.sites ?? 3); i++) await fleet.startSite();
    return fleet;
  }

  /** Starts the next site of SITES, with two data centres of its own (`cut`: silent for now). */
  async startSite(cut = false): Promise<void> {
    const i = this.sites.length;
    const site = SITES[i]!;
    const siteAs = this.options.siteAs;
    this.centres.push([await centre(NET + (100 + 10 * i)), await centre(NET + (101 + 10 * i))]);
    if (cut) for (const data of this.centres[i]!) data.cut();
    this.sites.push(
      Site.start({
        program: PROGRAM,
        dir: this.dir,
        device: site.device,
        address: site.address,
        community: site.community,
        routerAddress: ROUTER,
        routerPort: this.server.options.port,
        dataCentres: this.centres[i]!,
        fleet: {
          lastResortCommunity: LAST_RESORT,
          lastResortMed: 500,
          settleMs: 500,
          ...(siteAs === undefined ? {} : { siteAs }),
        },
        guard: null,
        metricsListen: site.address + ':' + METRICS_PORT,
        // FRR refuses a next hop in 127.0.0.0/8 (martian).
        nextHopV4: site.documented,
        ...(siteAs === undefined ? {} : { localAs: siteAs[i]! }),
        ...(this.options.service === undefined ? {} : { service: this.options.service }),
      }),
    );
  }

  /** A metric of site `i`'s service `dns` (`labels` more than the service), NaN while none. */
  async metric(i: number, name: string, labels = ''): Promise<number> {
    try {
      const response = await fetch('http://' + SITES[i]!.address + ':' + METRICS_PORT + '/metrics');
      const text = await response.text();
      const line = 'lifeline_' + name + '{service="dns"' + labels + '} ';
      const found = text.split('\n').find((candidate) => candidate.startsWith(line));
      return found === undefined ? NaN : Number(found.slice(line.length));
    } catch {
      return NaN;
    }
  }

  /** Other sites each site counts, in order. */
  async others(): Promise<number[]> {
    const counts: number[] = [];
    for (let i = 0; i < this.sites.length; i++)
      counts.push(await this.metric(i, 'fleet_healthy_sites'));
    return counts;
  }

  /** Waits until `check` holds (polled), or fails with the state of the fleet. */
  async until(check: () => Promise<boolean>, limitMs: number, what: string): Promise<void> {
    const started = Date.now();
    while (!(await check())) {
      if (Date.now() - started > limitMs)
        throw new Error('timed out waiting for ' + what + '\n' + (await this.context()));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async context(): Promise<string> {
    const logs = this.sites.map((site, i) => SITES[i]!.name + ' log:\n' + site.log().slice(-3000));
    return [
      'others: ' + JSON.stringify(await this.others()),
      ...logs,
      'router log:\n' + this.server.log().slice(-4000),
    ].join('\n');
  }

  async stop(): Promise<void> {
    await Promise.all(this.sites.map((site) => site.stop()));
    await this.server.stop();
    for (const list of this.centres) for (const data of list) await data.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function centre(address: string): Promise<DataCentre> {
  const responder = await DnsResponder.start({ address });
  return {
    address,
    port: responder.port,
    cut: () => (responder.silent = true),
    restore: () => (responder.silent = false),
    stop: () => responder.close(),
  };
}

/** The sites whose communities are on the paths (the community `65010:N` names site N). */
const sitesOf = (paths: readonly SentPath[]): string[] =>
  paths.map((path) => path.communities.find((value) => value !== LAST_RESORT) ?? '-').sort();

/** The whole fleet counts the two others, for both families. */
async function everyoneSeesTwo(fleet: Fleet): Promise<void> {
  const ready = async (): Promise<boolean> => {
    if ((await fleet.others()).join() !== '2,2,2') return false;
    for (let i = 0; i < 3; i++)
      if ((await fleet.metric(i, 'fleet_family_unseen', ',family="ipv6"')) !== 0) return false;
    return true;
  };
  await fleet.until(ready, 20000, 'every site to count the two others');
}

/** Site 0 falls alone: it lets go (withdraws) once settled, and leaves the router. */
async function fallAlone(fleet: Fleet, others: number): Promise<void> {
  const site = fleet.sites[0]!;
  // Only what follows the cut (a site may have held for a moment at boot, before its view).
  const cutAtMs = Date.now();
  const guard = (): string[] =>
    site
      .audit(/^guard /)
      .filter((record) => record.atMs >= cutAtMs)
      .map((record) => record.text);
  for (const data of fleet.centres[0]!) data.cut();
  const released = async (): Promise<boolean> =>
    guard().length === 2 &&
    !fleet.server
      .sent(SITES[1]!.address, FLEET_PREFIX)
      .some((path) => path.communities.includes(SITES[0]!.community));
  await fleet.until(released, 5000, 'the fallen site to leave');
  expect(guard()).toEqual([
    'guard service=dns action=hold others=' + others + ' min=1 reason=settle',
    'guard service=dns action=release others=' + others + ' min=1 reason=fleet',
  ]);
}

describe("the guide's route servers: three sites each see the two others, for both families", () => {
  it("BIRD 2: sends each site the others' paths, not its own; a site that falls alone leaves", async () => {
    const fleet = await Fleet.start({ kind: 'bird', config: docBlock(GUIDE, SNIPPET.bird) });
    try {
      expect(daemonCheck(fleet.server)).toBe('0');
      await everyoneSeesTwo(fleet);
      for (const prefix of [FLEET_PREFIX, FLEET_PREFIX_V6])
        expect(sitesOf(fleet.server.sent(SITES[0]!.address, prefix))).toEqual([
          '65010:2',
          '65010:3',
        ]);
      await fallAlone(fleet, 2);
    } finally {
      await fleet.stop();
    }
  }, 60000);

  it('FRR: sends each site its own path back too, which the site does not count; a site that falls alone leaves', async () => {
    const fleet = await Fleet.start({ kind: 'frr', config: docBlock(GUIDE, SNIPPET.frr) });
    try {
      expect(daemonCheck(fleet.server)).toBe('0');
      await everyoneSeesTwo(fleet);
      for (const prefix of [FLEET_PREFIX, FLEET_PREFIX_V6])
        expect(sitesOf(fleet.server.sent(SITES[0]!.address, prefix)), prefix).toEqual([
          '65010:1',
          '65010:2',
          '65010:3',
        ]);
      await fallAlone(fleet, 2);
    } finally {
      await fleet.stop();
    }
  }, 60000);

  it("GoBGP, each site in an AS of its own (fleet.siteAs): sends each the others' paths", async () => {
    const fleet = await Fleet.start({
      kind: 'gobgp',
      config: docBlock(GUIDE, SNIPPET.gobgp),
      siteAs: [65011, 65012, 65013],
    });
    try {
      expect(daemonCheck(fleet.server)).toBe('0');
      await everyoneSeesTwo(fleet);
      for (const prefix of [FLEET_PREFIX, FLEET_PREFIX_V6])
        expect(sitesOf(fleet.server.sent(SITES[0]!.address, prefix))).toEqual([
          '65010:2',
          '65010:3',
        ]);
      await fallAlone(fleet, 2);
    } finally {
      await fleet.stop();
    }
  }, 60000);
});

describe("FRR without the IPv6 block of the guide's snippet (the sessions carry IPv4 only)", () => {
  it('a dual-stack site that falls alone still leaves; the IPv6 prefix is unseen, and said so', async () => {
    const config = docBlock(GUIDE, SNIPPET.frr).replace(
      /^ address-family ipv6 unicast\n[\s\S]*?^ exit-address-family\n/m,
      '',
    );
    expect(config).not.toMatch(/address-family ipv6/);
    const fleet = await Fleet.start({ kind: 'frr', config });
    try {
      expect(daemonCheck(fleet.server)).toBe('0');
      // Before issue 20 the IPv6 prefix, which no session carries, counted 0 sites: 0,0,0 here.
      const ready = async (): Promise<boolean> => {
        if ((await fleet.others()).join() !== '2,2,2') return false;
        for (let i = 0; i < 3; i++)
          if ((await fleet.metric(i, 'fleet_family_unseen', ',family="ipv6"')) !== 1) return false;
        return true;
      };
      await fleet.until(ready, 20000, 'every site to count the two others over IPv4');
      expect(fleet.server.sent(SITES[0]!.address, FLEET_PREFIX_V6)).toEqual([]);
      for (const site of fleet.sites)
        expect(site.audit(/^fleet family=/).map((record) => record.text)).toEqual([
          'fleet family=ipv6 seen=no note="no session carries it, so its prefixes are not counted"',
        ]);
      await fallAlone(fleet, 2);
    } finally {
      await fleet.stop();
    }
  }, 60000);
});

describe('trust: FRR relays routes with site communities that no site announced', () => {
  it('a leak from another AS and a route FRR made up are no sites: the only real site holds when it falls', async () => {
    // The guide's snippet, and a session with a speaker in AS 64999 that sends the anycast
    // prefix with a site community, and a route FRR originates itself with another.
    const config =
      docBlock(GUIDE, SNIPPET.frr) +
      `route-map INVENTED permit 10
 set community 65010:8
router bgp 65000
 no bgp network import-check
 neighbor ${LEAK.documented} remote-as ${LEAK.as}
 neighbor ${LEAK.documented} passive
 neighbor ${LEAK.documented} ebgp-multihop 2
 address-family ipv4 unicast
  network 192.0.2.53/32 route-map INVENTED
  neighbor ${LEAK.documented} route-map LIFELINE4 in
  neighbor ${LEAK.documented} route-map LIFELINE4 out
 exit-address-family
`;
    const service = { prefixes: [FLEET_PREFIX] };
    const fleet = await Fleet.start({ kind: 'frr', config, sites: 1, service });
    const leak = Site.start({
      program: PROGRAM,
      dir: mkdtempSync(join(tmpdir(), 'lifeline-fleet-leak-')),
      device: 'edge-leak',
      address: LEAK.address,
      community: LEAK.community,
      routerAddress: ROUTER,
      routerPort: fleet.server.options.port,
      dataCentres: [await centre(NET + 200)],
      fleet: { lastResortCommunity: LAST_RESORT },
      guard: null,
      nextHopV4: LEAK.documented,
      localAs: LEAK.as,
      service,
    });
    try {
      const sjc = fleet.sites[0]!;
      const sent = (): string[] => sitesOf(fleet.server.sent(SITES[0]!.address, FLEET_PREFIX));
      const relayed = async (): Promise<boolean> =>
        sent().join() === '65010:1,65010:7,65010:8' &&
        (await fleet.metric(0, 'fleet_view_known')) === 1;
      await fleet.until(relayed, 20000, 'FRR to send sjc the leak and its own route');
      // The router's own route has an empty AS_PATH in its table (65000 once sent).
      expect(
        fleet.server
          .held(FLEET_PREFIX)
          .map((path) => path.asPath)
          .sort(),
      ).toEqual(['', '64999', '65010']);
      // Before issue 20 both counted: 2 other sites, and sjc withdrew when it fell.
      expect(await fleet.others()).toEqual([0]);
      const cutAtMs = Date.now();
      const guard = (): string[] =>
        sjc
          .audit(/^guard /)
          .filter((record) => record.atMs >= cutAtMs)
          .map((record) => record.text);
      for (const data of fleet.centres[0]!) data.cut();
      await fleet.until(async () => guard().length > 0, 5000, 'sjc to hold');
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(guard()).toEqual(['guard service=dns action=hold others=0 min=1 reason=fleet']);
      const ours = fleet.server.held(FLEET_PREFIX).find((path) => path.asPath === '65010');
      expect(ours?.communities).toEqual(['65010:1', LAST_RESORT]);
    } finally {
      await leak.stop();
      await fleet.stop();
    }
  }, 60000);
});

describe('GoBGP with every site in one AS (the guide says why not)', () => {
  it('as a route server, sends a site that connects last none of the paths it already holds', async () => {
    const config = docBlock(GUIDE, SNIPPET.gobgp)
      .replace(/peer-as = 6501[123]/g, 'peer-as = 65010')
      .replace(
        '[peer-groups.transport.config]',
        '[peer-groups.route-server.config]\n    route-server-client = true\n  $&',
      );
    const fleet = await Fleet.start({ kind: 'gobgp', config, sites: 0 });
    try {
      // Two sites come up with their data centres silent (nothing announced), then announce:
      // each gets the other's path as it comes.
      await fleet.startSite(true);
      await fleet.startSite(true);
      const up = async (): Promise<boolean> =>
        SITES.slice(0, 2).every((site) => fleet.server.established(site.address));
      await fleet.until(up, 20000, 'the first two sessions');
      for (const list of fleet.centres) for (const data of list) data.restore();
      const two = async (): Promise<boolean> => (await fleet.others()).join() === '1,1';
      await fleet.until(two, 20000, 'the first two sites to see each other');
      await fleet.startSite();
      const three = async (): Promise<boolean> => (await fleet.others()).join() === '2,2,-1';
      await fleet.until(three, 20000, "the third site's path to reach the first two");
      // The third, connected last, got neither path GoBGP held then, nor End-of-RIB: no view.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(await fleet.others()).toEqual([2, 2, -1]);
    } finally {
      await fleet.stop();
    }
  }, 60000);

  it('holds the three paths and sends the sites none of them', async () => {
    const config = docBlock(GUIDE, SNIPPET.gobgp).replace(
      /peer-as = 6501[123]/g,
      'peer-as = 65010',
    );
    const fleet = await Fleet.start({ kind: 'gobgp', config });
    try {
      const all = async (): Promise<boolean> =>
        fleet.server.held(FLEET_PREFIX).length === 3 &&
        SITES.every((site) => fleet.server.established(site.address));
      await fleet.until(all, 20000, "GoBGP to hold every site's path");
      // GoBGP sends at once what it sends at all: a second more shows nothing comes, not even
      // End-of-RIB (no graceful restart), so no site has a view at all.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      for (const site of SITES) expect(fleet.server.sent(site.address, FLEET_PREFIX)).toEqual([]);
      expect(await fleet.others()).toEqual([-1, -1, -1]);
    } finally {
      await fleet.stop();
    }
  }, 60000);
});
