// The config (docs/reference.md), validated once at boot. Every problem is collected as `PATH:
// PROBLEM`, so an operator sees all of them in one go; only a config without problems becomes a
// `Config` (firmware/config.ts), with the defaults filled in and every address and name already
// parsed. Host code: the board build validates on the host and embeds the result.

import {
  parseAddress,
  parsePrefix,
  unicastProblem,
  type Address,
  type Prefix,
} from '../firmware/address';
import type {
  AnnouncerConfig,
  BfdPeerConfig,
  BgpPeerConfig,
  Config,
  ConsoleConfig,
  DampingConfig,
  FleetConfig,
  GuardConfig,
  OverridePinConfig,
  RouteAttributesConfig,
  ServiceConfig,
  TargetConfig,
} from '../firmware/config';
import { checkName, RCODE_NAMES, RECORD_TYPE_CODES, RECORD_TYPE_NAMES } from '../firmware/dns';

export const SERVICES_MAX = 16;
export const TARGETS_PER_SERVICE_MAX = 32;
export const PREFIXES_PER_SERVICE_MAX = 64;
/** The largest config file read (a config is a few KB; /dev/zero is not one). */
export const CONFIG_BYTES_MAX = 1024 * 1024;
/** Objects and arrays nest at most this deep (a config needs 5). */
export const CONFIG_DEPTH_MAX = 32;
/** The longest string value (a path). */
export const STRING_LENGTH_MAX = 4096;

/** Documented defaults (docs/configuration.md, docs/reference.md). */
export const DEFAULTS = {
  intervalMs: 1000,
  timeoutMs: 500,
  rise: 3,
  fall: 3,
  holdDownMs: 10000,
  dnsPort: 53,
  recordType: 'A',
  expectRcode: 'NOERROR',
  onShutdown: 'withdraw',
  gracefulShutdownMs: 0,
  restartTimeS: 0,
  bgpPort: 179,
  holdTimeS: 90,
  bfdIntervalMs: 300,
  bfdMultiplier: 3,
  consoleBaud: 115200,
  consoleIdleTimeoutMs: 300000,
  pinDebounceMs: 50,
} as const;

export type ConfigResult =
  | { readonly config: Config; readonly errors: null }
  | {
      readonly config: null;
      readonly errors: readonly string[];
    };

type Json = unknown;
type JsonObject = { readonly [key: string]: Json };

/**
 * A value as a problem line shows it: short and on one line, whatever it is (a 100 MB string, an
 * array nested 6,000 deep).
 */
export function show(value: Json): string {
  if (typeof value === 'string') {
    const text = JSON.stringify(value.length > 64 ? value.slice(0, 64) : value);
    return value.length > 64 ? text.slice(0, -1) + '..." (' + value.length + ' characters)' : text;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null)
    return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}

/** Collects problems with their paths while the reader walks the document. */
class Reader {
  readonly errors: string[] = [];

  problem(path: string, text: string): void {
    this.errors.push(path + ': ' + text);
  }

  object(value: Json, path: string, keys: readonly string[]): JsonObject | null {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      this.problem(path, 'must be an object');
      return null;
    }
    const record = value as JsonObject;
    for (const key in record) {
      if (keys.indexOf(key) < 0)
        this.problem(path + '.' + key, 'is not a known key (known: ' + keys.join(', ') + ')');
    }
    return record;
  }

  array(value: Json, path: string, lengthMin: number, lengthMax: number): readonly Json[] | null {
    if (!Array.isArray(value)) {
      this.problem(path, 'must be an array');
      return null;
    }
    if (value.length < lengthMin || value.length > lengthMax) {
      this.problem(
        path,
        'must have ' + lengthMin + ' to ' + lengthMax + ' entries, has ' + value.length,
      );
      return null;
    }
    return value;
  }

  string(record: JsonObject, key: string, path: string, fallback: string | null): string | null {
    const value = record[key];
    if (value === undefined) {
      if (fallback === null) this.problem(path + '.' + key, 'is required');
      return fallback;
    }
    if (typeof value !== 'string' || value === '') {
      this.problem(path + '.' + key, 'must be a non-empty string');
      return null;
    }
    if (value.length > STRING_LENGTH_MAX) {
      this.problem(path + '.' + key, 'must be at most ' + STRING_LENGTH_MAX + ' characters');
      return null;
    }
    return value;
  }

  optionalString(record: JsonObject, key: string, path: string): string | null {
    return record[key] === undefined ? null : this.string(record, key, path, null);
  }

  integer(
    record: JsonObject,
    key: string,
    path: string,
    range: readonly [number, number],
    fallback: number | null,
  ): number {
    const value = record[key];
    if (value === undefined) {
      if (fallback === null) this.problem(path + '.' + key, 'is required');
      return fallback === null ? range[0] : fallback;
    }
    if (
      typeof value !== 'number' ||
      Math.floor(value) !== value ||
      value < range[0] ||
      value > range[1]
    ) {
      this.problem(
        path + '.' + key,
        show(value) + ' must be an integer from ' + range[0] + ' to ' + range[1],
      );
      return range[0];
    }
    return value;
  }

  choice<T extends string>(
    record: JsonObject,
    key: string,
    path: string,
    choices: readonly T[],
    fallback: T | null,
  ): T {
    const value = record[key];
    if (value === undefined && fallback !== null) return fallback;
    for (let i = 0; i < choices.length; i++) if (value === choices[i]) return choices[i]!;
    this.problem(
      path + '.' + key,
      (value === undefined ? 'is required' : show(value) + ' is not allowed') +
        ': one of ' +
        choices.join(', '),
    );
    return choices[0]!;
  }

  boolean(record: JsonObject, key: string, path: string, fallback: boolean): boolean {
    const value = record[key];
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') this.problem(path + '.' + key, 'must be true or false');
    return value === true;
  }

  address(record: JsonObject, key: string, path: string, required: boolean): Address | null {
    const value = record[key];
    if (value === undefined) {
      if (required) this.problem(path + '.' + key, 'is required');
      return null;
    }
    const address = typeof value === 'string' && value.length <= 64 ? parseAddress(value) : null;
    if (address === null)
      this.problem(path + '.' + key, show(value) + ' is not an IPv4 or IPv6 address');
    return address;
  }

  /** An address that names one host: not unspecified, broadcast or multicast. */
  hostAddress(record: JsonObject, key: string, path: string, required: boolean): Address | null {
    const address = this.address(record, key, path, required);
    const problem = address === null ? '' : unicastProblem(address);
    if (problem !== '') this.problem(path + '.' + key, address!.text + ' ' + problem);
    return problem === '' ? address : null;
  }
}

