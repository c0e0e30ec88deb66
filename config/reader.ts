// The validator's primitives: each reads one value of the JSON document and, when it is not what
// the schema says, records one `PATH: PROBLEM` with the words operators and tests know. The
// generated readers (config/schema.ts) call these for every key, the formats (config/formats.ts)
// and the checks (config/rules.ts) use them to say what is wrong.

export type Json = unknown;
export type JsonObject = { readonly [key: string]: Json };

/** The longest string value (a path). */
export const STRING_LENGTH_MAX = 4096;

/**
 * One problem: where and what, and, for a duplicate, where the first one is (`related`, shown
 * only when the config came from several files: a single file keeps its one-line words).
 */
export interface Problem {
  readonly path: string;
  readonly text: string;
  readonly related: string | null;
}

/**
 * A value as a problem line shows it: short and on one line, whatever it is (a 100 MB string, an
 * array nested 6,000 deep).
 */
export function show(value: Json): string {
  if (typeof value === 'string') {
    const text = JSON.stringify(value.length > 64 ? value.slice(0, 64) : value);
    return value.length > 64 ? text.slice(0, -1) + '..." (' + value.length + ' characters)' : text;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null)
    return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}

/** Collects problems with their paths while the readers walk the document. */
export class Reader {
  readonly problems: Problem[] = [];

  problem(path: string, text: string, related: string | null = null): void {
    this.problems.push({ path, text, related });
  }

  /** The problems as `PATH: PROBLEM` lines, as one file's config shows them. */
  lines(): string[] {
    return this.problems.map((problem) => problem.path + ': ' + problem.text);
  }

  has(record: JsonObject, key: string): boolean {
    return record[key] !== undefined;
  }

  /** `is required` when `required`; null either way (for a key that is absent). */
  missing(path: string, required: boolean): null {
    if (required) this.problem(path, 'is required');
    return null;
  }

