// The config's one schema (config/lifeline.schema.json) made into what the project runs and
// documents: the validator's readers (config/schema.ts, TypeScript the bundles compile like any
// other module: no schema compiler at run time) and the key tables of docs/reference.md. `node
// build.mjs` writes both when the schema or this generator changed; test/unit/schema.test.ts fails
// when either is stale. Only the part of JSON Schema listed below is compiled, and anything else
// in the schema stops the generation, so that no constraint is written there and silently not
// enforced:
//   objects: type, properties, required, additionalProperties false, default {}, minProperties
//            (of its known keys, with x-problem), allOf of if/then/else on one key's const
//            (required keys, and keys set to false: x-problem says what they apply to)
//   arrays:  minItems, maxItems, items (an object, or a format; an enum beside a format)
//   values:  type integer (minimum, maximum), number (exclusiveMinimum, maximum), boolean, string
//            (minLength 1, maxLength, pattern with x-problem), enum, default, format (a parser of
//            config/formats.ts, which checks the value whole: type, limits, items and `not` beside
//            it are for other validators, and test/unit/schema.test.ts holds the parser to them);
//            `not` only beside an x-check on its object
//   Lifeline's own: x-check (a check of config/rules.ts, run at the end of its object's reader
//            with what it read, or, beside a value or a list, right after it), x-default
//            and x-default-at-most (a default from a sibling key), x-maximum (a maximum from a
//            sibling: its value, or its number of entries), x-board and x-board-note, x-doc-table
//            and x-doc-default.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export const SCHEMA_PATH = 'config/lifeline.schema.json';
export const MODULE_PATH = 'config/schema.ts';
export const REFERENCE_PATH = 'docs/reference.md';

/** Each format: the function of config/formats.ts that parses it, and what it returns. */
const FORMATS = {
  address: ['address', 'Address'],
  'host-address': ['hostAddress', 'Address'],
  'ipv4-address': ['ipv4Address', 'Address'],
  'ipv6-address': ['ipv6Address', 'Address'],
  'router-id': ['routerId', 'Address'],
  prefix: ['prefix', 'Prefix'],
  community: ['community', 'Community'],
  asn: ['asn', 'number'],
  rcode: ['rcode', 'number'],
  'dns-name': ['dnsName', 'string'],
  listen: ['listen', 'string'],
  argv: ['argv', 'readonly string[]'],
};

const BOARD_CLASSES = ['honoured', 'refused', 'meaningless'];

/** The names the generated readers use for themselves: a key of the same name gets a `_`. */
const RESERVED = ['reader', 'record', 'path', 'checks', 'value', 'raw', 'console'];

const KNOWN = {
  object: [
    'type',
    'properties',
    'required',
    'additionalProperties',
    'default',
    'minProperties',
    'allOf',
  ],
  array: ['type', 'minItems', 'maxItems', 'items', 'default'],
  integer: ['type', 'minimum', 'maximum', 'default', 'not'],
  number: ['type', 'exclusiveMinimum', 'maximum', 'default'],
  boolean: ['type', 'default'],
  string: ['type', 'minLength', 'maxLength', 'pattern', 'default'],
  enum: ['enum', 'default'],
  format: ['type', 'format', 'minimum', 'maximum', 'not', 'enum', 'minItems', 'maxItems', 'items'],
};
/** The schema's own keywords (`x-`): another validator must take them as annotations. */
export const OWN_KEYWORDS = [
  'x-board',
  'x-board-note',
  'x-check',
  'x-default',
  'x-default-at-most',
  'x-maximum',
  'x-problem',
  'x-doc-table',
  'x-doc-default',
];
const ANNOTATIONS = ['$def', 'description', 'title', ...OWN_KEYWORDS];

function fail(where, text) {
  throw new Error(SCHEMA_PATH + ': ' + where + ': ' + text);
}

/** `schema` with its `$ref` to a `$defs` entry followed; the keywords beside the ref win. */
function resolve(root, schema, where) {
  if (schema.$ref === undefined) return schema;
  const name = /^#\/\$defs\/(\w+)$/.exec(schema.$ref)?.[1];
  const target = name === undefined ? undefined : root.$defs?.[name];
  if (target === undefined) fail(where, 'cannot follow $ref ' + schema.$ref);
  const { $ref: _ref, ...beside } = schema;
  const resolved = { ...resolve(root, target, where), ...beside, $def: name };
  if (target.required && beside.required)
    resolved.required = [...new Set([...target.required, ...beside.required])];
  return resolved;
}

