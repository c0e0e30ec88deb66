// `npm run package`: the release for Linux appliances: the Debian packages (build/deb.mjs) and
// the tarball, dist/lifeline-VERSION.tar.gz,
// holding the Node bundle, the production dependencies (serialport with its prebuilt bindings for
// linux-arm64, linux-arm and linux-x64 only), the TCP MD5 addon built for the same three
// (build/md5.mjs), the systemd unit, an example config and the config's JSON Schema, the README and
// the docs it links to.
// Unpack it on the appliance and run `node lifeline-VERSION/lifeline.mjs install`.

import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';

import { build, NODE_BUNDLES } from './targets.mjs';
import { makeDebs, writeChecksums } from './deb.mjs';
import { buildMd5 } from './md5.mjs';

const KEEP_PREBUILDS = ['linux-arm', 'linux-arm64', 'linux-x64'];

/**
 * The release: the tarball and, with `debs` (as `npm run package` does), the Debian packages
 * (build/deb.mjs) and SHA256SUMS beside them, in dist/. `debianVersion` defaults to package.json's
 * version with Debian revision 1.
 */
export async function makePackage(options = {}) {
  if (!(await build())) throw new Error('the build failed');
  // The TCP MD5 addon for every appliance architecture, prebuilt: a Pi needs no compiler.
  const problems = buildMd5(['x64', 'arm64', 'arm']);
  if (problems.length > 0) throw new Error(problems.join('\n'));
  const manifest = JSON.parse(readFileSync('package.json', 'utf8'));
  const name = 'lifeline-' + manifest.version;
  const stage = join('dist', 'package', name);
  rmSync(join('dist', 'package'), { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  // The appliance's bundle and the tools' beside it (the commands that are not the appliance).
  for (const bundle of NODE_BUNDLES) cpSync(join('dist', bundle), join(stage, bundle));
  chmodSync(join(stage, 'lifeline.mjs'), 0o755);
  cpSync('packaging/lifeline.service', join(stage, 'lifeline.service'));
  cpSync('packaging/config.example.json', join(stage, 'config.example.json'));
  // The config's schema beside the example, which names it (`"$schema": "lifeline.schema.json"`),
  // and the drop-in files' (docs/reference.md, "Drop-in files").
  for (const schema of ['lifeline.schema.json', 'lifeline-service.schema.json'])
    cpSync(join('config', schema), join(stage, schema));
  cpSync('README.md', join(stage, 'README.md'));
  // The guides and the reference, where the README's links find them (docs/ beside it).
  cpSync('docs', join(stage, 'docs'), { recursive: true });
  cpSync(join('dist', 'tcp-md5'), join(stage, 'tcp-md5'), { recursive: true });
  const listed = spawnSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], {
    encoding: 'utf8',
  });
  for (const path of listed.stdout.split('\n').filter((line) => line.includes('/node_modules/'))) {
    cpSync(path, join(stage, relative(process.cwd(), path)), { recursive: true });
  }
  const prebuilds = join(stage, 'node_modules/@serialport/bindings-cpp/prebuilds');
  for (const platform of readdirSync(prebuilds)) {
    if (!KEEP_PREBUILDS.includes(platform)) rmSync(join(prebuilds, platform), { recursive: true });
  }
  writeFileSync(
    join(stage, 'package.json'),
    JSON.stringify(
      {
        name: 'lifeline',
        version: manifest.version,
        type: 'module',
        private: true,
        dependencies: manifest.dependencies,
      },
      null,
      2,
    ) + '\n',
  );
  const tarball = join('dist', name + '.tar.gz');
  const tar = spawnSync('tar', ['-C', join('dist', 'package'), '-czf', tarball, name]);
  if (tar.status !== 0) throw new Error('tar failed: ' + tar.stderr);
  if (options.debs !== true)
    return { tarball, bytes: statSync(tarball).size, debs: [], checksums: null };
  const debs = await makeDebs({
    release: stage,
    version: options.debianVersion ?? manifest.version + '-1',
  });
  const checksums = join('dist', 'SHA256SUMS');
  writeChecksums([tarball, ...debs.map((deb) => deb.file)], checksums);
  return { tarball, bytes: statSync(tarball).size, debs, checksums };
}
