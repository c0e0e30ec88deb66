// The Debian packages, dist/lifeline_VERSION_{amd64,arm64,armhf}.deb, from the staged release
// (build/package.mjs) with Debian 12's own dpkg-deb: no debhelper, no fakeroot (--root-owner-group
// gives every file to root). Each carries the binaries of its architecture only (serialport's
// bindings, the TCP MD5 addon, esbuild for the board kit) and lays Lifeline out in Debian's places:
//   /usr/lib/lifeline            the program, its node_modules and the board kit (board/)
//   /usr/bin/lifeline            a symlink to it
//   /etc/lifeline/config.json    the example config, a conffile; services.d/ (one service per
//                                file, empty) and links to the config's schemas beside it
//   /var/lib/lifeline            the state (0700, user lifeline: the postinst's statoverride)
//   /lib/systemd/system          the unit, run as the lifeline user
//   /usr/share/man/man1          lifeline(1), from --help (build/manpage.mjs)
//   /usr/share/doc/lifeline      README, the guides, copyright, changelog.Debian.gz, examples/
// The maintainer scripts are packaging/debian/{postinst,prerm,postrm}; docs/install.md says what
// they do, upgrades included.

import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';

import { makeBoardKit } from './board-kit.mjs';
import { manPage } from './manpage.mjs';
import { NODE_BUNDLES } from './targets.mjs';

/** Debian's architecture, Node's, and the ELF e_machine of its binaries. */
export const ARCHES = [
  { debian: 'amd64', node: 'x64', machine: 62, binutils: 'x86_64-linux-gnu-' },
  { debian: 'arm64', node: 'arm64', machine: 183, binutils: 'aarch64-linux-gnu-' },
  { debian: 'armhf', node: 'arm', machine: 40, binutils: 'arm-linux-gnueabihf-' },
];

const PROGRAM = 'usr/lib/lifeline';
/** The config's JSON Schemas: in the program directory, linked from /etc/lifeline. */
const SCHEMAS = ['lifeline.schema.json', 'lifeline-service.schema.json'];
const DOC = 'usr/share/doc/lifeline';

function run(argv, options = {}) {
  const result = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', ...options });
  if (result.status !== 0)
    throw new Error(argv.join(' ') + ' failed: ' + (result.stderr || result.error || ''));
  return result.stdout;
}

/** Every regular file under `dir`, relative to it. */
function files(dir, under = '') {
  const found = [];
  for (const entry of readdirSync(join(dir, under), { withFileTypes: true })) {
    const path = join(under, entry.name);
    if (entry.isDirectory()) found.push(...files(dir, path));
    else if (entry.isFile()) found.push(path);
  }
  return found;
}

/** The ELF e_machine of a file, or null when it is no ELF file. */
export function elfMachine(path) {
  const head = readFileSync(path).subarray(0, 20);
  if (head.length < 20 || head.readUInt32BE(0) !== 0x7f454c46) return null;
  return head.readUInt16LE(18);
}

/**
 * esbuild's binary package for `arch` (@esbuild/linux-ARCH), unpacked: this machine's from
 * node_modules, another's fetched with `npm pack` at the version and integrity package-lock.json
 * pins, kept in .cache/npm-pack.
 */
function esbuildBinary(arch) {
  const name = '@esbuild/linux-' + arch.node;
  if (existsSync(join('node_modules', name, 'bin/esbuild'))) return join('node_modules', name);
  const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
  const pinned = lock.packages['node_modules/' + name];
  if (pinned === undefined) throw new Error(name + ' is not in package-lock.json');
  const cache = join('.cache', 'npm-pack');
  const tarball = join(cache, 'esbuild-linux-' + arch.node + '-' + pinned.version + '.tgz');
  if (!existsSync(tarball)) {
    mkdirSync(cache, { recursive: true });
    const packed = run(['npm', 'pack', '--silent', name + '@' + pinned.version], { cwd: cache });
    const file = join(cache, packed.trim().split('\n').pop());
    if (file !== tarball) cpSync(file, tarball);
  }
  const integrity = 'sha512-' + createHash('sha512').update(readFileSync(tarball)).digest('base64');
  if (integrity !== pinned.integrity)
    throw new Error(
      tarball + ': integrity ' + integrity + ', package-lock.json pins ' + pinned.integrity,
    );
  const unpacked = tarball.replace(/\.tgz$/, '');
  rmSync(unpacked, { recursive: true, force: true });
  mkdirSync(unpacked, { recursive: true });
  run(['tar', '-xzf', tarball, '-C', unpacked, '--strip-components=1']);
  return unpacked;
}

