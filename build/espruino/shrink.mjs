// Takes out of a minified Espruino bundle what costs a board RAM and does nothing: class methods
// that nothing calls, and trailing parameters a function never reads. On a board a function takes
// four JsVars and each parameter one, for as long as the code is loaded (measured on the
// interpreter); esbuild keeps both (it does not know which methods are called, and a function's
// `length` counts its parameters).
//
// A method goes only when its name is one esbuild made up (`mangled`: no library or host code can
// call it) and no code in the bundle names it, as a member or a key; taking one out can leave
// others uncalled, so it repeats until nothing changes. A string never names such a method: the
// sources were written before esbuild made the name up, so a string that happens to spell it
// (`"ms"`) is a coincidence, and counting it would keep a method by luck. A parameter goes only
// from the end of the list, when it is a plain name that the function's body (nested functions
// included) never mentions and the body never reads `arguments`.

import * as acorn from 'acorn';
import * as walk from 'acorn-walk';

function keyName(node, computed) {
  if (!computed && node.type === 'Identifier') return node.name;
  if (node.type === 'Literal') return String(node.value);
  return null;
}

/** `source` with the ranges `cuts` ([start, end, replacement]) replaced. */
function splice(source, cuts) {
  // From the end; at one position, a replacement before an insertion (which then goes in front).
  cuts.sort((a, b) => b[0] - a[0] || b[1] - a[1]);
  let out = source;
  for (const [start, end, replacement] of cuts)
    out = out.slice(0, start) + replacement + out.slice(end);
  return out;
}

function deadMethods(source, mangled) {
  const ast = acorn.parse(source, { ecmaVersion: 2022 });
  const methods = [];
  const named = new Set();
  walk.full(ast, (node) => {
    if (node.type === 'MethodDefinition' && node.kind === 'method' && !node.static) {
      const name = keyName(node.key, node.computed);
      if (name !== null && mangled.has(name)) methods.push({ name, node });
    } else if (node.type === 'MemberExpression') {
      const name = keyName(node.property, node.computed);
      if (name !== null) named.add(name);
    } else if (node.type === 'Property') {
      const name = keyName(node.key, node.computed);
      if (name !== null) named.add(name);
    }
  });
  return methods.filter((method) => !named.has(method.name));
}

function unusedParameters(source) {
  const ast = acorn.parse(source, { ecmaVersion: 2022 });
  const cuts = [];
  let count = 0;
  walk.fullAncestor(ast, (node, _state, ancestors) => {
    if (!/^(FunctionDeclaration|FunctionExpression|ArrowFunctionExpression)$/.test(node.type))
      return;
    const holder = ancestors[ancestors.length - 2];
    if (holder !== undefined && holder.kind === 'set') return; // a setter takes one, always
    const params = node.params;
    if (params.length === 0 || params.some((param) => param.type !== 'Identifier')) return;
    const mentioned = new Set();
    walk.full(node.body, (inner) => {
      if (inner.type === 'Identifier') mentioned.add(inner.name);
    });
    if (mentioned.has('arguments')) return;
    let keep = params.length;
    while (keep > 0 && !mentioned.has(params[keep - 1].name)) keep--;
    if (keep === params.length) return;
    count += params.length - keep;
    const last = params[params.length - 1];
    if (keep > 0) {
      cuts.push([params[keep - 1].end, last.end, '']);
    } else if (node.type === 'ArrowFunctionExpression' && source[params[0].start - 1] !== '(') {
      cuts.push([params[0].start, last.end, '()']); // `t=>...` becomes `()=>...`
    } else {
      cuts.push([params[0].start, last.end, '']);
    }
  });
  return { cuts, count };
}

/** Constructors that make an object and do nothing else. */
const MAKERS = new Set([
  'Array',
  'Object',
  'ArrayBuffer',
  'Uint8Array',
  'Int8Array',
  'Uint16Array',
  'Int16Array',
  'Uint32Array',
  'Int32Array',
  'Float32Array',
  'Float64Array',
]);

/** Whether evaluating `node` can do nothing but make a value. */
function harmless(node) {
  if (pure(node, true)) return true;
  switch (node.type) {
    case 'ArrayExpression':
      return node.elements.every((item) => item !== null && harmless(item));
    case 'ObjectExpression':
      return node.properties.every(
        (property) =>
          property.type === 'Property' && !property.computed && harmless(property.value),
      );
    case 'ArrowFunctionExpression':
    case 'FunctionExpression':
      return true;
    case 'NewExpression':
      return (
        node.callee.type === 'Identifier' &&
        MAKERS.has(node.callee.name) &&
        node.arguments.every(harmless)
      );
    default:
      return false;
  }
}

/**
 * The property writes `object.name = value` whose property is never read, each with the
 * statement it stands in (alone, or in a sequence): `name` made up (`mangled`), `object` and
 * `value` free of effects. A feature that is off leaves such fields: set where the shared code
 * makes its object, read only behind the feature's constant.
 */
function unreadWrites(source, mangled) {
  const ast = acorn.parse(source, { ecmaVersion: 2022 });
  const read = new Set();
  const writes = [];
  walk.fullAncestor(ast, (node, _state, ancestors) => {
    if (node.type !== 'MemberExpression') return;
    const name = keyName(node.property, node.computed);
    if (name === null) return;
    const parent = ancestors[ancestors.length - 2];
    const written =
      parent.type === 'AssignmentExpression' && parent.operator === '=' && parent.left === node;
    if (!written) return read.add(name);
    if (!mangled.has(name) || node.computed || !pure(node.object, true) || !harmless(parent.right))
      return;
    const statement = ancestors[ancestors.length - 3];
    const sequence = statement.type === 'SequenceExpression' ? statement : null;
    const holder = sequence === null ? statement : ancestors[ancestors.length - 4];
    if (holder?.type !== 'ExpressionStatement') return;
    writes.push({ name, assignment: parent, sequence, statement: holder });
  });
  return writes.filter((write) => !read.has(write.name));
}

/** The cuts that take `writes` (from unreadWrites) out, each statement or sequence item. */
function writeCuts(writes) {
  const cuts = [];
  const bySequence = new Map();
  for (const write of writes) {
    if (write.sequence === null) cuts.push([write.statement.start, write.statement.end, ';']);
    else bySequence.set(write.sequence, [...(bySequence.get(write.sequence) ?? []), write]);
  }
  for (const [sequence, list] of bySequence) {
    const gone = new Set(list.map((write) => write.assignment));
    const items = sequence.expressions;
    const last = items.findLastIndex((item) => !gone.has(item));
    if (last < 0) {
      cuts.push([list[0].statement.start, list[0].statement.end, ';']);
      continue;
    }
    for (let i = 0; i < last; i++)
      if (gone.has(items[i])) cuts.push([items[i].start, items[i + 1].start, '']);
    if (last < items.length - 1) cuts.push([items[last].end, items[items.length - 1].end, '']);
  }
  return cuts;
}

/** Whether class `node` can be taken out: no static member or computed key that runs code. */
function plainClass(node) {
  if (node.superClass !== null && node.superClass.type !== 'Identifier') return false;
  return node.body.body.every(
    (member) => member.type === 'MethodDefinition' && !member.computed && !member.static,
  );
}

