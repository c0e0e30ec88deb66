// The config's one schema (config/lifeline.schema.json, issue 22 item 1): the validator's readers
// and the reference's key tables are what the generator makes of it today; the generator refuses a
// schema it would not enforce whole; an independent validator (ajv, draft 2020-12) accepts every
// shipped example config and rejects a misspelt key; and the generated readers agree with ajv on
// every key's own limits, so that what the schema says is what Lifeline enforces.

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Ajv2020, type ErrorObject } from '../support/ajv';
import { describe, expect, it } from 'vitest';

import {
  expectedModule,
  moduleText,
  OWN_KEYWORDS,
  referenceText,
  SCHEMA_PATH,
} from '../../build/config-schema.mjs';
import { readConfigFiles } from '../../config/dropins';
import * as formats from '../../config/formats';
import { Reader, STRING_LENGTH_MAX } from '../../config/reader';
import { CONFIG_KEYS, readDocument, type Checks } from '../../config/schema';
import { parseConfigText } from '../../config/validate';
import { RCODE_NAMES, RECORD_TYPE_NAMES } from '../../firmware/dns';

const SCHEMA_TEXT = readFileSync(SCHEMA_PATH, 'utf8');
const SCHEMA = JSON.parse(SCHEMA_TEXT);
const SERVICE_SCHEMA = JSON.parse(readFileSync('config/lifeline-service.schema.json', 'utf8'));

/** Every `format` the schema names. */
function formatsOf(schema: unknown, found = new Set<string>()): Set<string> {
  if (schema !== null && typeof schema === 'object') {
    const record = schema as Record<string, unknown>;
    if (typeof record['format'] === 'string') found.add(record['format']);
    for (const value of Object.values(record)) formatsOf(value, found);
  }
  return found;
}

/** ajv in strict mode (but for types), with Lifeline's keywords as annotations and its formats as names only. */
function independentValidator(): Ajv2020 {
  // Strict: an unknown keyword or format is an error (not asked for: a type beside a $ref, and
  // the properties of a branch that requires keys of its object).
  const ajv = new Ajv2020({
    strict: true,
    strictTypes: false,
    strictRequired: false,
    allErrors: true,
  });
  ajv.addVocabulary(OWN_KEYWORDS);
  for (const format of formatsOf(SCHEMA)) ajv.addFormat(format, true);
  ajv.addSchema(SCHEMA, 'lifeline.schema.json');
  ajv.addSchema(SERVICE_SCHEMA, 'lifeline-service.schema.json');
  return ajv;
}

const AJV = independentValidator();

/** The README's minimal config. */
const MINIMAL = JSON.parse(
  /^```json\n([^]*?)^```/m.exec(
    readFileSync('README.md', 'utf8').split('## A minimal config')[1]!,
  )![1]!,
);

/** Each shipped example: where, its text, and the schema it names. */
function shippedExamples(): { where: string; text: string; document: any }[] {
  const examples: { where: string; text: string; document: any }[] = [];
  const configs = readdirSync('config')
    .filter((name) => name.endsWith('.json') && !name.endsWith('.schema.json'))
    .map((name) => 'config/' + name);
  for (const path of [...configs, 'packaging/config.example.json']) {
    const text = readFileSync(path, 'utf8');
    examples.push({ where: path, text, document: JSON.parse(text) });
  }
  const docs = ['README.md', ...readdirSync('docs').map((name) => 'docs/' + name)];
  for (const path of docs.filter((name) => name.endsWith('.md'))) {
    for (const block of readFileSync(path, 'utf8').matchAll(/^```json\n([^]*?)^```/gm)) {
      const text = block[1]!;
      if (text.includes('"device"') || text.includes('"$schema"'))
        examples.push({ where: path, text, document: JSON.parse(text) });
    }
  }
  return examples;
}

function ajvProblems(schema: string, document: unknown): string[] {
  const validate = AJV.getSchema(schema)!;
  return validate(document)
    ? []
    : (validate.errors ?? []).map((e) => e.instancePath + ' ' + e.message);
}