/** The program directory for `arch` from the staged release `release`. */
function layProgram(release, root, arch, kit) {
  const program = join(root, PROGRAM);
  mkdirSync(program, { recursive: true });
  for (const name of NODE_BUNDLES) {
    // Debian's node, not whatever `env` finds; the tools' bundle is no script (esbuild's banner
    // gave it the line too): blank, so that line numbers in stack traces stay.
    const text = readFileSync(join(release, name), 'utf8').replace(
      /^#!\/usr\/bin\/env node/,
      name === 'lifeline.mjs' ? '#!/usr/bin/node' : '',
    );
    writeFileSync(join(program, name), text, { mode: name === 'lifeline.mjs' ? 0o755 : 0o644 });
  }
  cpSync(join(release, 'package.json'), join(program, 'package.json'));
  // The config's schemas, which /etc/lifeline links to (the config and drop-ins name them).
  for (const schema of SCHEMAS) cpSync(join(release, schema), join(program, schema));
  cpSync('dist/lifeline-espruino.js', join(program, 'lifeline-espruino.js'));
  cpSync(
    join(release, 'tcp-md5', 'linux-' + arch.node),
    join(program, 'tcp-md5', 'linux-' + arch.node),
    {
      recursive: true,
    },
  );
  // serialport's prebuilt bindings for this architecture and glibc only (Debian has no musl);
  // not what only compiling them would need (node-addon-api's headers, the C++ sources).
  cpSync(join(release, 'node_modules'), join(program, 'node_modules'), {
    recursive: true,
    filter: (source) => {
      if (/\/node_modules\/node-addon-api$|\/bindings-cpp\/src$/.test(source)) return false;
      const inPrebuilds = /\/prebuilds\/([^/]+)(\/([^/]+))?$/.exec(source);
      if (inPrebuilds === null) return true;
      if (inPrebuilds[1] !== 'linux-' + arch.node) return false;
      return inPrebuilds[3] === undefined || inPrebuilds[3].includes('.glibc.');
    },
  });
  // The addon as Debian ships shared objects: stripped, by the architecture's binutils.
  const addon = join(program, 'tcp-md5', 'linux-' + arch.node, 'tcp_md5.node');
  run([
    '/usr/bin/' + arch.binutils + 'strip',
    '--strip-unneeded',
    '--remove-section=.comment',
    addon,
  ]);
  cpSync(kit, join(program, 'board'), { recursive: true });
  const esbuild = join(program, 'node_modules/esbuild');
  mkdirSync(esbuild, { recursive: true });
  // esbuild's JavaScript API finds its binary in @esbuild/linux-ARCH; its own bin/ holds this
  // machine's copy, which is left out.
  for (const name of ['lib', 'package.json', 'LICENSE.md'])
    cpSync(join('node_modules/esbuild', name), join(esbuild, name), { recursive: true });
  const binary = join(program, 'node_modules/@esbuild/linux-' + arch.node);
  const unpacked = esbuildBinary(arch);
  for (const name of ['bin', 'package.json', 'README.md'])
    if (existsSync(join(unpacked, name)))
      cpSync(join(unpacked, name), join(binary, name), { recursive: true });
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  symlinkSync('../lib/lifeline/lifeline.mjs', join(root, 'usr/bin/lifeline'));
}

/** The shared unit with the package's paths, run as the lifeline user. */
export function debianUnit(text) {
  return text
    .replace(/^Documentation=.*$/m, 'Documentation=man:lifeline(1) file:/' + DOC + '/README.md')
    .replaceAll('/opt/lifeline/lifeline.mjs', '/' + PROGRAM + '/lifeline.mjs')
    .replace(
      /^Type=notify$/m,
      'Type=notify\n' +
        "# The package's system user (its postinst puts it in dialout, and in gpio where there\n" +
        '# is one).\nUser=lifeline\nGroup=lifeline',
    );
}