/**
 * The declarations of the bundle's top level (its IIFE, where nothing outside can name them) that
 * nothing references: functions, plain classes, and variables whose value does nothing but make
 * itself (`harmless`), each with the cut that takes it out. A function that only an uncalled
 * method called (the method gone) stays defined otherwise: four JsVars and one per parameter.
 * Only a name bound once in the whole bundle, so that a use is surely of this declaration.
 */
function deadDeclarations(source) {
  const ast = acorn.parse(source, { ecmaVersion: 2022 });
  const { bindings } = bindingCounts(ast);
  const used = new Map();
  walk.full(ast, (node) => {
    if (node.type === 'Identifier') used.set(node.name, [...(used.get(node.name) ?? []), node]);
  });
  // Uses outside the declaration itself (a recursive call keeps nothing).
  const unused = (name, within) =>
    bindings.get(name) === 1 &&
    (used.get(name) ?? []).every((node) => node.start >= within.start && node.end <= within.end);
  const dead = [];
  for (const statement of topLevel(ast)) {
    if (statement.type === 'FunctionDeclaration' || statement.type === 'ClassDeclaration') {
      const plain = statement.type === 'FunctionDeclaration' || plainClass(statement);
      if (plain && unused(statement.id.name, statement))
        dead.push({ name: statement.id.name, cut: [statement.start, statement.end, ''] });
    } else if (statement.type === 'VariableDeclaration') {
      dead.push(...deadDeclarators(source, statement, unused));
    }
  }
  return dead;
}

/** The declarators of `statement` that `unused` finds dead, each with its cut. */
function deadDeclarators(source, statement, unused) {
  const list = statement.declarations;
  const gone = list.map(
    (item) =>
      item.id.type === 'Identifier' &&
      item.init !== null &&
      (item.init.type === 'ClassExpression' ? plainClass(item.init) : harmless(item.init)) &&
      unused(item.id.name, item),
  );
  if (gone.every(Boolean))
    return list.map((item, i) => ({
      name: item.id.name,
      cut: i === 0 ? [statement.start, statement.end, ';'] : [item.start, item.start, ''],
    }));
  const dead = [];
  for (let i = 0; i < list.length; i++) {
    if (!gone[i]) continue;
    // Up to the next declarator kept, or from the last one kept: the commas go with it.
    const next = list.slice(i + 1).find((_item, j) => !gone[i + 1 + j]);
    const cut =
      next !== undefined
        ? [list[i].start, list[i + 1].start, '']
        : [list[i - 1].end, list[i].end, ''];
    dead.push({ name: list[i].id.name, cut });
  }
  return dead;
}

/**
 * `source` without uncalled methods and unread properties' writes (names in `mangled` only),
 * without top-level declarations nothing references, and without unread trailing parameters, with
 * what was taken out.
 */
export function shrink(source, mangled) {
  let text = source;
  const methods = [];
  const declarations = [];
  let properties = 0;
  for (;;) {
    const dead = deadMethods(text, mangled);
    const writes = dead.length > 0 ? [] : unreadWrites(text, mangled);
    const unused = dead.length + writes.length > 0 ? [] : deadDeclarations(text);
    if (dead.length === 0 && writes.length === 0 && unused.length === 0) break;
    for (const method of dead) methods.push(method.name);
    for (const declaration of unused) declarations.push(declaration.name);
    properties += writes.length;
    text = splice(text, [
      ...dead.map((method) => [method.node.start, method.node.end, '']),
      ...writeCuts(writes),
      ...unused.map((declaration) => declaration.cut),
    ]);
  }
  const { cuts, count } = unusedParameters(text);
  return { text: splice(text, cuts), methods, declarations, properties, parameters: count };
}

/** The statements of the bundle's IIFE (its top level once unwrapped). */
function topLevel(ast) {
  for (const statement of ast.body) {
    const call = statement.type === 'ExpressionStatement' ? statement.expression : null;
    if (call?.type === 'CallExpression' && call.callee.type === 'ArrowFunctionExpression')
      return call.callee.body.body;
  }
  throw new Error('espruino bundle: no IIFE');
}

/** Whether `node` is a literal or arithmetic on literals only (`168*3600*1e3`, `-1`, `!1`). */
function constant(node) {
  if (node.type === 'Literal') return node.regex === undefined && typeof node.value !== 'bigint';
  if (node.type === 'UnaryExpression') return constant(node.argument);
  if (node.type === 'BinaryExpression') return constant(node.left) && constant(node.right);
  return false;
}

/**
 * `node` as a split string when it is an array of strings (`["a","b"]` is `"a|b".split("|")`,
 * with a separator none of them holds), else null.
 */
function names(node) {
  if (node?.type !== 'ArrayExpression' || node.elements.length === 0) return null;
  if (!node.elements.every((item) => item?.type === 'Literal' && typeof item.value === 'string'))
    return null;
  const strings = node.elements.map((item) => item.value);
  const separator = ['|', ',', ';', '\u0001'].find(
    (mark) => !strings.some((text) => text.includes(mark)),
  );
  if (separator === undefined) return null;
  return (
    '(' + JSON.stringify(strings.join(separator)) + '.split(' + JSON.stringify(separator) + '))'
  );
}

/** Whether every use of `name` only reads it: `name[i]`, `name.length`, `name.indexOf(x)`. */
function readOnly(ast, name) {
  let ok = true;
  walk.fullAncestor(ast, (node, _state, ancestors) => {
    if (!ok || node.type !== 'Identifier' || node.name !== name) return;
    const parent = ancestors[ancestors.length - 2];
    if (parent.type === 'VariableDeclarator' && parent.id === node) return;
    const member = parent.type === 'MemberExpression' && parent.object === node;
    const grand = ancestors[ancestors.length - 3];
    const written =
      (grand?.type === 'AssignmentExpression' && grand.left === parent) ||
      grand?.type === 'UpdateExpression';
    const read =
      member &&
      !written &&
      (parent.computed || parent.property.name === 'length' || parent.property.name === 'indexOf');
    if (!read) ok = false;
  });
  return ok;
}

/**
 * How often each name is bound anywhere in `ast` (declarations, parameters, catch clauses), and
 * the names ever assigned after their declaration: a constant is bound once and never assigned.
 */
function bindingCounts(ast) {
  const bindings = new Map();
  const bind = (node) => {
    if (node?.type === 'Identifier') bindings.set(node.name, (bindings.get(node.name) ?? 0) + 1);
  };
  const assigned = new Set();
  walk.full(ast, (node) => {
    if (node.type === 'VariableDeclarator') bind(node.id);
    else if (
      /^(FunctionDeclaration|FunctionExpression|ClassDeclaration|ClassExpression)$/.test(node.type)
    )
      bind(node.id);
    if (/Function/.test(node.type)) node.params.forEach(bind);
    if (node.type === 'CatchClause') bind(node.param);
    if (node.type === 'AssignmentExpression' && node.left.type === 'Identifier')
      assigned.add(node.left.name);
    if (node.type === 'UpdateExpression' && node.argument.type === 'Identifier')
      assigned.add(node.argument.name);
  });
  return { bindings, assigned };
}

/**
 * `source` (a bundle with its identifiers not yet minified) with each top-level constant (a
 * `var`/`let`/`const` of a literal that nothing assigns, and whose name nothing else declares)
 * written in where it is used and its declaration gone: on a board each top-level variable is a
 * JsVar or two, and code costs none (it runs from Storage). An array of strings read only by
 * index, `length` or `indexOf` (the state and reason names of log lines) is written in as a split
 * string: about two JsVars per name saved, for a short-lived array where a line is composed.
 */