const UINT32_MAX = 4294967295;

/**
 * Every key the validator knows, by path (`[]`: each entry of a list). The readers below take their
 * keys from here, and docs/reference.md is held to document each one (test/unit/docs.test.ts).
 */
export const CONFIG_KEYS: { readonly [path: string]: readonly string[] } = {
  config: [
    'device',
    'probe',
    'services',
    'announcer',
    'console',
    'overridePin',
    'stateDir',
    'metrics',
    'watchdog',
    'fleet',
    'guard',
  ],
  device: ['name'],
  probe: ['intervalMs', 'timeoutMs', 'fastIntervalMs'],
  'services[]': [
    'name',
    'prefixes',
    'backbone',
    'local',
    'rise',
    'fall',
    'holdDownMs',
    'damping',
    'med',
    'communities',
    'drain',
  ],
  'services[].backbone': ['quorum', 'targets'],
  'services[].backbone.targets[]': [
    'name',
    'kind',
    'address',
    'port',
    'query',
    'type',
    'expectRcode',
    'expectAddress',
  ],
  'services[].damping': ['halfLifeMs', 'penalty', 'suppress', 'reuse', 'maxSuppressMs'],
  'services[].drain': ['med', 'communities'],
  announcer: [
    'kind',
    'onShutdown',
    'localAs',
    'routerId',
    'peers',
    'nextHopV4',
    'nextHopV6',
    'gracefulShutdownMs',
    'restartTimeS',
  ],
  'announcer.peers[]': [
    'address',
    'port',
    'remoteAs',
    'holdTimeS',
    'localAddress',
    'nextHopV4',
    'nextHopV6',
    'passive',
    'passwordFile',
    'bfd',
  ],
  'announcer.peers[].bfd': ['intervalMs', 'multiplier', 'multihop'],
  console: ['device', 'path', 'baud', 'keyFile', 'recoveryCodesFile', 'idleTimeoutMs'],
  overridePin: [
    'driver',
    'chip',
    'line',
    'path',
    'signal',
    'pin',
    'activeLow',
    'debounceMs',
    'action',
  ],
  metrics: ['listen', 'webConfigFile'],
  watchdog: ['device'],
  fleet: [
    'siteCommunity',
    'lastResortCommunity',
    'lastResortMed',
    'siteAs',
    'maxSites',
    'minHealthySites',
    'whenUnknown',
    'rejoinSpreadMs',
    'settleMs',
  ],
  guard: ['panicFraction'],
};
const TARGET_KEYS = CONFIG_KEYS['services[].backbone.targets[]']!;

function readRcodeMask(reader: Reader, record: JsonObject, path: string): number {
  const value = record['expectRcode'];
  if (value === undefined) return 1 << RCODE_NAMES.indexOf(DEFAULTS.expectRcode);
  const list = reader.array(value, path + '.expectRcode', 1, RCODE_NAMES.length);
  let mask = 0;
  if (list === null) return 1;
  for (let i = 0; i < list.length; i++) {
    const code = RCODE_NAMES.indexOf(list[i] as string);
    if (typeof list[i] !== 'string' || code < 0) {
      reader.problem(
        path + '.expectRcode[' + i + ']',
        show(list[i]) + ' is not an RCODE: one of ' + RCODE_NAMES.join(', '),
      );
    } else {
      mask |= 1 << code;
    }
  }
  return mask;
}

