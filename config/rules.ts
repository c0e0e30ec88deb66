// The config's rules across keys, which a schema cannot say (reuse below suppress, a next hop for
// every family announced, unique names and prefixes, ...), and the making of the `Config` the
// firmware runs on from what the generated readers (config/schema.ts) read. The readers call each
// check where the schema names it (x-check), right after the keys it reads, so that problems come
// in the order of the file; `toConfig` runs only on a document without problems.

import type { Address } from '../firmware/address';
import type {
  AnnouncerConfig,
  BgpPeerConfig,
  Config,
  FleetConfig,
  OverridePinConfig,
  RouteAttributesConfig,
  ServiceConfig,
  TargetConfig,
} from '../firmware/config';
import { RECORD_TYPE_CODES, RECORD_TYPE_NAMES } from '../firmware/dns';
import type { Community } from './formats';
import type { Reader } from './reader';
import type {
  Checks,
  RawAnnouncer,
  RawBackbone,
  RawConfig,
  RawDamping,
  RawDrain,
  RawFleet,
  RawOverridePin,
  RawPeer,
  RawProbe,
  RawService,
  RawTarget,
} from './schema';

/** Each name of `names` (null: not valid) that an earlier entry has, as a problem at its entry. */
function checkUnique(
  reader: Reader,
  names: readonly (string | null)[],
  path: (index: number) => string,
  what: string,
): void {
  for (let i = 0; i < names.length; i++) {
    const first = names[i] === null ? -1 : names.indexOf(names[i]!);
    if (first >= 0 && first < i)
      reader.problem(path(i), what + ' "' + names[i] + '" is used twice', path(first));
  }
}

function checkPrefixesUnique(reader: Reader, services: readonly (RawService | null)[]): void {
  const seen: string[] = [];
  const where: string[] = [];
  for (let s = 0; s < services.length; s++) {
    const prefixes = services[s]?.prefixes ?? [];
    for (let p = 0; p < prefixes.length; p++) {
      const prefix = prefixes[p];
      if (prefix === null || prefix === undefined) continue;
      const path = 'services[' + s + '].prefixes[' + p + ']';
      const first = seen.indexOf(prefix.text);
      if (first >= 0)
        reader.problem(path, prefix.text + ' is announced by another entry already', where[first]);
      seen.push(prefix.text);
      where.push(path);
    }
  }
}

/** Each BGP peer needs a next hop for every family the services announce. */
function checkNextHops(reader: Reader, raw: RawConfig): void {
  const announcer = raw.announcer;
  if (announcer === null || announcer.kind !== 'bgp') return;
  const services = raw.services ?? [];
  const families = [4, 6].filter((family) =>
    services.some((service) => (service?.prefixes ?? []).some((p) => p?.family === family)),
  );
  const peers = announcer.peers ?? [];
  for (let index = 0; index < peers.length; index++) {
    const peer = peers[index];
    if (peer === null || peer === undefined || peer.address === null) continue;
    for (const family of families) {
      const local = peer.localAddress !== null && peer.localAddress.family === family;
      if ((family === 4 ? peer.nextHopV4 : peer.nextHopV6) !== null || local) continue;
      const ip = 'IPv' + family;
      reader.problem(
        'announcer.peers[' + index + '].nextHopV' + family,
        'is required: services announce ' + ip + ' prefixes and localAddress is not ' + ip,
      );
    }
  }
}

function checkDamping(reader: Reader, damping: RawDamping, path: string): void {
  if (damping.reuse >= damping.suppress) {
    reader.problem(
      path + '.reuse',
      damping.reuse + ' must be below suppress (' + damping.suppress + ')',
    );
  }
  // RFC 2439 4.2: the penalty is capped where it decays to `reuse` in maxSuppressMs; a cap below
  // `suppress` would mean that damping can never suppress anything.
  const ceiling = damping.reuse * Math.pow(2, damping.maxSuppressMs / damping.halfLifeMs);
  if (damping.reuse < damping.suppress && ceiling < damping.suppress) {
    reader.problem(
      path + '.maxSuppressMs',
      damping.maxSuppressMs +
        ' caps the penalty at ' +
        Math.floor(ceiling) +
        ', below suppress (' +
        damping.suppress +
        '): the service could never be suppressed',
    );
  }
}