  /**
   * An object with only `keys` (and `also`, accepted and not listed: `$schema`), or null with a
   * problem; each unknown key is a problem of its own.
   */
  object(
    value: Json,
    path: string,
    keys: readonly string[],
    also: readonly string[] = [],
  ): JsonObject | null {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      this.problem(path, 'must be an object');
      return null;
    }
    const record = value as JsonObject;
    for (const key in record) {
      if (keys.indexOf(key) < 0 && also.indexOf(key) < 0)
        this.problem(path + '.' + key, 'is not a known key (known: ' + keys.join(', ') + ')');
    }
    return record;
  }

  array(value: Json, path: string, lengthMin: number, lengthMax: number): readonly Json[] | null {
    if (!Array.isArray(value)) {
      this.problem(path, 'must be an array');
      return null;
    }
    if (value.length < lengthMin || value.length > lengthMax) {
      this.problem(
        path,
        'must have ' + lengthMin + ' to ' + lengthMax + ' entries, has ' + value.length,
      );
      return null;
    }
    return value;
  }

  /**
   * The list at `key` (at `listPath`), each entry read by `item` (null where an entry is not
   * valid, so that later checks name entries by their place in the file). Absent: `must be an
   * array` when `absent` is 'required', null when it is null, and otherwise `absent` read as if
   * it were written.
   */
  list<T>(
    record: JsonObject,
    key: string,
    listPath: string,
    range: readonly [number, number],
    absent: 'required' | readonly Json[] | null,
    item: (value: Json, path: string) => T | null,
  ): (T | null)[] | null {
    const given = record[key];
    if (given === undefined && absent === null) return null;
    const value = given === undefined && absent !== 'required' ? absent : given;
    const list = this.array(value, listPath, range[0], range[1]);
    if (list === null) return null;
    const read: (T | null)[] = [];
    for (let i = 0; i < list.length; i++) read.push(item(list[i], listPath + '[' + i + ']'));
    return read;
  }

  /** A string of 1 to STRING_LENGTH_MAX characters, or null with a problem. */
  text(value: Json, path: string): string | null {
    if (typeof value !== 'string' || value === '') {
      this.problem(path, 'must be a non-empty string');
      return null;
    }
    if (value.length > STRING_LENGTH_MAX) {
      this.problem(path, 'must be at most ' + STRING_LENGTH_MAX + ' characters');
      return null;
    }
    return value;
  }

  string(record: JsonObject, key: string, path: string, fallback: string | null): string | null {
    const value = record[key];
    if (value === undefined) {
      if (fallback === null) this.problem(path + '.' + key, 'is required');
      return fallback;
    }
    return this.text(value, path + '.' + key);
  }

  optionalString(record: JsonObject, key: string, path: string): string | null {
    return record[key] === undefined ? null : this.string(record, key, path, null);
  }

  optionalInteger(
    record: JsonObject,
    key: string,
    path: string,
    range: readonly [number, number],
  ): number | null {
    return record[key] === undefined ? null : this.integer(record, key, path, range, null);
  }

  /** The value at `key` as the format's `parse` reads it; absent, `is required` when `required`. */
  format<T>(
    record: JsonObject,
    key: string,
    path: string,
    parse: (reader: Reader, value: Json, path: string) => T | null,
    required: boolean,
  ): T | null {
    const value = record[key];
    if (value === undefined) return this.missing(path + '.' + key, required);
    return parse(this, value, path + '.' + key);
  }

  /** A string that must match `pattern`; `problem` says what it must be when it does not. */
  pattern(
    record: JsonObject,
    key: string,
    path: string,
    pattern: RegExp,
    problem: string,
  ): string | null {
    const value = this.string(record, key, path, null);
    if (value !== null && !pattern.test(value))
      this.problem(path + '.' + key, show(value) + ' ' + problem);
    return value;
  }

  integer(
    record: JsonObject,
    key: string,
    path: string,
    range: readonly [number, number],
    fallback: number | null,
  ): number {
    const value = record[key];
    if (value === undefined) {
      if (fallback === null) this.problem(path + '.' + key, 'is required');
      return fallback === null ? range[0] : fallback;
    }
    if (
      typeof value !== 'number' ||
      Math.floor(value) !== value ||
      value < range[0] ||
      value > range[1]
    ) {
      this.problem(
        path + '.' + key,
        show(value) + ' must be an integer from ' + range[0] + ' to ' + range[1],
      );
      return range[0];
    }
    return value;
  }

  /** A number above `above`, at most `atMost` (JSON Schema's exclusiveMinimum and maximum). */
  number(
    record: JsonObject,
    key: string,
    path: string,
    above: number,
    atMost: number,
  ): number | null {
    const value = record[key];
    if (typeof value !== 'number' || !(value > above && value <= atMost)) {
      this.problem(
        path + '.' + key,
        show(value) + ' must be a number above ' + above + ', at most ' + atMost,
      );
      return null;
    }
    return value;
  }

  choice<T extends string>(
    record: JsonObject,
    key: string,
    path: string,
    choices: readonly T[],
    fallback: T | null,
  ): T {
    const value = record[key];
    if (value === undefined && fallback !== null) return fallback;
    for (let i = 0; i < choices.length; i++) if (value === choices[i]) return choices[i]!;
    this.problem(
      path + '.' + key,
      (value === undefined ? 'is required' : show(value) + ' is not allowed') +
        ': one of ' +
        choices.join(', '),
    );
    return choices[0]!;
  }

  boolean(record: JsonObject, key: string, path: string, fallback: boolean): boolean {
    const value = record[key];
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') this.problem(path + '.' + key, 'must be true or false');
    return value === true;
  }

  /** `problem` at `path` when fewer than `count` of `keys` are there (minProperties). */
  fewest(
    record: JsonObject,
    keys: readonly string[],
    count: number,
    path: string,
    problem: string,
  ): void {
    let given = 0;
    for (let i = 0; i < keys.length; i++) if (record[keys[i]!] !== undefined) given++;
    if (given < count) this.problem(path, problem);
  }

  /** Each of `keys` that is there, though the branch in force does not allow it (`problem`). */
  notApplicable(record: JsonObject, keys: readonly string[], path: string, problem: string): void {
    for (let i = 0; i < keys.length; i++)
      if (record[keys[i]!] !== undefined) this.problem(path + '.' + keys[i], problem);
  }
}