function readTarget(
  reader: Reader,
  value: Json,
  path: string,
  defaultName: string | null,
): TargetConfig | null {
  const record = reader.object(value, path, TARGET_KEYS);
  if (record === null) return null;
  const name = reader.string(record, 'name', path, defaultName);
  const kind = reader.choice(record, 'kind', path, ['dns', 'tcp'] as const, null);
  const address = reader.hostAddress(record, 'address', path, true);
  const port = reader.integer(
    record,
    'port',
    path,
    [1, 65535],
    kind === 'dns' ? DEFAULTS.dnsPort : null,
  );
  let query = '';
  let recordType = 0;
  let rcodeMask = 0;
  let expectAddress: Address | null = null;
  if (kind === 'dns') {
    query = reader.string(record, 'query', path, null) ?? '';
    const checked = query === '' ? 0 : checkName(query);
    if (typeof checked === 'string') reader.problem(path + '.query', show(query) + ' ' + checked);
    const typeName = reader.choice(record, 'type', path, RECORD_TYPE_NAMES, DEFAULTS.recordType);
    recordType = RECORD_TYPE_CODES[RECORD_TYPE_NAMES.indexOf(typeName)]!;
    rcodeMask = readRcodeMask(reader, record, path);
    expectAddress = reader.address(record, 'expectAddress', path, false);
    const wanted = typeName === 'A' ? 4 : typeName === 'AAAA' ? 6 : 0;
    if (expectAddress !== null && expectAddress.family !== wanted) {
      reader.problem(
        path + '.expectAddress',
        'needs "type": "' +
          (expectAddress.family === 4 ? 'A' : 'AAAA') +
          '" (an answer of type ' +
          typeName +
          ' carries no ' +
          (expectAddress.family === 4 ? 'IPv4' : 'IPv6') +
          ' address)',
      );
    }
  } else {
    for (const key of ['query', 'type', 'expectRcode', 'expectAddress']) {
      if (record[key] !== undefined)
        reader.problem(path + '.' + key, 'applies to "kind": "dns" targets only');
    }
  }
  if (name === null || address === null) return null;
  return { name, kind, address, port, query, recordType, rcodeMask, expectAddress };
}

function readDamping(reader: Reader, value: Json, path: string): DampingConfig | null {
  const record = reader.object(value, path, CONFIG_KEYS['services[].damping']!);
  if (record === null) return null;
  const damping = {
    halfLifeMs: reader.integer(record, 'halfLifeMs', path, [1000, UINT32_MAX], null),
    penalty: reader.integer(record, 'penalty', path, [1, 1000000], null),
    suppress: reader.integer(record, 'suppress', path, [1, 1000000], null),
    reuse: reader.integer(record, 'reuse', path, [1, 1000000], null),
    maxSuppressMs: reader.integer(record, 'maxSuppressMs', path, [1000, UINT32_MAX], null),
  };
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
  return damping;
}

function checkUniqueNames(
  reader: Reader,
  names: readonly string[],
  path: string,
  what: string,
): void {
  for (let i = 0; i < names.length; i++) {
    if (names.indexOf(names[i]!) !== i)
      reader.problem(path + '[' + i + '].name', what + ' "' + names[i] + '" is used twice');
  }
}

/** Reads `med` and `communities` of `record` (a service, or its `drain`). */
function readRouteAttributes(
  reader: Reader,
  record: JsonObject,
  path: string,
): RouteAttributesConfig {
  const med =
    record['med'] === undefined ? -1 : reader.integer(record, 'med', path, [0, UINT32_MAX], null);
  const communities: string[] = [];
  const communityValues: number[] = [];
  const list =
    record['communities'] === undefined
      ? []
      : reader.array(record['communities'], path + '.communities', 1, 32);
  for (let i = 0; list !== null && i < list.length; i++) {
    const value = communityValue(list[i]);
    if (value < 0) {
      reader.problem(path + '.communities[' + i + ']', show(list[i]) + COMMUNITY_PROBLEM);
    } else {
      communities.push(list[i] as string);
      communityValues.push(value);
    }
  }
  return { med, communities, communityValues };
}

const COMMUNITY_PROBLEM = ' is not a community ASN:VALUE (0-65535 each)';

/** A community `ASN:VALUE` as its 32-bit value, or -1 when `text` is not one. */
function communityValue(text: Json): number {
  const match = typeof text === 'string' ? /^([0-9]{1,5}):([0-9]{1,5})$/.exec(text) : null;
  const high = match === null ? -1 : parseInt(match[1]!, 10);
  const low = match === null ? -1 : parseInt(match[2]!, 10);
  if (high < 0 || high > 0xffff || low < 0 || low > 0xffff) return -1;
  return high * 65536 + low;
}

