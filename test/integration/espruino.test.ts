// One source, two targets: the Espruino bundle keeps to the interpreter's subset, the build stops on
// syntax outside it, and the checker catches what esbuild passes through and every API found
// missing or broken on the real interpreter (asked again here when it is at hand). The firmware
// itself runs on the real interpreter in test/integration/espruino-real.test.ts.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { describe, expect, it } from 'vitest';

import { buildEspruino, espruinoOptions, validatedConfig } from '../../build/targets.mjs';
import { CONFIG_KEYS } from '../../config/validate';
import { BOARD_KEYS, keyPath } from '../../config/board';
import { breakLines } from '../../build/espruino/lines.mjs';
import { topLevelClashes, unwrap } from '../../build/espruino/unwrap.mjs';
import { checkEspruinoSource } from '../../build/espruino/check.mjs';
import { checkEspruinoTypes } from '../../build/espruino/types.mjs';
import { boardDir, espruinoMissing, Interpreter, removeBoardDir } from '../support/espruino-real';
import { skipping } from '../support/complete';

const BUNDLE = 'dist/lifeline-espruino.js';

async function buildSnippet(code: string): Promise<string> {
  try {
    await esbuild.build({
      ...espruinoOptions({}),
      stdin: { contents: code, loader: 'ts' },
      write: false,
      banner: {},
    });
    return 'built';
  } catch (error) {
    return (error as { errors: { text: string }[] }).errors.map((entry) => entry.text).join('; ');
  }
}

/**
 * The board build of the example service with one BGP peer (10.9.0.1, AS 65000), with `extra` in
 * its config.
 */
async function bgpBundle(extra: Record<string, unknown> = {}): Promise<string> {
  const doc = JSON.parse(readFileSync('config/espruino.example.json', 'utf8'));
  doc.announcer = {
    kind: 'bgp',
    localAs: 65010,
    routerId: '192.0.2.10',
    peers: [{ address: '10.9.0.1', remoteAs: 65000, holdTimeS: 9, nextHopV4: '192.0.2.10' }],
  };
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-espruino-'));
  writeFileSync(join(dir, 'bgp.json'), JSON.stringify({ ...doc, ...extra }));
  return (await buildEspruino(await validatedConfig(join(dir, 'bgp.json')))).text;
}