export function inlineConstants(source) {
  const ast = acorn.parse(source, { ecmaVersion: 2022 });
  const { bindings, assigned } = bindingCounts(ast);
  const values = new Map();
  const cuts = [];
  for (const statement of topLevel(ast)) {
    if (statement.type !== 'VariableDeclaration') continue;
    const kept = statement.declarations.filter((declarator) => {
      const name = declarator.id.type === 'Identifier' ? declarator.id.name : null;
      const inline =
        name !== null &&
        declarator.init !== null &&
        constant(declarator.init) &&
        !assigned.has(name) &&
        bindings.get(name) === 1;
      if (inline) {
        values.set(name, '(' + source.slice(declarator.init.start, declarator.init.end) + ')');
        return false;
      }
      const list = name === null ? null : names(declarator.init);
      const once = list !== null && !assigned.has(name) && bindings.get(name) === 1;
      if (!once || !readOnly(ast, name)) return true;
      values.set(name, list);
      return false;
    });
    const all = statement.declarations;
    if (kept.length === all.length) continue;
    if (kept.length === 0) {
      cuts.push([statement.start, statement.end, ';']);
      continue;
    }
    // Each gone declarator with its comma; the leading ones in one cut up to the first kept.
    const first = all.indexOf(kept[0]);
    if (first > 0) cuts.push([all[0].start, all[first].start, '']);
    for (let i = first + 1; i < all.length; i++)
      if (!kept.includes(all[i])) cuts.push([all[i - 1].end, all[i].end, '']);
  }
  const edits = new Map(); // by start: a shorthand `{K}` is visited as its key and its value
  walk.fullAncestor(ast, (node, _state, ancestors) => {
    if (node.type !== 'Identifier' || !values.has(node.name)) return;
    const parent = ancestors[ancestors.length - 2];
    const value = values.get(node.name);
    if (parent.type === 'Property' && parent.shorthand) {
      edits.set(node.start, [node.start, node.end, node.name + ':' + value]);
      return;
    }
    if (parent.type === 'VariableDeclarator' && parent.id === node) return;
    if (parent.type === 'MemberExpression' && parent.property === node && !parent.computed) return;
    if (/^(Property|MethodDefinition|PropertyDefinition)$/.test(parent.type) && parent.key === node)
      if (!parent.computed) return;
    edits.set(node.start, [node.start, node.end, value]);
  });
  return { text: splice(source, [...cuts, ...edits.values()]), constants: values.size };
}

/** Whether `body` uses what an arrow function would change: `arguments`, `super`, `new.target`. */
function movable(body) {
  let ok = true;
  walk.full(body, (node) => {
    if (node.type === 'Super' || node.type === 'MetaProperty') ok = false;
    if (node.type === 'Identifier' && node.name === 'arguments') ok = false;
  });
  return ok;
}

/** The names `node` declares anywhere inside it (parameters, variables, functions, classes). */
function declared(node) {
  const names = new Set();
  const add = (id) => id?.type === 'Identifier' && names.add(id.name);
  walk.full(node, (inner) => {
    if (inner.type === 'VariableDeclarator') add(inner.id);
    if (/Function|Class/.test(inner.type)) add(inner.id);
    if (/Function/.test(inner.type)) inner.params.forEach(add);
    if (inner.type === 'CatchClause') add(inner.param);
  });
  return names;
}

/** The functions and classes inside a function: what is theirs, not its own. */
const NESTED = /Function|Class/;

/**
 * Calls `enter(node, state)` on every node of `root` (a node or a list), not going into the
 * nodes `stop` says (by default the functions and classes inside: what `eachOwn` visits is a
 * function's own nodes, these included). `state` is carried down: each node's children get what
 * `enter` returned for it.
 */
function eachOwn(root, enter, stop = (node) => NESTED.test(node.type), state = undefined) {
  const visit = (node, outer) => {
    if (node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) return node.forEach((item) => visit(item, outer));
    const inner = enter(node, outer);
    if (stop(node)) return;
    for (const key of Object.keys(node)) if (key !== 'type') visit(node[key], inner);
  };
  visit(root, state);
}

/**
 * The names function `fn` binds for its body: its parameters and what the body declares outside
 * the functions inside it (block-scoped names too, as if the whole body were their scope), and
 * with `named` a function expression's own name.
 */
function bindings(fn, named) {
  const names = new Set();
  for (const param of fn.params)
    walk.full(param, (node) => node.type === 'Identifier' && names.add(node.name));
  if (named && fn.type === 'FunctionExpression' && fn.id) names.add(fn.id.name);
  eachOwn(fn.body, (node) => {
    if (node.type === 'VariableDeclarator' && node.id.type === 'Identifier')
      names.add(node.id.name);
    if (/Declaration$/.test(node.type) && node.id?.type === 'Identifier') names.add(node.id.name);
    if (node.type === 'CatchClause' && node.param?.type === 'Identifier')
      names.add(node.param.name);
  });
  return names;
}

/**
 * Whether moving `fn`'s body to the call (inside the functions `around` it) would change what a
 * name in it means: a name it takes from the top level (the statements `top`) that one of those
 * functions declares too. A name is taken from outside when neither `fn` nor a function inside it
 * around the name binds it (so the copies of one function written into both `fn` and a caller do
 * not keep `fn` out).
 */
function captured(fn, around, top) {
  const own = bindings(fn, false);
  const inner = new Map();
  const free = new Set();
  walk.fullAncestor(fn.body, (node, _state, ancestors) => {
    if (node.type !== 'Identifier' || own.has(node.name)) return;
    const parent = ancestors[ancestors.length - 2];
    if (parent?.type === 'MemberExpression' && parent.property === node && !parent.computed) return;
    if (parent?.type === 'Property' && parent.key === node && !parent.computed && !parent.shorthand)
      return;
    for (const ancestor of ancestors) {
      if (!/Function/.test(ancestor.type)) continue;
      if (!inner.has(ancestor)) inner.set(ancestor, bindings(ancestor, true));
      if (inner.get(ancestor).has(node.name)) return;
    }
    free.add(node.name);
  });
  for (const outer of around) {
    // The bundle's IIFE is the top level itself.
    if (!/Function/.test(outer.type) || outer.body.body === top) continue;
    for (const name of declared(outer)) if (free.has(name)) return true;
  }
  return false;
}

/**
 * Whether a call is made on every turn of a loop of the function it is in (`around` is the call's
 * ancestors, `call` the call): an arrow made there would be made on every turn, so it is made
 * once, before the loop (see inlinePass). A call behind a condition in the loop (`if`, `&&`, `||`,
 * `?:`) is not: made before the loop, its arrow would be made on every call of the function
 * around, which mostly does not need it (a transition's log line, in the round's decision).
 */
function looped(around, call) {
  let inner = call;
  for (let i = around.length - 1; i >= 0; i--) {
    const node = around[i];
    if (/Function/.test(node.type)) return false;
    if (/^(For|ForIn|ForOf|While|DoWhile)Statement$/.test(node.type)) return true;
    if (node.type === 'IfStatement' && node.test !== inner) return false;
    if (node.type === 'ConditionalExpression' && node.test !== inner) return false;
    if (node.type === 'LogicalExpression' && node.right === inner) return false;
    inner = node;
  }
  return false;
}

