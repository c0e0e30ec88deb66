// Config validation (SPEC.md): the example is valid, and every problem is reported with its path.

import { describe, expect, it } from 'vitest';

import { formatIPv6, parseAddress, parsePrefix } from '../../firmware/address';
import { parseConfigText, readConfig } from '../../config/validate';
import { document, SPEC_EXAMPLE } from '../helpers';

describe('config', () => {
  it('accepts the SPEC.md example and fills in what it parsed', () => {
    const result = parseConfigText(SPEC_EXAMPLE);
    expect(result.errors).toBeNull();
    const config = result.config!;
    expect(config.intervalMs).toBe(250);
    expect(config.fastIntervalMs).toBe(250);
    const service = config.services[0]!;
    expect(service.targets.map((target) => target.address!.text)).toEqual([
      '10.1.0.53',
      '2001:db8:a::53',
      '10.3.0.1',
    ]);
    expect(service.targets[1]!.recordType).toBe(28);
    expect(service.local!.recordType).toBe(6);
    expect(service.prefixes.map((prefix) => prefix.text)).toEqual([
      '192.0.2.53/32',
      '2001:db8:53::/48',
    ]);
    expect(config.announcer.kind).toBe('bgp');
    expect(config.announcer.peers[0]!.holdTimeS).toBe(9);
    expect(config.overridePin!.activeLow).toBe(true);
  });

  it('applies the documented defaults', () => {
    const minimal = {
      device: { name: 'x' },
      services: [
        {
          name: 'dns',
          prefixes: ['192.0.2.53/32'],
          backbone: {
            quorum: 1,
            targets: [{ name: 'a', kind: 'dns', address: '10.0.0.1', query: 'health.example' }],
          },
        },
      ],
      announcer: { kind: 'exabgp' },
    };
    const config = readConfig(minimal).config!;
    expect(config.intervalMs).toBe(1000);
    expect(config.timeoutMs).toBe(500);
    const service = config.services[0]!;
    expect([service.rise, service.fall, service.holdDownMs]).toEqual([3, 3, 10000]);
    expect(service.targets[0]!.port).toBe(53);
    expect(service.targets[0]!.recordType).toBe(1);
    expect(service.targets[0]!.rcodeMask).toBe(1);
    expect(config.announcer.onShutdown).toBe('withdraw');
  });

  it('reports every problem at once, one PATH: PROBLEM each', () => {
    const broken = document() as any;
    broken.probe = { intervalMs: 100, timeoutMs: 150 };
    broken.services[0].prefixes = ['192.0.2.53/24', 'banana'];
    broken.services[0].backbone.quorum = 4;
    broken.services[0].backbone.targets[1].address = '10.1.0';
    broken.services[0].backbone.targets[2].type = 'MX';
    broken.services[0].backbone.targets[0].expectAddress = '2001:db8::1';
    broken.services[0].rise = 0;
    broken.services[0].damping = {
      halfLifeMs: 60000,
      penalty: 1000,
      suppress: 700,
      reuse: 750,
      maxSuppressMs: 60000,
    };
    broken.announcer = {
      kind: 'bgp',
      localAs: 65010,
      routerId: '::1',
      peers: [{ address: '127.0.0.2', remoteAs: 65000, holdTimeS: 2 }],
    };
    broken.colour = 'blue';
    const result = readConfig(broken);
    expect(result.config).toBeNull();
    expect(result.errors).toEqual(
      expect.arrayContaining([
        'probe.timeoutMs: 150 must not exceed the probe interval (100): one probe per target is outstanding at a time',
        'services[0].prefixes[0]: "192.0.2.53/24" has host bits set beyond /24',
        'services[0].prefixes[1]: "banana" is not a prefix: "address/length" expected',
        'services[0].backbone.quorum: 4 must be an integer from 1 to 3',
        'services[0].backbone.targets[1].address: "10.1.0" is not an IPv4 or IPv6 address',
        'services[0].backbone.targets[2].type: "MX" is not allowed: one of A, AAAA, SOA, TXT',
        'services[0].backbone.targets[0].expectAddress: needs "type": "AAAA" (an answer of type A carries no IPv6 address)',
        'services[0].rise: 0 must be an integer from 1 to 1000',
        'services[0].damping.reuse: 750 must be below suppress (700)',
        'announcer.routerId: must be an IPv4 address (RFC 4271 4.2)',
        'announcer.peers[0].holdTimeS: must be 0 or at least 3 seconds (RFC 4271 4.2)',
        'config.colour: is not a known key (known: device, probe, services, announcer, console, overridePin, ' +
          'stateDir, metrics, watchdog, fleet, guard)',
      ]),
    );
    expect(result.errors!.length).toBe(12);
  });

  it('validates the speaker keys of issue 13: graceful shutdown and restart, passive, MD5', () => {
    const doc = document() as any;
    doc.announcer = {
      kind: 'bgp',
      localAs: 65010,
      routerId: '192.0.2.10',
      peers: [
        {
          address: '127.0.0.2',
          remoteAs: 65000,
          nextHopV4: '192.0.2.10',
          nextHopV6: '2001:db8::10',
        },
      ],
    };
    const defaults = readConfig(doc).config!;
    expect([defaults.announcer.gracefulShutdownMs, defaults.announcer.restartTimeS]).toEqual([
      0, 0,
    ]);
    doc.announcer.gracefulShutdownMs = 5000;
    doc.announcer.restartTimeS = 120;
    const set = readConfig(doc).config!;
    expect([set.announcer.gracefulShutdownMs, set.announcer.restartTimeS]).toEqual([5000, 120]);
    doc.announcer.gracefulShutdownMs = 60001;
    doc.announcer.restartTimeS = 4096;
    expect(readConfig(doc).errors).toEqual([
      'announcer.gracefulShutdownMs: 60001 must be an integer from 0 to 60000',
      'announcer.restartTimeS: 4096 must be an integer from 0 to 4095',
    ]);
    expect([set.announcer.peers[0]!.passive, set.announcer.peers[0]!.passwordFile]).toEqual([
      false,
      null,
    ]);
    doc.announcer.gracefulShutdownMs = 0;
    doc.announcer.restartTimeS = 0;
    Object.assign(doc.announcer.peers[0], {
      passive: true,
      localAddress: '2001:db8::1',
      passwordFile: '/etc/lifeline/bgp.secret',
    });
    expect(readConfig(doc).errors).toEqual([
      'announcer.peers[0].localAddress: must be of the peer address family to listen on',
    ]);
    doc.announcer.peers[0].localAddress = '127.0.0.1';
    const passive = readConfig(doc).config!.announcer.peers[0]!;
    expect([passive.passive, passive.passwordFile]).toEqual([true, '/etc/lifeline/bgp.secret']);
    const exabgp = document() as any;
    exabgp.announcer = { kind: 'exabgp', gracefulShutdownMs: 5000, restartTimeS: 60 };
    expect(readConfig(exabgp).errors).toEqual([
      'announcer.gracefulShutdownMs: applies to "kind": "bgp" only',
      'announcer.restartTimeS: applies to "kind": "bgp" only',
    ]);
  });

  it('rejects damping that could never suppress, duplicate names and prefixes, and bad JSON', () => {
    const doc = document() as any;
    doc.services[0].damping = {
      halfLifeMs: 60000,
      penalty: 1000,
      suppress: 1500,
      reuse: 750,
      maxSuppressMs: 10000,
    };
    doc.services.push(JSON.parse(JSON.stringify(doc.services[0])));
    delete doc.services[1].damping;
    const errors = readConfig(doc).errors!;
    expect(errors).toContain(
      'services[0].damping.maxSuppressMs: 10000 caps the penalty at 841, below suppress (1500): ' +
        'the service could never be suppressed',
    );
    expect(errors).toContain('services[1].name: service name "dns" is used twice');
    expect(errors).toContain(
      'services[1].prefixes[0]: 192.0.2.53/32 is announced by another entry already',
    );
    expect(parseConfigText('{"device": ').errors![0]).toMatch(/^config: is not valid JSON/);
    expect(readConfig([]).errors![0]).toBe('config: must be an object');
  });
});

