// One source, two targets: the Espruino bundle keeps to the interpreter's subset (ESPRUINO.md), the
// build stops on syntax outside it, the checker catches what esbuild passes through, and the bundle
// boots and probes in a Node vm context that offers only the Espruino globals the HAL uses.

import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { describe, expect, it } from 'vitest';

import { espruinoOptions, validatedConfig } from '../build.mjs';
import { hashCode } from '../firmware/auth';
import { checkEspruinoSource } from '../scripts/espruino-check.mjs';
import { Board } from './support/espruino-board';

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

/** The board build of the example service with one BGP peer (10.9.0.1, AS 65000). */
async function bgpBundle(): Promise<string> {
  const doc = JSON.parse(readFileSync('config/espruino.example.json', 'utf8'));
  doc.announcer = {
    kind: 'bgp',
    localAs: 65010,
    routerId: '192.0.2.10',
    peers: [{ address: '10.9.0.1', remoteAs: 65000, holdTimeS: 9, nextHopV4: '192.0.2.10' }],
  };
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-espruino-'));
  writeFileSync(join(dir, 'bgp.json'), JSON.stringify(doc));
  const config = await validatedConfig(join(dir, 'bgp.json'));
  const built = await esbuild.build({
    ...espruinoOptions(config),
    entryPoints: ['hal/espruino/main.ts'],
    write: false,
  });
  return built.outputFiles[0]!.text;
}

describe('Espruino target', () => {
  it('builds one minified file that passes the subset check', () => {
    const source = readFileSync(BUNDLE, 'utf8');
    expect(checkEspruinoSource(source)).toEqual([]);
    expect(source.length).toBeLessThan(40 * 1024);
    // Minified: esbuild writes "\n" strings as template literals holding a real newline (a byte
    // shorter), so the file has a few line breaks, but its lines are long and never indented.
    const lines = source.split('\n');
    expect(source.length / lines.length).toBeGreaterThan(1000);
    expect(lines.filter((line) => /^\s/.test(line))).toEqual([]);
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

  it('keeps the board build of one service, three targets and one BGP peer within 40 KB', async () => {
    const source = await bgpBundle();
    expect(source.length).toBeLessThanOrEqual(40 * 1024);
    expect(source).not.toMatch(/line-too-long/); // no console in this config: none in the bundle
    expect(checkEspruinoSource(source)).toEqual([]);
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

  it('boots in a context with only Espruino globals, probes with string datagrams and announces', () => {
    const board = new Board();
    board.run(readFileSync(BUNDLE, 'utf8'), 4);
    expect(board.sockets.length).toBe(2);
    expect(board.sends[0]!.address).toBe('10.1.0.53');
    expect(board.sends[0]!.text.slice(12)).toBe('\x06health\x07example\x00\x00\x01\x00\x01');
    expect(board.output).toContain('announce route 192.0.2.53/32 next-hop self');
    expect(board.output.join('\n')).toMatch(
      /transition service=dns state=up reason=rise healthy=2\/3 .*failed=lla\(unreachable\)/,
    );
  });

  it('runs the console on Serial1 with the embedded key, the pin on setWatch, the audit in Storage', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lifeline-espruino-'));
    const key = 'ab'.repeat(32);
    writeFileSync(join(dir, 'key'), key + '\n');
    writeFileSync(join(dir, 'codes'), hashCode('ABCD-EFGH-JKLM-NPQR') + '\n');
    const doc = JSON.parse(readFileSync('config/espruino.full.example.json', 'utf8'));
    doc.console.keyFile = join(dir, 'key');
    doc.console.recoveryCodesFile = join(dir, 'codes');
    writeFileSync(join(dir, 'full.json'), JSON.stringify(doc));
    const config = await validatedConfig(join(dir, 'full.json'));
    expect(config.consoleKey).toBe(key);
    const built = await esbuild.build({
      ...espruinoOptions(config),
      entryPoints: ['hal/espruino/main.ts'],
      write: false,
    });
    const source = built.outputFiles[0]!.text;
    expect(checkEspruinoSource(source)).toEqual([]);
    const board = new Board();
    board.run(source, 4);
    expect(board.type('status')[0]).toMatch(
      /^INFO service=dns state=announced auto=up override=none pin=off/,
    );
    const challenge = /challenge=([0-9a-f]{32})/.exec(board.type('auth').join('\n'))![1]!;
    const response = createHmac('sha256', Buffer.from(key, 'hex'))
      .update(Buffer.from(challenge, 'hex'))
      .digest('hex');
    expect(board.type('auth ' + response)).toEqual(['OK authenticated']);
    expect(board.type('withdraw all for 90s')).toEqual(['OK withdraw all for 90s']);
    expect(board.watches).toHaveLength(1);
    expect(board.watches[0]!.options).toEqual({ repeat: true, edge: 'both', debounce: 50 });
    board.watches[0]!.handler({ state: false, time: 0 }); // active low: asserted
    expect(board.type('status')[0]).toMatch(
      /state=announced auto=up override=withdraw\(90s\) pin=on/,
    );
    expect(board.type('log 4').join('\n')).toMatch(
      /pin state=asserted action=announce driver=espruino pin=D5/,
    );
    expect(board.flash['audit.log']).toMatch(
      /auth-ok method=hmac[\s\S]*override service=dns override=withdraw/,
    );
    expect(board.flash['overrides.json']).toMatch(/"kind":"withdraw"/);
    expect(board.type('logout')).toEqual(['OK logged out']);
    expect(board.type('auth code ABCD-EFGH-JKLM-NPQR')).toEqual(['OK authenticated']);
  });

  it('runs the BGP speaker on the board: OPEN, KEEPALIVE and the UPDATE cross as strings', async () => {
    const source = await bgpBundle();
    expect(checkEspruinoSource(source)).toEqual([]);
    const board = new Board();
    board.acceptStreams = true;
    board.run(source, 0.5);
    // The TCP probe of `lla` connects through net too: the BGP session is the one to 10.9.0.1.
    const sessions = board.streams.filter(
      (entry) => (entry.options as { host: string }).host === '10.9.0.1',
    );
    expect(sessions.length).toBe(1);
    const stream = sessions[0]!;
    expect(stream.options).toEqual({ host: '10.9.0.1', port: 179 });
    expect(stream.written[0]!.slice(0, 16)).toBe('\xff'.repeat(16));
    expect(stream.written[0]!.charCodeAt(18)).toBe(1); // OPEN
    const peerOpen = Buffer.from(
      'ffffffffffffffffffffffffffffffff003b0104fde800097f0000021e021c01040001000101040002000102004002007841040000fde846004700',
      'hex',
    ).toString('latin1');
    stream.handlers['data']!(peerOpen + '\xff'.repeat(16) + '\x00\x13\x04');
    board.run(null, 4);
    const types = stream.written.map((text) => text.charCodeAt(18));
    expect(types.slice(0, 3)).toEqual([1, 4, 2]); // OPEN, KEEPALIVE, then the UPDATE once the service rose
    expect(Buffer.from(stream.written[2]!, 'latin1').toString('hex')).toBe(
      'ffffffffffffffffffffffffffffffff003002000000144001010040020602010000fdf2400304c000020a20c0000235',
    );
  });
});