/** A required community key of `record`, as its value (-1 with a problem when it is not one). */
function readCommunity(reader: Reader, record: JsonObject, key: string, path: string): number {
  if (record[key] === undefined) {
    reader.problem(path + '.' + key, 'is required');
    return -1;
  }
  const value = communityValue(record[key]);
  if (value < 0) reader.problem(path + '.' + key, show(record[key]) + COMMUNITY_PROBLEM);
  return value;
}

/** `fleet.settleMs` by default: well over a route's way through a router without MRAI. */
export const FLEET_SETTLE_MS = 2000;

/** The most sites the fleet table holds per prefix and peer. */
export const FLEET_SITES_MAX = 1024;

/** The most ASes in `fleet.siteAs`. */
export const FLEET_SITE_AS_MAX = 32;

/** `fleet.siteAs`: AS numbers, none of them AS_TRANS (a 2-octet stand-in, never an origin). */
function readSiteAs(reader: Reader, record: JsonObject): number[] {
  const list =
    record['siteAs'] === undefined
      ? []
      : reader.array(record['siteAs'], 'fleet.siteAs', 1, FLEET_SITE_AS_MAX);
  const found: number[] = [];
  for (let i = 0; list !== null && i < list.length; i++) {
    const value = list[i];
    const path = 'fleet.siteAs[' + i + ']';
    if (typeof value !== 'number' || Math.floor(value) !== value || value < 1 || value > UINT32_MAX)
      reader.problem(path, show(value) + ' must be an AS number from 1 to ' + UINT32_MAX);
    else if (value === 23456)
      reader.problem(path, '23456 is AS_TRANS (RFC 6793), which no route originates from');
    else found.push(value);
  }
  return found;
}

function readFleet(reader: Reader, value: Json): FleetConfig | null {
  const record = reader.object(value, 'fleet', CONFIG_KEYS['fleet']!);
  if (record === null) return null;
  const site = readCommunity(reader, record, 'siteCommunity', 'fleet');
  const lastResort = readCommunity(reader, record, 'lastResortCommunity', 'fleet');
  if (site >= 0 && site === lastResort)
    reader.problem('fleet.lastResortCommunity', 'must differ from fleet.siteCommunity');
  const lastResortMed =
    record['lastResortMed'] === undefined
      ? -1
      : reader.integer(record, 'lastResortMed', 'fleet', [0, UINT32_MAX], null);
  const maxSites = reader.integer(record, 'maxSites', 'fleet', [1, FLEET_SITES_MAX], 16);
  const minHealthySites = reader.integer(record, 'minHealthySites', 'fleet', [1, maxSites], 1);
  return {
    siteCommunity: site < 0 ? '' : (record['siteCommunity'] as string),
    siteCommunityValue: site,
    lastResortCommunity: lastResort < 0 ? '' : (record['lastResortCommunity'] as string),
    lastResortCommunityValue: lastResort,
    lastResortMed,
    siteAs: readSiteAs(reader, record),
    maxSites,
    minHealthySites,
    whenUnknown: reader.choice(record, 'whenUnknown', 'fleet', ['local', 'hold'], 'local'),
    rejoinSpreadMs: reader.integer(record, 'rejoinSpreadMs', 'fleet', [0, 3600000], 0),
    settleMs: reader.integer(record, 'settleMs', 'fleet', [0, 600000], FLEET_SETTLE_MS),
  };
}

function readGuard(reader: Reader, value: Json): GuardConfig | null {
  const record = reader.object(value, 'guard', CONFIG_KEYS['guard']!);
  if (record === null) return null;
  const fraction = record['panicFraction'];
  if (fraction === undefined) return { panicFraction: 0 };
  if (typeof fraction !== 'number' || !(fraction > 0 && fraction <= 1)) {
    reader.problem('guard.panicFraction', show(fraction) + ' must be a number above 0, at most 1');
    return null;
  }
  return { panicFraction: fraction };
}

/**
 * What a valid config does that its author may not expect, as `PATH: NOTE` lines (check-config
 * prints them; they are not problems): a drained service is never withdrawn, so the fleet guard
 * has nothing to do for it.
 */
export function configNotes(config: Config): string[] {
  const notes: string[] = [];
  if (config.fleet === null && config.guard === null) return notes;
  for (let s = 0; s < config.services.length; s++) {
    if (config.services[s]!.drain === null) continue;
    notes.push(
      'services[' +
        s +
        '].drain: note: a drained service is never withdrawn, so the fleet guard has nothing ' +
        'to do for it',
    );
  }
  return notes;
}

function readDrain(reader: Reader, value: Json, path: string): RouteAttributesConfig | null {
  const record = reader.object(value, path, CONFIG_KEYS['services[].drain']!);
  if (record === null) return null;
  if (record['med'] === undefined && record['communities'] === undefined) {
    reader.problem(
      path,
      'needs "med" or "communities": a drained route must differ from an announced one',
    );
  }
  return readRouteAttributes(reader, record, path);
}

