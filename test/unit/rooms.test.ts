// The house's rooms (README, "Where everything is"): which room may import which, no import
// circles anywhere, and an appliance whose bundle is one file carrying none of the lab, the
// benchmarks, the simulator or the operator's tools (they load only when their command runs).

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import * as esbuild from 'esbuild';
import { describe, expect, it } from 'vitest';

import { NODE_OPTIONS, TOOLS_BUNDLE, TOOLS_OPTIONS } from '../../build/targets.mjs';

/** Each room and the rooms its code may import (besides itself). */
const MAY_IMPORT: { readonly [room: string]: readonly string[] } = {
  firmware: [],
  'hal/node': ['firmware'],
  'hal/espruino': ['firmware'],
  'hal/sim': ['firmware'],
  config: ['firmware'],
  appliance: ['firmware', 'config', 'hal/node', 'hal/sim'],
  operator: ['firmware', 'config', 'hal/node'],
  lab: ['firmware', 'config', 'hal/node', 'hal/sim', 'appliance', 'operator'],
  // bench/m4-program.ts runs on the emulated board and hands it each reply as its HAL does.
  bench: [
    'firmware',
    'config',
    'hal/node',
    'hal/sim',
    'hal/espruino',
    'appliance',
    'operator',
    'lab',
  ],
  sim: ['firmware', 'config', 'hal/sim'],
  cli: ['firmware', 'config', 'appliance', 'operator', 'lab', 'bench'],
  build: [],
  // scripts/arm64 bundles the core's unit tests, to run them under qemu on an ARM64 Node.
  scripts: ['build', 'test'],
  '.': ['build'],
};

function sources(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...sources(path));
    else if (/\.(ts|mjs)$/.test(name) && !name.endsWith('.d.mts')) found.push(path);
  }
  return found;
}

const ROOT_FILES = ['build.mjs'];
const FILES = [
  ...Object.keys(MAY_IMPORT)
    .filter((room) => room !== '.')
    .flatMap(sources),
  ...ROOT_FILES,
];

function roomOf(path: string): string {
  const parts = path.split('/');
  if (parts.length === 1) return '.';
  return parts[0] === 'hal' ? parts[0] + '/' + parts[1] : parts[0]!;
}

const EXTENSIONS = ['', '.ts', '.mjs', '/index.ts'];

/** The project files `path` imports (static, dynamic and type-only imports alike). */
function importsOf(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  const targets: string[] = [];
  for (const match of text.matchAll(/(?:\bfrom|\bimport\(?)\s*'(\.\.?\/[^']+)'/g)) {
    const base = normalize(join(dirname(path), match[1]!));
    const found = EXTENSIONS.map((extension) => base + extension).find((candidate) => {
      try {
        return statSync(candidate).isFile();
      } catch {
        return false;
      }
    });
    if (found !== undefined) targets.push(found);
  }
  return targets;
}

const GRAPH = new Map(FILES.map((path) => [path, importsOf(path)]));

/** The strongly connected components of more than one file (Tarjan): the import circles. */
function circles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, index.get(next)!));
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1) found.push(component.sort());
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

describe('rooms', () => {
  it('every room imports only the rooms below it', () => {
    const problems: string[] = [];
    for (const [path, targets] of GRAPH) {
      const room = roomOf(path);
      for (const target of targets) {
        const other = roomOf(target);
        if (other !== room && !MAY_IMPORT[room]!.includes(other))
          problems.push(path + ' (' + room + ') imports ' + target + ' (' + other + ')');
      }
    }
    expect(problems).toEqual([]);
  });

  it('has no import circles', () => {
    expect(circles(GRAPH)).toEqual([]);
    // The check itself finds a circle when there is one.
    expect(
      circles(
        new Map([
          ['a', ['b']],
          ['b', ['c']],
          ['c', ['a']],
          ['d', ['a']],
        ]),
      ),
    ).toEqual([['a', 'b', 'c']]);
  });

  it("keeps the lab, bench, simulator and operator's tools out of the appliance's one-file bundle", async () => {
    const built = await esbuild.build({
      ...NODE_OPTIONS,
      entryPoints: ['cli/lifeline.ts'],
      write: false,
    });
    const outputs = built.metafile!.outputs;
    // What `lifeline run` loads: one file (a module file more costs start-up more than its bytes).
    const files = Object.keys(outputs).filter((output) => output.endsWith('.mjs'));
    const out = (name: string): string => NODE_OPTIONS.outdir + '/' + name;
    expect(files).toEqual([out('lifeline.mjs')]);
    const appliance = outputs[out('lifeline.mjs')]!;
    const inputs = Object.keys(appliance.inputs);
    expect(inputs.filter((input) => /^(lab|bench|sim|operator)\/|tinybench/.test(input))).toEqual(
      [],
    );
    expect(inputs).toContain('appliance/run.ts');
    expect(inputs).toContain('firmware/lifeline.ts');
    // The tools are imported from the bundle beside it, when their command runs.
    expect(appliance.imports).toContainEqual({
      path: './' + TOOLS_BUNDLE,
      kind: 'dynamic-import',
      external: true,
    });
    // ... which holds the lab and the bench.
    const tools = await esbuild.build({
      ...TOOLS_OPTIONS,
      entryPoints: ['cli/tools.ts'],
      write: false,
    });
    const toolInputs = Object.keys(tools.metafile!.outputs[out(TOOLS_BUNDLE)]!.inputs);
    expect(toolInputs).toContain('lab/lab.ts');
    expect(toolInputs).toContain('bench/suite.ts');
    expect(toolInputs).toContain('operator/keygen.ts');
  });
});
