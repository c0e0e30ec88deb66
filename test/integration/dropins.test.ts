// Drop-in files (issue 22 item 2, docs/reference.md "Drop-in files"): `--config FILE --config-dir
// DIR` reads the main file and one service from each DIR/*.json, in name order after the main
// file's own; every problem line names its file, a service name or a prefix twice is a problem
// across files as within one; check-config takes the same arguments; `lifeline run` runs the
// merged config, and lifeline_config_info has the hash the same settings in one file give.

import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { readConfigFiles } from '../../config/dropins';
import { readConfig } from '../../config/validate';
import { randomPort, stopProcess, waitFor } from '../support/peers';

const CLI = 'dist/lifeline.mjs';
const MAIN = '/etc/lifeline/config.json';
const DIR = '/etc/lifeline/services.d';

/** A service of one TCP target (on loopback's `port`) announcing `prefix`. */
function service(name: string, prefix: string, port = 443): any {
  return {
    name,
    prefixes: [prefix],
    backbone: { quorum: 1, targets: [{ name: 't', kind: 'tcp', address: '127.0.0.1', port }] },
    rise: 2,
    fall: 2,
    holdDownMs: 0,
  };
}

/** A main file: everything but the services. */
function mainFile(extra: Record<string, unknown> = {}): any {
  return {
    $schema: 'lifeline.schema.json',
    device: { name: 'edge-1' },
    probe: { intervalMs: 100, timeoutMs: 80 },
    announcer: { kind: 'exabgp' },
    ...extra,
  };
}

function files(main: unknown, dropIns: [string, unknown][]): ReturnType<typeof readConfigFiles> {
  const text = (value: unknown): string =>
    typeof value === 'string' ? value : JSON.stringify(value);
  return readConfigFiles({
    main: { path: MAIN, text: text(main) },
    dir: DIR,
    dropIns: dropIns.map(([name, value]) => ({ path: DIR + '/' + name, text: text(value) })),
  });
}

const json = (value: unknown): string =>
  JSON.stringify(value, (_key, v) => (v instanceof Uint8Array ? Array.from(v) : v));

describe('a config in several files', () => {
  it("takes the main file's services, then one per drop-in in the order given: one file's Config", () => {
    const [a, b, c] = [
      service('a', '192.0.2.1/32'),
      service('b', '192.0.2.2/32'),
      service('c', '192.0.2.3/32'),
    ];
    const split = files({ ...mainFile(), services: [a] }, [
      ['b.json', { $schema: '../lifeline-service.schema.json', ...b }],
      ['c.json', c],
    ]);
    expect(split.errors).toBeNull();
    expect(json(split.config)).toBe(
      json(readConfig({ ...mainFile(), services: [a, b, c] }).config),
    );
    // The main file may leave its services to the drop-ins altogether.
    expect(files(mainFile(), [['a.json', a]]).config!.services.map((s) => s.name)).toEqual(['a']);
  });

  it('names the file of every problem, and where a duplicate name or prefix was first', () => {
    const main = mainFile({ services: [service('dns', '192.0.2.53/32')] });
    main.probe.timeoutMs = 500;
    const broken = service('web', '192.0.2.80/32');
    broken.backbone.targets[0].address = '10.1.0';
    broken.colour = 'blue';
    const result = files(main, [
      ['10-web.json', broken],
      ['20-dns.json', service('dns', '192.0.2.53/32')],
      ['30-ntp.json', service('ntp', '192.0.2.80/32')],
    ]);
    expect(result.errors).toEqual([
      MAIN +
        ': probe.timeoutMs: 500 must not exceed the probe interval (100): one probe per ' +
        'target is outstanding at a time',
      DIR +
        '/10-web.json: service.colour: is not a known key (known: name, prefixes, backbone, ' +
        'local, rise, fall, holdDownMs, damping, med, communities, drain)',
      DIR +
        '/10-web.json: service.backbone.targets[0].address: "10.1.0" is not an IPv4 or IPv6 ' +
        'address',
      DIR +
        '/20-dns.json: service.name: service name "dns" is used twice (first in ' +
        MAIN +
        ': services[0].name)',
      DIR +
        '/20-dns.json: service.prefixes[0]: 192.0.2.53/32 is announced by another entry ' +
        'already (first in ' +
        MAIN +
        ': services[0].prefixes[0])',
      DIR +
        '/30-ntp.json: service.prefixes[0]: 192.0.2.80/32 is announced by another entry ' +
        'already (first in ' +
        DIR +
        '/10-web.json: service.prefixes[0])',
    ]);
  });

  it('refuses a drop-in that is not one service: not JSON, a list, a whole config', () => {
    const result = files(mainFile({ services: [service('dns', '192.0.2.53/32')] }), [
      ['a.json', '{\n  "name": nope\n}'],
      ['b.json', [service('b', '192.0.2.2/32')]],
      ['c.json', { ...mainFile(), services: [service('c', '192.0.2.3/32')] }],
    ]);
    expect(result.errors).toEqual([
      expect.stringMatching(/^\/etc\/lifeline\/services\.d\/a\.json: service: is not valid JSON/),
      DIR + '/b.json: service: must be an object',
      ...['device', 'probe', 'announcer', 'services'].map(
        (key) =>
          DIR +
          '/c.json: service.' +
          key +
          ': is not a known key (known: name, prefixes, ' +
          'backbone, local, rise, fall, holdDownMs, damping, med, communities, drain)',
      ),
      DIR + '/c.json: service.name: is required',
      DIR + '/c.json: service.prefixes: must be an array',
      DIR + '/c.json: service.backbone: must be an object',
    ]);
  });

  it('counts the services of every file against the limit, and says where they are', () => {
    expect(files(mainFile(), []).errors).toEqual([
      MAIN +
        ': services: must have 1 to 16 entries, has 0 (0 in ' +
        MAIN +
        ', 0 in ' +
        DIR +
        '/*.json)',
    ]);
    const many = Array.from({ length: 10 }, (_v, i) => service('s' + i, '192.0.2.' + i + '/32'));
    const more: [string, unknown][] = Array.from({ length: 7 }, (_v, i) => [
      'd' + i + '.json',
      service('d' + i, '198.51.100.' + i + '/32'),
    ]);
    expect(files(mainFile({ services: many }), more).errors).toEqual([
      MAIN +
        ': services: must have 1 to 16 entries, has 17 (10 in ' +
        MAIN +
        ', 7 in ' +
        DIR +
        '/*.json)',
    ]);
  });
});