function readPrefixes(reader: Reader, record: JsonObject, path: string): Prefix[] {
  const prefixes: Prefix[] = [];
  const list = reader.array(record['prefixes'], path + '.prefixes', 1, PREFIXES_PER_SERVICE_MAX);
  for (let i = 0; list !== null && i < list.length; i++) {
    const parsed =
      typeof list[i] === 'string' ? parsePrefix(list[i] as string) : 'must be a string';
    if (typeof parsed === 'string')
      reader.problem(path + '.prefixes[' + i + ']', show(list[i]) + ' ' + parsed);
    else prefixes.push(parsed);
  }
  return prefixes;
}

function readBackbone(
  reader: Reader,
  value: Json,
  path: string,
): { targets: TargetConfig[]; quorum: number } {
  const backbone = reader.object(value, path, CONFIG_KEYS['services[].backbone']!);
  const targets: TargetConfig[] = [];
  if (backbone === null) return { targets, quorum: 1 };
  const list = reader.array(backbone['targets'], path + '.targets', 1, TARGETS_PER_SERVICE_MAX);
  for (let i = 0; list !== null && i < list.length; i++) {
    const target = readTarget(reader, list[i], path + '.targets[' + i + ']', null);
    if (target !== null) targets.push(target);
  }
  const names = targets.map((target) => target.name);
  checkUniqueNames(reader, names, path + '.targets', 'target name');
  const quorumMax = list === null ? 1 : list.length;
  return { targets, quorum: reader.integer(backbone, 'quorum', path, [1, quorumMax], null) };
}

function readService(reader: Reader, value: Json, path: string): ServiceConfig | null {
  const record = reader.object(value, path, CONFIG_KEYS['services[]']!);
  if (record === null) return null;
  const name = reader.string(record, 'name', path, null);
  if (name !== null && !/^[a-z0-9][a-z0-9_-]{0,31}$/.test(name)) {
    reader.problem(
      path + '.name',
      show(name) + ' must be 1-32 of a-z 0-9 _ - (the console names services by it)',
    );
  }
  const prefixes = readPrefixes(reader, record, path);
  const backbone = readBackbone(reader, record['backbone'], path + '.backbone');
  const targets = backbone.targets;
  const quorum = backbone.quorum;
  const local =
    record['local'] === undefined
      ? null
      : readTarget(reader, record['local'], path + '.local', 'local');
  const damping =
    record['damping'] === undefined
      ? null
      : readDamping(reader, record['damping'], path + '.damping');
  const rise = reader.integer(record, 'rise', path, [1, 1000], DEFAULTS.rise);
  const fall = reader.integer(record, 'fall', path, [1, 1000], DEFAULTS.fall);
  const holdDownMs = reader.integer(
    record,
    'holdDownMs',
    path,
    [0, UINT32_MAX],
    DEFAULTS.holdDownMs,
  );
  const announce = readRouteAttributes(reader, record, path);
  const drain =
    record['drain'] === undefined ? null : readDrain(reader, record['drain'], path + '.drain');
  if (name === null) return null;
  return {
    name,
    prefixes,
    quorum,
    targets,
    local,
    rise,
    fall,
    holdDownMs,
    damping,
    announce,
    drain,
  };
}

/**
 * A peer's `bfd`. The interval's floor is the firmware's: a Node timer on a loaded Raspberry Pi
 * keeps a 50 ms pace, not a faster one (routers go to 10 ms and below, in hardware).
 */
function readBfd(reader: Reader, value: Json, path: string): BfdPeerConfig | null {
  const record = reader.object(value, path, CONFIG_KEYS['announcer.peers[].bfd']!);
  if (record === null) return null;
  return {
    intervalMs: reader.integer(record, 'intervalMs', path, [50, 60000], DEFAULTS.bfdIntervalMs),
    // RFC 5880 4.1: Detect Mult is one byte, and a zero is discarded (6.8.6).
    multiplier: reader.integer(record, 'multiplier', path, [1, 255], DEFAULTS.bfdMultiplier),
    multihop: reader.boolean(record, 'multihop', path, false),
  };
}

function readPeer(reader: Reader, value: Json, path: string): BgpPeerConfig | null {
  const record = reader.object(value, path, CONFIG_KEYS['announcer.peers[]']!);
  if (record === null) return null;
  const address = reader.hostAddress(record, 'address', path, true);
  const peer = {
    address: address ?? { family: 4 as const, bytes: new Uint8Array(4), text: '0.0.0.0' },
    port: reader.integer(record, 'port', path, [1, 65535], DEFAULTS.bgpPort),
    remoteAs: reader.integer(record, 'remoteAs', path, [1, UINT32_MAX], null),
    holdTimeS: reader.integer(record, 'holdTimeS', path, [0, 65535], DEFAULTS.holdTimeS),
    localAddress: reader.address(record, 'localAddress', path, false),
    nextHopV4: reader.address(record, 'nextHopV4', path, false),
    nextHopV6: reader.address(record, 'nextHopV6', path, false),
    passive: reader.boolean(record, 'passive', path, false),
    passwordFile: reader.optionalString(record, 'passwordFile', path),
    bfd: record['bfd'] === undefined ? null : readBfd(reader, record['bfd'], path + '.bfd'),
  };
  if (peer.holdTimeS === 1 || peer.holdTimeS === 2) {
    reader.problem(path + '.holdTimeS', 'must be 0 or at least 3 seconds (RFC 4271 4.2)');
  }
  const local = peer.localAddress;
  if (peer.passive && local !== null && address !== null && local.family !== address.family)
    reader.problem(path + '.localAddress', 'must be of the peer address family to listen on');
  if (peer.nextHopV4 !== null && peer.nextHopV4.family !== 4)
    reader.problem(path + '.nextHopV4', 'must be an IPv4 address');
  if (peer.nextHopV6 !== null && peer.nextHopV6.family !== 6)
    reader.problem(path + '.nextHopV6', 'must be an IPv6 address');
  return address === null ? null : peer;
}

