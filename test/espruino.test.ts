// One source, two targets: the Espruino bundle keeps to the interpreter's subset (ESPRUINO.md), the
// build stops on syntax outside it, the checker catches what esbuild passes through, and the bundle
// boots and probes in a Node vm context that offers only the Espruino globals the HAL uses.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createContext, runInContext } from 'node:vm';
import * as esbuild from 'esbuild';
import { describe, expect, it } from 'vitest';

import { espruinoOptions, validatedConfig } from '../build.mjs';
import { checkEspruinoSource } from '../scripts/espruino-check.mjs';

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

describe('Espruino target', () => {
  it('builds one minified file that passes the subset check', () => {
    const source = readFileSync(BUNDLE, 'utf8');
    expect(checkEspruinoSource(source)).toEqual([]);
    expect(source.length).toBeLessThan(40 * 1024);
    expect(source.split('\n').length).toBeLessThanOrEqual(3);
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
    let timeS = 1000;
    const timers: { atS: number; run: () => void; id: number }[] = [];
    const output: string[] = [];
    const sends: { text: string; port: number; address: string }[] = [];
    const sockets: { handlers: Record<string, (...args: any[]) => void> }[] = [];
    let timerId = 0;
    const dgram = {
      createSocket: () => {
        const socket = {
          handlers: {} as Record<string, (...args: any[]) => void>,
          on(event: string, handler: (...args: any[]) => void) {
            socket.handlers[event] = handler;
          },
          bind() {},
          close() {},
          send(text: string, port: number, address: string) {
            if (typeof text !== 'string')
              throw new Error('Espruino dgram send takes a string, got ' + typeof text);
            sends.push({ text, port, address });
            const reply =
              String.fromCharCode(text.charCodeAt(0), text.charCodeAt(1), 0x81, 0x80) +
              text.slice(4);
            timers.push({
              atS: timeS + 0.005,
              run: () => socket.handlers['message']!(reply, { address, port }),
              id: ++timerId,
            });
          },
        };
        sockets.push(socket);
        return socket;
      },
    };
    const net = {
      connect: () => {
        throw new Error('Connection refused');
      },
    };
    const context = createContext({
      getTime: () => timeS,
      E: {
        toString: (bytes: Uint8Array) => String.fromCharCode(...bytes),
        on: () => {},
      },
      require: (name: string) => (name === 'dgram' ? dgram : name === 'net' ? net : undefined),
      setTimeout: (run: () => void, delayMs: number) => {
        timers.push({ atS: timeS + delayMs / 1000, run, id: ++timerId });
        return timerId;
      },
      clearTimeout: (id: number) => {
        const index = timers.findIndex((timer) => timer.id === id);
        if (index >= 0) timers.splice(index, 1);
      },
      console: { log: (line: string) => output.push(line) },
    });
    runInContext(readFileSync(BUNDLE, 'utf8'), context);
    for (let step = 0; step < 200 && timeS < 1004; step++) {
      timers.sort((a, b) => a.atS - b.atS);
      const next = timers.shift();
      if (next === undefined) break;
      timeS = Math.max(timeS, next.atS);
      next.run();
    }
    expect(sockets.length).toBe(2);
    expect(sends[0]!.address).toBe('10.1.0.53');
    expect(sends[0]!.text.slice(12)).toBe('\x06health\x07example\x00\x00\x01\x00\x01');
    expect(output).toContain('announce route 192.0.2.53/32 next-hop self');
    expect(output.join('\n')).toMatch(
      /transition service=dns state=up reason=rise healthy=2\/3 .*failed=lla\(unreachable\)/,
    );
  });
});