/** `lifeline ARGS`, as `user` (uid:gid) when given. */
function cli(
  args: string[],
  user?: string,
): { status: number | null; stdout: string; stderr: string } {
  const command =
    user === undefined
      ? [process.execPath, CLI]
      : [
          '/usr/bin/setpriv',
          '--reuid=' + user.split(':')[0],
          '--regid=' + user.split(':')[1],
          '--clear-groups',
          process.execPath,
          CLI,
        ];
  const result = spawnSync(command[0]!, [...command.slice(1), ...args], { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A fresh directory others may read (the test of a file nobody may read runs as nobody). */
function layout(): { root: string; main: string; dir: string } {
  const root = mkdtempSync(join(tmpdir(), 'lifeline-dropins-'));
  chmodSync(root, 0o755);
  const dir = join(root, 'services.d');
  mkdirSync(dir, { mode: 0o755 });
  const main = join(root, 'config.json');
  writeFileSync(main, JSON.stringify(mainFile({ services: [service('dns', '192.0.2.53/32')] })));
  return { root, main, dir };
}

describe('check-config --config-dir on a real directory', () => {
  it('reads DIR/*.json in name order, notes other names, passes over hidden ones, follows links', () => {
    const { root, main, dir } = layout();
    expect(cli(['check-config', main, '--config-dir', dir])).toEqual({
      status: 0,
      stdout: '',
      stderr: '',
    });
    writeFileSync(join(dir, '10-web.json'), JSON.stringify(service('web', '192.0.2.80/32')));
    writeFileSync(join(dir, 'README'), 'one service per file\n');
    writeFileSync(join(dir, 'ntp.json.dpkg-old'), '{');
    writeFileSync(join(dir, '.#10-web.json'), '{');
    writeFileSync(join(root, 'shared-ntp.json'), JSON.stringify(service('ntp', '192.0.2.12/32')));
    symlinkSync(join(root, 'shared-ntp.json'), join(dir, '30-ntp.json'));
    expect(cli(['check-config', '--config', main, '--config-dir', dir])).toEqual({
      status: 0,
      stdout:
        join(dir, 'README') +
        ': note: not read (only DIR/*.json files are)\n' +
        join(dir, 'ntp.json.dpkg-old') +
        ': note: not read (only DIR/*.json files are)\n',
      stderr: '',
    });
    // Name order is code unit order: 10-web before 9-web, whatever the locale says.
    writeFileSync(join(dir, '9-web.json'), JSON.stringify(service('web', '192.0.2.81/32')));
    expect(cli(['check-config', main, '--config-dir', dir])).toMatchObject({
      status: 2,
      stderr:
        join(dir, '9-web.json') +
        ': service.name: service name "web" is used twice (first in ' +
        join(dir, '10-web.json') +
        ': service.name)\n',
    });
  });

  it('refuses a missing directory, a drop-in that is a directory, a dangling link, an unreadable file', () => {
    const { root, main, dir } = layout();
    expect(cli(['check-config', main, '--config-dir', join(root, 'nope')])).toMatchObject({
      status: 2,
      stderr: join(root, 'nope') + ': does not exist\n',
    });
    expect(cli(['check-config', main, '--config-dir', main]).stderr).toBe(
      main + ': is not a directory\n',
    );
    mkdirSync(join(dir, 'a.json'));
    symlinkSync(join(root, 'gone.json'), join(dir, 'b.json'));
    writeFileSync(join(dir, 'c.json'), JSON.stringify(service('c', '192.0.2.3/32')), {
      mode: 0o600,
    });
    expect(cli(['check-config', main, '--config-dir', dir], '65534:65534')).toMatchObject({
      status: 2,
      stderr:
        join(dir, 'a.json') +
        ': is a directory, not a regular file\n' +
        join(dir, 'b.json') +
        ': is a link to ' +
        join(root, 'gone.json') +
        ', which does not exist\n' +
        join(dir, 'c.json') +
        ': cannot be read (EACCES)\n',
    });
    rmSync(dir, { recursive: true });
    mkdirSync(dir);
    for (let i = 0; i < 17; i++) writeFileSync(join(dir, i + '.json'), '{}');
    expect(cli(['check-config', main, '--config-dir', dir]).stderr).toBe(
      dir + ': holds 17 *.json files: at most 16 services\n',
    );
  });

  it('takes its arguments as run does, and refuses others', () => {
    const { main, dir } = layout();
    for (const args of [
      ['check-config', main, '--config', main],
      ['check-config', '--config-dir', dir],
      ['check-config', main, '--config-dir'],
      ['check-config', main, '--config-dir', dir, '--config-dir', dir],
      ['run', '--config-dir', dir],
      ['run', '--config', main, '--config-dir', dir, 'extra'],
    ])
      expect(cli(args).status, args.join(' ')).toBe(2);
  });
});

/**
 * The value of a sample of the metrics text at `url`, or null. Within 2 s: a port that accepts and
 * never answers (another test's, under load) would otherwise hang the caller's waitFor past the
 * test's own limit, where it should try again and then say what it waited for.
 */
async function scrape(url: string, pattern: RegExp): Promise<string | null> {
  try {
    const text = await (await fetch(url, { signal: AbortSignal.timeout(2000) })).text();
    return pattern.exec(text)?.[1] ?? null;
  } catch {
    return null;
  }
}

describe('lifeline run --config-dir', () => {
  let server: Server;
  let port = 0;
  beforeAll(async () => {
    server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => server.close());

  /** Runs `args` until both prefixes are announced; the config hash it serves. */
  async function runOnce(args: string[], metricsPort: number): Promise<string> {
    const child = spawn(process.execPath, [CLI, 'run', ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    try {
      await waitFor(
        () =>
          stdout.includes('announce route 192.0.2.53/32') &&
          stdout.includes('announce route 198.51.100.0/24'),
        10000,
        'both services announced',
      );
      const url = 'http://127.0.0.1:' + metricsPort + '/metrics';
      let hash: string | null = null;
      await waitFor(
        async () => {
          hash = await scrape(url, /^lifeline_config_info\{[^}]*hash="([0-9a-f]+)"\} 1$/m);
          return hash !== null;
        },
        10000,
        'lifeline_config_info',
      );
      return hash!;
    } finally {
      await stopProcess(child);
    }
  }

  it('announces the services of every file; the hash is the one of the same settings in one file', async () => {
    const { root, main, dir } = layout();
    const metricsPort = randomPort();
    const dns = service('dns', '192.0.2.53/32', port);
    const web = service('web', '198.51.100.0/24', port);
    const settings = mainFile({ metrics: { listen: '127.0.0.1:' + metricsPort } });
    writeFileSync(main, JSON.stringify({ ...settings, services: [web] }));
    writeFileSync(join(dir, 'dns.json'), JSON.stringify(dns));
    const split = await runOnce(['--config', main, '--config-dir', dir], metricsPort);
    const single = join(root, 'single.json');
    writeFileSync(single, JSON.stringify({ ...settings, services: [dns, web] }));
    expect(await runOnce(['--config', single], metricsPort)).toBe(split);
    // And another setting, another hash.
    writeFileSync(single, JSON.stringify({ ...settings, services: [dns, { ...web, rise: 3 }] }));
    expect(await runOnce(['--config', single], metricsPort)).not.toBe(split);
  });
});