/** An expected address must be of the family the query's answers carry. */
function checkTarget(reader: Reader, target: RawTarget, path: string): void {
  const expected = target.expectAddress;
  if (target.kind !== 'dns' || expected === null || target.type === null) return;
  const wanted = target.type === 'A' ? 4 : target.type === 'AAAA' ? 6 : 0;
  if (expected.family === wanted) return;
  reader.problem(
    path + '.expectAddress',
    'needs "type": "' +
      (expected.family === 4 ? 'A' : 'AAAA') +
      '" (an answer of type ' +
      target.type +
      ' carries no ' +
      (expected.family === 4 ? 'IPv4' : 'IPv6') +
      ' address)',
  );
}

function checkPeer(reader: Reader, peer: RawPeer, path: string): void {
  if (peer.holdTimeS === 1 || peer.holdTimeS === 2)
    reader.problem(path + '.holdTimeS', 'must be 0 or at least 3 seconds (RFC 4271 4.2)');
  const local = peer.localAddress;
  const address = peer.address;
  if (peer.passive && local !== null && address !== null && local.family !== address.family)
    reader.problem(path + '.localAddress', 'must be of the peer address family to listen on');
}

function checkProbe(reader: Reader, probe: RawProbe, path: string): void {
  if (probe.fastIntervalMs > probe.intervalMs) {
    reader.problem(
      path + '.fastIntervalMs',
      probe.fastIntervalMs + ' must not exceed probe.intervalMs (' + probe.intervalMs + ')',
    );
  }
  if (probe.timeoutMs > probe.fastIntervalMs) {
    reader.problem(
      path + '.timeoutMs',
      probe.timeoutMs +
        ' must not exceed the probe interval (' +
        probe.fastIntervalMs +
        '): one probe per target is outstanding at a time',
    );
  }
}

/** The checks the generated readers run, by the names the schema gives them (x-check). */
export const CHECKS: Checks = {
  services: (reader, read) => {
    const services = read.services ?? [];
    const names = services.map((service) => service?.name ?? null);
    checkUnique(reader, names, (i) => 'services[' + i + '].name', 'service name');
    checkPrefixesUnique(reader, services);
  },
  nextHops: (reader, raw) => checkNextHops(reader, raw),
  probe: checkProbe,
  targetNames: (reader, read, path) => {
    // A target without a valid address (or command) is left out, as it is from the service.
    const names = (read.targets ?? []).map((target) =>
      target === null || (target.kind === 'exec' ? target.exec : target.address) === null
        ? null
        : target.name,
    );
    checkUnique(reader, names, (i) => path + '.targets[' + i + '].name', 'target name');
  },
  target: checkTarget,
  damping: checkDamping,
  peer: checkPeer,
  fleetCommunities: (reader, read, path) => {
    const site = read.siteCommunity;
    if (site !== null && site.value === read.lastResortCommunity?.value)
      reader.problem(path + '.lastResortCommunity', 'must differ from fleet.siteCommunity');
  },
};

/** What the readers made of a valid document: every value is there (no problem was found). */
function given<T>(value: T | null | undefined): T {
  return value as T;
}

function listOf<T>(list: readonly (T | null)[] | null): T[] {
  return (list ?? []) as T[];
}

function toTarget(target: RawTarget): TargetConfig {
  const dns = target.kind === 'dns';
  let rcodeMask = 0;
  for (const code of listOf(target.expectRcode)) rcodeMask |= 1 << code;
  const exec = target.kind === 'exec';
  return {
    name: given(target.name),
    kind: target.kind,
    address: exec ? null : given(target.address),
    port: target.port ?? 0,
    command: exec ? given(target.exec!.command) : null,
    intervalMs: target.exec?.intervalMs ?? 0,
    timeoutMs: target.exec?.timeoutMs ?? 0,
    query: dns ? given(target.query) : '',
    recordType: dns ? RECORD_TYPE_CODES[RECORD_TYPE_NAMES.indexOf(given(target.type))]! : 0,
    rcodeMask,
    expectAddress: target.expectAddress,
  };
}