/** The `this` expressions of `body` that belong to it (not to a function or class inside it). */
function ownThis(body) {
  const found = [];
  eachOwn(
    body,
    (node) => node.type === 'ThisExpression' && found.push(node),
    (node) =>
      /^(FunctionExpression|FunctionDeclaration|ClassExpression|ClassDeclaration)$/.test(node.type),
  );
  return found;
}

/** Whether `node` lies within `range`. */
function inside(range, node) {
  return node.start >= range.start && node.end <= range.end;
}

/**
 * Whether writing in `candidate` would touch what an already chosen one rewrites: a call of one
 * inside the other's definition, or calls of both one inside the other. Such a one waits for the
 * next pass, over the rewritten text.
 */
function clashes(chosen, candidate) {
  const { definition, sites } = candidate;
  const overlap = (a, b) => inside(a, b) || inside(b, a);
  // What a site's edit takes: its statement when it becomes a block (planSites), else the call.
  const range = (site) => site.range ?? site.call;
  return chosen.some(
    (other) =>
      sites.some((site) => overlap(other.definition, range(site))) ||
      other.sites.some((site) => inside(definition, range(site))) ||
      sites.some((site) => other.sites.some((theirs) => overlap(range(site), range(theirs)))),
  );
}

/** `pass` repeated over `source` until it changes nothing, with how much it wrote in. */
function untilSettled(pass, source, mangled) {
  let text = source;
  let inlined = 0;
  for (;;) {
    const result = pass(text, mangled);
    if (result.inlined === 0) return { text, inlined };
    text = result.text;
    inlined += result.inlined;
  }
}

/** The text of `node` in `source` with `cuts` (ranges inside it) replaced. */
function rewritten(source, node, cuts) {
  const grown = cuts.reduce((sum, [start, end, text]) => sum + text.length - (end - start), 0);
  return splice(source.slice(0, node.end), cuts).slice(node.start, node.end + grown);
}

/** A function called from up to this many places is copied to each, when it is this small. */
export const INLINE_CALLS_MAX = 3;
export const INLINE_BYTES_MAX = 400;
/**
 * From up to this many places, and up to this long, when every copy is a block (no arrow made at
 * a call). A function costs a board its JsVars for as long as the code is loaded (some five, and
 * one per parameter), a block only bytes in Storage and the time to lex over it where it does not
 * run; an arrow made at each call would cost the round more than the call. Measured on the
 * emulated Cortex-M4 and the 1,700 build (one service of three targets and one BGP peer): 42
 * JsVars fewer, the round no slower (60.4 -> 59.9 ms), a received UPDATE's check 27.0 -> 29.6
 * ms, the bundle 2.8 KB longer.
 */
export const INLINE_BLOCK_CALLS_MAX = 6;
export const INLINE_BLOCK_BYTES_MAX = 800;

/**
 * The functions of the top level and the methods with made-up names (`mangled`) that are named
 * nowhere but at their one definition and their calls, each with its call sites (the call and its
 * ancestors): what may be written in at its calls.
 */
function definitions(ast, top, mangled) {
  // Names as variables (`count`) and as members or keys (`members`): two namespaces. Strings are
  // not names here: a made-up name is spelled by no string of the sources (see deadMethods).
  const count = new Map();
  const members = new Map();
  const add = (map, name) => map.set(name, (map.get(name) ?? 0) + 1);
  const push = (map, name, site) => map.set(name, [...(map.get(name) ?? []), site]);
  const methods = new Map();
  const functions = new Map();
  for (const statement of top)
    if (statement.type === 'FunctionDeclaration') functions.set(statement.id.name, statement);
  const calls = new Map();
  const methodCalls = new Map();
  walk.fullAncestor(ast, (node, _state, ancestors) => {
    const parent = ancestors[ancestors.length - 2];
    const call = parent?.type === 'CallExpression' && !parent.optional ? parent : null;
    if (node.type === 'MethodDefinition' && node.kind === 'method' && !node.computed) {
      const name = keyName(node.key, false);
      if (mangled.has(name)) methods.set(name, methods.has(name) ? null : node);
      add(members, name);
    } else if (node.type === 'MemberExpression' && !node.computed) {
      add(members, node.property.name);
      if (call?.callee === node && !node.optional && node.object.type !== 'Super')
        push(methodCalls, node.property.name, { call, around: ancestors.slice(0, -2) });
    } else if (node.type === 'Property' && !node.computed) {
      add(members, keyName(node.key, false));
    } else if (node.type === 'Identifier') {
      add(count, node.name);
      if (call?.callee === node) push(calls, node.name, { call, around: ancestors.slice(0, -2) });
    }
  });
  const found = [];
  for (const [name, definition] of methods) {
    const sites = methodCalls.get(name) ?? [];
    if (definition === null || members.get(name) !== sites.length + 1 || sites.length === 0)
      continue;
    found.push({ definition, fn: definition.value, sites, method: true });
  }
  for (const [name, definition] of functions) {
    const sites = calls.get(name) ?? [];
    if (count.get(name) !== sites.length + 1 || sites.length === 0) continue;
    if (ownThis(definition.body).length > 0) continue; // `this` of a plain call: not the caller's
    found.push({ definition, fn: definition, sites, method: false });
  }
  return found;
}

/**
 * The text of `node`, an argument or a receiver, to stand alone as one value: an argument or a
 * `let`'s initializer. A sequence (`(a, b)`, as an earlier pass writes an expression in) is the
 * one kind of expression those places would split, and its node's range leaves out its
 * parentheses: `let x=a,b` would declare `b`, and `f(a,b)` pass two arguments.
 */
function operand(source, node) {
  const text = source.slice(node.start, node.end);
  return node.type === 'SequenceExpression' ? '(' + text + ')' : text;
}

/** `fn` as an arrow function (`this` its first parameter for a method), and `call`'s arguments. */
function arrowParts(source, fn, call, method) {
  const self = '$self';
  const thisCuts = method ? ownThis(fn.body).map((node) => [node.start, node.end, self]) : [];
  const body = rewritten(source, fn.body, thisCuts);
  const params = (method ? [self] : []).concat(fn.params.map((param) => param.name));
  const args = (method ? [call.callee.object] : []).concat(call.arguments);
  const text = args.map((arg) => operand(source, arg));
  return { arrow: '(' + params.join(',') + ')=>' + body, args: '(' + text.join(',') + ')' };
}

/** `call` of `fn` as an arrow function with `fn`'s body called at once. */
function arrowCall(source, fn, call, method) {
  const { arrow, args } = arrowParts(source, fn, call, method);
  return '(' + arrow + ')' + args;
}

/**
 * How many blocks have been written in, and the mark of the pass writing them: their names are
 * `$b0_name`... (inlineCalls) or `$e0_name`... (inlineExpressions), the same in every build of the
 * same source and never one of the other pass's.
 */
let blocks = 0;
let temps = 0;
let blockMark = '$b';

/**
 * Whether `node` may be assigned a block's value after the block: a name, or a named member of
 * `this` or of a name (the body cannot change which object a name of its caller holds: `captured`
 * keeps out a body that takes a name its caller declares).
 */
function plainTarget(node) {
  if (node.type === 'Identifier') return true;
  return (
    node.type === 'MemberExpression' &&
    !node.computed &&
    /^(ThisExpression|Identifier)$/.test(node.object.type)
  );
}

