// The board bundles, built in memory (esbuild, the TypeScript checker: hence this tier), in which
// no function called from one place may survive: the build writes each in at its call
// (build/espruino/shrink.mjs), so the sources keep their helpers for the reader and the board pays
// nothing for them.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as acorn from 'acorn';
import * as walk from 'acorn-walk';
import { describe, expect, it } from 'vitest';
import { buildEspruino, validatedConfig } from '../../build/targets.mjs';

/**
 * The functions and methods of a minified bundle that are called from exactly one place and named
 * nowhere else: what the build should have written in at that call.
 */
function oneCallSurvivors(bundle: string): string[] {
  const ast = acorn.parse(bundle, { ecmaVersion: 'latest' });
  const calls = new Map<string, number>();
  const uses = new Map<string, number>();
  const add = (map: Map<string, number>, name: string): number =>
    map.set(name, (map.get(name) ?? 0) + 1).get(name)!;
  const defined: string[] = [];
  walk.fullAncestor(ast, (node, _state, ancestors) => {
    const parent = ancestors[ancestors.length - 2] as acorn.Node | undefined;
    const callee = parent?.type === 'CallExpression' && (parent as acorn.CallExpression).callee;
    if (node.type === 'MethodDefinition') {
      const method = node as acorn.MethodDefinition;
      if (method.kind === 'method' && method.key.type === 'Identifier')
        defined.push('.' + method.key.name);
    } else if (node.type === 'FunctionDeclaration') {
      defined.push((node as acorn.FunctionDeclaration).id!.name);
    } else if (node.type === 'MemberExpression') {
      const member = node as acorn.MemberExpression;
      if (member.property.type !== 'Identifier' || member.computed) return;
      add(uses, '.' + member.property.name);
      if (callee === node) add(calls, '.' + member.property.name);
    } else if (node.type === 'Identifier') {
      const name = (node as acorn.Identifier).name;
      add(uses, name);
      if (callee === node) add(calls, name);
    }
  });
  // Two methods of one name, each called once, are two calls of that name (the bundle has no
  // types to tell them apart). A function declaration's own name is an Identifier use too.
  const definitions = new Map<string, number>();
  for (const name of defined) add(definitions, name);
  return [...definitions].flatMap(([name, count]) =>
    calls.get(name) === count && uses.get(name) === (name.startsWith('.') ? 1 : 2) * count
      ? [name]
      : [],
  );
}

describe('the board bundle', () => {
  const full = (): Record<string, any> =>
    JSON.parse(readFileSync('config/espruino.full.example.json', 'utf8'));
  const boards: [string, () => Record<string, any>][] = [
    ['ExaBGP', () => JSON.parse(readFileSync('config/espruino.example.json', 'utf8'))],
    ['one service + BGP', () => ({ ...full(), console: undefined, overridePin: undefined })],
    ['BGP, console and pin', full],
    [
      'BGP with fleet',
      () => ({
        ...full(),
        console: undefined,
        overridePin: undefined,
        fleet: { siteCommunity: '65010:1', lastResortCommunity: '65010:666' },
      }),
    ],
  ];

  it.each(boards)(
    'keeps no function called from one place (%s): the build writes each in at its call',
    async (_name, doc) => {
      const dir = mkdtempSync(join(tmpdir(), 'lifeline-shrink-'));
      writeFileSync(join(dir, 'config.json'), JSON.stringify(doc()));
      const config = await validatedConfig(join(dir, 'config.json'));
      rmSync(dir, { recursive: true });
      const { text } = await buildEspruino(config);
      expect(oneCallSurvivors(text)).toEqual([]);
    },
    60000,
  );

  it('finds a function called from one place that the build left', () => {
    const kept =
      'function f(a){return a+1}class A{m(){return 1}}class B{m(){return 2}}' +
      'f(new A().m()+new B().m());';
    expect(oneCallSurvivors(kept)).toEqual(['f', '.m']);
    expect(oneCallSurvivors('function f(){}f();f();setTimeout(f);')).toEqual([]);
  });
});