/** What kind of value `schema` describes, as the readers read it. */
function kindOf(schema, where) {
  if (schema.format !== undefined) {
    if (FORMATS[schema.format] === undefined) fail(where, 'unknown format ' + schema.format);
    return 'format';
  }
  if (schema.enum !== undefined) return 'enum';
  if (['object', 'array', 'integer', 'number', 'boolean', 'string'].includes(schema.type))
    return schema.type;
  return fail(where, 'has no type, enum or format');
}

/** What the top of the schema may carry besides an object's keywords. */
const ROOT_ONLY = ['$schema', '$defs', 'title'];

/** Refuses keywords the readers would not enforce (see the opening comment). */
function checkKeywords(schema, kind, where, parentChecked) {
  for (const keyword of Object.keys(schema)) {
    if (KNOWN[kind].includes(keyword) || ANNOTATIONS.includes(keyword)) continue;
    if (where === 'config' && ROOT_ONLY.includes(keyword)) continue;
    fail(where, 'the generator does not compile "' + keyword + '" for a ' + kind);
  }
  if (kind === 'object' && schema.additionalProperties !== false)
    fail(where, 'an object must have additionalProperties: false (unknown keys are errors)');
  if (
    kind === 'object' &&
    (schema.minProperties === undefined) !== (schema['x-problem'] === undefined)
  )
    fail(where, 'minProperties needs x-problem (the words of its problem), and only it has one');
  if (kind === 'integer' && schema.not !== undefined && !parentChecked)
    fail(where, '`not` is enforced by an x-check on its object only');
  if (kind === 'string' && schema.minLength !== 1)
    fail(where, 'a string must have minLength 1 (the readers refuse empty strings)');
  if (kind === 'string' && (schema.pattern === undefined) !== (schema['x-problem'] === undefined))
    fail(where, 'a pattern needs x-problem (the words of its problem), and only a pattern has one');
  if (schema.default !== undefined && ['format', 'number'].includes(kind))
    fail(where, 'a default is not compiled for a ' + kind);
  if (kind === 'object' && schema.default !== undefined && Object.keys(schema.default).length > 0)
    fail(where, 'an object may default to {} only (its keys have their own defaults)');
  if (kind === 'boolean' && schema.default === undefined) fail(where, 'a boolean needs a default');
}