function readAnnouncer(reader: Reader, value: Json, path: string): AnnouncerConfig {
  const record = reader.object(value, path, CONFIG_KEYS['announcer']!) ?? {};
  const kind = reader.choice(record, 'kind', path, ['exabgp', 'bgp'] as const, null);
  const onShutdown = reader.choice(
    record,
    'onShutdown',
    path,
    ['withdraw', 'keep'] as const,
    DEFAULTS.onShutdown,
  );
  if (kind === 'exabgp') return readExabgpAnnouncer(reader, record, path, onShutdown);
  for (const key of ['nextHopV4', 'nextHopV6']) {
    if (record[key] !== undefined)
      reader.problem(path + '.' + key, 'applies to "kind": "exabgp" only (a BGP peer has its own)');
  }
  const localAs = reader.integer(record, 'localAs', path, [1, UINT32_MAX], null);
  const routerId = reader.address(record, 'routerId', path, true);
  if (routerId !== null && routerId.family !== 4)
    reader.problem(path + '.routerId', 'must be an IPv4 address (RFC 4271 4.2)');
  const peers: BgpPeerConfig[] = [];
  const list = reader.array(record['peers'], path + '.peers', 1, 8);
  for (let i = 0; list !== null && i < list.length; i++) {
    const peer = readPeer(reader, list[i], path + '.peers[' + i + ']');
    if (peer !== null) peers.push(peer);
  }
  return {
    kind,
    onShutdown,
    localAs,
    routerId,
    peers,
    // At most a minute: the routes stay announced meanwhile, and a stop waits for it.
    gracefulShutdownMs: reader.integer(
      record,
      'gracefulShutdownMs',
      path,
      [0, 60000],
      DEFAULTS.gracefulShutdownMs,
    ),
    // RFC 4724 3: 12 bits of seconds.
    restartTimeS: reader.integer(record, 'restartTimeS', path, [0, 4095], DEFAULTS.restartTimeS),
    nextHopV4: null,
    nextHopV6: null,
  };
}

function readExabgpAnnouncer(
  reader: Reader,
  record: JsonObject,
  path: string,
  onShutdown: 'withdraw' | 'keep',
): AnnouncerConfig {
  for (const key of ['localAs', 'routerId', 'peers', 'gracefulShutdownMs', 'restartTimeS']) {
    if (record[key] !== undefined)
      reader.problem(path + '.' + key, 'applies to "kind": "bgp" only');
  }
  const nextHopV4 = reader.address(record, 'nextHopV4', path, false);
  const nextHopV6 = reader.address(record, 'nextHopV6', path, false);
  if (nextHopV4 !== null && nextHopV4.family !== 4)
    reader.problem(path + '.nextHopV4', 'must be an IPv4 address');
  if (nextHopV6 !== null && nextHopV6.family !== 6)
    reader.problem(path + '.nextHopV6', 'must be an IPv6 address');
  return {
    kind: 'exabgp',
    onShutdown,
    localAs: 0,
    routerId: null,
    peers: [],
    gracefulShutdownMs: 0,
    restartTimeS: 0,
    nextHopV4,
    nextHopV6,
  };
}

function readConsole(reader: Reader, value: Json, path: string): ConsoleConfig | null {
  const record = reader.object(value, path, CONFIG_KEYS['console']!);
  if (record === null) return null;
  return {
    device: reader.optionalString(record, 'device', path),
    path: reader.optionalString(record, 'path', path),
    baud: reader.integer(record, 'baud', path, [300, 4000000], DEFAULTS.consoleBaud),
    keyFile: reader.optionalString(record, 'keyFile', path),
    recoveryCodesFile: reader.optionalString(record, 'recoveryCodesFile', path),
    idleTimeoutMs: reader.integer(
      record,
      'idleTimeoutMs',
      path,
      [10000, 86400000],
      DEFAULTS.consoleIdleTimeoutMs,
    ),
  };
}

