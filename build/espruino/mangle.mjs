// Which property names the Espruino bundle may shorten (esbuild mangleProps), and the embedded
// config renamed to match. On a board every property name is RAM: a name of up to 8 characters
// fits in the JsVar that holds the property, a longer one takes a second (measured on the
// interpreter), and each class method, instance field and config key has one. The board's program
// is one bundle, so every name may be shortened except those that cross its edge: the standard
// library's and Espruino's (declared in the TypeScript library and hal/espruino/globals.d.ts), and
// what the host reads from the board (EXTERNAL).

import ts from 'typescript';

import { boardProgram } from './program.mjs';

/**
 * Names used across the edge besides the declared ones: the on-device bench's rows (`lifeline
 * bench --device` prints them), process.memory() and its fields (typed where they are used), and
 * console.log (the DOM library declares it, and the DOM is left out of the check).
 */
export const EXTERNAL = [
  ...['name', 'medianNs', 'p99Ns', 'samples', 'note'],
  ...['memory', 'usage', 'free', 'total', 'log'],
];

/** Always left alone: what the language itself looks up by name. */
export const LANGUAGE = [
  'constructor',
  'prototype',
  '__proto__',
  'length',
  'toString',
  'valueOf',
  'toJSON',
];

/**
 * The member names the board's sources (hal/espruino/main.ts and what it imports) use across the
 * bundle's edge, as the TypeScript checker resolves them: a member access or an object literal's
 * key whose declaration is in the library (ES2022) or hal/espruino/globals.d.ts (or that it cannot
 * resolve), and the members of the sources' enums (esbuild writes an enum's members as strings,
 * `E[E.Open=1]="Open"`, but would shorten the uses it does not inline). The firmware's own names
 * are all free to shorten even where the library has the same name (`status`, `resolve`, `set`).
 */
export function reservedNames(root, extra = []) {
  const program = boardProgram(root, extra);
  const checker = program.getTypeChecker();
  const external = (symbol) =>
    symbol === undefined ||
    (symbol.declarations ?? []).some(
      (declaration) => declaration.getSourceFile().isDeclarationFile,
    );
  const names = new Set([...EXTERNAL, ...LANGUAGE]);
  for (const source of program.getSourceFiles()) {
    if (source.isDeclarationFile) continue;
    const visit = (node) => {
      if (ts.isEnumMember(node) && ts.isIdentifier(node.name)) names.add(node.name.text);
      if (ts.isPropertyAccessExpression(node) && external(checker.getSymbolAtLocation(node.name)))
        names.add(node.name.text);
      const keyed =
        ts.isPropertyAssignment(node) ||
        ts.isShorthandPropertyAssignment(node) ||
        ts.isMethodDeclaration(node);
      if (keyed && ts.isObjectLiteralExpression(node.parent) && ts.isIdentifier(node.name)) {
        const context = checker.getContextualType(node.parent);
        const types = context === undefined ? [] : context.isUnion() ? context.types : [context];
        for (const type of types) {
          const property = checker.getPropertyOfType(type, node.name.text);
          if (property !== undefined && external(property)) names.add(node.name.text);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return names;
}

/** `names` as one anchored pattern (esbuild's reserveProps). */
export function namePattern(names) {
  return new RegExp('^(' + [...names].map((name) => name.replace(/\$/g, '\\$')).join('|') + ')$');
}

/**
 * The config as the board's code reads it after mangling: each key renamed as esbuild's mangle
 * cache says, a reserved key kept, a key no code reads left out (its value takes RAM for nothing),
 * except where the bundle spells the key as a string (`record['$bytes']`).
 */
export function mangledConfig(value, cache, reserved, bundle) {
  const inner = (item) => mangledConfig(item, cache, reserved, bundle);
  if (Array.isArray(value)) return value.map(inner);
  if (value === null || typeof value !== 'object') return value;
  const out = {};
  for (const [key, item] of Object.entries(value)) {
    const renamed = cache[key];
    if (typeof renamed === 'string') out[renamed] = inner(item);
    else if (reserved.has(key) || named(bundle, key)) out[key] = inner(item);
  }
  return out;
}

/** Whether `bundle` names `key` as a member (`.key`) or a string (`"key"`). */
function named(bundle, key) {
  const escaped = key.replace(/\$/g, '\\$');
  return new RegExp('\\.' + escaped + '(?![\\w$])|"' + escaped + '"').test(bundle);
}