describe('the schema and what is made of it', () => {
  it('is what config/schema.ts and the reference tables were generated from (npm run build)', async () => {
    expect(readFileSync('config/schema.ts', 'utf8')).toBe(await expectedModule());
    const reference = readFileSync('docs/reference.md', 'utf8');
    expect(reference).toBe(referenceText(reference, SCHEMA_TEXT));
    // A key table the reference no longer matches is found (here: a default changed by hand).
    const edited = reference.replace('| `services[].rise` | 3 |', '| `services[].rise` | 4 |');
    expect(edited).not.toBe(reference);
    expect(referenceText(edited, SCHEMA_TEXT)).toBe(reference);
  });

  it('refuses a schema with a constraint the readers would not enforce, or a key half described', () => {
    const edit = (change: (schema: any) => void): (() => string) => {
      const schema = JSON.parse(SCHEMA_TEXT);
      change(schema);
      return () => moduleText(JSON.stringify(schema), 'test');
    };
    expect(edit(() => {})).not.toThrow();
    expect(edit((s) => (s.properties.probe.properties.intervalMs.multipleOf = 10))).toThrow(
      'probe.intervalMs: the generator does not compile "multipleOf" for a integer',
    );
    expect(edit((s) => delete s.$defs.service.properties.rise['x-board'])).toThrow(
      'services[] rise: needs x-board',
    );
    expect(edit((s) => (s.$defs.service.properties.rise.maximum = 999))).toThrow(
      'services[] rise: the description must state 999',
    );
    expect(edit((s) => (s.$defs.service.properties.rise.format = 'roman'))).toThrow(
      'unknown format roman',
    );
    expect(edit((s) => (s.$defs.peer.properties.port.not = { const: 7 }))).not.toThrow();
    expect(edit((s) => (s.properties.console.properties.baud.not = { const: 7 }))).toThrow(
      '`not` is enforced by an x-check on its object only',
    );
  });

  it("has the record types and RCODEs of firmware/dns.ts, and the readers' string bound", () => {
    const target = SCHEMA.$defs.target.properties;
    expect(target.type.enum).toEqual(RECORD_TYPE_NAMES);
    expect(target.expectRcode.items.enum).toEqual(RCODE_NAMES);
    expect(target.expectRcode.maxItems).toBe(RCODE_NAMES.length);
    expect(SCHEMA.$defs.string.maxLength).toBe(STRING_LENGTH_MAX);
  });
});

describe('an independent validator (ajv, JSON Schema draft 2020-12)', () => {
  it('accepts every shipped example config, each naming the schema it follows', () => {
    const examples = shippedExamples();
    expect(examples.length).toBeGreaterThanOrEqual(6);
    for (const { where, document, text } of examples) {
      const named = document.$schema;
      expect(['lifeline.schema.json', '../lifeline-service.schema.json'], where).toContain(named);
      expect(ajvProblems(named.replace('../', ''), document), where).toEqual([]);
      // And Lifeline takes each: a config, or a drop-in beside the minimal config of the README.
      const main = { path: 'config.json', text: JSON.stringify({ ...MINIMAL, services: [] }) };
      const dropIns = [{ path: 'services.d/x.json', text }];
      const files = { main, dir: 'services.d', dropIns };
      const ours = document.device === undefined ? readConfigFiles(files) : parseConfigText(text);
      expect(ours.errors, where).toBeNull();
    }
    expect(examples.filter((example) => example.document.device === undefined)).not.toEqual([]);
    // Where the file is, the name finds the schema (the packaging example's is a link to it).
    for (const path of readdirSync('config').filter((name) => name.endsWith('.example.json')))
      expect(JSON.parse(readFileSync(join('config', path), 'utf8')).$schema).toBe(
        'lifeline.schema.json',
      );
    expect(
      readFileSync(join(dirname('packaging/config.example.json'), 'lifeline.schema.json'), 'utf8'),
    ).toBe(SCHEMA_TEXT);
  });

  it('rejects a misspelt key, where Lifeline does too', () => {
    const document = JSON.parse(readFileSync('packaging/config.example.json', 'utf8'));
    document.services[0].holdDownMS = document.services[0].holdDownMs;
    delete document.services[0].holdDownMs;
    expect(ajvProblems('lifeline.schema.json', document)).toContain(
      '/services/0 must NOT have additional properties',
    );
    const service = { ...document.services[0], $schema: '../lifeline-service.schema.json' };
    expect(ajvProblems('lifeline-service.schema.json', service)).toContain(
      ' must NOT have additional properties',
    );
  });
});