function readOverridePin(reader: Reader, value: Json, path: string): OverridePinConfig | null {
  const record = reader.object(value, path, CONFIG_KEYS['overridePin']!);
  if (record === null) return null;
  const driver = reader.choice(
    record,
    'driver',
    path,
    ['gpiochip', 'sysfs', 'serial', 'espruino'] as const,
    null,
  );
  const pin = {
    driver,
    chip: driver === 'gpiochip' ? reader.string(record, 'chip', path, null) : null,
    line: driver === 'gpiochip' ? reader.integer(record, 'line', path, [0, 1023], null) : 0,
    path: driver === 'sysfs' ? reader.string(record, 'path', path, null) : null,
    signal:
      driver === 'serial'
        ? reader.choice(record, 'signal', path, ['cts', 'dsr', 'dcd'] as const, null)
        : null,
    pin: driver === 'espruino' ? reader.string(record, 'pin', path, null) : null,
    activeLow: reader.boolean(record, 'activeLow', path, false),
    debounceMs: reader.integer(record, 'debounceMs', path, [0, 10000], DEFAULTS.pinDebounceMs),
    action: reader.choice(record, 'action', path, ['announce', 'withdraw'] as const, 'announce'),
  };
  return pin;
}

function readProbe(
  reader: Reader,
  value: Json,
): { intervalMs: number; timeoutMs: number; fastIntervalMs: number } {
  const record =
    value === undefined ? {} : (reader.object(value, 'probe', CONFIG_KEYS['probe']!) ?? {});
  const intervalMs = reader.integer(
    record,
    'intervalMs',
    'probe',
    [10, 3600000],
    DEFAULTS.intervalMs,
  );
  const timeoutMs = reader.integer(
    record,
    'timeoutMs',
    'probe',
    [1, 3600000],
    Math.min(DEFAULTS.timeoutMs, intervalMs),
  );
  const fastIntervalMs = reader.integer(
    record,
    'fastIntervalMs',
    'probe',
    [10, 3600000],
    intervalMs,
  );
  if (fastIntervalMs > intervalMs) {
    reader.problem(
      'probe.fastIntervalMs',
      fastIntervalMs + ' must not exceed probe.intervalMs (' + intervalMs + ')',
    );
  }
  if (timeoutMs > fastIntervalMs) {
    reader.problem(
      'probe.timeoutMs',
      timeoutMs +
        ' must not exceed the probe interval (' +
        fastIntervalMs +
        '): one probe per target is outstanding at a time',
    );
  }
  return { intervalMs, timeoutMs, fastIntervalMs };
}

/** Each BGP peer needs a next hop for every family the services announce. */
function checkNextHops(
  reader: Reader,
  services: readonly ServiceConfig[],
  announcer: AnnouncerConfig,
): void {
  if (announcer.kind !== 'bgp') return;
  const families = [4, 6].filter((family) =>
    services.some((service) => service.prefixes.some((prefix) => prefix.family === family)),
  );
  for (let index = 0; index < announcer.peers.length; index++) {
    const peer = announcer.peers[index]!;
    for (const family of families) {
      const local = peer.localAddress !== null && peer.localAddress.family === family;
      if ((family === 4 ? peer.nextHopV4 : peer.nextHopV6) !== null || local) continue;
      const path = 'announcer.peers[' + index + '].nextHopV' + family;
      const ip = 'IPv' + family;
      reader.problem(
        path,
        'is required: services announce ' + ip + ' prefixes and localAddress is not ' + ip,
      );
    }
  }
}

function checkPrefixesUnique(reader: Reader, services: readonly ServiceConfig[]): void {
  const seen: string[] = [];
  for (let s = 0; s < services.length; s++) {
    const prefixes = services[s]!.prefixes;
    for (let p = 0; p < prefixes.length; p++) {
      if (seen.indexOf(prefixes[p]!.text) >= 0) {
        reader.problem(
          'services[' + s + '].prefixes[' + p + ']',
          prefixes[p]!.text + ' is announced by another entry already',
        );
      }
      seen.push(prefixes[p]!.text);
    }
  }
}

/** `metrics.listen`: ADDRESS:PORT with a real address and a port from 1 to 65535. */
function checkListen(reader: Reader, listen: string): void {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):([0-9]{1,5})$/.exec(listen);
  const address = match === null ? null : parseAddress(match[1] ?? match[2]!);
  const port = match === null ? 0 : parseInt(match[3]!, 10);
  if (
    address === null ||
    port < 1 ||
    port > 65535 ||
    (match![1] !== undefined) !== (address.family === 6)
  ) {
    reader.problem(
      'metrics.listen',
      show(listen) + ' must be ADDRESS:PORT, port 1 to 65535 (IPv6 as [ADDRESS]:PORT)',
    );
  }
}

/** `metrics`: where to listen, and the web config file (TLS, basic auth) checked by the host. */
function readMetrics(
  reader: Reader,
  value: Json | undefined,
): { listen: string | null; webConfigFile: string | null } {
  const metrics =
    value === undefined ? null : reader.object(value, 'metrics', CONFIG_KEYS['metrics']!);
  if (metrics === null) return { listen: null, webConfigFile: null };
  const listen = reader.string(metrics, 'listen', 'metrics', null);
  if (listen !== null) checkListen(reader, listen);
  return { listen, webConfigFile: reader.optionalString(metrics, 'webConfigFile', 'metrics') };
}

