// The fleet simulation (issue 12, item 4): N Lifeline sites, each the real firmware on its own sim
// HAL, stepped in lockstep; a model route reflector passes every site's route changes
// `propagationMs` late (the delay is what lets sites that fail together see a stale view of one
// another) into each site's real fleet table (firmware/fleet.ts), as a router with ADD-PATH does:
// each site's path with its communities and its origin AS, the site's own path sent back too (FRR
// does), for the families the reflector's sessions carry (`reflectorFamilies`: a router that
// carries only IPv4 to dual-stack sites, issue 20), and `bogusPaths` paths that cannot be sites
// (site communities on paths the router made up or that leaked in from another AS). A seeded
// schedule of common-mode faults (the backbone cut everywhere, the probe targets answering
// SERVFAIL everywhere), partial faults (some sites), local failures and operator withdrawals runs
// for simulated days. Checked on every route change and every step:
// - fleet-floor: while no operator override is in force anywhere, at least `minHealthySites`
//   sites announce the prefix (normally or as last resort);
// - healthy-not-held: a site whose decision is up is never held back by the guard (never in last
//   resort; withdrawn only while its rejoin offset runs, and never longer than the spread);
// - transitions-bounded: route changes per site <= 2 x its automatic transitions + the times the
//   fleet's normal count crossed `minHealthySites` + 2 x its overrides + 2 (each automatic
//   transition changes the routes once, and once more when a rejoin delay ends; the guard changes
//   what "down" means only when the count crosses the floor; an override sets and clears);
// - lone-fall-leaves: a site that is down is not kept as last resort while at least
//   `minHealthySites` other sites have been seen announcing normally for longer than the settle,
//   the propagation and two rounds (a site that falls alone leaves).

import { parsePrefix, type Prefix } from '../firmware/address';
import { ExaBgpAnnouncer, RouteState } from '../firmware/announcer';
import { FAMILY_IPV4, FAMILY_IPV6 } from '../firmware/bgp/codec';
import { type Config } from '../firmware/config';
import { FLEET_SETTLE_MS, readConfig } from '../config/validate';
import { AutoState } from '../firmware/decision';
import { FleetTable, type FleetView } from '../firmware/fleet';
import { Lifeline } from '../firmware/lifeline';
import { OverrideKind } from '../firmware/override';
import { Behaviour, SimHal } from '../hal/sim/index';
import { Random } from './random';

export interface FleetSimOptions {
  readonly seed: number;
  readonly sites: number;
  readonly durationMs: number;
  readonly minHealthySites: number;
  readonly rejoinSpreadMs: number;
  /** Mean time between fault events. */
  readonly faultEveryMs: number;
  /**
   * How long a site's route change takes to reach the other sites through the reflector (a real
   * router: milliseconds to its advertisement interval); 0: at once.
   */
  readonly propagationMs?: number;
  /** `fleet.settleMs` of every site (absent: the default). */
  readonly settleMs?: number;
  /** Every site announces an IPv6 prefix as well as the IPv4 one. */
  readonly dualStack?: boolean;
  /** The families (FAMILY_IPV4 | FAMILY_IPV6) the reflector's sessions carry (absent: both). */
  readonly reflectorFamilies?: number;
  /**
   * Paths with site communities the reflector adds that cannot be sites' (absent: none): half
   * made up by the router (its own AS the origin), half leaked in from another AS.
   */
  readonly bogusPaths?: number;
}

export interface FleetSimResult {
  /** The first violations (empty: every check held). */
  readonly violations: string[];
  readonly checks: number;
  readonly faults: number;
  readonly routeChanges: number[];
  readonly autoTransitions: number[];
  readonly crossings: number;
  /** Time with fewer than `minHealthySites` sites announcing while no override was in force. */
  readonly belowFloorMs: number;
  /** Time every site's decision was down (the guard alone kept the prefix up). */
  readonly allDownMs: number;
  /** Times a site kept as last resort was let go (withdrawn) while down. */
  readonly releases: number;
  readonly wallMs: number;
}

const STEP_MS = 250;
/** The sites' probe interval. */
const INTERVAL_MS = 1000;
/** Checks start once every site has decided (rise/fall rounds after boot). */
const SETTLE_MS = 10000;
const TARGETS = 3;

const enum FaultKind {
  /** Every site's data centres unreachable (the October 2021 cut). */
  CutAll = 0,
  /** Every site's data centres answer SERVFAIL for the health name. */
  ServfailAll = 1,
  /** Some sites lose their data centres. */
  CutSome = 2,
  /** One site's own DNS service fails. */
  Local = 3,
  /** An operator withdraws one site (confirmed) for a while. */
  Operator = 4,
}

