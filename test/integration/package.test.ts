// The release for Linux appliances: `npm run package` makes the tarball; unpacked, its installer
// lays Lifeline out in a temporary root (program, config, state, systemd unit) and does it again
// without harm; systemd-analyze verifies the unit; the installed program runs; uninstall removes
// it.

import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { makePackage } from '../../build/package.mjs';
import { requireCommand } from '../support/peers';

describe('release tarball and installer', () => {
  it('packages, installs into a root, verifies the unit, runs, reinstalls idempotently, uninstalls', async () => {
    requireCommand('/usr/bin/systemd-analyze', 'systemd');
    const { tarball, bytes } = await makePackage();
    expect(bytes).toBeLessThan(2 * 1024 * 1024);
    const listing = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).stdout;
    for (const platform of ['linux-arm64', 'linux-arm', 'linux-x64']) {
      expect(listing).toContain(
        'node_modules/@serialport/bindings-cpp/prebuilds/' + platform + '/',
      );
    }
    expect(listing).not.toContain('prebuilds/win32');
    // The config's schemas, beside the example that names one of them.
    for (const schema of ['lifeline.schema.json', 'lifeline-service.schema.json'])
      expect(listing.split('\n')).toContain('lifeline-0.1.0/' + schema);
    // The README and every doc it links to, where its links find them.
    const docs = readdirSync('docs').filter((name) => name.endsWith('.md'));
    expect(docs.length).toBeGreaterThan(10);
    for (const path of ['README.md', ...docs.map((name) => 'docs/' + name)])
      expect(listing.split('\n'), path).toContain('lifeline-0.1.0/' + path);
    // The metrics server's web config needs them (appliance/web-config.ts, appliance/basic-auth.ts).
    for (const dependency of ['yaml', 'bcryptjs'])
      expect(listing).toContain('node_modules/' + dependency + '/package.json');
    const unpacked = mkdtempSync(join(tmpdir(), 'lifeline-release-'));
    expect(spawnSync('tar', ['-xzf', tarball, '-C', unpacked]).status).toBe(0);
    // The TCP MD5 addon, prebuilt for each appliance architecture (ELF e_machine at byte 18).
    const machines = { 'linux-x64': 62, 'linux-arm64': 183, 'linux-arm': 40 } as const;
    for (const [platform, machine] of Object.entries(machines)) {
      const addon = join(unpacked, 'lifeline-0.1.0', 'tcp-md5', platform, 'tcp_md5.node');
      expect(readFileSync(addon).readUInt16LE(18), platform).toBe(machine);
    }
    const program = join(unpacked, 'lifeline-0.1.0', 'lifeline.mjs');
    const root = mkdtempSync(join(tmpdir(), 'lifeline-root-'));
    const run = (...args: string[]): ReturnType<typeof spawnSync> =>
      spawnSync(process.execPath, args, { encoding: 'utf8' });
    const installed = run(program, 'install', '--root', root);
    expect(installed.status, String(installed.stderr)).toBe(0);
    const unit = join(root, 'etc/systemd/system/lifeline.service');
    expect(readFileSync(unit, 'utf8')).toContain(
      'ExecStart=' + process.execPath + ' /opt/lifeline/lifeline.mjs run',
    );
    const verify = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    expect(verify.status).toBe(0);
    expect(verify.stdout + verify.stderr).toBe(''); // not even a warning
    expect(statSync(join(root, 'var/lib/lifeline')).mode & 0o777).toBe(0o700);
    expect(readlinkSync(join(root, 'usr/local/bin/lifeline'))).toBe('/opt/lifeline/lifeline.mjs');
    const installedProgram = join(root, 'opt/lifeline/lifeline.mjs');
    expect(existsSync(join(root, 'opt/lifeline/docs/reference.md'))).toBe(true);
    expect(
      run(installedProgram, 'check-config', join(root, 'etc/lifeline/config.json')).status,
    ).toBe(0);
    // The drop-ins' directory the unit names, and the schemas the config names, beside it.
    expect(readFileSync(unit, 'utf8')).toContain('--config-dir /etc/lifeline/services.d\n');
    // systemctl reload: `lifeline reload` with the same files, signalling the unit's process.
    expect(readFileSync(unit, 'utf8')).toContain(
      'ExecReload=' + process.execPath + ' /opt/lifeline/lifeline.mjs reload --config',
    );
    const services = join(root, 'etc/lifeline/services.d');
    const checkDir = [join(root, 'etc/lifeline/config.json'), '--config-dir', services];
    expect(run(installedProgram, 'check-config', ...checkDir).status).toBe(0);
    expect(readlinkSync(join(root, 'etc/lifeline/lifeline.schema.json'))).toBe(
      '/opt/lifeline/lifeline.schema.json',
    );
    expect(
      readFileSync(join(root, 'opt/lifeline', 'lifeline-service.schema.json'), 'utf8'),
    ).toContain('"$ref": "lifeline.schema.json#/$defs/service"');
    const loads = run(
      '--input-type=module',
      '-e',
      "import('" +
        join(root, 'opt/lifeline/node_modules/serialport/dist/index.js') +
        "').then((m) => console.log(typeof m.SerialPort))",
    );
    expect(String(loads.stdout).trim()).toBe('function');
    // The installed program finds the web config's YAML parser (loaded only for it).
    const webConfig = join(root, 'etc/lifeline/web.yml');
    writeFileSync(webConfig, 'basic_auth_users:\n  prometheus: not-a-hash\n');
    const withWeb = JSON.parse(readFileSync(join(root, 'etc/lifeline/config.json'), 'utf8'));
    withWeb.metrics = { listen: '127.0.0.1:9143', webConfigFile: webConfig };
    writeFileSync(join(root, 'etc/lifeline/web.json'), JSON.stringify(withWeb));
    const checked = run(installedProgram, 'check-config', join(root, 'etc/lifeline/web.json'));
    expect(String(checked.stderr)).toMatch(/basic_auth_users\.prometheus: not a bcrypt hash/);
    writeFileSync(join(root, 'etc/lifeline/config.json'), '{"edited": true}\n');
    expect(run(program, 'install', '--root', root).status).toBe(0);
    expect(readFileSync(join(root, 'etc/lifeline/config.json'), 'utf8')).toBe('{"edited": true}\n');
    expect(run(program, 'uninstall', '--root', root).status).toBe(0);
    expect(existsSync(join(root, 'opt/lifeline'))).toBe(false);
    expect(existsSync(join(root, 'etc/lifeline/lifeline.schema.json'))).toBe(false);
    expect(existsSync(unit)).toBe(false);
    expect(existsSync(join(root, 'etc/lifeline/config.json'))).toBe(true);
    expect(run(program, 'uninstall', '--root', root, '--purge').status).toBe(0);
    expect(existsSync(join(root, 'var/lib/lifeline'))).toBe(false);
  });

  it('refuses to install from a development tree, with the reason', () => {
    const result = spawnSync(
      process.execPath,
      ['dist/lifeline.mjs', 'install', '--root', mkdtempSync(join(tmpdir(), 'x-'))],
      { encoding: 'utf8' },
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /is missing: run install from an unpacked release \(npm run package makes one\)/,
    );
  });
});
