// The config (docs/reference.md), validated once at boot: JSON text parsed with bounds, then read
// by the readers generated from config/lifeline.schema.json (config/schema.ts) with the checks
// across keys (config/rules.ts). Every problem is collected as `PATH: PROBLEM`, so an operator
// sees all of them in one go; only a config without problems becomes a `Config`
// (firmware/config.ts), with the defaults filled in and every address and name already parsed.
// Host code: the board build validates on the host and embeds the result.

import type { Config } from '../firmware/config';
import { Reader, type Json, type Problem } from './reader';
import { CHECKS, toConfig } from './rules';
import { DEFAULTS, LIMITS, readDocument } from './schema';

export { show, STRING_LENGTH_MAX, type Problem } from './reader';
export { CONFIG_KEYS, DEFAULTS } from './schema';

export const SERVICES_MAX = LIMITS['services'][1];
/** The largest config file read (a config is a few KB; /dev/zero is not one). */
export const CONFIG_BYTES_MAX = 1024 * 1024;
/** Objects and arrays nest at most this deep (a config needs 5). */
export const CONFIG_DEPTH_MAX = 32;
/** `fleet.settleMs` by default: well over a route's way through a router without MRAI. */
export const FLEET_SETTLE_MS = DEFAULTS['fleet.settleMs'];

export type ConfigResult =
  | { readonly config: Config; readonly errors: null }
  | {
      readonly config: null;
      readonly errors: readonly string[];
    };

/** A document read: the Config, or every problem with its path (and, for a duplicate, where). */
export type Validated =
  | { readonly config: Config; readonly problems: null }
  | { readonly config: null; readonly problems: readonly Problem[] };

/** Validates a parsed JSON document, its problems kept apart (config/dropins.ts names files). */
export function validateDocument(document: Json): Validated {
  const reader = new Reader();
  const raw = readDocument(reader, document, 'config', CHECKS);
  if (raw === null || reader.problems.length > 0)
    return { config: null, problems: reader.problems };
  return { config: toConfig(raw), problems: null };
}

/** Validates a parsed JSON document. All problems at once; a config only when there are none. */
export function readConfig(document: Json): ConfigResult {
  const result = validateDocument(document);
  if (result.config !== null) return { config: result.config, errors: null };
  return { config: null, errors: result.problems.map((p) => p.path + ': ' + p.text) };
}

/**
 * What a valid config does that its author may not expect, as `PATH: NOTE` lines (check-config
 * prints them; they are not problems): a drained service is never withdrawn, so the fleet guard
 * has nothing to do for it.
 */
export function configNotes(config: Config): string[] {
  const notes: string[] = [];
  if (config.fleet === null && config.guard === null) return notes;
  for (let s = 0; s < config.services.length; s++) {
    if (config.services[s]!.drain === null) continue;
    notes.push(
      'services[' +
        s +
        '].drain: note: a drained service is never withdrawn, so the fleet guard has nothing ' +
        'to do for it',
    );
  }
  return notes;
}

/**
 * Where `text` nests objects and arrays deeper than CONFIG_DEPTH_MAX (-1: it does not). Checked
 * before parsing, without recursion, so that no depth of input can exhaust the stack.
 */
function overlyDeepAt(text: string): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === 0x5c)
        i++; // a backslash escapes the next character
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) {
      inString = true;
    } else if (code === 0x7b || code === 0x5b) {
      if (++depth > CONFIG_DEPTH_MAX) return i;
    } else if (code === 0x7d || code === 0x5d) {
      depth--;
    }
  }
  return -1;
}

/** `line L column C` of the character at `offset` of `text`. */
function lineAndColumn(text: string, offset: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return 'line ' + line + ' column ' + (offset - lineStart + 1);
}

/** A JSON syntax error on one line: where, and V8's words without the quoted input. */
function syntaxProblem(text: string, error: Error): string {
  const position = /at position (\d+)/.exec(error.message);
  const words = error.message
    .replace(/, "[\s\S]*" is not valid JSON$/, '')
    .replace(/ in JSON at position \d+[\s\S]*$/, '')
    .replace(/\s+/g, ' ')
    .slice(0, 120);
  const where = position === null ? '' : ' at ' + lineAndColumn(text, Number(position[1]));
  return 'is not valid JSON' + where + ' (' + words + ')';
}

/**
 * Parses JSON text: the document, or its one problem (the words after `config: `), on one line: a
 * syntax error with its line and column. A UTF-8 byte order mark is allowed; a document nested
 * deeper than CONFIG_DEPTH_MAX is refused.
 */
export function parseJson(text: string): { document: Json } | { problem: string } {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const deepAt = overlyDeepAt(body);
  if (deepAt >= 0) {
    const where = lineAndColumn(body, deepAt);
    return { problem: 'nests deeper than ' + CONFIG_DEPTH_MAX + ' levels at ' + where };
  }
  try {
    return { document: JSON.parse(body) as Json };
  } catch (error) {
    return { problem: syntaxProblem(body, error as Error) };
  }
}

/** Parses JSON text and validates it (parseJson, readConfig). */
export function parseConfigText(text: string): ConfigResult {
  const parsed = parseJson(text);
  if ('problem' in parsed) return { config: null, errors: ['config: ' + parsed.problem] };
  return readConfig(parsed.document);
}
