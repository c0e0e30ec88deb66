// The build of both targets, as a library (build.mjs and scripts/package.mjs are its entry points;
// the tests and the flasher use its pieces), after the config's readers and reference tables from
// its schema (build/config-schema.mjs):
//   dist/lifeline.mjs          the appliance's Node bundle (CLI, firmware, node HAL), one file;
//                              serialport stays external (native binding)
//   dist/lifeline-tools.mjs    the lab, the bench and the operator's tools, loaded by the first
//                              when their command runs
//   dist/lifeline-espruino.js  one minified file for Espruino, the config embedded (--config FILE,
//                              or config/espruino.example.json), checked against Espruino's subset

import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

import { writeSchemaOutputs } from './config-schema.mjs';
import { buildMd5 } from './md5.mjs';
import { checkEspruinoSource } from './espruino/check.mjs';
import { boardSources, sourceEdits } from './espruino/sources.mjs';
import { breakLines } from './espruino/lines.mjs';
import {
  EXTERNAL,
  LANGUAGE,
  mangledConfig,
  namePattern,
  reservedNames,
} from './espruino/mangle.mjs';
import { methodRenames } from './espruino/renames.mjs';
import { inlineCalls, inlineConstants, inlineExpressions, shrink } from './espruino/shrink.mjs';
import { topLevelClashes, unwrap } from './espruino/unwrap.mjs';
import { checkEspruinoTypes } from './espruino/types.mjs';

/** The project's folder (this file's parent's): the build works from any working directory. */
const PROJECT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The Espruino globals' declarations, for the type-aware part of the subset check. */
const ESPRUINO_GLOBALS = 'hal/espruino/globals.d.ts';

/** The TypeScript sources an Espruino bundle was built from (esbuild's metafile). */
export function espruinoInputs(metafile) {
  return Object.keys(metafile.inputs).filter((file) => file.endsWith('.ts'));
}

/** What Espruino's interpreter rejects and esbuild can stop at the source line (ESPRUINO.md). */
export const ESPRUINO_UNSUPPORTED = [
  'destructuring',
  'default-argument',
  'rest-argument',
  'array-spread',
  'generator',
  'async-await',
  'async-generator',
  'for-await',
  'new-target',
  'class-static-blocks',
];

/**
 * esbuild's options for the board bundle of `config`; `embedded` is the config the bundle carries
 * (its keys renamed as the mangled code reads them), `root` the project's folder.
 */
export function espruinoOptions(config, embedded = config, root = '.', edits = undefined) {
  const fleet = config?.fleet != null || config?.guard != null;
  return {
    bundle: true,
    format: 'iife',
    target: 'es2015',
    platform: 'neutral',
    minify: true,
    charset: 'ascii',
    legalComments: 'none',
    supported: Object.fromEntries(ESPRUINO_UNSUPPORTED.map((feature) => [feature, false])),
    // Espruino's require, outside esbuild's sight (an external require gets a shim that needs
    // Proxy).
    banner: { js: 'function espruinoRequire(m){return require(m)}' },
    tsconfigRaw: { compilerOptions: { useDefineForClassFields: false } },
    // The board's form of each source (build/espruino/sources.mjs): its feature set, its config,
    // its assertions out. Without `fleet` and `guard` the board has no code that reads them: their
    // nulls stay out of the config (with either, both stay: the guard reads both).
    plugins: [
      boardSources({
        config,
        embedded: JSON.parse(
          JSON.stringify(embedded ?? null, (key, value) =>
            (key === 'fleet' || key === 'guard') && !fleet ? undefined : value,
          ),
        ),
        edits: edits ?? ((path, text) => sourceEdits(path, text, new Map())),
        root,
      }),
    ],
    logLevel: 'silent',
  };
}

/** By the extra entry points (see buildEspruino): worked out once each. */
const reserved = new Map();
const edits = new Map();

/** The folders whose sources a board bundle is built from (the board kit copies them). */
export const BOARD_SOURCE_FOLDERS = ['firmware', 'hal/espruino'];

/**
 * The names the board bundle must keep (build/espruino/mangle.mjs), worked out once. The release's
 * board kit (build/board-kit.mjs) has no TypeScript to work them out with: it carries them, worked
 * out when it was made, in reserved-names.json.
 */
