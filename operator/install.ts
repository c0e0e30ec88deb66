// `lifeline install` / `lifeline uninstall`, run from an unpacked release (npm run package): lays
// the program out under /opt/lifeline, the config under /etc/lifeline (an existing one is kept;
// services.d for drop-ins, and links to the config's schemas beside it),
// the state under /var/lib/lifeline (0700), the systemd unit and a `lifeline` command; idempotent.
// --root DIR installs into a tree (an image, a test); --prefix moves the program directory.

import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The config's JSON Schemas: in the program directory, linked beside the config. */
const SCHEMAS = ['lifeline.schema.json', 'lifeline-service.schema.json'];

interface Layout {
  readonly root: string;
  readonly prefix: string;
  readonly program: string;
  readonly etc: string;
  readonly state: string;
  readonly unit: string;
  readonly link: string;
}

function layout(args: readonly string[]): Layout | string {
  const value = (flag: string, fallback: string): string => {
    const index = args.indexOf(flag);
    return index >= 0 ? (args[index + 1] ?? '') : fallback;
  };
  const root = value('--root', '/');
  const prefix = value('--prefix', '/opt/lifeline');
  if (root === '' || !prefix.startsWith('/'))
    return '--root DIR and --prefix /ABSOLUTE/PATH need values';
  const unknown = args.filter(
    (arg, i) =>
      arg.startsWith('--') &&
      !['--root', '--prefix', '--purge'].includes(arg) &&
      args[i - 1] !== '--root' &&
      args[i - 1] !== '--prefix',
  );
  if (unknown.length > 0) return 'unknown flag ' + unknown[0];
  return {
    root,
    prefix,
    program: join(root, prefix),
    etc: join(root, 'etc/lifeline'),
    state: join(root, 'var/lib/lifeline'),
    unit: join(root, 'etc/systemd/system/lifeline.service'),
    link: join(root, 'usr/local/bin/lifeline'),
  };
}

export function install(args: readonly string[]): number {
  const where = layout(args);
  if (typeof where === 'string') return usage(where);
  const source = dirname(fileURLToPath(import.meta.url));
  for (const needed of ['node_modules/serialport', 'lifeline.service', 'config.example.json']) {
    if (!existsSync(join(source, needed))) {
      process.stderr.write(
        'install: ' +
          join(source, needed) +
          ' is missing: run install from an unpacked release ' +
          '(npm run package makes one)\n',
      );
      return 2;
    }
  }
  // The new program beside the old, then swapped in: an interrupted install leaves one of them
  // whole.
  rmSync(where.program + '.new', { recursive: true, force: true });
  mkdirSync(dirname(where.program), { recursive: true });
  cpSync(source, where.program + '.new', { recursive: true });
  if (existsSync(where.program)) renameSync(where.program, where.program + '.old');
  renameSync(where.program + '.new', where.program);
  rmSync(where.program + '.old', { recursive: true, force: true });
  mkdirSync(where.etc, { recursive: true, mode: 0o755 });
  mkdirSync(where.state, { recursive: true, mode: 0o700 });
  chmodSync(where.state, 0o700);
  const config = join(where.etc, 'config.json');
  const freshConfig = !existsSync(config);
  if (freshConfig) cpSync(join(source, 'config.example.json'), config);
  // The drop-ins' directory the unit names, and the schemas beside the config that names them.
  mkdirSync(join(where.etc, 'services.d'), { recursive: true, mode: 0o755 });
  for (const schema of SCHEMAS) {
    rmSync(join(where.etc, schema), { force: true });
    symlinkSync(join(where.prefix, schema), join(where.etc, schema));
  }
  const unit = readFileSync(join(source, 'lifeline.service'), 'utf8')
    .replace(/\/opt\/lifeline/g, where.prefix)
    .replace(/\/usr\/bin\/node/g, process.execPath);
  mkdirSync(dirname(where.unit), { recursive: true });
  writeFileSync(where.unit, unit, { mode: 0o644 });
  mkdirSync(dirname(where.link), { recursive: true });
  rmSync(where.link, { force: true });
  symlinkSync(join(where.prefix, 'lifeline.mjs'), where.link);
  process.stdout.write(
    'installed ' +
      where.program +
      (freshConfig ? '; edit ' + config + ' (an example)' : '; kept ' + config) +
      '\nthen: lifeline keygen --key-file /etc/lifeline/console.key --codes-file ' +
      '/etc/lifeline/recovery-codes\n' +
      '      systemctl daemon-reload && systemctl enable --now lifeline\n',
  );
  return 0;
}

export function uninstall(args: readonly string[]): number {
  const where = layout(args);
  if (typeof where === 'string') return usage(where);
  // The schemas' links go with the program they lead into.
  const links = SCHEMAS.map((schema) => join(where.etc, schema));
  for (const path of [where.program, where.unit, where.link, ...links])
    rmSync(path, { recursive: true, force: true });
  if (args.includes('--purge'))
    for (const path of [where.etc, where.state]) rmSync(path, { recursive: true, force: true });
  process.stdout.write(
    'removed ' +
      where.program +
      (args.includes('--purge')
        ? ', the config and the state'
        : '; kept ' + where.etc + ' and ' + where.state + ' (--purge removes them)') +
      '\n',
  );
  return 0;
}

function usage(problem: string): number {
  process.stderr.write(
    'lifeline install|uninstall: ' +
      problem +
      '\nusage: lifeline install [--prefix /opt/lifeline] ' +
      '[--root DIR]\n       lifeline uninstall [--prefix /opt/lifeline] [--root DIR] [--purge]\n',
  );
  return 2;
}