/** Configs that between them have every key (the branches of `kind` apart). */
function fullDocuments(): any[] {
  const target = {
    name: 'a',
    kind: 'dns',
    address: '10.0.0.1',
    port: 53,
    query: 'health.example.',
    type: 'A',
    expectRcode: ['NOERROR'],
    expectAddress: '192.0.2.1',
  };
  const service = {
    $schema: 'x',
    name: 'dns',
    prefixes: ['192.0.2.53/32'],
    backbone: { quorum: 1, targets: [target] },
    local: { ...target, name: 'local' },
    rise: 3,
    fall: 3,
    holdDownMs: 1000,
    damping: { halfLifeMs: 1000, penalty: 1, suppress: 2, reuse: 1, maxSuppressMs: 1000 },
    med: 1,
    communities: ['1:2'],
    drain: { med: 2, communities: ['1:3'] },
  };
  const common = {
    $schema: 'x',
    device: { name: 'edge' },
    probe: { intervalMs: 1000, timeoutMs: 500, fastIntervalMs: 1000 },
    services: [service],
    console: {
      device: '/dev/ttyS0',
      path: '/dev/ttyS0',
      baud: 115200,
      keyFile: 'k',
      recoveryCodesFile: 'c',
      idleTimeoutMs: 300000,
    },
    overridePin: {
      driver: 'gpiochip',
      chip: 'gpiochip0',
      line: 1,
      path: '/run/pin',
      signal: 'cts',
      pin: 'D5',
      activeLow: false,
      debounceMs: 50,
      action: 'announce',
    },
    stateDir: '/var/lib/lifeline',
    metrics: { listen: '127.0.0.1:9143', webConfigFile: 'w' },
    watchdog: { device: '/dev/watchdog' },
    fleet: {
      siteCommunity: '1:1',
      lastResortCommunity: '1:2',
      lastResortMed: 1,
      siteAs: [65000],
      maxSites: 16,
      minHealthySites: 1,
      whenUnknown: 'local',
      rejoinSpreadMs: 0,
      settleMs: 2000,
    },
    guard: { panicFraction: 0.5 },
  };
  const peer = {
    address: '10.9.0.1',
    port: 179,
    remoteAs: 65000,
    holdTimeS: 90,
    localAddress: '10.9.0.2',
    nextHopV4: '192.0.2.10',
    nextHopV6: '2001:db8::10',
    passive: false,
    passwordFile: 'p',
    bfd: { intervalMs: 300, multiplier: 3, multihop: false },
  };
  return [
    {
      ...common,
      announcer: {
        kind: 'bgp',
        onShutdown: 'withdraw',
        localAs: 65010,
        routerId: '192.0.2.10',
        peers: [peer],
        gracefulShutdownMs: 0,
        restartTimeS: 0,
      },
    },
    { ...common, announcer: { kind: 'exabgp', nextHopV4: '192.0.2.10', nextHopV6: '::1' } },
    withExecTarget({ ...common, announcer: { kind: 'exabgp' } }),
  ];
}

/** `document` with its first service's first target an `exec` one, with every key of it. */
function withExecTarget(document: any): any {
  const copy = structuredClone(document);
  const command = ['/usr/bin/dig', '+short', 'health.example.'];
  copy.services[0].backbone.targets[0] = {
    name: 'a',
    kind: 'exec',
    exec: { command, intervalMs: 2000, timeoutMs: 1000 },
  };
  return copy;
}

