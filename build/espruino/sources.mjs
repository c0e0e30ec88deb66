// The board's sources as esbuild reads them: one esbuild plugin that gives every TypeScript file of
// the board bundle its board form before esbuild parses it.
// - firmware/features.ts is the board's feature set, hal/espruino/embedded.ts returns its config
//   (build/espruino/features.mjs);
// - every other file has each feature constant it imports written in as `true` or `false`, so that
//   esbuild folds `if (FLEET)` while it parses: what a dead branch alone calls is then left out of
//   the bundle (esbuild writes a constant of another module in only after it has chosen what the
//   bundle keeps, so a function called only behind an off feature would stay);
// - methods are renamed by what they belong to (build/espruino/renames.mjs);
// - the firmware's assertions are written out, conditions and messages (the board has no room for
//   them; the Node build, the tests and the simulator keep every one); any left in an expression
//   are marked pure. Nothing an assertion checks has a side effect.

import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import ts from 'typescript';

import { boardFeatures, EMBEDDED_MODULE, FEATURES_MODULE, featuresModule } from './features.mjs';

/** `text` with the ranges `edits` ([start, end, replacement], not overlapping) replaced. */
export function applyEdits(text, edits) {
  let out = text;
  for (const [start, end, replacement] of [...edits].sort((a, b) => b[0] - a[0]))
    out = out.slice(0, start) + replacement + out.slice(end);
  return out;
}

/**
 * Where `source` reads a feature constant it imports from the feature module: each a [start, end,
 * name, shorthand] (`shorthand`: a `{ FLEET }` key, which keeps its name). The same for every
 * board (the values are the config's): the board kit carries them (build/board-kit.mjs).
 */
export function featureSites(source) {
  const imported = new Set();
  for (const statement of source.statements) {
    if (!ts.isImportDeclaration(statement)) continue;
    if (!/(^|\/)features$/.test(statement.moduleSpecifier.text)) continue;
    const bindings = statement.importClause?.namedBindings;
    if (bindings === undefined || !ts.isNamedImports(bindings))
      throw new Error(source.fileName + ': import the features by name');
    for (const element of bindings.elements) {
      if (element.propertyName !== undefined)
        throw new Error(source.fileName + ': a feature imported under another name');
      imported.add(element.name.text);
    }
  }
  const sites = [];
  if (imported.size === 0) return sites;
  const visit = (node) => {
    if (ts.isImportDeclaration(node)) return;
    if (ts.isIdentifier(node) && imported.has(node.text)) {
      const parent = node.parent;
      if (ts.isPropertyAccessExpression(parent) && parent.name === node) return;
      const shorthand = ts.isShorthandPropertyAssignment(parent);
      const key = ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent);
      if (!shorthand && key && parent.name === node) return;
      sites.push([node.getStart(source), node.end, node.text, shorthand]);
      return;
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return sites;
}

/** The edits that write each feature constant at `sites` in as its value in `features`. */
export function featureEdits(sites, features) {
  return sites.map(([start, end, name, shorthand]) => {
    const value = String(features[name]);
    return [start, end, shorthand ? name + ': ' + value : value];
  });
}

/**
 * A source file's board edits worked out here with TypeScript: where it reads the features, and
 * `renames` (build/espruino/renames.mjs, by absolute path) for its methods.
 */
export function sourceEdits(path, text, renames) {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  return {
    sites: featureSites(source),
    renames: renames.get(path) ?? [],
    asserts: assertionEdits(source),
  };
}

/**
 * Each `assert(...)` statement of a firmware source, written out (`;`: it may be the body of an
 * `if`). Marked pure, esbuild drops the call but keeps its condition (a property read might have
 * a side effect), which a board would carry and evaluate; the firmware's assertions have none.
 */
export function assertionEdits(source) {
  const edits = [];
  if (!/(^|[\\/])firmware[\\/]/.test(source.fileName)) return edits;
  const visit = (node) => {
    if (
      ts.isExpressionStatement(node) &&
      ts.isCallExpression(node.expression) &&
      ts.isIdentifier(node.expression.expression) &&
      node.expression.expression.text === 'assert'
    ) {
      edits.push([node.getStart(source), node.end, ';']);
      return;
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return edits;
}

/** Marks each `assert(` call of a firmware file pure (not the declaration). */
function pureAsserts(text) {
  return text.replace(/(?<!function )\bassert\(/g, '/* @__PURE__ */ assert(');
}

/**
 * The plugin for the board bundle of `config` (validated), carrying `embedded` (the config with
 * the keys renamed as the mangled code reads them); `edits(path, text)` gives a file's feature
 * sites and renaming edits (`sourceEdits`, or the board kit's table), `root` is the project's
 * folder.
 */
export function boardSources({ config, embedded, edits, root = '.' }) {
  const features = boardFeatures(config);
  const featuresText = featuresModule(features, root);
  const embeddedText =
    'export function embeddedConfig() { return ' + JSON.stringify(embedded) + '; }\n';
  return {
    name: 'board-sources',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, (args) => {
        const file = relative(resolve(root), args.path).split('\\').join('/');
        if (file.startsWith('node_modules/')) return undefined;
        if (file === FEATURES_MODULE) return { contents: featuresText, loader: 'ts' };
        if (file === EMBEDDED_MODULE) return { contents: embeddedText, loader: 'ts' };
        const text = readFileSync(args.path, 'utf8');
        const { sites, renames, asserts = [] } = edits(args.path, text);
        // What lies inside an assertion goes with it.
        const outside = ([start, end]) => !asserts.some(([from, to]) => start >= from && end <= to);
        const kept = [...featureEdits(sites, features), ...renames].filter(outside);
        const board = applyEdits(text, [...kept, ...asserts]);
        return {
          contents: file.startsWith('firmware/') ? pureAsserts(board) : board,
          loader: 'ts',
        };
      });
    },
  };
}
