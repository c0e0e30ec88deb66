// Gives every method of the board's own code a name of its own, by what it belongs to, before
// esbuild sees the sources. Why: the shrink (build/espruino/shrink.mjs) works on the bundle, where
// types are gone, and goes by names: a method called from one place is written in there only when
// no other member anywhere has its name. Two classes with a `tick`, or the Announcer's
// `streamConnected` beside the HAL client's, kept each other defined on a board, four JsVars and
// one per parameter each, for as long as it runs. The TypeScript checker knows which declaration
// each call reaches; this pass writes that knowledge into the names.
//
// A family is a method with every declaration it answers for: the interface members it
// implements, what it overrides, and every member an object of its class is handed to in its
// place (a class passed where an interface is expected, without `implements`). Every family of
// the board's own declarations gets its name and a number (`tick$3`); esbuild then shortens it
// like any other. Left alone: a family with a member declared in the library or
// hal/espruino/globals.d.ts (Espruino and the language call those), a name the host or the
// language reads (build/espruino/mangle.mjs), and any name also reached where the checker cannot
// say what (an untyped access, a string key).

import { resolve } from 'node:path';
import ts from 'typescript';

import { boardProgram } from './program.mjs';

/** Union-find over symbols. */
class Families {
  constructor() {
    this.parent = new Map();
  }
  find(symbol) {
    let root = symbol;
    while (this.parent.has(root) && this.parent.get(root) !== root) root = this.parent.get(root);
    this.parent.set(symbol, root);
    return root;
  }
  join(a, b) {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(ra, rb);
  }
}

/** The symbols a (possibly synthetic, for a union type) member symbol stands for. */
function members(symbol) {
  if (symbol === undefined) return [];
  const own = (symbol.declarations ?? []).map((declaration) => declaration.symbol ?? symbol);
  return own.length === 0 ? [symbol] : [...new Set(own)];
}

function declaredOutside(symbol) {
  return (symbol.declarations ?? []).some(
    (declaration) => declaration.getSourceFile().isDeclarationFile,
  );
}

/** The object types a type stands for (each member of a union or intersection). */
function constituents(type) {
  return type.isUnionOrIntersection() ? type.types : [type];
}

/** Joins the members of `from` with the same-named members of `to` (a flow of from into to). */
function flow(checker, families, from, to) {
  for (const target of constituents(to)) {
    if (!(target.getSymbol()?.declarations ?? []).some((d) => !d.getSourceFile().isDeclarationFile))
      continue;
    for (const property of checker.getPropertiesOfType(target)) {
      for (const source of constituents(from)) {
        const match = checker.getPropertyOfType(source, property.name);
        if (match === undefined || match === property) continue;
        for (const a of members(match)) for (const b of members(property)) families.join(a, b);
      }
    }
  }
}

/** Joins method `symbol` (declared by `node`) with the members it implements or overrides. */
function joinInherited(checker, families, node, symbol) {
  const owner = node.parent;
  if (!ts.isClassLike(owner)) return;
  for (const clause of owner.heritageClauses ?? [])
    for (const type of clause.types) {
      const base = checker.getTypeAtLocation(type);
      const match = checker.getPropertyOfType(base, node.name.text);
      for (const other of members(match)) families.join(symbol, other);
    }
}

/** What `collect` finds: the families, each site by family, and the names reached unresolved. */
function collect(program) {
  const checker = program.getTypeChecker();
  const families = new Families();
  const sites = new Map(); // symbol -> [{ file, start, end, shorthand }]
  const methods = new Set(); // symbols of method declarations with a body
  const unresolved = new Set();
  const site = (symbol, node, source, shorthand = false) => {
    const list = sites.get(symbol) ?? [];
    list.push({
      file: resolve(source.fileName),
      start: node.getStart(source),
      end: node.end,
      shorthand,
    });
    sites.set(symbol, list);
  };
  for (const source of program.getSourceFiles()) {
    if (source.isDeclarationFile) continue;
    const visit = (node) => {
      if (ts.isMethodDeclaration(node) && ts.isIdentifier(node.name)) {
        const symbol = checker.getSymbolAtLocation(node.name);
        if (symbol !== undefined) {
          site(symbol, node.name, source);
          if (node.body !== undefined) methods.add(symbol);
          joinInherited(checker, families, node, symbol);
        }
      } else if (
        (ts.isMethodSignature(node) ||
          ts.isPropertySignature(node) ||
          ts.isPropertyDeclaration(node)) &&
        ts.isIdentifier(node.name)
      ) {
        const symbol = checker.getSymbolAtLocation(node.name);
        if (symbol !== undefined) site(symbol, node.name, source);
      } else if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.name)) {
        const found = members(checker.getSymbolAtLocation(node.name));
        if (found.length === 0) unresolved.add(node.name.text);
        for (const symbol of found) site(symbol, node.name, source);
        for (let i = 1; i < found.length; i++) families.join(found[0], found[i]);
      } else if (
        ts.isElementAccessExpression(node) &&
        ts.isStringLiteral(node.argumentExpression)
      ) {
        unresolved.add(node.argumentExpression.text);
      } else if (
        (ts.isPropertyAssignment(node) ||
          ts.isShorthandPropertyAssignment(node) ||
          (ts.isMethodDeclaration(node) && ts.isObjectLiteralExpression(node.parent))) &&
        ts.isIdentifier(node.name)
      ) {
        const own = checker.getSymbolAtLocation(node.name);
        if (own !== undefined) site(own, node.name, source, ts.isShorthandPropertyAssignment(node));
      }
      if (ts.isExpression(node)) {
        const context = checker.getContextualType(node);
        if (context !== undefined)
          flow(checker, families, checker.getTypeAtLocation(node), context);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return { families, sites, methods, unresolved };
}

/**
 * The renaming edits for the board's sources under `root`, by absolute file path: each a
 * [start, end, text] for build/espruino/sources.mjs. `keep` holds the names never to touch (the
 * reserved names of build/espruino/mangle.mjs).
 */
export function methodRenames(root, keep, extra = []) {
  const program = boardProgram(root, extra);
  const { families, sites, methods, unresolved } = collect(program);
  const byFamily = new Map();
  for (const symbol of sites.keys()) {
    const family = families.find(symbol);
    const list = byFamily.get(family) ?? [];
    list.push(symbol);
    byFamily.set(family, list);
  }
  const edits = new Map();
  let count = 0;
  for (const list of byFamily.values()) {
    const name = list[0].name;
    if (!list.some((symbol) => methods.has(symbol))) continue;
    if (keep.has(name) || unresolved.has(name) || list.some(declaredOutside)) continue;
    if (list.some((symbol) => symbol.name !== name)) continue;
    const renamed = name + '$' + count++;
    for (const symbol of list)
      for (const where of sites.get(symbol)) {
        const text = where.shorthand ? renamed + ': ' + name : renamed;
        const file = edits.get(where.file) ?? [];
        file.push([where.start, where.end, text]);
        edits.set(where.file, file);
      }
  }
  // A name may be reached twice at one place (a union's members): one edit each.
  for (const [file, list] of edits) {
    const seen = new Map(list.map((edit) => [edit[0], edit]));
    edits.set(file, [...seen.values()]);
  }
  return edits;
}