/** Validates a parsed JSON document. All problems at once; a config only when there are none. */
export function readConfig(document: Json): ConfigResult {
  const reader = new Reader();
  const top = reader.object(document, 'config', CONFIG_KEYS['config']!) ?? {};
  const device = reader.object(top['device'], 'device', CONFIG_KEYS['device']!);
  const deviceName = device === null ? '' : (reader.string(device, 'name', 'device', null) ?? '');
  if (deviceName !== '' && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(deviceName)) {
    reader.problem(
      'device.name',
      show(deviceName) + ' must be 1-64 of A-Z a-z 0-9 . _ - (it is written into every audit line)',
    );
  }
  const probe = readProbe(reader, top['probe']);
  const services: ServiceConfig[] = [];
  const list = reader.array(top['services'], 'services', 1, SERVICES_MAX);
  for (let i = 0; list !== null && i < list.length; i++) {
    const service = readService(reader, list[i], 'services[' + i + ']');
    if (service !== null) services.push(service);
  }
  checkUniqueNames(
    reader,
    services.map((service) => service.name),
    'services',
    'service name',
  );
  checkPrefixesUnique(reader, services);
  const announcer = readAnnouncer(reader, top['announcer'], 'announcer');
  checkNextHops(reader, services, announcer);
  const consoleConfig =
    top['console'] === undefined ? null : readConsole(reader, top['console'], 'console');
  const overridePin =
    top['overridePin'] === undefined
      ? null
      : readOverridePin(reader, top['overridePin'], 'overridePin');
  const stateDir = reader.optionalString(top, 'stateDir', 'config');
  const metrics = readMetrics(reader, top['metrics']);
  const watchdog =
    top['watchdog'] === undefined
      ? null
      : reader.object(top['watchdog'], 'watchdog', CONFIG_KEYS['watchdog']!);
  const watchdogDevice =
    watchdog === null ? null : reader.string(watchdog, 'device', 'watchdog', null);
  const fleet = top['fleet'] === undefined ? null : readFleet(reader, top['fleet']);
  const guard = top['guard'] === undefined ? null : readGuard(reader, top['guard']);
  if (reader.errors.length > 0) return { config: null, errors: reader.errors };
  return {
    config: {
      deviceName,
      intervalMs: probe.intervalMs,
      timeoutMs: probe.timeoutMs,
      fastIntervalMs: probe.fastIntervalMs,
      services,
      announcer,
      console: consoleConfig,
      overridePin,
      stateDir,
      metricsListen: metrics.listen,
      metricsWebConfigFile: metrics.webConfigFile,
      watchdogDevice,
      fleet,
      guard,
    },
    errors: null,
  };
}

/**
 * Where `text` nests objects and arrays deeper than CONFIG_DEPTH_MAX (-1: it does not). Checked
 * before parsing, without recursion, so that no depth of input can exhaust the stack.
 */
function overlyDeepAt(text: string): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === 0x5c)
        i++; // a backslash escapes the next character
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) {
      inString = true;
    } else if (code === 0x7b || code === 0x5b) {
      if (++depth > CONFIG_DEPTH_MAX) return i;
    } else if (code === 0x7d || code === 0x5d) {
      depth--;
    }
  }
  return -1;
}

/** `line L column C` of the character at `offset` of `text`. */
function lineAndColumn(text: string, offset: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return 'line ' + line + ' column ' + (offset - lineStart + 1);
}

/** A JSON syntax error on one line: where, and V8's words without the quoted input. */
function syntaxProblem(text: string, error: Error): string {
  const position = /at position (\d+)/.exec(error.message);
  const words = error.message
    .replace(/, "[\s\S]*" is not valid JSON$/, '')
    .replace(/ in JSON at position \d+[\s\S]*$/, '')
    .replace(/\s+/g, ' ')
    .slice(0, 120);
  const where = position === null ? '' : ' at ' + lineAndColumn(text, Number(position[1]));
  return 'config: is not valid JSON' + where + ' (' + words + ')';
}

/**
 * Parses JSON text and validates it. A syntax error is one problem at `config`, on one line; a
 * UTF-8 byte order mark is allowed; a document nested deeper than CONFIG_DEPTH_MAX is refused.
 */
export function parseConfigText(text: string): ConfigResult {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const deepAt = overlyDeepAt(body);
  if (deepAt >= 0) {
    const problem =
      'config: nests deeper than ' + CONFIG_DEPTH_MAX + ' levels at ' + lineAndColumn(body, deepAt);
    return { config: null, errors: [problem] };
  }
  let document: Json;
  try {
    document = JSON.parse(body);
  } catch (error) {
    return { config: null, errors: [syntaxProblem(body, error as Error)] };
  }
  return readConfig(document);
}