const FAULT_NAMES = ['cut-all', 'servfail-all', 'cut-some', 'local', 'operator'];

interface Fault {
  kind: FaultKind;
  sites: boolean[];
  untilMs: number;
}

const SITE_AS = 65010;
const REFLECTOR_AS = 65000;
const LAST_RESORT = SITE_AS * 65536 + 666;
const PREFIXES = ['192.0.2.53/32', '2001:db8:53::/48'];

/** The prefixes of the service (the IPv6 one only when dual-stack). */
function prefixesOf(options: FleetSimOptions): Prefix[] {
  return PREFIXES.slice(0, options.dualStack === true ? 2 : 1).map(
    (text) => parsePrefix(text) as Prefix,
  );
}

class SiteAnnouncer extends ExaBgpAnnouncer {
  constructor(
    config: Config,
    hal: SimHal,
    readonly fleet: FleetView,
    private readonly changed: (state: RouteState) => void,
  ) {
    super(config, hal);
  }
  override serviceStateChanged(service: number, state: RouteState): void {
    super.serviceStateChanged(service, state);
    this.changed(state);
  }
}

function siteConfig(site: number, options: FleetSimOptions): Config {
  const targets = [];
  for (let t = 0; t < TARGETS; t++) {
    targets.push({
      name: 'dc' + t,
      kind: 'dns',
      address: '10.' + site + '.0.' + (t + 1),
      query: 'health.example.',
    });
  }
  const result = readConfig({
    device: { name: 'edge-' + site + '-dns' },
    probe: { intervalMs: INTERVAL_MS, timeoutMs: 500 },
    services: [
      {
        name: 'dns',
        prefixes: prefixesOf(options).map((prefix) => prefix.text),
        backbone: { quorum: 2, targets },
        local: { kind: 'dns', address: '127.0.0.1', query: 'example.com.', type: 'SOA' },
        rise: 3,
        fall: 3,
        holdDownMs: 10000,
      },
    ],
    announcer: { kind: 'exabgp' },
    fleet: {
      siteCommunity: SITE_AS + ':' + (site + 1),
      // Room for every other site and the bogus paths in each prefix's slots.
      maxSites: options.sites + (options.bogusPaths ?? 0),
      lastResortCommunity: '65010:666',
      minHealthySites: options.minHealthySites,
      whenUnknown: 'hold',
      rejoinSpreadMs: options.rejoinSpreadMs,
      ...(options.settleMs === undefined ? {} : { settleMs: options.settleMs }),
    },
  });
  if (result.config === null) throw new Error(result.errors.join('\n'));
  return result.config;
}

/** The fleet and its checks. */
class FleetWorld {
  readonly sims: SimHal[] = [];
  readonly lifelines: Lifeline[] = [];
  readonly routes: Uint8Array;
  /** The routes as the other sites see them (`routes`, `propagationMs` late). */
  readonly seen: Uint8Array;
  /** Route changes on their way through the reflector: site, state, when they arrive. */
  private readonly inFlight: { site: number; state: RouteState; atMs: number }[] = [];
  readonly routeChanges: number[];
  readonly overrides: number[];
  readonly violations: string[] = [];
  readonly bootAtMs: number[] = [];
  readonly started: boolean[] = [];
  /** Each site's fleet table, fed by the model reflector. */
  readonly tables: FleetTable[] = [];
  readonly prefixes: Prefix[];
  /** Per site: since when it has been down, kept as last resort, with enough others (-1: not). */
  readonly needlessSinceMs: number[];
  private readonly communities = new Uint8Array(8);
  checks = 0;
  crossings = 0;
  releases = 0;
  overridesActive = 0;
  nowMs = 0;
  private normalAbove: boolean;

  constructor(readonly options: FleetSimOptions) {
    this.routes = new Uint8Array(options.sites);
    this.seen = new Uint8Array(options.sites);
    this.routeChanges = new Array<number>(options.sites).fill(0);
    this.overrides = new Array<number>(options.sites).fill(0);
    this.normalAbove = false;
    this.prefixes = prefixesOf(options);
    this.needlessSinceMs = new Array<number>(options.sites).fill(-1);
    for (let site = 0; site < options.sites; site++) {
      const config = siteConfig(site, options);
      const sim = new SimHal({ socketsMax: 8, seed: options.seed * 1000 + site });
      const view = new FleetTable({
        fleet: config.fleet!,
        prefixes: this.prefixes,
        serviceFirstPrefix: new Uint16Array([0]),
        servicePrefixCount: new Uint16Array([this.prefixes.length]),
        peerNames: ['reflector'],
        localAs: SITE_AS,
      });
      this.tables.push(view);
      const announcer = new SiteAnnouncer(config, sim, view, (state) => this.changed(site, state));
      const lifeline = new Lifeline(config, sim, announcer);
      this.sims.push(sim);
      this.lifelines.push(lifeline);
      this.started.push(false);
    }
    // Each site boots at its own moment within the first seconds: their rounds are not in phase.
    const random = new Random(options.seed);
    for (let site = 0; site < options.sites; site++) this.bootAtMs.push(random.below(4000));
  }

