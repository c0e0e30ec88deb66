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
const MISSING_MEMBERS = {
  Math: ['imul'],
  Number: ['isInteger'],
  Object: ['freeze'],
  ArrayBuffer: ['isView'],
  Promise: ['race', 'allSettled', 'any'],
};
const TYPED_ARRAYS = [
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
const MISSING_PROPERTIES = ['finally', 'BYTES_PER_ELEMENT'];

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
  const syntax = {
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
  walk.fullAncestor(ast, (node, _state, ancestors) => {
    if (syntax[node.type] !== undefined) at(node, syntax[node.type] + ' is not supported');
    if ((node.type === 'Property' || node.type === 'MethodDefinition') && node.computed)
      at(node, 'computed key');
    if (
      (node.type === 'FunctionDeclaration' || node.type === 'FunctionExpression') &&
      (node.generator || node.async)
    ) {
      at(node, node.generator ? 'generator' : 'async function');
    }
    if (node.type === 'ArrowFunctionExpression' && node.async) at(node, 'async arrow function');
    if (
      (node.type === 'BinaryExpression' && node.operator === '**') ||
      (node.type === 'AssignmentExpression' && ['**=', '??=', '||=', '&&='].includes(node.operator))
    ) {
      at(node, 'operator ' + node.operator);
    }
    if (
      node.type === 'Identifier' &&
      MISSING_GLOBALS.includes(node.name) &&
      isReference(node, ancestors)
    ) {
      at(node, node.name + ' does not exist on Espruino');
    }
    if (node.type === 'MemberExpression' && !node.computed && node.object.type === 'Identifier') {
      const members =
        MISSING_MEMBERS[node.object.name] ??
        (TYPED_ARRAYS.includes(node.object.name) ? ['from', 'of'] : []);
      if (members.includes(node.property.name))
        at(node, node.object.name + '.' + node.property.name + ' does not exist on Espruino');
    }
    if (
      node.type === 'MemberExpression' &&
      !node.computed &&
      MISSING_PROPERTIES.includes(node.property.name)
    ) {
      at(node, '.' + node.property.name + ' does not exist on Espruino');
    }
  });
  return problems;
}