/** A name for TypeScript from a key or a `$defs` name: `overridePin` -> `OverridePin`. */
function typeName(name) {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

/** The child key path as CONFIG_KEYS writes it (`services[]`, `announcer.peers[]`). */
function childKeyPath(parent, key) {
  return parent === 'config' ? key : parent + '.' + key;
}

/** The branches of an object's allOf: if KEY is VALUE, then ..., else ... */
function branchesOf(schema, where) {
  return (schema.allOf ?? []).map((entry, index) => {
    const at = where + '.allOf[' + index + ']';
    const condition = entry.if?.properties ?? {};
    const keys = Object.keys(condition);
    if (keys.length !== 1 || condition[keys[0]].const === undefined)
      fail(at, 'an if must test one key for a const');
    if (!(entry.if.required ?? []).includes(keys[0])) fail(at, 'an if must require its key');
    const arm = (branch) => ({
      required: branch?.required ?? [],
      forbidden: Object.keys(branch?.properties ?? {}).filter(
        (k) => branch.properties[k] === false,
      ),
      problem: branch?.['x-problem'] ?? null,
    });
    for (const branch of [entry.then, entry.else]) {
      const extra = Object.keys(branch ?? {}).filter(
        (k) => !['required', 'properties', 'x-problem'].includes(k),
      );
      if (extra.length > 0) fail(at, 'a branch may only require or forbid keys: ' + extra);
      const forbidden = arm(branch).forbidden;
      if (forbidden.length > 0 && branch['x-problem'] === undefined)
        fail(at, 'a branch that forbids keys needs x-problem');
    }
    return {
      key: keys[0],
      value: condition[keys[0]].const,
      then: arm(entry.then),
      else: arm(entry.else),
    };
  });
}

/** The keys `resolved` requires beyond what its object's own schema does (one place's extra). */
function extraRequired(resolved, own) {
  return (resolved.required ?? []).filter((key) => !(own.required ?? []).includes(key));
}

/**
 * The node of an object (a `$defs` object is one node however many keys use it), with its
 * properties in order; `varying` are the keys that only some places require (read with a flag).
 */
function nodeFor(state, schema, keyPath, name, where) {
  const def = schema.$def;
  if (def !== undefined && state.byDef.has(def)) return state.byDef.get(def);
  const own = def === undefined ? schema : state.root.$defs[def];
  checkKeywords(own, 'object', where, false);
  const node = {
    name: typeName(def ?? name),
    keyPath,
    root: keyPath === 'config',
    schema: own,
    props: [],
    branches: branchesOf(own, where),
    varying: [],
  };
  if (def !== undefined) state.byDef.set(def, node);
  state.nodes.push(node);
  for (const [key, value] of Object.entries(own.properties ?? {}))
    node.props.push(propOf(state, node, key, value, where + '.' + key));
  return node;
}

function propOf(state, parent, key, value, where) {
  const schema = resolve(state.root, value, where);
  const kind = kindOf(schema, where);
  checkKeywords(schema, kind, where, parent.schema['x-check'] !== undefined);
  const prop = { key, schema, kind, node: null, item: null, itemKind: null, extra: [] };
  const keyPath = childKeyPath(parent.keyPath, key);
  if (kind === 'object') prop.node = nodeFor(state, schema, keyPath, key, where);
  if (kind === 'array') {
    prop.item = resolve(state.root, schema.items ?? fail(where, 'an array needs items'), where);
    prop.itemKind = kindOf(prop.item, where + '[]');
    if (!['object', 'format'].includes(prop.itemKind))
      fail(where + '[]', 'list entries must be objects or have a format');
    checkKeywords(prop.item, prop.itemKind, where + '[]', false);
    if (prop.itemKind === 'object')
      prop.node = nodeFor(state, prop.item, keyPath + '[]', key, where + '[]');
  }
  if (prop.node !== null) {
    prop.extra = extraRequired(kind === 'array' ? prop.item : schema, prop.node.schema);
    for (const extra of prop.extra)
      if (!prop.node.varying.includes(extra)) prop.node.varying.push(extra);
  }
  return prop;
}

/** The schema as nodes, the root first, in the order of a walk through its keys. */
export function model(root) {
  const state = { root, nodes: [], byDef: new Map() };
  nodeFor(state, root, 'config', 'config', 'config');
  for (const node of state.nodes) lintNode(node);
  return state.nodes;
}

/** The keys of a node that CONFIG_KEYS, the tables and the known-keys problem list. */
function listed(node) {
  return node.props.filter((prop) => prop.key !== '$schema');
}

/** The renderings of a limit that a description may use: 3600000, 3,600,000, 2^32-1. */
function renderings(limit) {
  const found = [String(limit), limit.toLocaleString('en')];
  if (limit === 4294967295) found.push('2^32-1');
  return found;
}

function mentions(text, limit) {
  return renderings(limit).some((form) =>
    new RegExp('(^|[^0-9,.^])' + form.replace(/[\^.]/g, '\\$&') + '(?![0-9]|,[0-9])').test(text),
  );
}

/** Every key has a description that states its limits, and a board class. */
function lintNode(node) {
  for (const prop of listed(node)) {
    const where = node.keyPath + ' ' + prop.key;
    const text = prop.schema.description ?? fail(where, 'needs a description');
    if (!BOARD_CLASSES.includes(prop.schema['x-board']))
      fail(where, 'needs x-board: one of ' + BOARD_CLASSES.join(', '));
    const low = prop.schema.minimum ?? prop.schema.exclusiveMinimum ?? prop.schema.minItems;
    const high = prop.schema['x-maximum'] ?? prop.schema.maximum ?? prop.schema.maxItems;
    if (low !== undefined && !mentions(text, low)) fail(where, 'the description must state ' + low);
    if (typeof high === 'number' && !mentions(text, high))
      fail(where, 'the description must state ' + high);
    if (typeof high === 'string' && !text.includes(high))
      fail(where, 'the description must name ' + high);
  }
}

const lit = (value) => JSON.stringify(value);
/** A key's local variable in a reader: the key, or `path_` where the reader has a `path`. */
const local = (key) => (RESERVED.includes(key) ? key + '_' : key);
/** The flag a reader takes for a key that only some places require. */
const flag = (key) => 'require' + typeName(key);

/** When `key` is required in `node`, as TypeScript: 'true', 'false' or a condition. */
function requiredWhen(node, key) {
  if ((node.schema.required ?? []).includes(key)) return 'true';
  const parts = node.varying.includes(key) ? [flag(key)] : [];
  for (const branch of node.branches) {
    if (branch.then.required.includes(key))
      parts.push(local(branch.key) + ' === ' + lit(branch.value));
    if (branch.else.required.includes(key))
      parts.push(local(branch.key) + ' !== ' + lit(branch.value));
  }
  return parts.length === 0 ? 'false' : parts.join(' || ');
}

/**
 * When a branch forbids `key`: the condition, the branch's words for it and the condition under
 * which the key is allowed; null when no branch forbids it.
 */
function forbiddenWhen(node, key) {
  const found = [];
  for (const branch of node.branches) {
    const is = local(branch.key) + ' === ' + lit(branch.value);
    const isNot = local(branch.key) + ' !== ' + lit(branch.value);
    if (branch.then.forbidden.includes(key)) found.push([is, branch.then.problem, isNot]);
    if (branch.else.forbidden.includes(key)) found.push([isNot, branch.else.problem, is]);
  }
  if (found.length > 1) fail(node.keyPath + ' ' + key, 'is forbidden by two branches');
  return found[0] ?? null;
}

/** The sibling keys a key's reading needs first: its dynamic default or maximum, its branches. */
function dependencies(node, prop) {
  const found = ['x-default', 'x-default-at-most', 'x-maximum']
    .map((keyword) => prop.schema[keyword])
    .filter((key) => key !== undefined);
  for (const branch of node.branches) {
    const arms = [branch.then, branch.else];
    if (arms.some((arm) => arm.required.includes(prop.key) || arm.forbidden.includes(prop.key)))
      found.push(branch.key);
  }
  for (const key of found)
    if (!node.props.some((other) => other.key === key))
      fail(node.keyPath + ' ' + prop.key, 'depends on ' + key + ', which is not a sibling');
  return found;
}

/** The keys in the schema's order, each moved after the siblings it depends on. */
function readOrder(node) {
  const pending = listed(node);
  const done = [];
  while (pending.length > 0) {
    const ready = pending.findIndex((prop) =>
      dependencies(node, prop).every((key) => done.some((prop) => prop.key === key)),
    );
    if (ready < 0) fail(node.keyPath, 'its keys depend on each other in a circle');
    done.push(pending.splice(ready, 1)[0]);
  }
  return done;
}

/** A key's default as TypeScript, or null: a value, a sibling's, or a value capped by one. */
function defaultOf(prop) {
  const schema = prop.schema;
  if (schema['x-default'] !== undefined) return local(schema['x-default']);
  if (schema.default === undefined) return null;
  if (schema['x-default-at-most'] !== undefined)
    return 'Math.min(' + lit(schema.default) + ', ' + local(schema['x-default-at-most']) + ')';
  return lit(schema.default);
}

/** What a reader passes for an absent key: null (required) or its default. */
function fallback(required, value) {
  if (required === 'true') return 'null';
  if (required === 'false') return value;
  return '(' + required + ') ? null : ' + value;
}

/** `expression` when the key is there or required, null otherwise. */
function whenGiven(required, key, expression) {
  if (required === 'true') return expression;
  const given = 'reader.has(record, ' + lit(key) + ')';
  return (
    (required === 'false' ? given : given + ' || ' + required) + ' ? ' + expression + ' : null'
  );
}

/** What an absent key of a parser is: null, with `is required` where it is required. */
function absentValue(scalarPath, required) {
  return required === 'false' ? 'null' : 'reader.missing(' + scalarPath + ', ' + required + ')';
}

/** Whether a node's reader (or one it calls) runs a check, and so takes the checks. */
function usesChecks(node) {
  return (
    node.schema['x-check'] !== undefined ||
    node.props.some(
      (prop) =>
        (prop.kind !== 'object' && prop.schema['x-check'] !== undefined) ||
        (prop.node !== null && prop.node !== node && usesChecks(prop.node)),
    )
  );
}

function nodeCall(prop, item, at) {
  const flags = prop.node.varying.map((key) => String(prop.extra.includes(key)));
  const checks = usesChecks(prop.node) ? ['checks'] : [];
  return 'read' + prop.node.name + '(' + ['reader', item, at, ...checks, ...flags].join(', ') + ')';
}

/** The range of an integer, the maximum from a sibling (x-maximum) where the schema says so. */
function range(node, prop) {
  const sibling = prop.schema['x-maximum'];
  if (sibling === undefined) return '[' + prop.schema.minimum + ', ' + prop.schema.maximum + ']';
  const other = node.props.find((candidate) => candidate.key === sibling);
  const bound = other.kind === 'array' ? other.schema.maxItems : other.schema.maximum;
  if (!(bound <= prop.schema.maximum)) fail(node.keyPath + ' ' + prop.key, 'x-maximum too large');
  const value =
    other.kind === 'array'
      ? local(sibling) + ' === null ? ' + prop.schema.minimum + ' : ' + local(sibling) + '.length'
      : local(sibling);
  return '[' + prop.schema.minimum + ', ' + value + ']';
}

/** The reading of one key, by kind: each gives the TypeScript expression and its type. */
const READERS = {
  integer: (key, { node, prop, required, value }) => {
    const call = (given) => `reader.integer(record, ${key}, path, ${range(node, prop)}, ${given})`;
    if (value !== null) return [call(fallback(required, value)), 'number'];
    if (required === 'false')
      return [
        `reader.optionalInteger(record, ${key}, path, ${range(node, prop)})`,
        'number | null',
      ];
    return [whenGiven(required, prop.key, call('null')), nullable('number', required)];
  },
  string: (key, { prop, required, value }) => {
    const schema = prop.schema;
    if (schema.pattern !== undefined) {
      const pattern = '/' + schema.pattern.replace(/\//g, '\\/') + '/';
      const words = lit(schema['x-problem']);
      const call = `reader.pattern(record, ${key}, path, ${pattern}, ${words})`;
      return [whenGiven(required, prop.key, call), 'string | null'];
    }
    if (value !== null)
      return [`reader.string(record, ${key}, path, ${fallback(required, value)})`, 'string | null'];
    if (required === 'false')
      return [`reader.optionalString(record, ${key}, path)`, 'string | null'];
    const call = `reader.string(record, ${key}, path, null)`;
    return [whenGiven(required, prop.key, call), 'string | null'];
  },
  enum: (key, { node, prop, required, value }) => {
    const choices = prop.schema.enum.map(lit);
    const call = (given) =>
      `reader.choice(record, ${key}, path, ${choicesName(node, prop)}, ${given})`;
    if (value !== null) return [call(fallback(required, value)), choices.join(' | ')];
    return [whenGiven(required, prop.key, call('null')), nullable(choices.join(' | '), required)];
  },
  boolean: (key, { value }) => [`reader.boolean(record, ${key}, path, ${value})`, 'boolean'],
  number: (key, { prop, required, scalarPath }) => {
    const { exclusiveMinimum, maximum } = prop.schema;
    const call = `reader.number(record, ${key}, path, ${exclusiveMinimum}, ${maximum})`;
    const absent = absentValue(scalarPath, required);
    return [`reader.has(record, ${key}) ? ${call} : ${absent}`, 'number | null'];
  },
  format: (key, { prop, required }) => {
    const [parser, type] = FORMATS[prop.schema.format];
    return [
      `reader.format(record, ${key}, path, formats.${parser}, ${required})`,
      type + ' | null',
    ];
  },
  object: (key, { prop, required, value, containerPath }) => {
    const type = 'Raw' + prop.node.name + ' | null';
    if (value === null)
      return [whenGiven(required, prop.key, nodeCall(prop, `record[${key}]`, containerPath)), type];
    const given = `record[${key}] === undefined ? ${value} : record[${key}]`;
    return [nodeCall(prop, given, containerPath), type];
  },
  array: (key, { prop, required, value, containerPath }) => {
    let absent = value ?? 'null';
    if (required === 'true') absent = "'required'";
    else if (required !== 'false') absent = `(${required}) ? 'required' : null`;
    const [item, type] =
      prop.itemKind === 'object'
        ? [nodeCall(prop, 'item', 'at'), 'Raw' + prop.node.name]
        : [
            `formats.${FORMATS[prop.item.format][0]}(reader, item, at)`,
            FORMATS[prop.item.format][1],
          ];
    const limits = '[' + prop.schema.minItems + ', ' + prop.schema.maxItems + ']';
    const each = `(item, at) => ${item}`;
    const call = `reader.list(record, ${key}, ${containerPath}, ${limits}, ${absent}, ${each})`;
    return [call, 'readonly (' + type + ' | null)[] | null'];
  },
};

/** `type`, or `type | null` where the key may be absent without a default. */
function nullable(type, required) {
  return required === 'true' ? type : type + ' | null';
}

/**
 * How a reader reads one key: the TypeScript expression and the type of what it gives. Where a
 * branch forbids the key, it is read only where allowed (the problem is said before: see
 * emitReader); where it is allowed only when required, it is required there.
 */
function keyExpression(node, prop) {
  const forbidden = forbiddenWhen(node, prop.key);
  const when = requiredWhen(node, prop.key);
  const context = {
    node,
    prop,
    required: when === forbidden?.[2] ? 'true' : when,
    value: defaultOf(prop),
    scalarPath: 'path + ' + lit('.' + prop.key),
    containerPath: node.root ? lit(prop.key) : 'path + ' + lit('.' + prop.key),
  };
  const [expression, type] = READERS[prop.kind](lit(prop.key), context);
  if (forbidden === null) return [expression, type];
  return [forbidden[0] + ' ? null : ' + expression, nullable(type.replace(/ \| null$/, ''), '')];
}

/** The constant holding the choices of an enum key: `ANNOUNCER_ON_SHUTDOWN`. */
const choicesName = (node, prop) =>
  keysName(node).replace(/KEYS$/, '') + prop.key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();

/** The constant holding a node's keys (for the known-keys problem and CONFIG_KEYS). */
const keysName = (node) =>
  node.root
    ? 'TOP_KEYS'
    : node.name
        .replace(/[A-Z]/g, (c) => '_' + c)
        .toUpperCase()
        .slice(1) + '_KEYS';

/** The opening of a node's reader: its signature, the object and its own keys. */
function readerHead(node) {
  const params = ['reader: Reader', 'value: Json', 'path: string'];
  if (usesChecks(node)) params.push('checks: Checks');
  for (const key of node.varying) params.push(flag(key) + ': boolean');
  const withSchema = node.props.some((prop) => prop.key === '$schema');
  const name = node.root ? 'Document' : node.name;
  const also = withSchema ? ", ['$schema']" : '';
  const lines = [
    `/** Reads \`${node.keyPath}\`: every key, or null when it is not an object. */`,
    `${node.root ? 'export ' : ''}function read${name}(${params.join(', ')}): ` +
      `Raw${node.name} | null {`,
    `const record = reader.object(value, path, ${keysName(node)}${also});`,
    'if (record === null) return null;',
  ];
  if (withSchema)
    lines.push("if (reader.has(record, '$schema')) reader.string(record, '$schema', path, null);");
  const fewest = node.schema.minProperties;
  const words = lit(node.schema['x-problem']);
  if (fewest !== undefined)
    lines.push(`reader.fewest(record, ${keysName(node)}, ${fewest}, path, ${words});`);
  return lines;
}

/** The keys a branch forbids, named at once where the first of them would be read. */
function refusal(node, prop, refused) {
  const forbidden = forbiddenWhen(node, prop.key);
  if (forbidden === null || refused.has(forbidden[1])) return [];
  refused.add(forbidden[1]);
  const keys = listed(node).filter((other) => forbiddenWhen(node, other.key)?.[1] === forbidden[1]);
  const list = '[' + keys.map((other) => lit(other.key)).join(', ') + ']';
  return [
    `if (${forbidden[0]}) reader.notApplicable(record, ${list}, path, ${lit(forbidden[1])});`,
  ];
}

/** A node's reader: its keys in order, each check after what it checks, the raw record. */
function emitReader(node, checks) {
  const lines = readerHead(node);
  const fields = [];
  const types = [];
  const refused = new Set();
  for (const prop of readOrder(node)) {
    lines.push(...refusal(node, prop, refused));
    const [expression] = keyExpression(node, prop);
    lines.push(`const ${local(prop.key)} = ${expression};`);
    fields.push(prop.key === local(prop.key) ? prop.key : prop.key + ': ' + local(prop.key));
    types.push(prop.key);
    // An object's own check runs at the end of its reader (below); a value's, right after it.
    const check = prop.kind === 'object' ? undefined : prop.schema['x-check'];
    if (check !== undefined) {
      const picked = types.map(lit).join(' | ');
      checks.push([check, `read: Pick<Raw${node.name}, ${picked}>`, node.keyPath + '.' + prop.key]);
      lines.push(`checks.${check}(reader, { ${fields.join(', ')} }, path);`);
    }
  }
  lines.push(`const raw: Raw${node.name} = { ${fields.join(', ')} };`);
  if (node.schema['x-check'] !== undefined) {
    checks.push([node.schema['x-check'], `raw: Raw${node.name}`, node.keyPath]);
    lines.push(`checks.${node.schema['x-check']}(reader, raw, path);`);
  }
  lines.push('return raw;', '}');
  return lines.join('\n');
}

/** The record a node's reader returns: each key as read (null where it was not valid). */
function emitInterface(node) {
  const lines = [`/** \`${node.keyPath}\` as read, before the checks make a Config of it. */`];
  lines.push(`export interface Raw${node.name} {`);
  for (const prop of readOrder(node)) {
    const [, type] = keyExpression(node, prop);
    lines.push(`readonly ${prop.key}: ${type};`);
  }
  lines.push('}');
  return lines.join('\n');
}

/** CONFIG_KEYS, the board classes, the static defaults and limits, by key path. */
function emitTables(nodes) {
  const out = [];
  for (const node of nodes) {
    const keys = listed(node).map((prop) => lit(prop.key));
    out.push(`const ${keysName(node)} = [${keys.join(', ')}] as const;`);
    for (const prop of listed(node).filter((candidate) => candidate.kind === 'enum')) {
      const choices = prop.schema.enum.map(lit).join(', ');
      out.push(`const ${choicesName(node, prop)} = [${choices}] as const;`);
    }
  }
  out.push(
    "/** Every key the validator knows, by its parent's path (`[]`: each entry of a list). */",
    'export const CONFIG_KEYS: { readonly [path: string]: readonly string[] } = {',
    ...nodes.map((node) => `${lit(node.keyPath)}: ${keysName(node)},`),
    '};',
    '/** What a board does with each key (x-board), by parent and key as in CONFIG_KEYS. */',
    'export const BOARD_CLASSES: {',
    '  readonly [parent: string]: {',
    "    readonly [key: string]: 'honoured' | 'refused' | 'meaningless';",
    '  };',
    '} = {',
  );
  for (const node of nodes) {
    const classes = listed(node).map((prop) => `${lit(prop.key)}: ${lit(prop.schema['x-board'])}`);
    out.push(`${lit(node.keyPath)}: { ${classes.join(', ')} },`);
  }
  out.push('};');
  const defaults = [];
  const limits = [];
  for (const node of nodes) {
    for (const prop of listed(node)) {
      const path = lit(childKeyPath(node.keyPath, prop.key));
      if (prop.schema.default !== undefined && prop.kind !== 'object')
        defaults.push(`${path}: ${lit(prop.schema.default)},`);
      const low = prop.schema.minimum ?? prop.schema.minItems;
      const high = prop.schema.maximum ?? prop.schema.maxItems;
      if (low !== undefined && high !== undefined) limits.push(`${path}: [${low}, ${high}],`);
    }
  }
  out.push(
    '/** The static defaults, by key path. */',
    'export const DEFAULTS = {',
    ...defaults,
    '} as const;',
  );
  out.push('/** The static limits (value or number of entries), by key path. */');
  out.push('export const LIMITS = {', ...limits, '} as const;');
  return out.join('\n');
}

/** The generated module's text, before prettier: its stamp says what it was made from. */
export function moduleText(schemaText, stamp) {
  const nodes = model(JSON.parse(schemaText));
  const checks = [];
  const readers = nodes.map((node) => emitReader(node, checks));
  const names = checks.map(([name]) => name);
  const twice = names.filter((name, index) => names.indexOf(name) !== index);
  if (twice.length > 0) fail('x-check', twice.join(', ') + ' named twice');
  return [
    '// Generated by build/config-schema.mjs from config/lifeline.schema.json: do not edit. `node',
    '// build.mjs` writes it again when either changes, and test/unit/schema.test.ts fails while',
    "// it is stale. The readers of every key with the schema's types, limits and defaults; the",
    '// checks across keys are config/rules.ts, called where the schema names them (x-check).',
    '// Source: ' + stamp,
    '',
    // Written in two pieces, so that test/unit/rooms.test.ts does not take them for its own.
    'import type { Address, Prefix } from ' + "'../firmware/address';",
    'import * as formats from ' + "'./formats';",
    'import type { Community } from ' + "'./formats';",
    'import type { Json, Reader } from ' + "'./reader';",
    '',
    emitTables(nodes),
    '',
    '/** The checks across keys (config/rules.ts), each run right after the keys it reads. */',
    'export interface Checks {',
    ...checks.map(
      ([name, arg, where]) =>
        `/** After \`${where}\`. */\n${name}(reader: Reader, ${arg}, path: string): void;`,
    ),
    '}',
    '',
    ...nodes.map(emitInterface),
    '',
    ...readers,
    '',
  ].join('\n');
}

/** What the outputs are made from: the schema and this generator, as a short hash. */
export function sourceStamp() {
  const generator = readFileSync(new URL(import.meta.url), 'utf8');
  const schema = readFileSync(SCHEMA_PATH, 'utf8');
  return createHash('sha256').update(schema).update(generator).digest('hex').slice(0, 16);
}

/** The generated module as it should be (formatted by prettier, as the sources are). */
export async function expectedModule() {
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(MODULE_PATH)) ?? {};
  const text = moduleText(readFileSync(SCHEMA_PATH, 'utf8'), sourceStamp());
  return prettier.format(text, { ...options, filepath: MODULE_PATH });
}

/** A default as the reference's tables write it: `A`, 1000, false, `["NOERROR"]`. */
function renderDefault(value) {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return '`' + (typeof value === 'string' ? value : JSON.stringify(value)) + '`';
}

/** The values of a branch's key other than `value` (what an else-branch stands for). */
function otherValues(node, branch) {
  const choices = node.props.find((prop) => prop.key === branch.key).schema.enum ?? [];
  return choices.filter((choice) => choice !== branch.value);
}

/**
 * The default column of a key's row: x-doc-default where the schema gives one (it must start with
 * the default it stands for), else required, required in its object, required for a branch, the
 * default, a sibling's value, or none.
 */
function docDefault(node, prop, site) {
  const schema = prop.schema;
  const where = node.keyPath + ' ' + prop.key;
  if (schema['x-doc-default'] !== undefined) {
    const given = schema['x-doc-default'];
    const stated = schema.default !== undefined && prop.kind !== 'object';
    if (stated && !given.startsWith(renderDefault(schema.default)))
      fail(where, 'x-doc-default must start with the default, ' + renderDefault(schema.default));
    return given;
  }
  if ((node.schema.required ?? []).includes(prop.key) || site.extra.includes(prop.key))
    return site.required ? 'required' : 'required in `' + node.keyPath + '`';
  const values = [];
  for (const branch of node.branches) {
    if (branch.then.required.includes(prop.key)) values.push(branch.value);
    if (branch.else.required.includes(prop.key)) values.push(...otherValues(node, branch));
  }
  if (values.length > 0) return 'required for ' + values.map((v) => '`' + v + '`').join(' or ');
  if (schema['x-default'] !== undefined) return '`' + schema['x-default'] + '`';
  return schema.default === undefined ? 'none' : renderDefault(schema.default);
}

/** Each table's rows and the board table's, in the order of a walk through the keys. */
export function tableRows(nodes) {
  const tables = new Map([['On a board', []]]);
  const row = (table, cells) => {
    if (cells.some((cell) => cell.includes('|'))) fail(cells[0], 'a table cell cannot hold |');
    if (!tables.has(table)) tables.set(table, []);
    tables.get(table).push(('| ' + cells.join(' | ') + ' |').replace('|  |', '| |'));
  };
  const seen = new Set();
  const visit = (node, inherited, site) => {
    seen.add(node);
    const table = node.schema['x-doc-table'] ?? inherited;
    for (const prop of listed(node)) {
      const path = '`' + childKeyPath(node.keyPath, prop.key) + '`';
      row(table, [path, docDefault(node, prop, site), prop.schema.description]);
      row('On a board', [path, prop.schema['x-board'], prop.schema['x-board-note'] ?? '']);
      if (prop.node === null || seen.has(prop.node)) continue;
      const required = prop.kind === 'array' || requiredWhen(node, prop.key) === 'true';
      visit(prop.node, table, { required, extra: prop.extra });
    }
  };
  visit(nodes[0], undefined, { required: true, extra: [] });
  return tables;
}

const TABLE_START = /^<!-- schema table: (.+) -->$/;
const TABLE_END = '<!-- end of schema table -->';
const HEADS = {
  'On a board': '| key | class | on a board |\n| --- | --- | --- |',
  default: '| key | default | limits and meaning |\n| --- | --- | --- |',
};

/** `reference` with each schema table between its markers written from the schema. */
export function referenceText(reference, schemaText) {
  const tables = tableRows(model(JSON.parse(schemaText)));
  const out = [];
  const lines = reference.split('\n');
  const written = new Set();
  for (let i = 0; i < lines.length; i++) {
    out.push(lines[i]);
    const name = TABLE_START.exec(lines[i])?.[1];
    if (name === undefined) continue;
    if (!tables.has(name)) throw new Error(REFERENCE_PATH + ': no schema table "' + name + '"');
    out.push(HEADS[name] ?? HEADS.default, ...tables.get(name));
    written.add(name);
    while (i < lines.length && lines[i] !== TABLE_END) i++;
    out.push(TABLE_END);
  }
  const missing = [...tables.keys()].filter((name) => !written.has(name));
  if (missing.length > 0) throw new Error(REFERENCE_PATH + ': no place for the tables ' + missing);
  return out.join('\n');
}

/**
 * Writes the generated module when the schema or this generator changed since it was made (its
 * stamp), and the reference's tables when they differ from the schema's: the build's step.
 */
export async function writeSchemaOutputs() {
  const current = existsSync(MODULE_PATH) ? readFileSync(MODULE_PATH, 'utf8') : '';
  if (!current.includes('\n// Source: ' + sourceStamp() + '\n'))
    writeFileSync(MODULE_PATH, await expectedModule());
  const reference = readFileSync(REFERENCE_PATH, 'utf8');
  const wanted = referenceText(reference, readFileSync(SCHEMA_PATH, 'utf8'));
  if (wanted !== reference) writeFileSync(REFERENCE_PATH, wanted);
}
