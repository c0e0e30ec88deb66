// Checks a built JavaScript file against what the Espruino interpreter really accepts
// (ESPRUINO.md): esbuild's `supported` settings stop most unsupported syntax at the source, but it
// passes labels, computed keys, tagged templates and `super(...arguments)` through, and it cannot
// know which runtime globals Espruino lacks. Returns a list of problems, `line:column: what`, empty
// when clean.

import * as acorn from 'acorn';
import * as walk from 'acorn-walk';

// Only what ESPRUINO.md documents as missing (observed on the interpreter), so that a problem
// reported here is a fact, not a guess.
const MISSING_GLOBALS = [
  'RangeError',
  'Map',
  'Set',
  'WeakMap',
  'WeakSet',
  'WeakRef',
  'Symbol',
  'Proxy',
  'Reflect',
  'BigInt',
  'BigInt64Array',
  'BigUint64Array',
];
// Each checked on the interpreter (2v29.277, ../shared/tools/espruino): undefined there.
const MISSING_MEMBERS = {
  Math: ['imul', 'trunc', 'log2', 'hypot', 'clz32', 'fround'],
  Number: [
    'isInteger',
    'isFinite',
    'isNaN',
    'parseInt',
    'parseFloat',
    'MAX_SAFE_INTEGER',
    'MIN_SAFE_INTEGER',
    'EPSILON',
  ],
  Object: ['freeze', 'is'],
  Array: ['from', 'of'],
  ArrayBuffer: ['isView'],
  Promise: ['race', 'allSettled', 'any'],
};
// Built-ins whose prototype has no methods to look up there (`Array.prototype.slice` is undefined,
// though `[].slice` works).
const PROTOTYPE_OWNERS = [
  'Array',
  'Function',
  'String',
  'Number',
  'Object',
  'Boolean',
  'Date',
  'Error',
  'Promise',
  'ArrayBuffer',
  'DataView',
];
/** The typed array constructors (shared with the type-aware check). */
export const TYPED_ARRAYS = [
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
];
// Methods that no receiver has there (arrays, typed arrays and strings alike): typed arrays throw
// "Field or method ... does not already exist" on the lookup itself.
const MISSING_PROPERTIES = [
  'finally',
  'BYTES_PER_ELEMENT',
  'copyWithin',
  'flat',
  'flatMap',
  'reduceRight',
  'trimStart',
  'trimEnd',
  'codePointAt',
  'normalize',
  'localeCompare',
  'toPrecision',
];

function isReference(node, ancestors) {
  const parent = ancestors[ancestors.length - 2];
  if (parent === undefined) return true;
  if (parent.type === 'MemberExpression' && parent.property === node && !parent.computed)
    return false;
  if (
    (parent.type === 'Property' ||
      parent.type === 'MethodDefinition' ||
      parent.type === 'PropertyDefinition') &&
    parent.key === node &&
    !parent.computed
  )
    return parent.shorthand === true;
  if (
    parent.type === 'LabeledStatement' ||
    parent.type === 'BreakStatement' ||
    parent.type === 'ContinueStatement'
  )
    return false;
  return true;
}

/** `X.prototype` read for one of its members (`X.prototype.slice`), not assigned to. */
function isMethodLookup(ancestors) {
  const parent = ancestors[ancestors.length - 2];
  return parent !== undefined && parent.type === 'MemberExpression';
}

/** Syntax the interpreter rejects, by the parser's node type (ESPRUINO.md). */
const UNSUPPORTED_SYNTAX = {
  LabeledStatement: 'labelled statement',
  TaggedTemplateExpression: 'tagged template',
  MetaProperty: 'new.target',
  SpreadElement: 'spread',
  RestElement: 'rest element',
  ObjectPattern: 'destructuring',
  ArrayPattern: 'destructuring',
  AssignmentPattern: 'default value',
  YieldExpression: 'generator',
  AwaitExpression: 'await',
  ChainExpression: 'optional chaining (?.)',
  ImportExpression: 'dynamic import',
  PropertyDefinition: 'class field',
  StaticBlock: 'static block',
  PrivateIdentifier: 'private member',
};