function toAttributes(med: number | null, list: RawDrain['communities']): RouteAttributesConfig {
  const communities: Community[] = listOf(list);
  return {
    med: med ?? -1,
    communities: communities.map((community) => community.text),
    communityValues: communities.map((community) => community.value),
  };
}

function toService(service: RawService): ServiceConfig {
  const backbone: RawBackbone = given(service.backbone);
  return {
    name: given(service.name),
    prefixes: listOf(service.prefixes),
    quorum: backbone.quorum,
    targets: listOf(backbone.targets).map(toTarget),
    local: service.local === null ? null : toTarget(service.local),
    rise: service.rise,
    fall: service.fall,
    holdDownMs: service.holdDownMs,
    damping: service.damping,
    announce: toAttributes(service.med, service.communities),
    drain:
      service.drain === null ? null : toAttributes(service.drain.med, service.drain.communities),
  };
}

function toPeer(peer: RawPeer): BgpPeerConfig {
  return {
    address: given(peer.address),
    port: peer.port,
    remoteAs: peer.remoteAs,
    holdTimeS: peer.holdTimeS,
    localAddress: peer.localAddress,
    nextHopV4: peer.nextHopV4,
    nextHopV6: peer.nextHopV6,
    passive: peer.passive,
    passwordFile: peer.passwordFile,
    bfd: peer.bfd,
  };
}

function toAnnouncer(announcer: RawAnnouncer): AnnouncerConfig {
  const bgp = announcer.kind === 'bgp';
  const none: Address | null = null;
  return {
    kind: announcer.kind,
    onShutdown: announcer.onShutdown,
    localAs: announcer.localAs ?? 0,
    routerId: announcer.routerId,
    peers: listOf(announcer.peers).map(toPeer),
    gracefulShutdownMs: announcer.gracefulShutdownMs ?? 0,
    restartTimeS: announcer.restartTimeS ?? 0,
    nextHopV4: bgp ? none : announcer.nextHopV4,
    nextHopV6: bgp ? none : announcer.nextHopV6,
  };
}

function toOverridePin(pin: RawOverridePin): OverridePinConfig {
  // Each driver reads only its own keys.
  return {
    driver: pin.driver,
    chip: pin.driver === 'gpiochip' ? pin.chip : null,
    line: pin.driver === 'gpiochip' ? given(pin.line) : 0,
    path: pin.driver === 'sysfs' ? pin.path : null,
    signal: pin.driver === 'serial' ? pin.signal : null,
    pin: pin.driver === 'espruino' ? pin.pin : null,
    activeLow: pin.activeLow,
    debounceMs: pin.debounceMs,
    action: pin.action,
  };
}

function toFleet(fleet: RawFleet): FleetConfig {
  const site = given(fleet.siteCommunity);
  const lastResort = given(fleet.lastResortCommunity);
  return {
    siteCommunity: site.text,
    siteCommunityValue: site.value,
    lastResortCommunity: lastResort.text,
    lastResortCommunityValue: lastResort.value,
    lastResortMed: fleet.lastResortMed ?? -1,
    siteAs: listOf(fleet.siteAs),
    maxSites: fleet.maxSites,
    minHealthySites: fleet.minHealthySites,
    whenUnknown: fleet.whenUnknown,
    rejoinSpreadMs: fleet.rejoinSpreadMs,
    settleMs: fleet.settleMs,
  };
}

/** The Config of a document the readers found no problem in. */
export function toConfig(raw: RawConfig): Config {
  const probe = given(raw.probe);
  return {
    deviceName: given(raw.device?.name),
    intervalMs: probe.intervalMs,
    timeoutMs: probe.timeoutMs,
    fastIntervalMs: probe.fastIntervalMs,
    services: listOf(raw.services).map(toService),
    announcer: toAnnouncer(given(raw.announcer)),
    console: raw.console,
    overridePin: raw.overridePin === null ? null : toOverridePin(raw.overridePin),
    stateDir: raw.stateDir,
    metricsListen: raw.metrics?.listen ?? null,
    metricsWebConfigFile: raw.metrics?.webConfigFile ?? null,
    watchdogDevice: raw.watchdog?.device ?? null,
    fleet: raw.fleet === null ? null : toFleet(raw.fleet),
    guard: raw.guard === null ? null : { panicFraction: raw.guard.panicFraction ?? 0 },
  };
}