/** The licences of what the package carries, from each module's package.json and LICENSE. */
function copyright(program) {
  const stanzas = [];
  const seen = new Set();
  const modules = files(program).filter((path) =>
    /(^|\/)node_modules\/(@[^/]+\/)?[^/]+\/package\.json$/.test(path),
  );
  for (const path of modules.sort()) {
    const dir = dirname(path);
    if (seen.has(dir) || /node_modules\/.*\/node_modules\/.*\/node_modules/.test(dir)) continue;
    const manifest = JSON.parse(readFileSync(join(program, path), 'utf8'));
    if (manifest.license === undefined) continue;
    seen.add(dir);
    const licence = ['LICENSE', 'LICENSE.md', 'LICENCE']
      .map((name) => join(program, dir, name))
      .find((file) => existsSync(file));
    const holder =
      (licence &&
        /^Copyright.*$/m
          .exec(readFileSync(licence, 'utf8'))?.[0]
          .replace(/^Copyright( \(c\))?\s*/i, '')) ||
      'the ' + manifest.name + ' authors';
    stanzas.push(
      'Files: ' +
        PROGRAM +
        '/' +
        dir +
        '/*\nCopyright: ' +
        holder +
        '\nLicense: ' +
        manifest.license +
        '\n',
    );
  }
  const texts = readFileSync('packaging/debian/licenses', 'utf8');
  return (
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n' +
    'Upstream-Name: lifeline\n\n' +
    'Files: *\nCopyright: the Lifeline authors\nLicense: MIT\n' +
    'Comment: The program bundles acorn and acorn-walk (MIT, in board/build.mjs) and tinybench\n' +
    ' (MIT, in the bench chunk).\n\n' +
    stanzas.join('\n') +
    '\n' +
    texts
  );
}

/** The Debian changelog for `version`: one entry, the release. */
function changelog(version, date) {
  return (
    'lifeline (' +
    version +
    ') stable; urgency=medium\n\n' +
    '  * Release ' +
    version.replace(/-[^-]+$/, '') +
    ' (the README and docs/ say what it does).\n\n' +
    ' -- Lifeline maintainers <lifeline@example.org>  ' +
    date.toUTCString().replace('GMT', '+0000') +
    '\n'
  );
}

/** The shared libraries the binaries need, as Depends (what dpkg-shlibdeps would say). */
function sharedLibraries(program) {
  const needed = new Set();
  let glibc = '2.0';
  for (const path of files(program)) {
    if (!path.endsWith('.node')) continue;
    const dynamic = run(['readelf', '-d', '-V', join(program, path)]);
    for (const match of dynamic.matchAll(/\(NEEDED\).*\[(.+)\]/g)) needed.add(match[1]);
    for (const match of dynamic.matchAll(/Name: GLIBC_([\d.]+)/g))
      if (match[1].localeCompare(glibc, undefined, { numeric: true }) > 0) glibc = match[1];
  }
  const packages = ['libc6 (>= ' + glibc + ')'];
  if (needed.has('libstdc++.so.6')) packages.push('libstdc++6');
  if (needed.has('libgcc_s.so.1')) packages.push('libgcc-s1');
  return packages.join(', ');
}

/** The documentation and examples. */
function layDocs(release, root, version, date, page) {
  const doc = join(root, DOC);
  mkdirSync(join(doc, 'examples'), { recursive: true });
  cpSync(join(release, 'README.md'), join(doc, 'README.md'));
  cpSync(join(release, 'docs'), join(doc, 'docs'), { recursive: true });
  cpSync('packaging/config.example.json', join(doc, 'examples/config.example.json'));
  for (const name of ['espruino.example.json', 'espruino.full.example.json'])
    cpSync(join('config', name), join(doc, 'examples', name));
  cpSync('packaging/prometheus', join(doc, 'examples/prometheus'), { recursive: true });
  cpSync('packaging/grafana', join(doc, 'examples/grafana'), { recursive: true });
  writeFileSync(join(doc, 'copyright'), copyright(join(root, PROGRAM)));
  // What lintian says that is right for this package: each with its reason (docs/install.md).
  mkdirSync(join(root, 'usr/share/lintian/overrides'), { recursive: true });
  cpSync('packaging/debian/lintian-overrides', join(root, 'usr/share/lintian/overrides/lifeline'));
  writeFileSync(join(doc, 'changelog.Debian.gz'), gzipSync(changelog(version, date), { level: 9 }));
  const man = join(root, 'usr/share/man/man1');
  mkdirSync(man, { recursive: true });
  writeFileSync(join(man, 'lifeline.1.gz'), gzipSync(page, { level: 9 }));
}