describe('config: the generated readers (issue 22 item 1)', () => {
  it('names a duplicate by its place in the file, an invalid entry before it counted', () => {
    const doc = document() as any;
    const targets = doc.services[0].backbone.targets;
    targets.unshift('not a target');
    targets.push({ ...targets[1] });
    expect(readConfig(doc).errors).toEqual([
      'services[0].backbone.targets[0]: must be an object',
      'services[0].backbone.targets[4].name: target name "dc1" is used twice',
    ]);
  });

  it('allows $schema at the top of a config and of a service, and reads nothing from it', () => {
    const doc = document() as any;
    doc.$schema = 'lifeline.schema.json';
    doc.services[0].$schema = '../lifeline-service.schema.json';
    expect(json(readConfig(doc).config)).toBe(json(readConfig(document()).config));
    doc.probe.$schema = 'x';
    expect(readConfig(doc).errors).toEqual([
      'probe.$schema: is not a known key (known: intervalMs, timeoutMs, fastIntervalMs)',
    ]);
  });

  it('checks the keys of every override pin driver, each required only for its own', () => {
    const doc = document() as any;
    doc.overridePin = { driver: 'sysfs', path: '/run/pin', chip: '' };
    expect(readConfig(doc).errors).toEqual(['overridePin.chip: must be a non-empty string']);
    doc.overridePin = { driver: 'gpiochip', chip: 'gpiochip0' };
    expect(readConfig(doc).errors).toEqual(['overridePin.line: is required']);
  });
});