function reservedSet(root, extra = []) {
  const listed = join(root, 'reserved-names.json');
  const key = extra.join();
  if (!reserved.has(key))
    reserved.set(
      key,
      existsSync(listed)
        ? new Set(JSON.parse(readFileSync(listed, 'utf8')))
        : reservedNames(root, extra),
    );
  return reserved.get(key);
}

/**
 * Each board source's edits (build/espruino/sources.mjs): where it reads the features, and its
 * methods' board names (build/espruino/renames.mjs), worked out once. The board kit has no
 * TypeScript to work them out with: it carries them in board-edits.json (`boardEditTable`).
 */
function boardEdits(root, extra = []) {
  const key = extra.join();
  if (edits.has(key)) return edits.get(key);
  const listed = join(root, 'board-edits.json');
  if (existsSync(listed)) {
    const table = JSON.parse(readFileSync(listed, 'utf8'));
    const none = { sites: [], renames: [], asserts: [] };
    edits.set(key, (path) => table[relative(resolve(root), path).split('\\').join('/')] ?? none);
  } else {
    const renames = methodRenames(root, new Set([...EXTERNAL, ...LANGUAGE]), extra);
    edits.set(key, (path, text) => sourceEdits(path, text, renames));
  }
  return edits.get(key);
}

/**
 * The board kit's board-edits.json: every board source's edits (`boardEdits`), by its path from
 * `root`, for the files that have any.
 */
export function boardEditTable(root = PROJECT) {
  const renames = methodRenames(root, new Set([...EXTERNAL, ...LANGUAGE]));
  const table = {};
  for (const folder of BOARD_SOURCE_FOLDERS)
    for (const file of readdirSync(join(root, folder), { recursive: true })) {
      if (!String(file).endsWith('.ts')) continue;
      const path = resolve(root, folder, String(file));
      const found = sourceEdits(path, readFileSync(path, 'utf8'), renames);
      if (found.sites.length + found.renames.length + found.asserts.length > 0)
        table[relative(resolve(root), path).split('\\').join('/')] = found;
    }
  return table;
}

/** The names the board bundle keeps, for the board kit's reserved-names.json. */
export function reservedNameList(root = PROJECT) {
  return [...reservedNames(root)].sort();
}

/**
 * `config` without its peers' `bfd` and its targets' `command`, `intervalMs` and `timeoutMs`
 * (null and 0: a board refuses BFD and exec targets), which no board code reads but the mangle
 * cache names (`intervalMs` and `timeoutMs` are the probe's too): left in, they would cost every
 * peer and target a property on the board.
 */
function withoutBfd(config) {
  const announcer = config.announcer;
  if (announcer === undefined) return config;
  const peers = announcer.peers.map((peer) => {
    const { bfd: _bfd, ...rest } = peer;
    return rest;
  });
  const target = (entry) => {
    if (entry === null || entry === undefined) return entry;
    const { command: _command, intervalMs: _intervalMs, timeoutMs: _timeoutMs, ...rest } = entry;
    return rest;
  };
  const services = config.services.map((service) => ({
    ...service,
    targets: service.targets.map(target),
    local: target(service.local),
  }));
  return { ...config, services, announcer: { ...announcer, peers } };
}

/**
 * The Espruino bundle for a validated `config` (from `validatedConfig`), in short lines (see
 * build/espruino/lines.mjs), with the TypeScript sources it was built from and what the shrink
 * took out (build/espruino/shrink.mjs). `root` is the project's folder (the flasher runs from
 * elsewhere). Built twice: the first build says how each property name is mangled, and the config
 * is embedded with those names (keys no code reads are left out) in the second. `program`, when
 * given, is built in place of the board's entry point (hal/espruino/main.ts) the same way: the
 * device-class bench's program, so that what it times is the firmware as a board runs it.
 */