/** The control files: control, conffiles, md5sums and the maintainer scripts. */
function layControl(root, arch, version) {
  const control = join(root, 'DEBIAN');
  mkdirSync(control, { recursive: true });
  const all = files(root).filter((path) => !path.startsWith('DEBIAN/'));
  const installedKiB = Math.ceil(
    all.reduce((sum, path) => sum + statSync(join(root, path)).size, 0) / 1024,
  );
  writeFileSync(
    join(control, 'control'),
    readFileSync('packaging/debian/control', 'utf8')
      .replace('@VERSION@', version)
      .replace('@ARCHITECTURE@', arch.debian)
      .replace('@INSTALLED_SIZE@', String(installedKiB))
      .replace('@SHARED_LIBRARIES@', sharedLibraries(join(root, PROGRAM))),
  );
  writeFileSync(join(control, 'conffiles'), '/etc/lifeline/config.json\n');
  writeFileSync(
    join(control, 'md5sums'),
    all
      .sort()
      .map(
        (path) =>
          createHash('md5')
            .update(readFileSync(join(root, path)))
            .digest('hex') +
          '  ' +
          path +
          '\n',
      )
      .join(''),
  );
  for (const script of ['postinst', 'prerm', 'postrm']) {
    cpSync(join('packaging/debian', script), join(control, script));
    chmodSync(join(control, script), 0o755);
  }
}

/**
 * Builds the packages from the staged release directory `release` into `outDir`, Debian version
 * `version` (upstream-revision); the date in the changelog and the man page is `date`.
 */
export async function makeDebs({
  release,
  version,
  outDir = 'dist',
  date = new Date(),
  arches = ARCHES.map((arch) => arch.debian),
}) {
  const made = [];
  // What every architecture's package has alike, made once: the board kit and the man page.
  const kit = await makeBoardKit(join('dist', 'deb'));
  const page = manPage({
    program: join(release, 'lifeline.mjs'),
    version,
    date: date.toISOString().slice(0, 10),
  });
  for (const arch of ARCHES.filter((candidate) => arches.includes(candidate.debian))) {
    const root = join('dist', 'deb', arch.debian);
    rmSync(root, { recursive: true, force: true });
    layProgram(release, root, arch, kit);
    mkdirSync(join(root, 'etc/lifeline/services.d'), { recursive: true });
    cpSync('packaging/config.example.json', join(root, 'etc/lifeline/config.json'));
    for (const schema of SCHEMAS)
      symlinkSync('/' + PROGRAM + '/' + schema, join(root, 'etc/lifeline', schema));
    mkdirSync(join(root, 'var/lib/lifeline'), { recursive: true });
    mkdirSync(join(root, 'lib/systemd/system'), { recursive: true });
    writeFileSync(
      join(root, 'lib/systemd/system/lifeline.service'),
      debianUnit(readFileSync('packaging/lifeline.service', 'utf8')),
    );
    layDocs(release, root, version, date, page);
    // Files 0644, but for programs (ELF executables, scripts) 0755, whatever npm's tarballs said.
    for (const path of files(root)) {
      const head = readFileSync(join(root, path)).subarray(0, 18);
      const program =
        head.subarray(0, 2).toString() === '#!' ||
        (head.length === 18 && head.readUInt32BE(0) === 0x7f454c46 && head.readUInt16LE(16) === 2);
      chmodSync(join(root, path), program ? 0o755 : 0o644);
    }
    layControl(root, arch, version);
    const deb = join(outDir, 'lifeline_' + version + '_' + arch.debian + '.deb');
    run(['dpkg-deb', '--root-owner-group', '-Zxz', '--build', root, deb]);
    made.push({ arch: arch.debian, file: deb, bytes: statSync(deb).size });
  }
  return made;
}

/** SHA256SUMS for `paths` (in their folder), as sha256sum writes and checks it. */
export function writeChecksums(paths, outFile) {
  writeFileSync(
    outFile,
    paths
      .map(
        (path) =>
          createHash('sha256').update(readFileSync(path)).digest('hex') +
          '  ' +
          relative(dirname(outFile), path) +
          '\n',
      )
      .join(''),
  );
}