const json = (value: unknown): string =>
  JSON.stringify(value, (_key, v) => (v instanceof Uint8Array ? Array.from(v) : v));

describe('config as hostile input', () => {
  it('refuses nesting 6,000 deep in one line instead of overflowing the stack', () => {
    for (const text of [
      '{"device":' + '['.repeat(6000) + ']'.repeat(6000) + '}',
      '{"probe":{"intervalMs":' + '['.repeat(100000) + ']'.repeat(100000) + '}}',
      '{"probe":{"intervalMs":' + '{"a":'.repeat(6000) + '1' + '}'.repeat(6000) + '}}',
    ]) {
      const errors = parseConfigText(text).errors!;
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(/^config: nests deeper than 32 levels at line 1 column \d+$/);
    }
    // Brackets inside strings are not nesting.
    const deepName = '"' + '[{'.repeat(20) + '\\"' + '[{'.repeat(20) + '"'; // an escaped quote too
    const inString = JSON.stringify(document()).replace('"test-edge"', deepName);
    const errors = parseConfigText(inString).errors ?? [];
    expect(errors.filter((error) => error.includes('nests'))).toEqual([]);
    expect(errors).toHaveLength(1); // device.name's characters, nothing else
  });

  it('prints a syntax error as one PATH: PROBLEM line with its line and column', () => {
    const errors = parseConfigText('{\n  "device": {\n   x\n').errors!;
    expect(errors).toHaveLength(1);
    // V8's own words differ between Node releases; where they are, and that it is one line, not.
    expect(errors[0]).toMatch(/^config: is not valid JSON at line 3 column 4 \([^\n]+\)$/);
    const quoted = parseConfigText('{\n"a":\n\nnope\n}').errors!;
    expect(quoted).toHaveLength(1);
    expect(quoted[0]).not.toMatch(/\n/);
  });

  it('accepts a UTF-8 byte order mark', () => {
    expect(parseConfigText('\ufeff' + JSON.stringify(document())).errors).toBeNull();
  });

  it('bounds strings: a 100 MB device name is refused in a short line', () => {
    const doc = document() as any;
    doc.device.name = 'x'.repeat(100 * 1024 * 1024);
    expect(readConfig(doc).errors).toEqual(['device.name: must be at most 4096 characters']);
    doc.device.name = 'edge dns "3"';
    expect(readConfig(doc).errors![0]).toMatch(/^device.name: "edge dns \\"3\\"" must be 1-64 of/);
    doc.device.name = 'x'.repeat(65);
    expect(readConfig(doc).errors![0]).toMatch(
      /^device.name: "x{64}\.\.\." \(65 characters\) must/,
    );
  });

  it('refuses a metrics.listen whose port or address cannot be listened on', () => {
    const doc = document() as any;
    for (const listen of [
      '127.0.0.1:99999',
      '127.0.0.1:0',
      '1.2.3:9143',
      '[::1:9143',
      '[127.0.0.1]:1',
    ]) {
      doc.metrics = { listen };
      expect(readConfig(doc).errors).toEqual([
        'metrics.listen: "' +
          listen +
          '" must be ADDRESS:PORT, port 1 to 65535 (IPv6 as [ADDRESS]:PORT)',
      ]);
    }
    for (const listen of ['127.0.0.1:9143', '[::1]:9143', '0.0.0.0:65535']) {
      doc.metrics = { listen };
      expect(readConfig(doc).errors).toBeNull();
    }
  });

  it('refuses the unspecified, broadcast and multicast addresses as targets and peers', () => {
    const doc = document() as any;
    const targets = doc.services[0].backbone.targets;
    targets[0].address = '0.0.0.0';
    targets[1].address = '255.255.255.255';
    targets[2].address = '224.0.0.251';
    targets.push({ name: 'v6', kind: 'tcp', address: 'ff02::1', port: 53 });
    targets.push({ name: 'any', kind: 'tcp', address: '::', port: 53 });
    expect(readConfig(doc).errors).toEqual([
      'services[0].backbone.targets[0].address: 0.0.0.0 is the unspecified address, not a host',
      'services[0].backbone.targets[1].address: 255.255.255.255 is the broadcast address, not a host',
      'services[0].backbone.targets[2].address: 224.0.0.251 is a multicast address, not a host',
      'services[0].backbone.targets[3].address: ff02::1 is a multicast address, not a host',
      'services[0].backbone.targets[4].address: :: is the unspecified address, not a host',
    ]);
  });
});