  /** Starts the sites whose boot time has come (their clock set to it first). */
  boot(nowMs: number): void {
    for (let site = 0; site < this.lifelines.length; site++) {
      if (this.started[site] || this.bootAtMs[site]! > nowMs) continue;
      this.started[site] = true;
      this.sims[site]!.timeMs = this.bootAtMs[site]!;
      this.lifelines[site]!.start();
      this.connect(site);
    }
  }

  /**
   * The site's session with the reflector comes up: the reflector sends every site's path as it
   * has passed it on so far, the bogus paths, and End-of-RIB.
   */
  private connect(site: number): void {
    const table = this.tables[site]!;
    const families = this.options.reflectorFamilies ?? FAMILY_IPV4 | FAMILY_IPV6;
    table.sessionUp(0, { families, addPath: families });
    for (let other = 0; other < this.seen.length; other++)
      this.send(site, other, this.seen[other]!);
    for (let bogus = 0; bogus < (this.options.bogusPaths ?? 0); bogus++) {
      // Site values above the fleet's: each would be another site if it counted.
      const value = SITE_AS * 65536 + this.seen.length + 1 + bogus;
      const origin = bogus % 2 === 0 ? REFLECTOR_AS : 64999;
      this.path(site, { pathId: 1000 + bogus, communities: [value], origin, announced: true });
    }
    table.select(0);
    table.endOfRibReceived();
  }

  /** The reflector sends `site` the path of `from` in `state` (its own too, as FRR does). */
  private send(site: number, from: number, state: RouteState): void {
    const communities = [SITE_AS * 65536 + from + 1];
    if (state === RouteState.LastResort || state === RouteState.Drained)
      communities.push(LAST_RESORT);
    const announced = state !== RouteState.Withdrawn;
    this.path(site, { pathId: from + 1, communities, origin: SITE_AS, announced });
  }

  /** One path to `site`'s table, for each prefix of a family the reflector carries. */
  private path(
    site: number,
    path: { pathId: number; communities: number[]; origin: number; announced: boolean },
  ): void {
    const table = this.tables[site]!;
    const families = this.options.reflectorFamilies ?? FAMILY_IPV4 | FAMILY_IPV6;
    path.communities.forEach((value, i) => {
      for (let b = 0; b < 4; b++) this.communities[4 * i + b] = (value >>> (24 - 8 * b)) & 0xff;
    });
    table.select(0);
    table.attributes(this.communities, 0, 4 * path.communities.length, path.origin);
    for (const prefix of this.prefixes) {
      if ((families & (prefix.family === 4 ? FAMILY_IPV4 : FAMILY_IPV6)) === 0) continue;
      table.route(prefix.family, prefix.bytes, 0, prefix.length, path.pathId, path.announced);
    }
  }

  private violation(name: string, detail: string): void {
    if (this.violations.length < 10)
      this.violations.push(name + ' at ' + this.nowMs + ' ms: ' + detail);
  }

  private count(state: RouteState | -1): number {
    let count = 0;
    for (let i = 0; i < this.routes.length; i++) {
      const route = this.routes[i]!;
      const announcing = route === RouteState.Announced || route === RouteState.LastResort;
      if (state === -1 ? announcing : route === state) count++;
    }
    return count;
  }

  private changed(site: number, state: RouteState): void {
    if (this.routes[site] === RouteState.LastResort && state === RouteState.Withdrawn)
      this.releases++;
    this.routes[site] = state;
    const atMs = this.sims[site]!.clock.nowMs() + (this.options.propagationMs ?? 0);
    this.inFlight.push({ site, state, atMs });
    this.deliver(this.nowMs);
    this.routeChanges[site]!++;
    const above = this.count(RouteState.Announced) >= this.options.minHealthySites;
    if (above !== this.normalAbove) this.crossings++;
    this.normalAbove = above;
    this.checkFloor();
  }