/** `text` as a statement of its own: an expression that would read as one otherwise in brackets. */
function statement(text) {
  return (/^(\{|function\b|class\b|let\s*\[)/.test(text) ? '(' + text + ')' : text) + ';';
}

/**
 * `node`, an expression around `call` whose value the statement it is in drops (`mode` 'effect')
 * or returns ('return'), written as statements with `block(kind, target)` in place of the call:
 * kind 'statement' (its value dropped), 'return' (returned) or 'assign' (to `target`). Sequences,
 * `&&`, `||` and `?:` become statements and `if`s (`a(), f(x)` is `{a();BLOCK}`, `c && f(x)` is
 * `if(c){BLOCK}`), as minifySyntax wrote them from such; null for anything else, where the call's
 * value is used by an expression.
 */
function statements(source, node, mode, call, block) {
  if (node === call) return block(mode === 'return' ? 'return' : 'statement', null);
  const text = (inner) => source.slice(inner.start, inner.end);
  const has = (inner) => inside(inner, call);
  const other = (inner, innerMode) =>
    has(inner)
      ? statements(source, inner, innerMode, call, block)
      : innerMode === 'return'
        ? 'return ' + text(inner) + ';'
        : statement(text(inner));
  switch (node.type) {
    case 'AssignmentExpression':
      if (mode !== 'effect' || node.operator !== '=' || node.right !== call) return null;
      return plainTarget(node.left) ? block('assign', node.left) : null;
    case 'SequenceExpression': {
      const last = node.expressions.length - 1;
      const parts = node.expressions.map((inner, i) => other(inner, i === last ? mode : 'effect'));
      return parts.includes(null) ? null : '{' + parts.join('') + '}';
    }
    case 'LogicalExpression': {
      if (mode !== 'effect' || has(node.left) || node.operator === '??') return null;
      const inner = statements(source, node.right, 'effect', call, block);
      const test = node.operator === '&&' ? text(node.left) : '!(' + text(node.left) + ')';
      return inner === null ? null : 'if(' + test + '){' + inner + '}';
    }
    case 'ConditionalExpression': {
      if (has(node.test)) return null;
      const yes = other(node.consequent, mode);
      const no = other(node.alternate, mode);
      return yes === null || no === null
        ? null
        : 'if(' + text(node.test) + '){' + yes + '}else{' + no + '}';
    }
    default:
      return null;
  }
}

/**
 * The statement around `call` (its ancestors `around`) that a block can take the place of, and
 * that statement as text with `block(kind, target)` for the call (see `statements`): an expression
 * statement, a `return`, or a declaration in a list of statements whose declarator's value is the
 * call (`const a = 1, v = f(x)` is `const a = 1;let v;BLOCK`, the block assigning v). Null where
 * the call's value is used otherwise.
 */
function blockSite(source, call, around, block) {
  let at = around.length - 1;
  while (at >= 0 && !/Statement$|^VariableDeclaration$|Function|Class/.test(around[at].type)) at--;
  const node = around[at];
  if (node === undefined) return null;
  let text = null;
  if (node.type === 'ExpressionStatement')
    text = statements(source, node.expression, 'effect', call, block);
  else if (node.type === 'ReturnStatement' && node.argument !== null)
    text = statements(source, node.argument, 'return', call, block);
  else if (node.type === 'IfStatement' && node.test.type === 'SequenceExpression') {
    // `if (v = f(x), v < 0) ...` (minifySyntax's) is `{v = f(x); if (v < 0) ...}`.
    const first = node.test.expressions.slice(0, -1);
    const last = node.test.expressions.at(-1);
    if (!inside(last, call)) {
      const parts = first.map((inner) =>
        inside(inner, call)
          ? statements(source, inner, 'effect', call, block)
          : statement(source.slice(inner.start, inner.end)),
      );
      if (!parts.includes(null))
        text =
          '{' +
          parts.join('') +
          'if(' +
          source.slice(last.start, last.end) +
          ')' +
          source.slice(node.consequent.start, node.end) +
          '}';
    }
  } else if (
    node.type === 'VariableDeclaration' &&
    /^(BlockStatement|Program|StaticBlock)$/.test(around[at - 1]?.type)
  ) {
    const index = node.declarations.findIndex((declarator) => declarator.init === call);
    const declarator = node.declarations[index];
    if (declarator !== undefined && declarator.id.type === 'Identifier') {
      const list = (declarators) =>
        declarators.length === 0
          ? ''
          : node.kind +
            ' ' +
            declarators.map((item) => source.slice(item.start, item.end)).join(',') +
            ';';
      text =
        list(node.declarations.slice(0, index)) +
        (node.kind === 'var' ? 'var ' : 'let ') +
        declarator.id.name +
        ';' +
        block('assign', declarator.id) +
        list(node.declarations.slice(index + 1));
    }
  }
  if (text === null) text = firstEvaluated(source, call, around, at, block);
  return text === null ? null : { statement: node, text };
}

/** Whether `child` is what `parent` (an expression) evaluates first. */
function evaluatedFirst(parent, child) {
  switch (parent.type) {
    case 'BinaryExpression':
    case 'LogicalExpression':
      return parent.left === child;
    case 'ConditionalExpression':
      return parent.test === child;
    case 'SequenceExpression':
      return parent.expressions[0] === child;
    case 'MemberExpression':
      return parent.object === child;
    case 'CallExpression':
      return parent.callee === child;
    case 'UnaryExpression':
      return parent.operator !== 'delete';
    case 'AssignmentExpression':
      return parent.operator === '=' && parent.right === child && parent.left.type === 'Identifier';
    case 'VariableDeclarator':
      return true;
    default:
      return false;
  }
}

/**
 * The statement `around[at]` with the call's value taken first into a name of its own
 * (`{let t; BLOCK; if (t === 1) ...}`), where the call is the first thing its expression
 * evaluates (`if (step(s) === 1)`, `x = f(y) + 1`), so that taking it first changes no order; null
 * where it is not, or the statement is not an expression statement, an `if`, a `return`, a
 * `switch` or a declaration (in a list of statements) whose first value it is in.
 */
function firstEvaluated(source, call, around, at, block) {
  const node = around[at];
  const declaration =
    node.type === 'VariableDeclaration' &&
    /^(BlockStatement|Program|StaticBlock)$/.test(around[at - 1]?.type);
  const root =
    node.type === 'ExpressionStatement'
      ? node.expression
      : node.type === 'IfStatement'
        ? node.test
        : node.type === 'ReturnStatement'
          ? node.argument
          : node.type === 'SwitchStatement'
            ? node.discriminant
            : declaration
              ? node.declarations[0]
              : null;
  if (root === null || !inside(root, call)) return null;
  let child = call;
  for (let i = around.length - 1; child !== root; i--) {
    if (i <= at || !evaluatedFirst(around[i], child)) return null;
    child = around[i];
  }
  const temp = blockMark + 't' + temps++;
  const rest = source.slice(node.start, call.start) + temp + source.slice(call.end, node.end);
  const text = 'let ' + temp + ';' + block('assign', temp) + rest;
  return declaration ? text : '{' + text + '}';
}

/** The `return` statements of `body` (a function's), not those of the functions inside it. */
function ownReturns(body) {
  const found = [];
  eachOwn(body.body, (node) => node.type === 'ReturnStatement' && found.push(node));
  return found;
}

/**
 * Whether `body` (a function's) may run as a block in its caller: no `var` or function declared
 * outside the functions inside it (they would belong to the caller), and, unless its caller
 * returns what it returns (`returns`), no `return` inside a `try` of its own: an early return
 * becomes a `break` out of the block's `for(;;){...break}` (see `breaking`), and a `finally` would
 * run where the interpreter may not run it.
 */
function blockable(body, returns) {
  let ok = true;
  // The state carried down: whether a `try` of the body holds the node.
  eachOwn(
    body.body,
    (node, caught) => {
      if (NESTED.test(node.type)) {
        if (/Declaration$/.test(node.type)) ok = false;
      } else if (node.type === 'VariableDeclaration' && node.kind === 'var') ok = false;
      else if (node.type === 'ReturnStatement' && !returns && caught) ok = false;
      return caught || node.type === 'TryStatement';
    },
    undefined,
    false,
  );
  return ok;
}

/** The names `fn` binds for its whole body: its parameters and what the body declares itself. */
function ownNames(fn) {
  const names = new Set(fn.params.map((param) => param.name));
  for (const statement of fn.body.body)
    if (statement.type === 'VariableDeclaration')
      for (const declarator of statement.declarations)
        if (declarator.id.type === 'Identifier') names.add(declarator.id.name);
  return names;
}

/** The statement the call at `site` of `fn` can be written into as a block, or null. */
function blockStatement(source, fn, site) {
  // Arguments past the parameters (the shrink took unread ones out) are dropped: free of effects.
  const extra = site.call.arguments.slice(fn.params.length);
  if (!extra.every((arg) => arg.type !== 'SpreadElement' && pure(arg, true))) return null;
  let returns = false;
  const place = blockSite(source, site.call, site.around, (kind) => {
    returns = kind === 'return';
    return '';
  });
  return place !== null && blockable(fn.body, returns) ? place.statement : null;
}

/**
 * Marks each of `sites` (of `fn`) with how it is written in: `block`, or not, and the `range` its
 * edit takes (the statement, or the call); only those `may` allows become blocks. Two calls in one
 * statement (`g(f(1)), f(2)`) are written in as arrows, one edit each.
 */
function planSites(source, fn, sites, may = () => true) {
  for (const site of sites) {
    const statement = may(site) ? blockStatement(source, fn, site) : null;
    site.block = statement !== null;
    site.range = statement ?? site.call;
  }
  const overlap = sites.some((a, i) => sites.some((b, j) => i !== j && inside(a.range, b.range)));
  if (overlap)
    for (const site of sites) {
      site.block = false;
      site.range = site.call;
    }
}

/**
 * `call` of `fn` (at `site`, where blockStatement finds one) written in as a block of the caller
 * in place of the statement it is in (see blockSite): `{let a=x,b=y; ...body...}`, the body's
 * last `return E` becoming the statement's use of E. No function object is made, where an arrow
 * called at once makes one on every call (the interpreter lexes the whole body to find its end:
 * some 0.7 ms on the emulated Cortex-M4), and no scope is held for it. The names the body binds
 * itself are renamed (`$b0_x`, consistently through the body and the functions inside it), so
 * that none of them hides a name of the caller that the arguments or the assignment read; names
 * of blocks inside the body stay, hidden inside them.
 */
function blockCall(source, fn, site, method) {
  const { call, around } = site;
  const prefix = blockMark + blocks++ + '_';
  const receiver = method ? call.callee.object : null;
  const self = receiver?.type === 'ThisExpression' ? 'this' : prefix + 'self';
  const direct = passedOn(source, fn, site);
  const renamed = ownNames(fn);
  const edits = new Map(); // by start: a shorthand `{a}` is visited as its key and its value
  walk.fullAncestor(fn.body, (node, _state, ancestors) => {
    const parent = ancestors[ancestors.length - 2];
    if (node.type !== 'Identifier' || !renamed.has(node.name)) return;
    if (parent?.type === 'MemberExpression' && parent.property === node && !parent.computed) return;
    if (
      /^(Property|MethodDefinition|PropertyDefinition)$/.test(parent?.type) &&
      parent.key === node
    )
      if (!parent.computed && !parent.shorthand) return;
    const name = direct.get(node.name) ?? prefix + node.name;
    const text = parent?.type === 'Property' && parent.shorthand ? node.name + ':' + name : name;
    edits.set(node.start, [node.start, node.end, text]);
  });
  // A method's `this`: a name of the block (functions inside keep theirs, see ownThis), or the
  // caller's `this` when that is the receiver.
  if (method && self !== 'this')
    for (const node of ownThis(fn.body)) edits.set(node.start, [node.start, node.end, self]);
  const last = fn.body.body.at(-1);
  const at = (node, inner) => inside(node, { start: inner[0], end: inner[0] });
  const names = (method ? [self] : []).concat(fn.params.map((param) => prefix + param.name));
  const args = (method ? [call.callee.object] : []).concat(call.arguments);
  const lets = names
    .map((name, i) => (args[i] === undefined ? name : name + '=' + operand(source, args[i])))
    .filter((_let, i) =>
      i === 0 && method ? self !== 'this' : !direct.has(fn.params[i - (method ? 1 : 0)].name),
    );
  const returns = ownReturns(fn.body);
  const early = returns.some((node) => node !== last);
  const block = (kind, targetNode) => {
    const target =
      targetNode === null || typeof targetNode === 'string'
        ? targetNode
        : source.slice(targetNode.start, targetNode.end);
    if (kind !== 'return' && early) return breaking(source, fn, edits, lets, prefix, target);
    const open = lets.length > 0 ? '{let ' + lets.join(',') + ';' : '{';
    let cuts = [...edits.values()];
    let tail = '';
    if (kind !== 'return' && last?.type === 'ReturnStatement') {
      cuts = cuts.filter((cut) => !at(last, cut));
      let use = '';
      if (last.argument !== null) {
        const inner = [...edits.values()].filter((cut) => at(last.argument, cut));
        const value = '(' + rewritten(source, last.argument, inner) + ')';
        use = (target === null ? '' : target + '=') + value + ';';
      } else if (kind === 'assign') use = target + '=void 0;';
      cuts.push([last.start, last.end, use]);
    } else if (kind === 'return') {
      if (last?.type !== 'ReturnStatement') tail = 'return;';
    } else if (kind === 'assign') tail = target + '=void 0;';
    return open + rewritten(source, fn.body, cuts).slice(1, -1) + tail + '}';
  };
  const place = blockSite(source, call, around, block);
  return [place.statement.start, place.statement.end, place.text];
}

/** The names assigned anywhere in `node` after their declaration (not members). */
function assignedNames(node) {
  const names = new Set();
  const add = (target) =>
    walk.full(target, (inner) => inner.type === 'Identifier' && names.add(inner.name));
  walk.full(node, (inner) => {
    if (inner.type === 'AssignmentExpression' && inner.left.type !== 'MemberExpression')
      add(inner.left);
    if (inner.type === 'UpdateExpression' && inner.argument.type === 'Identifier')
      names.add(inner.argument.name);
    if (/^For(In|Of)Statement$/.test(inner.type) && inner.left.type === 'Identifier')
      names.add(inner.left.name);
  });
  return names;
}

/** Whether `node` (a function, block or `for`) itself declares `name` for what is inside it. */
function declares(node, name) {
  const is = (id) => id?.type === 'Identifier' && id.name === name;
  if (/Function/.test(node.type)) return node.params.some(is);
  const list =
    node.type === 'BlockStatement'
      ? node.body
      : /^For/.test(node.type)
        ? [node.init ?? node.left]
        : [];
  return list.some(
    (item) => item?.type === 'VariableDeclaration' && item.declarations.some((d) => is(d.id)),
  );
}

/**
 * The parameters of `fn` that its block (see blockCall) can read as the call's argument itself,
 * with the argument's name: an argument that is a name declared in the function around the call
 * and never assigned there (nor in the functions inside it) after its declaration, a parameter
 * the body never assigns, and a name nothing in the body declares again. Each saves the block a
 * variable (and, with none left, its scope: the interpreter looks every name up through one scope
 * more inside a block with a `let`).
 */
function passedOn(source, fn, site) {
  const direct = new Map();
  const { call, around } = site;
  let hostAt = around.length - 1;
  while (hostAt >= 0 && !/Function/.test(around[hostAt].type)) hostAt--;
  if (hostAt < 0) return direct;
  const host = around[hostAt];
  const assignedHere = assignedNames(host);
  const assignedInBody = assignedNames(fn.body);
  const declaredInBody = declared(fn.body);
  fn.params.forEach((param, i) => {
    const arg = call.arguments[i];
    // A parameter a function inside declares again is renamed, not replaced (that function's
    // own would become the argument's text).
    if (arg === undefined || assignedInBody.has(param.name) || declaredInBody.has(param.name))
      return;
    // A literal (`!0`, `2`, `"auto"`) reads the same everywhere.
    if (constant(arg)) return direct.set(param.name, '(' + source.slice(arg.start, arg.end) + ')');
    if (arg.type !== 'Identifier') return;
    if (assignedHere.has(arg.name) || declaredInBody.has(arg.name)) return;
    if (!around.slice(hostAt).some((node) => declares(node, arg.name))) return;
    direct.set(param.name, arg.name);
  });
  return direct;
}

/** The loops and `switch`es of `body` (not of functions inside it) that hold one of `returns`. */
function catchers(body, returns) {
  const found = [];
  eachOwn(body.body, (node) => {
    if (/^(For|ForIn|ForOf|While|DoWhile|Switch)Statement$/.test(node.type))
      if (returns.some((ret) => inside(node, ret))) found.push(node);
  });
  return found;
}

/**
 * The block of `fn`'s body (its names renamed by `edits`, its parameters set by `lets`) for a body
 * that returns early: `{let a=x,r; for(;;){...break} target=r}`, each `return E` becoming
 * `{r=(E);break}`. A return inside a loop or `switch` of the body also sets the block's flag `d`,
 * and after each such loop or `switch` `if(d)break;` carries the break out to the next, and at
 * last out of the `for` (blockable made sure that no `try` is in the way). `r` and `d` are the
 * block's own (`prefix`), so that the body reads the target as it was.
 */
function breaking(source, fn, edits, lets, prefix, target) {
  const result = prefix + 'r';
  const done = prefix + 'd';
  const at = (node, cut) => inside(node, { start: cut[0], end: cut[0] });
  const returns = ownReturns(fn.body);
  const loops = catchers(fn.body, returns);
  const flag = loops.length > 0 ? done + '=1;' : '';
  const cuts = [...edits.values()].filter((cut) => !returns.some((node) => at(node, cut)));
  for (const node of returns) {
    let value = '';
    if (node.argument !== null) {
      const inner = [...edits.values()].filter((cut) => at(node.argument, cut));
      value = '(' + rewritten(source, node.argument, inner) + ')';
      value = (target === null ? '' : result + '=') + value + ';';
    }
    cuts.push([node.start, node.end, '{' + value + flag + 'break}']);
  }
  for (const loop of loops) {
    cuts.push([loop.start, loop.start, '{']);
    cuts.push([loop.end, loop.end, 'if(' + done + ')break;}']);
  }
  const names = (target === null ? lets : lets.concat(result)).concat(
    loops.length > 0 ? [done + '=0'] : [],
  );
  const open = names.length > 0 ? '{let ' + names.join(',') + ';' : '{';
  const body = rewritten(source, fn.body, cuts).slice(1, -1);
  return (
    open + 'for(;;){' + body + 'break}' + (target === null ? '' : target + '=' + result + ';') + '}'
  );
}

/** The innermost function around a call (its ancestors `around`) unless it is the top level. */
function host(around, top) {
  for (let i = around.length - 1; i >= 0; i--) {
    const node = around[i];
    if (!/Function/.test(node.type)) continue;
    return node.body.type === 'BlockStatement' && node.body.body !== top ? node : null;
  }
  return null;
}

/** How many arrows have been made at the start of a function (their names: `$inline0`...). */
let hoisted = 0;

/** Whether two calls of `sites` lie one inside the other (`half(half(w))`). */
function nested(sites) {
  return sites.some(({ call }, i) => sites.some((other, j) => i !== j && inside(call, other.call)));
}

/**
 * Whether `candidate` (see `definitions`) can be written in at each of its calls, which it marks
 * as blocks or not (`planSites`). A function called from more places is copied to each while it
 * is small: flash for RAM. Past INLINE_CALLS_MAX and INLINE_BYTES_MAX, only where every copy is a
 * block.
 */
function writable(source, top, candidate) {
  const { fn, sites, definition } = candidate;
  const size = definition.end - definition.start;
  if (sites.length > 1 && (sites.length > INLINE_BLOCK_CALLS_MAX || size > INLINE_BLOCK_BYTES_MAX))
    return false;
  if (fn.params.some((param) => param.type !== 'Identifier') || !movable(fn.body)) return false;
  if (fn.async || fn.generator) return false;
  // A call in the arguments of another: each would be written in over the other's text.
  if (nested(sites)) return false;
  planSites(source, fn, sites);
  if (
    sites.length > 1 &&
    (size > INLINE_BYTES_MAX || sites.length > INLINE_CALLS_MAX) &&
    !sites.every((site) => site.block)
  )
    return false;
  return sites.every(
    (site) =>
      (!looped(site.around, site.call) || host(site.around, top) !== null || site.block) &&
      !captured(fn, site.around, top) &&
      !site.call.arguments.some((arg) => arg.type === 'SpreadElement') &&
      !inside(definition, site.call),
  );
}

/** One pass of `inlineCalls`: the candidates that do not overlap, and their edits. */
function inlinePass(source, mangled) {
  const ast = acorn.parse(source, { ecmaVersion: 2022 });
  const top = topLevel(ast);
  const chosen = [];
  for (const candidate of definitions(ast, top, mangled))
    if (writable(source, top, candidate) && !clashes(chosen, candidate)) chosen.push(candidate);
  const cuts = [];
  // Per function around a loop: the arrows made at its start, to let go of at its end.
  const made = new Map();
  for (const { definition, fn, sites, method } of chosen) {
    cuts.push([definition.start, definition.end, '']);
    const names = new Map();
    for (const site of sites) {
      const { call, around } = site;
      if (site.block) {
        cuts.push(blockCall(source, fn, site, method));
        continue;
      }
      if (!looped(around, call)) {
        cuts.push([call.start, call.end, arrowCall(source, fn, call, method)]);
        continue;
      }
      const outer = host(around, top);
      const { arrow, args } = arrowParts(source, fn, call, method);
      if (!names.has(outer)) {
        names.set(outer, '$inline' + hoisted++);
        made.set(outer, [...(made.get(outer) ?? []), [names.get(outer), arrow]]);
      }
      cuts.push([call.start, call.end, names.get(outer) + args]);
    }
  }
  // Called in a loop: the arrow is made once, at the start of the function around the loop, and
  // let go of when that function returns (a `finally`). An arrow holds the scope it was made in,
  // which holds the arrow: without the `finally` the two would stay in memory until the next
  // garbage collection (on the interpreter: some nine JsVars a call).
  for (const [outer, arrows] of made) {
    const start = arrows.map(([name, arrow]) => 'let ' + name + '=' + arrow + ';').join('');
    const release = arrows.map(([name]) => name).join('=') + '=void 0';
    cuts.push([outer.body.start + 1, outer.body.start + 1, start + 'try{']);
    cuts.push([outer.body.end - 1, outer.body.end - 1, '}finally{' + release + '}']);
  }
  return { text: splice(source, cuts), inlined: chosen.length };
}

/**
 * `source` (not yet minified) with each method or top-level function that is called from one
 * place (or from up to INLINE_CALLS_MAX places, when it is at most INLINE_BYTES_MAX long; up to
 * INLINE_BLOCK_CALLS_MAX and INLINE_BLOCK_BYTES_MAX when every call becomes a block) written
 * in at each call, as an arrow function called at once: a function defined once takes four JsVars
 * and one per parameter for as long as the board runs, an arrow made where it is called only while
 * it runs (its code stays in Storage). The price: a function object made per call, and the copies'
 * bytes in Storage. Only methods with made-up names (`mangled`) named nowhere but at their
 * definition and their calls, and only bodies that an arrow runs the same (no `arguments`,
 * `super`; a method's `this` becomes a parameter) where the call's enclosing functions declare
 * none of the names the body takes from the top level.
 */
export function inlineCalls(source, mangled) {
  hoisted = 0; // the same names in every build of the same source
  blocks = 0;
  temps = 0;
  blockMark = '$b';
  return untilSettled(inlinePass, source, mangled);
}

/** An expression whose value and effects do not depend on when, or how often, it is evaluated. */
function pure(node, members) {
  switch (node.type) {
    case 'Identifier':
    case 'Literal':
    case 'ThisExpression':
      return node.type !== 'Literal' || node.regex === undefined;
    case 'MemberExpression':
      return members && pure(node.object, true) && (!node.computed || pure(node.property, true));
    case 'UnaryExpression':
      return node.operator !== 'delete' && pure(node.argument, members);
    case 'BinaryExpression':
    case 'LogicalExpression':
      return pure(node.left, members) && pure(node.right, members);
    case 'ConditionalExpression':
      return (
        pure(node.test, members) && pure(node.consequent, members) && pure(node.alternate, members)
      );
    default:
      return false;
  }
}

/**
 * The expression `fn` returns when its body is that alone and it calls, creates and assigns
 * nothing but members (`s[t] = v`, `this.n = 0`), else null; with whether it assigns.
 */
function returned(fn) {
  const body = fn.body.body;
  if (body.length !== 1 || body[0].type !== 'ReturnStatement' || body[0].argument === null)
    return null;
  let ok = true;
  let assigns = false;
  walk.full(body[0].argument, (node) => {
    if (/Call|New|Update|Function|Class|Await|Yield|Super|Meta/.test(node.type)) ok = false;
    if (node.type === 'Identifier' && node.name === 'arguments') ok = false;
    if (node.type === 'AssignmentExpression') {
      assigns = true;
      if (node.left.type !== 'MemberExpression') ok = false;
    }
  });
  return ok ? { expression: body[0].argument, assigns } : null;
}

/** `call` of `fn` (whose body returns `expression`) as that expression, the arguments in it. */
function substituted(source, fn, call, method, expression) {
  const values = new Map();
  fn.params.forEach((param, i) => {
    const arg = call.arguments[i];
    values.set(
      param.name,
      arg === undefined ? 'void 0' : '(' + source.slice(arg.start, arg.end) + ')',
    );
  });
  const receiver = method ? source.slice(call.callee.object.start, call.callee.object.end) : null;
  const inner = [];
  walk.fullAncestor(expression, (node, _state, ancestors) => {
    const parent = ancestors[ancestors.length - 2];
    if (node.type === 'ThisExpression' && receiver !== null)
      inner.push([node.start, node.end, receiver]);
    if (node.type !== 'Identifier' || !values.has(node.name)) return;
    if (parent?.type === 'MemberExpression' && parent.property === node && !parent.computed) return;
    if (parent?.type === 'Property' && parent.key === node && !parent.computed) return;
    inner.push([node.start, node.end, values.get(node.name)]);
  });
  return [call.start, call.end, '(' + rewritten(source, expression, inner) + ')'];
}

/** One pass of `inlineExpressions`. */
function expressionPass(source, mangled) {
  const ast = acorn.parse(source, { ecmaVersion: 2022 });
  const top = topLevel(ast);
  const found = definitions(ast, top, mangled);
  const cuts = [];
  const taken = [];
  for (const { definition, fn, sites, method } of found) {
    const body = returned(fn);
    if (body === null || fn.params.some((param) => param.type !== 'Identifier')) continue;
    const size = body.expression.end - body.expression.start;
    if (size > EXPRESSION_BYTES_MAX && (sites.length > INLINE_CALLS_MAX || size > INLINE_BYTES_MAX))
      continue;
    // At each call: the expression with the arguments written in where they are free of effects,
    // else (outside a loop) an arrow called at once.
    const substitutable = ({ call }) => {
      const receiver = method ? call.callee.object : null;
      if (receiver !== null && !/^(ThisExpression|Identifier)$/.test(receiver.type)) return false;
      // Arguments past the parameters (the shrink took unread ones out) are dropped: pure too.
      return call.arguments.every(
        (arg) => arg.type !== 'SpreadElement' && pure(arg, !body.assigns),
      );
    };
    planSites(source, fn, sites, (site) => !substitutable(site));
    const fits = sites.every(
      (site) =>
        !captured(fn, site.around, top) &&
        !inside(definition, site.call) &&
        (substitutable(site) ||
          site.block ||
          (!looped(site.around, site.call) &&
            !site.call.arguments.some((arg) => arg.type === 'SpreadElement'))),
    );
    if (!fits || clashes(taken, { definition, sites })) continue;
    taken.push({ definition, sites });
    cuts.push([definition.start, definition.end, '']);
    for (const site of sites) {
      const { call } = site;
      if (!substitutable(site)) {
        cuts.push(
          site.block
            ? blockCall(source, fn, site, method)
            : [call.start, call.end, arrowCall(source, fn, call, method)],
        );
        continue;
      }
      cuts.push(substituted(source, fn, call, method, body.expression));
    }
  }
  return { text: splice(source, cuts), inlined: taken.length };
}

/** An expression this long is copied to any number of calls (longer: as INLINE_BYTES_MAX). */
export const EXPRESSION_BYTES_MAX = 120;

/**
 * `source` (not yet minified) with each function or made-up-named method whose body only returns
 * an expression that calls and creates nothing written in at its calls, its parameters replaced by
 * the arguments: no function object at all, at the call or anywhere (the codec's readers and
 * writers, called in loops). Only where every argument is free of effects and reads no member
 * when the expression assigns one, so that evaluating an argument once, twice or never, before or
 * after the expression's own writes, changes nothing; a call with other arguments gets an arrow
 * called at once (as in `inlineCalls`), and none inside a loop.
 */
export function inlineExpressions(source, mangled) {
  blocks = 0;
  temps = 0;
  blockMark = '$e';
  return untilSettled(expressionPass, source, mangled);
}