describe('Espruino target', () => {
  it('builds one minified file that passes the subset check', () => {
    const source = readFileSync(BUNDLE, 'utf8');
    expect(checkEspruinoSource(source)).toEqual([]);
    expect(source.length).toBeLessThan(40 * 1024);
    // Minified, never indented, and in short lines: Espruino pads an exception's stack trace
    // with as many spaces as each frame's column (build/espruino/lines.mjs).
    const lines = source.split('\n');
    expect(source.length / lines.length).toBeLessThan(150);
    expect(lines.filter((line) => line.length > 500)).toEqual([]);
    expect(lines.filter((line) => /^\s/.test(line))).toEqual([]);
  });

  it('takes the IIFE off, and refuses a top-level name that would overwrite a board global', () => {
    const bundled =
      'function espruinoRequire(m){return require(m)}\n(()=>{var a=1;function D5(){}})();\n';
    const text = unwrap(bundled);
    expect(text).toBe('function espruinoRequire(m){return require(m)}\nvar a=1;function D5(){}\n');
    expect(topLevelClashes(text)).toEqual(['D5']);
    expect(topLevelClashes('var print=1,b=2;class Serial1{}')).toEqual(['print', 'Serial1']);
    expect(() => unwrap('var a=1;')).toThrow(/no IIFE wrapper/);
    // The real bundle: no wrapper, no clash.
    const source = readFileSync(BUNDLE, 'utf8');
    expect(source).not.toContain('(()=>{var');
    expect(topLevelClashes(source)).toEqual([]);
  });

  it('breaks lines only between tokens where no meaning changes', () => {
    const source =
      'function f(a){return a+1}var s=`x${f(1)},${f(2)}`;var t="a,b;c{d}";' +
      'for(var i=0;i<3;i++){s+=t}';
    const broken = breakLines(source, 10);
    expect(broken.split('\n').length).toBeGreaterThan(3);
    expect(broken).toContain('"a,b;c{d}"'); // never inside a string
    expect(broken).toContain('`x${f(1)},${f(2)}`'); // nor a template literal
    expect(broken).not.toMatch(/return\n/);
    expect(new Function(broken + ';return s')()).toBe(new Function(source + ';return s')());
  });

  it('validates the embedded config on the host: a broken one fails with PATH: PROBLEM lines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lifeline-espruino-'));
    const path = join(dir, 'broken.json');
    writeFileSync(
      path,
      JSON.stringify({ device: { name: 'x' }, services: [], announcer: { kind: 'exabgp' } }),
    );
    const lines: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((text: string) => lines.push(text) > 0) as typeof process.stderr.write;
    try {
      expect(await validatedConfig(path)).toBeNull();
    } finally {
      process.stderr.write = write;
    }
    expect(lines).toEqual([path + ': services: must have 1 to 16 entries, has 0\n']);
    const good = await validatedConfig('config/espruino.example.json');
    expect(good.services[0].prefixes[0].bytes).toEqual({ $bytes: [192, 0, 2, 53] });
  });

  it('refuses at the config check what a board cannot do: a passive peer, TCP MD5', async () => {
    const doc = JSON.parse(readFileSync('config/espruino.example.json', 'utf8'));
    doc.announcer = {
      kind: 'bgp',
      localAs: 65010,
      routerId: '192.0.2.10',
      peers: [
        { address: '10.9.0.1', remoteAs: 65000, nextHopV4: '192.0.2.10', passive: true },
        { address: '10.9.0.2', remoteAs: 65000, nextHopV4: '192.0.2.10', passwordFile: 'k' },
      ],
    };
    const path = join(mkdtempSync(join(tmpdir(), 'lifeline-espruino-')), 'passive.json');
    writeFileSync(path, JSON.stringify(doc));
    const lines: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((text: string) => lines.push(text) > 0) as typeof process.stderr.write;
    try {
      expect(await validatedConfig(path)).toBeNull();
    } finally {
      process.stderr.write = write;
    }
    expect(lines).toEqual([
      path +
        ': announcer.peers[0].passive: not on Espruino (the board cannot listen for connections)\n',
      path +
        ': announcer.peers[1].passwordFile: not on Espruino (its network stack has no TCP MD5)\n',
    ]);
  });

  /**
   * What the board build says of `doc` (validatedConfig, as `node build.mjs --config` and `lifeline
   * flash --config` run it): its problem lines without the file name, or [] when it builds.
   */
  async function boardProblems(doc: unknown): Promise<string[]> {
    const path = join(mkdtempSync(join(tmpdir(), 'lifeline-espruino-')), 'board.json');
    writeFileSync(path, JSON.stringify(doc));
    const lines: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((text: string) => lines.push(text) > 0) as typeof process.stderr.write;
    try {
      const config = await validatedConfig(path);
      expect(config === null).toBe(lines.length > 0);
    } finally {
      process.stderr.write = write;
    }
    return lines.map((line) => line.slice(path.length + 2).trimEnd());
  }

  /** A config document, written freely by the cases below. */
  type BoardDoc = any;

  /** The example with one BGP peer, then `change` applied to it. */
  function boardDoc(change: (doc: BoardDoc) => void): BoardDoc {
    const doc = JSON.parse(readFileSync('config/espruino.example.json', 'utf8'));
    doc.announcer = {
      kind: 'bgp',
      localAs: 65010,
      routerId: '192.0.2.10',
      peers: [{ address: '10.9.0.1', remoteAs: 65000, nextHopV4: '192.0.2.10' }],
    };
    change(doc);
    return doc;
  }

  // Issue 20, item 6: a key a board cannot honour was silently ignored (a peer's localAddress: the
  // board connected from another address and the router refused it).
  it('puts every config key in exactly one class for a board, as the reference says', () => {
    const classes = ['honoured', 'refused', 'meaningless'];
    const paths: string[] = [];
    for (const parent in CONFIG_KEYS)
      for (const key of CONFIG_KEYS[parent]!) paths.push(keyPath(parent, key));
    const classified: { [path: string]: string } = {};
    for (const parent in BOARD_KEYS)
      for (const key in BOARD_KEYS[parent])
        classified[keyPath(parent, key)] = BOARD_KEYS[parent]![key]!;
    const unclassified = paths.filter((path) => !classes.includes(classified[path]!));
    expect(unclassified, 'config keys without a class for a board').toEqual([]);
    const stale = Object.keys(classified).filter((path) => !paths.includes(path));
    expect(stale, 'classified keys the validator does not know').toEqual([]);
    // The reference's table: one row per key, with the class the code gives it, and no other.
    const reference = readFileSync('docs/reference.md', 'utf8');
    const section = reference.slice(reference.indexOf('### On a board'));
    const table = section.slice(0, section.indexOf('\n#'));
    const rows = [...table.matchAll(/^\| `([^`]+)` \| (\w+) \|/gm)].map(
      (row) => row[1] + ' ' + row[2],
    );
    expect(rows.sort()).toEqual(paths.map((path) => path + ' ' + classified[path]).sort());
  });

  it('refuses every key a board cannot honour, and the values it would get wrong', async () => {
    const EXEC_TARGET = { name: 'own', kind: 'exec', exec: { command: ['/bin/true'] } };
    // One config per refused key (each refused key of BOARD_KEYS needs one here), and the start of
    // the line that refuses it.
    const refusals: { [path: string]: [(doc: BoardDoc) => void, string] } = {
      'announcer.peers[].localAddress': [
        (doc) => (doc.announcer.peers[0].localAddress = '10.9.0.2'),
        'announcer.peers[0].localAddress: not on Espruino (its net.connect cannot bind',
      ],
      'announcer.peers[].passive': [
        (doc) => (doc.announcer.peers[0].passive = true),
        'announcer.peers[0].passive: not on Espruino',
      ],
      'announcer.peers[].passwordFile': [
        (doc) => (doc.announcer.peers[0].passwordFile = 'key'),
        'announcer.peers[0].passwordFile: not on Espruino',
      ],
      'announcer.peers[].bfd': [
        (doc) => (doc.announcer.peers[0].bfd = {}),
        'announcer.peers[0].bfd: not on Espruino (its UDP sockets cannot set or check the TTL)',
      ],
      'announcer.peers[].bfd.intervalMs': [
        (doc) => (doc.announcer.peers[0].bfd = { intervalMs: 100 }),
        'announcer.peers[0].bfd: not on Espruino',
      ],
      'announcer.peers[].bfd.multiplier': [
        (doc) => (doc.announcer.peers[0].bfd = { multiplier: 3 }),
        'announcer.peers[0].bfd: not on Espruino',
      ],
      'announcer.peers[].bfd.multihop': [
        (doc) => (doc.announcer.peers[0].bfd = { multihop: true }),
        'announcer.peers[0].bfd: not on Espruino',
      ],
      'services[].backbone.targets[].exec': [
        (doc) => (doc.services[0].backbone.targets[1] = EXEC_TARGET),
        'services[0].backbone.targets[1].kind: "exec" is not on Espruino (a board runs no commands)',
      ],
      'services[].backbone.targets[].exec.command': [
        (doc) => (doc.services[0].backbone.targets[1] = EXEC_TARGET),
        'services[0].backbone.targets[1].kind: "exec" is not on Espruino',
      ],
      'services[].backbone.targets[].exec.intervalMs': [
        (doc) =>
          (doc.services[0].backbone.targets[1] = {
            ...EXEC_TARGET,
            exec: { command: ['/bin/true'], intervalMs: 1000 },
          }),
        'services[0].backbone.targets[1].kind: "exec" is not on Espruino',
      ],
      'services[].backbone.targets[].exec.timeoutMs': [
        (doc) =>
          (doc.services[0].backbone.targets[1] = {
            ...EXEC_TARGET,
            exec: { command: ['/bin/true'], timeoutMs: 1000 },
          }),
        'services[0].backbone.targets[1].kind: "exec" is not on Espruino',
      ],
      'overridePin.chip': [
        (doc) => (doc.overridePin = { driver: 'gpiochip', chip: 'gpiochip0', line: 5 }),
        'overridePin.driver: "gpiochip" is not on Espruino',
      ],
      'overridePin.line': [
        (doc) => (doc.overridePin = { driver: 'gpiochip', chip: 'gpiochip0', line: 5 }),
        'overridePin.driver: "gpiochip" is not on Espruino',
      ],
      'overridePin.path': [
        (doc) => (doc.overridePin = { driver: 'sysfs', path: '/run/pin' }),
        'overridePin.driver: "sysfs" is not on Espruino',
      ],
      'overridePin.signal': [
        (doc) => (doc.overridePin = { driver: 'serial', signal: 'cts' }),
        'overridePin.driver: "serial" is not on Espruino',
      ],
      metrics: [
        (doc) => (doc.metrics = { listen: '127.0.0.1:9143' }),
        'metrics: not on Espruino (the board cannot listen',
      ],
      'metrics.listen': [
        (doc) => (doc.metrics = { listen: '127.0.0.1:9143' }),
        'metrics: not on Espruino (the board cannot listen',
      ],
      'metrics.webConfigFile': [
        (doc) => (doc.metrics = { listen: '127.0.0.1:9143', webConfigFile: 'web.yml' }),
        'metrics: not on Espruino (the board cannot listen',
      ],
    };
    const refused: string[] = [];
    for (const parent in BOARD_KEYS)
      for (const key in BOARD_KEYS[parent])
        if (BOARD_KEYS[parent]![key] === 'refused') refused.push(keyPath(parent, key));
    expect(Object.keys(refusals).sort()).toEqual(refused.sort());
    for (const path of refused) {
      const [change, line] = refusals[path]!;
      const problems = await boardProblems(boardDoc(change));
      expect(problems.length, path).toBe(1);
      expect(problems[0], path).toContain(line);
    }
    // Values of honoured keys that a board would get wrong, refused the same way.
    const values: [(doc: BoardDoc) => void, string][] = [
      [
        (doc) => (doc.services[0].backbone.targets[1].address = '2001:db8::53'),
        'services[0].backbone.targets[1].address: 2001:db8::53 is IPv6: not on Espruino',
      ],
      [
        (doc) => (doc.announcer.peers[0].address = '2001:db8::1'),
        'announcer.peers[0].address: 2001:db8::1 is IPv6: not on Espruino',
      ],
      [
        (doc) => (doc.console = { device: '/dev/ttyS0' }),
        'console.device: "/dev/ttyS0" is not a serial port of a board',
      ],
      [
        (doc) => (doc.overridePin = { driver: 'espruino', pin: 'gpio5' }),
        'overridePin.pin: "gpio5" is not a pin name of a board',
      ],
    ];
    for (const [change, line] of values)
      expect(await boardProblems(boardDoc(change))).toEqual([expect.stringContaining(line)]);
    // What is meaningless on a board is accepted (and changes nothing it does).
    const meaningless = boardDoc((doc) => {
      doc.stateDir = '/var/lib/lifeline';
      doc.watchdog = { device: '/dev/watchdog' };
      doc.announcer.onShutdown = 'keep';
    });
    expect(await boardProblems(meaningless)).toEqual([]);
  });

  it('lifeline flash --config refuses a key the board cannot honour before it opens the board', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lifeline-espruino-'));
    const path = join(dir, 'board.json');
    writeFileSync(
      path,
      JSON.stringify(boardDoc((doc) => (doc.announcer.peers[0].localAddress = '10.9.0.2'))),
    );
    const run = spawnSync(
      process.execPath,
      ['dist/lifeline.mjs', 'flash', join(dir, 'no-board'), '--config', path],
      { encoding: 'utf8' },
    );
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      path + ': announcer.peers[0].localAddress: not on Espruino (its net.connect cannot bind',
    );
    expect(run.stderr).toMatch(/flash: the config has problems/);
    expect(run.stderr).not.toMatch(/cannot open/);
  });

  it('keeps the board build of one service, three targets and one BGP peer within 40 KB', async () => {
    const source = await bgpBundle();
    expect(source.length).toBeLessThanOrEqual(40 * 1024);
    expect(source).not.toMatch(/line-too-long/); // no console in this config: none in the bundle
    expect(checkEspruinoSource(source)).toEqual([]);
  });

  it('compiles the fleet table and the guard into a board with `fleet`, and out of one without', async () => {
    const withFleet = await bgpBundle({
      fleet: { siteCommunity: '65010:1', lastResortCommunity: '65010:666' },
      guard: { panicFraction: 0.8 },
    });
    expect(checkEspruinoSource(withFleet)).toEqual([]);
    const without = await bgpBundle();
    for (const code of ['add-path=no', ' others=', 'cancelled=fall', 'overflow maxSites'])
      expect([withFleet.includes(code), without.includes(code)], code).toEqual([true, false]);
    expect(without).not.toMatch(/siteCommunity|lastResortCommunity/);
  });

  it('compiles the overrides into a board with a pin or a console, and out of one with neither', async () => {
    const withPin = await bgpBundle({
      overridePin: { driver: 'espruino', pin: 'D5', activeLow: true, debounceMs: 50 },
    });
    expect(checkEspruinoSource(withPin)).toEqual([]);
    const without = await bgpBundle();
    // Without either nothing could end an override: a stored one is not restored, but noted.
    for (const code of ['by=expiry', 'by=unrecorded', 'by=restore', 'no console or pin'])
      expect([withPin.includes(code), without.includes(code)], code).toEqual([
        code !== 'no console or pin',
        code === 'no console or pin',
      ]);
  });

  it('stops the build at syntax Espruino rejects', async () => {
    const cases = [
      'const { a } = globalObject; console.log(a);',
      'function f(a = 1) { return a; } console.log(f());',
      'function f(...a: number[]) { return a; } console.log(f());',
      'const a = [1]; console.log([...a]);',
      'async function f() { await 1; } f();',
      'function* g() { yield 1; } console.log(g());',
    ];
    for (const code of cases)
      expect(await buildSnippet('declare const globalObject: any;\n' + code), code).not.toBe(
        'built',
      );
    expect(await buildSnippet('const a = 1; console.log(a ?? 2, (globalThis as any)?.x);')).toBe(
      'built',
    );
  });

  it('rejects what esbuild passes through: labels, computed keys, tagged templates, missing globals', () => {
    const cases: [string, RegExp][] = [
      ['outer: for (;;) { break outer; }', /labelled statement/],
      ['var k = "a"; var o = { [k]: 1 };', /computed key/],
      ['var t = function () {}; t`x`;', /tagged template/],
      ['var m = new Map();', /Map does not exist/],
      ['var s = new Set([1]);', /Set does not exist/],
      ['var x = Symbol("a");', /Symbol does not exist/],
      ['var y = Math.imul(2, 3);', /Math\.imul/],
      ['var z = Number.isInteger(2);', /Number\.isInteger/],
      ['var f = Object.freeze({});', /Object\.freeze/],
      ['var u = Uint8Array.from([1]);', /Uint8Array\.from/],
      ['Promise.resolve().finally(function () {});', /\.finally/],
      [
        'var B = function () {}; class A extends B { constructor() { super(...arguments); } }',
        /spread/,
      ],
    ];
    for (const [code, problem] of cases)
      expect(checkEspruinoSource(code).join('\n'), code).toMatch(problem);
    expect(checkEspruinoSource('var o = { Map: 1 }; o.Map = 2; var p = { a: 1 }.a;')).toEqual([]);
  });

  // Each API the firmware met missing or broken on the real interpreter: the check refuses it, and
  // (where the interpreter is at hand) the interpreter is asked whether it is still missing.
  const MISSING: { code: string; problem: RegExp; broken: string }[] = [
    {
      code: 'new Uint8Array(4).copyWithin(0, 1);',
      problem: /\.copyWithin does not exist/,
      broken:
        '(function(){try{new Uint8Array(4).copyWithin(0,1);return false}catch(e){return true}})()',
    },
    {
      code: 'var s = Array.prototype.slice.call(new Float64Array(2));',
      problem: /Array\.prototype\.<method> is undefined/,
      broken: 'Array.prototype.slice === undefined',
    },
    {
      code: 'var t = Math.trunc(1.5);',
      problem: /Math\.trunc does not exist/,
      broken: 'Math.trunc === undefined',
    },
    {
      code: 'var f = Number.isFinite(1);',
      problem: /Number\.isFinite does not exist/,
      broken: 'Number.isFinite === undefined',
    },
    {
      code: 'var a = Array.from([1]);',
      problem: /Array\.from does not exist/,
      broken: 'Array.from === undefined',
    },
    {
      code: 'var i = Object.is(1, 1);',
      problem: /Object\.is does not exist/,
      broken: 'Object.is === undefined',
    },
    {
      code: 'var e = new RangeError("x");',
      problem: /RangeError does not exist/,
      broken: 'typeof RangeError === "undefined"',
    },
    {
      code: 'var w = " a".trimStart();',
      problem: /\.trimStart does not exist/,
      broken: '(function(){try{" a".trimStart();return false}catch(e){return true}})()',
    },
    {
      code: 'var d = /^([0-9]{1,7})(s|m|h)$/.exec("90s");',
      problem: /regular expression/,
      broken:
        '(function(){var m=/^([0-9]{1,7})(s|m|h)$/.exec("90s");return m===null||m[2]!=="s"})()',
    },
  ];

  // minify writes a `do` body of one `if` without its braces: the interpreter's parser stops at
  // the `while` ("Got while expected ';'"), which the board build's blocks met (shrink.mjs).
  MISSING.push({
    code: 'var x = 0; do if (x < 5) x++; while (x < 3);',
    problem: /do\.\.\.while whose body is an if without braces/,
    broken:
      '(function(){try{eval("var x=0;do if(x<5)x++;while(x<3)");return false}catch(e){return true}})()',
  });
  MISSING.push({
    code: 'var l = [1, 2]; l.length = 0;',
    problem: /assigning \.length throws/,
    broken: '(function(){try{var l=[1,2];l.length=0;return l.length!==0}catch(e){return true}})()',
  });

  it('refuses each API found missing or broken on the interpreter', () => {
    for (const { code, problem } of MISSING)
      expect(checkEspruinoSource(code).join('\n'), code).toMatch(problem);
  });

  it('refuses a typed array slice (a plain Array there) by the types of the source', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lifeline-espruino-types-'));
    writeFileSync(
      join(dir, 'a.ts'),
      'export const b = new Uint8Array(4);\nexport const c = b.slice(0, 2);\n' +
        'export const d = [1, 2].slice(1);\nexport const e = "ab".slice(1);\n',
    );
    expect(checkEspruinoTypes([join(dir, 'a.ts')])).toEqual([
      join(dir, 'a.ts') +
        ':2:20: Uint8Array.slice returns a plain Array on Espruino (use subarray, or set into a new one)',
    ]);
  });

  it.skipIf(skipping('the refused APIs on the real interpreter', espruinoMissing()))(
    'each refused API is still missing or broken on the real interpreter',
    async () => {
      const dir = boardDir();
      const probes = [
        ...MISSING.map((entry) => entry.broken),
        'Array.isArray(new Uint8Array(4).slice(0,2))',
      ];
      writeFileSync(
        join(dir, 'probe.js'),
        probes.map((probe, i) => 'print("probe' + i + '="+(' + probe + '));').join('\n') + '\n',
      );
      const board = new Interpreter(dir, 'espruino', ['probe.js']);
      try {
        await board.waitFor(new RegExp('probe' + (probes.length - 1) + '=\\w+'), 5000);
        for (let i = 0; i < probes.length; i++)
          expect(board.output, probes[i]).toMatch(new RegExp('probe' + i + '=true'));
      } finally {
        await board.kill();
        removeBoardDir(dir);
      }
    },
  );
});