  /** Passes on the route changes that have reached the reflector's clients by `nowMs`. */
  deliver(nowMs: number): void {
    while (this.inFlight.length > 0 && this.inFlight[0]!.atMs <= nowMs) {
      const change = this.inFlight.shift()!;
      this.seen[change.site] = change.state;
      for (let site = 0; site < this.tables.length; site++)
        if (this.started[site]) this.send(site, change.site, change.state);
    }
  }

  checkFloor(): boolean {
    if (this.nowMs < SETTLE_MS || this.overridesActive > 0) return true;
    this.checks++;
    const announcing = this.count(-1);
    if (announcing >= this.options.minHealthySites) return true;
    this.violation(
      'fleet-floor',
      announcing + ' sites announce, min ' + this.options.minHealthySites,
    );
    return false;
  }

  /**
   * lone-fall-leaves: a site down and kept as last resort while at least `minHealthySites` others
   * are seen announcing normally, for longer than the settle, the propagation and two rounds.
   */
  checkLoneFall(): void {
    const boundMs =
      (this.options.settleMs ?? FLEET_SETTLE_MS) +
      (this.options.propagationMs ?? 0) +
      2 * INTERVAL_MS +
      STEP_MS;
    let normal = 0;
    for (let i = 0; i < this.seen.length; i++) if (this.seen[i] === RouteState.Announced) normal++;
    for (let site = 0; site < this.lifelines.length; site++) {
      const lifeline = this.lifelines[site]!;
      const others = normal - (this.seen[site] === RouteState.Announced ? 1 : 0);
      const needless =
        this.nowMs >= SETTLE_MS &&
        lifeline.engine.state[0] === AutoState.Down &&
        lifeline.effective[0] === RouteState.LastResort &&
        others >= this.options.minHealthySites;
      if (!needless) {
        this.needlessSinceMs[site] = -1;
        continue;
      }
      this.checks++;
      if (this.needlessSinceMs[site]! < 0) this.needlessSinceMs[site] = this.nowMs;
      const heldMs = this.nowMs - this.needlessSinceMs[site]!;
      if (heldMs > boundMs && heldMs <= boundMs + STEP_MS)
        this.violation(
          'lone-fall-leaves',
          'site ' + site + ' held as last resort ' + heldMs + ' ms while ' + others + ' announce',
        );
    }
  }

  checkHealthy(): void {
    if (this.nowMs < SETTLE_MS) return;
    for (let site = 0; site < this.lifelines.length; site++) {
      const lifeline = this.lifelines[site]!;
      if (lifeline.engine.state[0] !== AutoState.Up) continue;
      if (lifeline.arbiter!.kind[0] !== OverrideKind.None) continue;
      this.checks++;
      const effective = lifeline.effective[0];
      const rejoinMs = lifeline.guard!.rejoinAtMs[0]! - this.sims[site]!.clock.nowMs();
      const delayed =
        effective === RouteState.Withdrawn &&
        rejoinMs > 0 &&
        rejoinMs <= this.options.rejoinSpreadMs;
      if (effective !== RouteState.Announced && !delayed)
        this.violation('healthy-not-held', 'site ' + site + ' is up with routes ' + effective);
    }
  }
}

/** Sets every site's targets from the faults in force. */
function applyFaults(world: FleetWorld, faults: readonly Fault[]): void {
  for (let site = 0; site < world.sims.length; site++) {
    let backbone = Behaviour.Answer;
    let local = false;
    let operator = false;
    for (const fault of faults) {
      if (!fault.sites[site]) continue;
      if (fault.kind === FaultKind.ServfailAll) backbone = Behaviour.Rcode;
      else if (fault.kind === FaultKind.Local) local = true;
      else if (fault.kind === FaultKind.Operator) operator = true;
      else backbone = Behaviour.Silent;
    }
    const sim = world.sims[site]!;
    for (let t = 0; t < TARGETS; t++) sim.setTarget(t, { behaviour: backbone, rcode: 2 });
    sim.setTarget(
      TARGETS,
      local ? { behaviour: Behaviour.Rcode, rcode: 2 } : { behaviour: Behaviour.Answer },
    );
    const lifeline = world.lifelines[site]!;
    const overridden = lifeline.arbiter!.kind[0] !== OverrideKind.None;
    if (operator !== overridden) {
      world.overrides[site]!++;
      lifeline.setOverride(
        0,
        operator ? OverrideKind.Withdraw : OverrideKind.None,
        Infinity,
        'sim',
      );
    }
  }
  world.overridesActive = 0;
  for (const lifeline of world.lifelines)
    if (lifeline.arbiter!.kind[0] !== OverrideKind.None) world.overridesActive++;
}