/** The value at a key path of CONFIG_KEYS (`services[].rise`: the first entry's), and its parent. */
function locate(document: any, path: string): { parent: any; key: string; where: string } | null {
  const steps = path.split('.');
  let parent = document;
  let where = '';
  for (const step of steps.slice(0, -1)) {
    const list = step.endsWith('[]');
    const key = list ? step.slice(0, -2) : step;
    parent = parent?.[key];
    where += (where === '' ? '' : '.') + key;
    if (list) {
      parent = parent?.[0];
      where += '[0]';
    }
  }
  const key = steps[steps.length - 1]!;
  if (parent === null || typeof parent !== 'object' || !(key in parent)) return null;
  return { parent, key, where: (where === '' ? '' : where + '.') + key };
}

const NO_CHECKS = new Proxy({}, { get: () => () => {} }) as Checks;

/** The paths the generated readers (without the checks across keys) find problems at. */
function readerPaths(document: unknown): string[] {
  const reader = new Reader();
  readDocument(reader, document, 'config', NO_CHECKS);
  return reader.problems.map((problem) => problem.path.replace(/^config\./, ''));
}

/** The paths ajv finds problems at, written as Lifeline writes them. */
function ajvPaths(document: unknown): string[] {
  const validate = AJV.getSchema('lifeline.schema.json')!;
  if (validate(document)) return [];
  const path = (error: ErrorObject): string => {
    const at = error.instancePath
      .slice(1)
      .replace(/\/(\d+)/g, '[$1]')
      .replace(/\//g, '.');
    const extra =
      (error.params as { additionalProperty?: string; missingProperty?: string })
        .additionalProperty ?? (error.params as { missingProperty?: string }).missingProperty;
    return extra === undefined ? at : (at === '' ? '' : at + '.') + extra;
  };
  return (validate.errors ?? [])
    .filter((error) => !['if', 'allOf'].includes(error.keyword))
    .map(path);
}

describe('the generated readers and the schema', () => {
  it('agree with ajv on every key: its limits, type, choices and absence', () => {
    const documents = fullDocuments();
    for (const document of documents) {
      expect(readerPaths(document)).toEqual([]);
      expect(ajvPaths(document)).toEqual([]);
    }
    let compared = 0;
    for (const parent in CONFIG_KEYS) {
      for (const key of CONFIG_KEYS[parent]!) {
        const path = parent === 'config' ? key : parent + '.' + key;
        const document = documents.find((candidate) => locate(candidate, path) !== null)!;
        expect(document, path).toBeDefined();
        const { parent: record, where } = locate(document, path)!;
        for (const value of trialValues(path, record[key])) {
          const copy = structuredClone(document);
          const at = locate(copy, path)!;
          if (value === undefined) delete at.parent[key];
          else at.parent[key] = value;
          const near = (found: string): boolean => found === where || found.startsWith(where + '[');
          const ours = readerPaths(copy).filter(near);
          const theirs = ajvPaths(copy).filter(near);
          expect(ours.length > 0, path + ' = ' + JSON.stringify(value)).toBe(theirs.length > 0);
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(500);
  });

  it('agree with ajv on an unknown key in every object, and on a key its branch forbids', () => {
    const [bgp, exabgp, exec] = fullDocuments();
    for (const parent in CONFIG_KEYS) {
      // The exec target's object is in the third document only.
      const copy = structuredClone(parent.endsWith('.exec') ? exec : bgp);
      const object = parent === 'config' ? copy : locateObject(copy, parent);
      object.colour = 1;
      const where = parent === 'config' ? 'colour' : objectPath(parent) + '.colour';
      expect(readerPaths(copy), parent).toContain(where);
      expect(ajvPaths(copy), parent).toContain(where);
    }
    const branches: [any, (document: any) => void, string][] = [
      [bgp, (d) => (d.announcer.nextHopV4 = '192.0.2.1'), 'announcer.nextHopV4'],
      [exabgp, (d) => (d.announcer.localAs = 65000), 'announcer.localAs'],
      [
        exec,
        (d) => (d.services[0].backbone.targets[0].port = 53),
        'services[0].backbone.targets[0].port',
      ],
      [
        bgp,
        (d) => (d.services[0].backbone.targets[0].exec = {}),
        'services[0].backbone.targets[0].exec',
      ],
      [bgp, (d) => Object.assign(d.services[0].local, { kind: 'tcp' }), 'services[0].local.query'],
    ];
    for (const [document, change, where] of branches) {
      const copy = structuredClone(document);
      change(copy);
      expect(readerPaths(copy)).toContain(where);
      expect(ajvPaths(copy)).toContain(where);
    }
  });
});

/** The object at a parent path of CONFIG_KEYS (`services[].backbone`: the first entry's). */
function locateObject(document: any, parent: string): any {
  let object = document;
  for (const step of parent.split('.')) {
    object = object[step.replace(/\[\]$/, '')];
    if (step.endsWith('[]')) object = object[0];
  }
  return object;
}

function objectPath(parent: string): string {
  return parent.replace(/\[\]/g, '[0]');
}

/**
 * The values a key is tried with: absent, of another type, at and beyond its limits. A format's
 * strings are not (ajv knows formats by name only: test/config.test.ts holds what they accept).
 */
function trialValues(path: string, value: unknown): unknown[] {
  const schema = schemaAt(path);
  const strings = schema.format === undefined ? ['x', '', 'x'.repeat(STRING_LENGTH_MAX + 1)] : [];
  const values: unknown[] = [undefined, null, true, {}, [], ...strings];
  if (typeof value !== 'number') values.push(5);
  const low = schema.minimum ?? schema.minItems;
  const high = schema['x-maximum'] === undefined ? (schema.maximum ?? schema.maxItems) : undefined;
  if (typeof value === 'number' && low !== undefined) values.push(low - 1, low, 1.5);
  if (typeof value === 'number' && high !== undefined) values.push(high, high + 1);
  const entries = (n: number): unknown[] =>
    Array.from({ length: n }, () => (value as unknown[])[0]);
  if (Array.isArray(value) && low !== undefined) values.push(entries(low));
  if (Array.isArray(value) && high !== undefined) values.push(entries(high + 1));
  return values;
}

/** The schema of a key path of CONFIG_KEYS, its $refs followed. */
function schemaAt(path: string): any {
  const follow = (schema: any): any => {
    if (schema?.$ref === undefined) return schema;
    const beside = { ...schema };
    delete beside.$ref;
    return { ...follow(SCHEMA.$defs[schema.$ref.split('/').pop()]), ...beside };
  };
  let schema: any = SCHEMA;
  for (const step of path.split('.')) {
    schema = follow(schema.properties[step.replace(/\[\]$/, '')]);
    if (step.endsWith('[]')) schema = follow(schema.items);
  }
  return schema;
}

describe('the formats (config/formats.ts) and the constraints the schema states beside them', () => {
  it('an AS number: an integer from 1 to 2^32-1, not AS_TRANS', () => {
    const asn = SCHEMA.properties.fleet.properties.siteAs.items;
    const accepts = (value: unknown): boolean => formats.asn(new Reader(), value, 'x') !== null;
    const schemaAccepts = AJV.compile({ ...asn, format: undefined });
    for (const value of [0, 1, 23456, 4294967295, 4294967296, 1.5, '1', null])
      expect(accepts(value), String(value)).toBe(schemaAccepts(value));
  });

  it('an RCODE: one of the names the schema lists', () => {
    const accepts = (value: unknown): boolean => formats.rcode(new Reader(), value, 'x') !== null;
    for (const name of SCHEMA.$defs.target.properties.expectRcode.items.enum)
      expect(accepts(name)).toBe(true);
    for (const value of ['BOGUS', 'noerror', 0, null]) expect(accepts(value)).toBe(false);
  });

  it('each format is for strings (or, AS numbers, integers), as the schema types them', () => {
    const reader = new Reader();
    for (const name of formatsOf(SCHEMA)) {
      const parse = (formats as Record<string, unknown>)[
        name.replace(/-(\w)/g, (_m, c: string) => c.toUpperCase())
      ] as (reader: Reader, value: unknown, path: string) => unknown;
      expect(typeof parse, name).toBe('function');
      expect(parse(reader, name === 'asn' ? '65000' : 65000, name), name).toBeNull();
    }
  });
});