/** Syntax problems of one node: constructs and operators the interpreter rejects. */
function checkSyntax(node, at) {
  if (UNSUPPORTED_SYNTAX[node.type] !== undefined)
    at(node, UNSUPPORTED_SYNTAX[node.type] + ' is not supported');
  if ((node.type === 'Property' || node.type === 'MethodDefinition') && node.computed)
    at(node, 'computed key');
  if (
    (node.type === 'FunctionDeclaration' || node.type === 'FunctionExpression') &&
    (node.generator || node.async)
  ) {
    at(node, node.generator ? 'generator' : 'async function');
  }
  if (node.type === 'ArrowFunctionExpression' && node.async) at(node, 'async arrow function');
  // `do if (a) x++; while (c)`: the interpreter's parser stops at the `while` ("Got while
  // expected ';'"); minify writes a `do` body of one `if` without its braces.
  if (node.type === 'DoWhileStatement' && node.body.type === 'IfStatement')
    at(node, 'do...while whose body is an if without braces');
  if (
    (node.type === 'BinaryExpression' && node.operator === '**') ||
    (node.type === 'AssignmentExpression' && ['**=', '??=', '||=', '&&='].includes(node.operator))
  ) {
    at(node, 'operator ' + node.operator);
  }
}

/** Member problems of one `a.b` node: globals' members and methods the interpreter lacks. */
function checkMember(node, ancestors, at) {
  if (node.computed) return;
  if (node.object.type === 'Identifier') {
    const members =
      MISSING_MEMBERS[node.object.name] ??
      (TYPED_ARRAYS.includes(node.object.name) ? ['from', 'of'] : []);
    if (members.includes(node.property.name))
      at(node, node.object.name + '.' + node.property.name + ' does not exist on Espruino');
  }
  if (MISSING_PROPERTIES.includes(node.property.name))
    at(node, '.' + node.property.name + ' does not exist on Espruino');
  if (
    node.property.name === 'prototype' &&
    node.object.type === 'Identifier' &&
    (PROTOTYPE_OWNERS.includes(node.object.name) || TYPED_ARRAYS.includes(node.object.name)) &&
    isMethodLookup(ancestors)
  ) {
    at(node, node.object.name + '.prototype.<method> is undefined on Espruino (use an instance)');
  }
}

/** API problems of one node: missing globals, `.length =`, regular expressions. */
function checkApi(node, ancestors, at) {
  if (node.type === 'Identifier' && isReference(node, ancestors)) {
    if (MISSING_GLOBALS.includes(node.name)) at(node, node.name + ' does not exist on Espruino');
    if (node.name === 'RegExp') at(node, 'RegExp: Espruino mis-matches regular expressions');
  }
  if (node.type === 'MemberExpression') checkMember(node, ancestors, at);
  // An array's length cannot be assigned there (it throws): `a.length = 0` empties nothing.
  if (
    node.type === 'AssignmentExpression' &&
    node.left.type === 'MemberExpression' &&
    !node.left.computed &&
    node.left.property.name === 'length'
  ) {
    at(node, 'assigning .length throws on Espruino (use splice)');
  }
  // Espruino's regular expressions mis-handle {n,m} and groups followed by more pattern.
  if (node.type === 'Literal' && node.regex !== undefined)
    at(node, 'regular expression /' + node.regex.pattern + '/: Espruino mis-matches them');
}

/** The problems of `source` for Espruino, one `line:column: what` each. */
export function checkEspruinoSource(source) {
  const problems = [];
  let ast;
  try {
    ast = acorn.parse(source, { ecmaVersion: 'latest', sourceType: 'script', locations: true });
  } catch (error) {
    return ['parse: ' + error.message];
  }
  const at = (node, text) =>
    problems.push(node.loc.start.line + ':' + (node.loc.start.column + 1) + ': ' + text);
  walk.fullAncestor(ast, (node, _state, ancestors) => {
    checkSyntax(node, at);
    checkApi(node, ancestors, at);
  });
  return problems;
}
