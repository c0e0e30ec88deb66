// Style enforced by a test rather than by review (STYLE.md, conventions 12 and 14): line and
// function length, a portable core that imports nothing from Node or Espruino and uses none of the
// runtime features Espruino lacks or the hot path must not use, every firmware field assigned in
// its class's constructor, no leftover markers, and every module opening with a comment on its
// role.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

function files(dir: string, pattern: RegExp): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...files(path, pattern));
    else if (pattern.test(name)) found.push(path);
  }
  return found;
}

/** The source rooms (README, "Where everything is"). */
const ROOMS = ['firmware', 'hal', 'config', 'cli', 'appliance', 'operator', 'lab', 'bench', 'sim'];
const SOURCES = [
  ...files('scripts/arm64', /\.ts$/),
  ...ROOMS.flatMap((dir) => files(dir, /\.ts$/)),
  'build.mjs',
  ...files('build', /\.mjs$/),
  ...files('scripts', /\.mjs$/),
];
const TESTS = files('test', /\.ts$/);
const FIRMWARE = files('firmware', /\.ts$/);
const FUNCTION_LINES_MAX = 70;
// Spelt in pieces so that this file does not match itself.
const MARKER = new RegExp('\\b(' + ['FIX' + 'ME', 'TO' + 'DO', 'X' + 'XX'].join('|') + ')\\b');

/** Every function-like node of a file with its line count. */
function functionLengths(path: string): { name: string; lines: number }[] {
  const text = readFileSync(path, 'utf8');
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const found: { name: string; lines: number }[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
      const start = source.getLineAndCharacterOfPosition(node.getStart()).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const name =
        'name' in node && node.name !== undefined
          ? (node.name as ts.Node).getText()
          : '(anonymous)';
      found.push({ name: path + ':' + (start + 1) + ' ' + name, lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('tidy', () => {
  it('keeps lines to 100 columns (130 in tests, for quoted specification text)', () => {
    const long: string[] = [];
    for (const [list, limit] of [
      [SOURCES, 100],
      [TESTS, 130],
    ] as const) {
      for (const path of list) {
        readFileSync(path, 'utf8')
          .split('\n')
          .forEach((line, index) => {
            if (line.length > limit)
              long.push(path + ':' + (index + 1) + ' has ' + line.length + ' columns');
          });
      }
    }
    expect(long).toEqual([]);
  });

  it('keeps functions to 70 lines, in the build scripts (.mjs) too', () => {
    const over = SOURCES.flatMap(functionLengths)
      .filter((entry) => entry.lines > FUNCTION_LINES_MAX)
      .map((entry) => entry.name + ': ' + entry.lines + ' lines');
    expect(over).toEqual([]);
  });

  it('keeps firmware/ portable: relative imports only, nothing Espruino lacks, no hot-path hazards', () => {
    const banned: [RegExp, string][] = [
      [/\b(new Map|new Set|WeakMap|Symbol\(|Proxy|Reflect\.)/, 'uses a global Espruino lacks'],
      [/Math\.imul|Number\.isInteger|Object\.freeze/, 'uses a function Espruino lacks'],
      [/\.forEach\(/, 'uses forEach (a closure per call)'],
      [/\b(async|await)\b|\.finally\(/, 'uses async code (the core is synchronous)'],
      [
        /\b(process|console|require|setTimeout|setInterval|Buffer)\b[.(]/,
        'reaches outside the HAL',
      ],
      [/\?\?=|\|\|=|&&=|\*\*/, 'uses an operator esbuild may leave in'],
    ];
    const problems: string[] = [];
    for (const path of FIRMWARE) {
      for (const match of readFileSync(path, 'utf8').matchAll(/ from '([^']*)';$/gm)) {
        const target = join(dirname(path), match[1]!);
        if (!match[1]!.startsWith('.') || !target.startsWith('firmware/')) {
          problems.push(path + ' imports ' + match[1] + ', which is not a firmware/ module');
        }
      }
      const code = readFileSync(path, 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/\/\/.*$/gm, '');
      for (const [pattern, what] of banned)
        if (pattern.test(code)) problems.push(path + ' ' + what);
    }
    expect(problems).toEqual([]);
  });

  it("assigns every field of a firmware class in its constructor: no `!:`, a feature's state in its object", () => {
    // A field only some builds assign would be declared `name!: T`, hiding from the compiler that
    // it may be absent: such state belongs to its feature's own object (null without the feature).
    const problems: string[] = [];
    for (const path of FIRMWARE) {
      const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest);
      const visit = (node: ts.Node): void => {
        if (ts.isPropertyDeclaration(node) && node.exclamationToken !== undefined) {
          const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
          problems.push(path + ':' + line + ' ' + node.name.getText(source) + '!:');
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
    expect(problems).toEqual([]);
  });

  it('leaves no leftover markers, and opens every module with a comment on its role', () => {
    const problems: string[] = [];
    for (const path of [...SOURCES, ...TESTS]) {
      const text = readFileSync(path, 'utf8');
      if (MARKER.test(text)) problems.push(path + ' has a leftover marker');
      if (!/^(#!.*\n)?\/\/ \S/.test(text))
        problems.push(path + ' does not open with a comment on its role');
    }
    expect(problems).toEqual([]);
  });
});