export async function buildEspruino(config, root = '.', program = undefined, define = {}) {
  const extra = program === undefined ? [] : [program];
  const common = {
    mangleProps: /./,
    reserveProps: namePattern(reservedSet(root, extra)),
    entryPoints: [join(root, program ?? 'hal/espruino/main.ts')],
    absWorkingDir: resolve(root),
    write: false,
    metafile: true,
  };
  const first = await esbuild.build({
    ...espruinoOptions(config, config, root, boardEdits(root, extra)),
    ...common,
    define,
    mangleCache: {},
  });
  const cache = first.mangleCache;
  const embedded = mangledConfig(
    withoutBfd(config),
    cache,
    reservedSet(root, extra),
    first.outputFiles[0].text,
  );
  // Names still long, so that the constants' names are the ones the sources declare; minified
  // after the shrink.
  const built = await esbuild.build({
    ...espruinoOptions(config, embedded, root, boardEdits(root, extra)),
    ...common,
    define,
    minify: false,
    minifySyntax: true,
    mangleCache: cache,
  });
  const inputs = espruinoInputs(built.metafile).map((file) => join(root, file));
  const mangled = new Set(Object.values(built.mangleCache).filter((name) => name !== false));
  const inlined = inlineConstants(built.outputFiles[0].text);
  // Uncalled methods out first: a call from one of them would keep what it calls defined.
  const pruned = shrink(inlined.text, mangled);
  const expressions = inlineExpressions(pruned.text, mangled);
  const once = inlineCalls(expressions.text, mangled);
  const shrunk = shrink(once.text, mangled);
  const options = espruinoOptions(config, embedded, root);
  const minified = await esbuild.transform(shrunk.text, {
    minify: true,
    charset: options.charset,
    legalComments: options.legalComments,
    target: options.target,
    supported: options.supported,
  });
  const text = unwrap(minified.code);
  const clashes = topLevelClashes(text);
  if (clashes.length > 0)
    throw new Error('the bundle would overwrite the board globals ' + clashes.join(', '));
  const taken =
    inlined.constants +
    pruned.methods.length +
    pruned.declarations.length +
    pruned.properties +
    pruned.parameters +
    expressions.inlined +
    once.inlined +
    shrunk.methods.length +
    shrunk.declarations.length +
    shrunk.properties +
    shrunk.parameters;
  return { text: breakLines(text), inputs, shrunk: taken };
}

/**
 * The oldest Node the appliance supports: Debian 12's and Raspberry Pi OS's nodejs is 18. esbuild
 * lowers any newer syntax to it; the Node 18 checks (test/integration/node18.test.ts) run the
 * result there.
 */
export const NODE_TARGET = 'node18';

/** The commit the build is made from (with -dirty for uncommitted changes), or 'unknown'. */
function commit() {
  const git = (...args) => spawnSync('git', args, { encoding: 'utf8', cwd: PROJECT });
  const head = git('rev-parse', '--short=12', 'HEAD');
  if (head.status !== 0) return 'unknown';
  const dirty = git('status', '--porcelain', '--untracked-files=no').stdout.trim() !== '';
  return head.stdout.trim() + (dirty ? '-dirty' : '');
}

/**
 * What `lifeline --version` and lifeline_build_info say: the release (package.json, or `version`
 * for a test package), the commit, and the build time (SOURCE_DATE_EPOCH when set, for a
 * reproducible build).
 */
export function buildInfo(version) {
  const epoch = process.env['SOURCE_DATE_EPOCH'];
  const builtMs = epoch !== undefined && /^\d+$/.test(epoch) ? Number(epoch) * 1000 : Date.now();
  return {
    LIFELINE_VERSION: JSON.stringify(
      version ?? JSON.parse(readFileSync(join(PROJECT, 'package.json'), 'utf8')).version,
    ),
    LIFELINE_COMMIT: JSON.stringify(commit()),
    LIFELINE_BUILT: JSON.stringify(new Date(builtMs).toISOString().replace(/\.\d+Z$/, 'Z')),
    LIFELINE_NODE_TARGET: JSON.stringify(NODE_TARGET),
  };
}

/** The Node bundle's files, as released: the appliance's and the tools' (beside it). */
export const TOOLS_BUNDLE = 'lifeline-tools.mjs';
export const NODE_BUNDLES = ['lifeline.mjs', TOOLS_BUNDLE];