function drawFault(random: Random, sites: number, nowMs: number): Fault {
  const kind = random.pick([
    FaultKind.CutAll,
    FaultKind.ServfailAll,
    FaultKind.CutSome,
    FaultKind.CutSome,
    FaultKind.Local,
    FaultKind.Local,
    FaultKind.Operator,
  ]);
  const all = kind === FaultKind.CutAll || kind === FaultKind.ServfailAll;
  const one = random.below(sites);
  const share = 1 + random.below(sites - 1);
  const affected: boolean[] = [];
  for (let site = 0; site < sites; site++)
    affected.push(all || (kind === FaultKind.CutSome ? random.below(sites) < share : site === one));
  // From a few seconds (below `fall`) to an hour.
  const durationMs =
    random.pick([2000, 20000, 120000, 600000, 3600000]) * (0.5 + random.below(100) / 100);
  return { kind, sites: affected, untilMs: nowMs + Math.round(durationMs) };
}

/** Runs the fleet for `durationMs` of simulated time. */
export function runFleet(options: FleetSimOptions, wallNowMs: () => number): FleetSimResult {
  const startedMs = wallNowMs();
  const world = new FleetWorld(options);
  const random = new Random(options.seed ^ 0x5eed);
  let faults: Fault[] = [];
  let faultCount = 0;
  let nextFaultMs = SETTLE_MS + random.below(options.faultEveryMs * 2);
  let belowFloorMs = 0;
  let allDownMs = 0;
  for (let nowMs = STEP_MS; nowMs <= options.durationMs; nowMs += STEP_MS) {
    world.nowMs = nowMs;
    const before = faults.length;
    faults = faults.filter((fault) => fault.untilMs > nowMs);
    let changed = faults.length !== before;
    if (nowMs >= nextFaultMs) {
      faults.push(drawFault(random, options.sites, nowMs));
      faultCount++;
      nextFaultMs = nowMs + 1 + random.below(options.faultEveryMs * 2);
      changed = true;
    }
    if (changed) applyFaults(world, faults);
    world.boot(nowMs);
    for (let site = 0; site < world.sims.length; site++) {
      if (!world.started[site]) continue;
      world.deliver(world.sims[site]!.clock.nowMs());
      world.sims[site]!.runUntil(nowMs);
    }
    world.checkHealthy();
    world.checkLoneFall();
    if (!world.checkFloor()) belowFloorMs += STEP_MS;
    let down = 0;
    for (const lifeline of world.lifelines) if (lifeline.engine.state[0] === AutoState.Down) down++;
    if (down === options.sites) allDownMs += STEP_MS;
  }
  const autoTransitions = world.lifelines.map((lifeline) => lifeline.engine.transitions[0]!);
  for (let site = 0; site < options.sites; site++) {
    const bound = 2 * autoTransitions[site]! + world.crossings + 2 * world.overrides[site]! + 2;
    if (world.routeChanges[site]! > bound)
      world.violations.push(
        'transitions-bounded: site ' +
          site +
          ' changed routes ' +
          world.routeChanges[site] +
          ' times, bound ' +
          bound,
      );
  }
  return {
    violations: world.violations,
    checks: world.checks,
    faults: faultCount,
    routeChanges: world.routeChanges,
    autoTransitions,
    crossings: world.crossings,
    belowFloorMs,
    allDownMs,
    releases: world.releases,
    wallMs: wallNowMs() - startedMs,
  };
}

/** One line of figures for a run. */
export function describeFleetRun(options: FleetSimOptions, result: FleetSimResult): string {
  const maxChanges = Math.max(...result.routeChanges);
  return (
    'fleet seed ' +
    options.seed +
    ': ' +
    options.sites +
    ' sites, ' +
    (options.durationMs / 3600000).toFixed(1) +
    ' h, ' +
    result.faults +
    ' faults, ' +
    result.checks +
    ' checks, every site down for ' +
    Math.round(result.allDownMs / 1000) +
    ' s (prefix kept by the guard), below the floor ' +
    result.belowFloorMs +
    ' ms, route changes per site at most ' +
    maxChanges +
    ', crossings ' +
    result.crossings +
    ', lone falls let go ' +
    result.releases +
    ', in ' +
    (result.wallMs / 1000).toFixed(1) +
    ' s' +
    (result.violations.length === 0 ? '' : '\n  ' + result.violations.join('\n  '))
  );
}

export { FAULT_NAMES };