describe('addresses', () => {
  it('parses IPv4 strictly and IPv6 in every text form, formatting as RFC 5952', () => {
    expect(parseAddress('10.1.0.53')!.text).toBe('10.1.0.53');
    for (const bad of [
      '10.1.0',
      '10.1.0.256',
      '010.1.0.1',
      '1.2.3.4.5',
      '',
      'fe80::1%eth0',
      '1::2::3',
      '12345::',
      ':::',
    ]) {
      expect(parseAddress(bad), bad).toBeNull();
    }
    const cases: [string, string][] = [
      ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
      ['::', '::'],
      ['::1', '::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'],
      ['2001:db8::0:1', '2001:db8::1'],
      ['::ffff:192.0.2.1', '::ffff:c000:201'],
      ['1:0:1:0:1:0:1:0', '1:0:1:0:1:0:1:0'],
      ['fe80::', 'fe80::'],
    ];
    for (const [text, canonical] of cases) expect(parseAddress(text)!.text, text).toBe(canonical);
    const bytes = new Uint8Array(16);
    bytes[15] = 1;
    expect(formatIPv6(bytes, 0)).toBe('::1');
  });

  it('parses prefixes and refuses host bits', () => {
    expect((parsePrefix('2001:db8:53::/48') as { text: string }).text).toBe('2001:db8:53::/48');
    expect(parsePrefix('192.0.2.0/33')).toBe('prefix length must be 0 to 32');
    expect(parsePrefix('2001:db8:53::1/48')).toBe('has host bits set beyond /48');
  });
});