export const NODE_OPTIONS = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: NODE_TARGET,
  external: ['serialport', 'esbuild'],
  banner: {
    js:
      "#!/usr/bin/env node\nimport { createRequire as __createRequire } from 'node:module';\n" +
      'const require = __createRequire(import.meta.url);',
  },
  sourcemap: 'linked',
  // The appliance's own code is one file, dist/lifeline.mjs: `lifeline run` and `check-config`
  // load it and nothing else (each further module file costs start-up more than its bytes do).
  // Its own lazy parts (reload, the metrics server, exec targets) stay in it, evaluated when
  // first imported. The lab, the bench and the operator's tools (cli/tools.ts) are a second
  // bundle beside it, dist/lifeline-tools.mjs (TOOLS_OPTIONS), imported when their command runs:
  // they carry their own copy of the firmware, which they run in place of the appliance's. Code
  // that finds its files from import.meta.url (the MD5 addon, the board bundle, the release) sees
  // the same folder from either.
  splitting: false,
  outdir: 'dist',
  entryNames: 'lifeline',
  outExtension: { '.js': '.mjs' },
  metafile: true,
  logLevel: 'silent',
  plugins: [
    {
      name: 'tools-bundle',
      setup(build) {
        build.onResolve({ filter: /^\.\/tools$/ }, (args) =>
          args.importer.endsWith(join('cli', 'lifeline.ts'))
            ? { path: './' + TOOLS_BUNDLE, external: true }
            : undefined,
        );
      },
    },
  ],
};

/** The second Node bundle: the commands that are not the appliance (cli/tools.ts). */
export const TOOLS_OPTIONS = {
  ...NODE_OPTIONS,
  entryNames: 'lifeline-tools',
  plugins: [],
};

function report(target, error) {
  const messages = error.errors ?? [{ text: String(error) }];
  for (const message of messages) {
    const where = message.location
      ? message.location.file + ':' + message.location.line + ':' + message.location.column + ': '
      : '';
    process.stderr.write('build ' + target + ': ' + where + message.text + '\n');
  }
}

/**
 * As `lifeline run` and check-config: the console's key or codes file that group or others may
 * read is refused (as ssh refuses a private key), one line each with the chmod to run; the count.
 */
function exposedSecrets(path, settings) {
  const exposed = [
    ['console.keyFile', settings?.keyFile],
    ['console.recoveryCodesFile', settings?.recoveryCodesFile],
  ].filter(([, file]) => file && existsSync(file) && (statSync(file).mode & 0o077) !== 0);
  for (const [key, file] of exposed) {
    const mode = (statSync(file).mode & 0o777).toString(8).padStart(4, '0');
    const why = `is open to group or others (mode ${mode}): run chmod 600 ${file}`;
    process.stderr.write(`${path}: ${key}: ${file} ${why}\n`);
  }
  return exposed.length;
}

/**
 * Validates an Espruino config on the host with the firmware's own validator and returns the
 * validated config, ready to embed (byte arrays as { $bytes: [...] }), or null after printing one
 * PATH: PROBLEM line per problem. The board then carries no validator (11 KB it has no room for).
 */
export async function validatedConfig(path, root = '.') {
  const bundled = await esbuild.build({
    stdin: {
      contents:
        "export { parseConfigText } from './config/validate';" +
        "export { espruinoProblems } from './config/board';",
      resolveDir: resolve(root),
      loader: 'ts',
    },
    absWorkingDir: resolve(root),
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    write: false,
    logLevel: 'silent',
  });
  const url =
    'data:text/javascript;base64,' + Buffer.from(bundled.outputFiles[0].text).toString('base64');
  const { parseConfigText, espruinoProblems } = await import(url);
  const result = parseConfigText(readFileSync(path, 'utf8'));
  const errors = result.config === null ? result.errors : espruinoProblems(result.config);
  if (errors.length > 0) {
    for (const error of errors) process.stderr.write(path + ': ' + error + '\n');
    return null;
  }
  const embedded = { ...result.config };
  const settings = result.config.console;
  if (exposedSecrets(path, settings) > 0) return null;
  try {
    // The board keeps its console key and the recovery codes' hashes in flash, with the config.
    if (settings?.keyFile) embedded.consoleKey = readFileSync(settings.keyFile, 'utf8').trim();
    if (settings?.recoveryCodesFile) {
      embedded.recoveryHashes = readFileSync(settings.recoveryCodesFile, 'utf8')
        .split('\n')
        .map((line) => line.trim().toLowerCase())
        .filter((line) => /^[0-9a-f]{64}$/.test(line));
    }
  } catch (error) {
    process.stderr.write(path + ': console: ' + error.message + '\n');
    return null;
  }
  return JSON.parse(
    JSON.stringify(embedded, (_key, value) =>
      value instanceof Uint8Array ? { $bytes: Array.from(value) } : value,
    ),
  );
}

/**
 * The device-class bench's program (bench/m4-program.ts) for Espruino, with bench/m4-config.json
 * (one service of three DNS targets, one BGP peer, 250 ms) embedded: run on the emulated
 * Cortex-M4 by bench/m4.ts. Built as a board's bundle is (`buildEspruino`: its feature set, its
 * names shortened, its functions and methods written in where they are called), so that the
 * firmware it times is the code a board runs; and built twice (M4_PART): once with only the
 * rounds, so that nothing but the round calls the firmware's functions there and the build writes
 * each in as it does on a board (a function the bench also called would stay a function), and once
 * with the parts timed alone (decision step, decode, codec, calibration).
 */
export async function buildM4Bench(root = '.') {
  const config = await validatedConfig(join(root, 'bench/m4-config.json'));
  if (config === null) return false;
  let ok = true;
  for (const [part, file] of [
    ['parts', 'dist/bench-m4.js'],
    ['rounds', 'dist/bench-m4-round.js'],
  ]) {
    const define = { M4_PART: JSON.stringify(part) };
    const built = await buildEspruino(config, root, 'bench/m4-program.ts', define);
    const problems = checkEspruinoSource(built.text);
    for (const problem of problems) process.stderr.write('build m4 bench: ' + problem + '\n');
    writeFileSync(join(root, file), built.text);
    ok = ok && problems.length === 0;
  }
  return ok;
}

export async function build(configPath = 'config/espruino.example.json', options = {}) {
  let ok = true;
  try {
    // The validator's readers and the reference's key tables, from the config's schema.
    await writeSchemaOutputs();
  } catch (error) {
    report('schema', error);
    return false;
  }
  try {
    // The chunks of an earlier build (which split the bundle) would be shipped by mistake.
    if (existsSync('dist'))
      for (const name of readdirSync('dist').filter((file) => file.startsWith('chunk-')))
        rmSync(join('dist', name));
    // The release in lifeline_build_info (appliance/status-metrics.ts) and --version.
    const define = buildInfo(options.version);
    await esbuild.build({ ...NODE_OPTIONS, define, entryPoints: ['cli/lifeline.ts'] });
    await esbuild.build({ ...TOOLS_OPTIONS, define, entryPoints: ['cli/tools.ts'] });
    chmodSync('dist/lifeline.mjs', 0o755);
  } catch (error) {
    report('node', error);
    ok = false;
  }
  // The TCP MD5 addon for this machine, next to the bundle (the release cross-compiles the rest:
  // scripts/package.mjs). Without a compiler the bundle still works, without MD5: say so only.
  for (const problem of buildMd5([process.arch])) process.stderr.write(problem + '\n');
  try {
    const config = await validatedConfig(configPath);
    if (config === null) return false;
    const outfile = 'dist/lifeline-espruino.js';
    const built = await buildEspruino(config);
    writeFileSync(outfile, built.text);
    // A bundle that embeds the console's key or codes is as secret as they are.
    chmodSync(outfile, config.consoleKey || config.recoveryHashes ? 0o600 : 0o644);
    const problems = checkEspruinoSource(built.text);
    const typed = checkEspruinoTypes(built.inputs, [ESPRUINO_GLOBALS]);
    for (const problem of typed) process.stderr.write('build espruino: ' + problem + '\n');
    const typeProblems = typed.length;
    for (const problem of problems)
      process.stderr.write('build espruino: ' + outfile + ':' + problem + '\n');
    ok = ok && problems.length === 0 && typeProblems === 0;
  } catch (error) {
    report('espruino', error);
    ok = false;
  }
  try {
    ok = (await buildM4Bench()) && ok;
  } catch (error) {
    report('m4 bench', error);
    ok = false;
  }
  return ok;
}
