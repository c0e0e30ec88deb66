// A config read from several files (docs/reference.md, "Drop-in files"): the main file, and one
// service in each drop-in file of a directory, taken in the order of their names after the main
// file's own services. They are validated as one document, so that every rule across keys holds
// across files too (a service name or a prefix twice is a problem wherever the two are), and each
// problem is told in the file it is in: `FILE: PATH: PROBLEM`, where PATH in a drop-in starts at
// `service`. Text in, lines out: the host reads the files (appliance/config-files.ts).

import type { Config } from '../firmware/config';
import type { Json, Problem } from './reader';
import { parseJson, SERVICES_MAX, validateDocument } from './validate';

/** A file's name as its problems show it, and its text. */
export interface ConfigFile {
  readonly path: string;
  readonly text: string;
}

export interface ConfigFiles {
  readonly main: ConfigFile;
  /** The directory the drop-ins are from (for the count's problem), and each of them. */
  readonly dir: string;
  readonly dropIns: readonly ConfigFile[];
}

export type FilesResult =
  | { readonly config: Config; readonly errors: null }
  | { readonly config: null; readonly errors: readonly string[] };

/** Where the services of the merged document are from: the main file's, then one per drop-in. */
interface Origins {
  readonly main: string;
  readonly mainServices: number;
  readonly dropIns: readonly string[];
  readonly dir: string;
}

/** `services[N]...` of the merged document as `FILE: PATH` of the file it is in. */
function locate(path: string, origins: Origins): string {
  const match = /^services\[(\d+)\](.*)$/.exec(path);
  const index = match === null ? -1 : Number(match[1]);
  if (index < origins.mainServices) return origins.main + ': ' + path;
  return origins.dropIns[index - origins.mainServices] + ': service' + match![2];
}

/** A problem of the merged document as a line of the file it is in. */
function line(problem: Problem, origins: Origins): string {
  let text = problem.text;
  if (problem.related !== null) text += ' (first in ' + locate(problem.related, origins) + ')';
  if (problem.path === 'services' && /^must have /.test(text)) {
    const dropIns = origins.dropIns.length;
    text += ' (' + origins.mainServices + ' in ' + origins.main + ', ';
    text += dropIns + ' in ' + origins.dir + '/*.json)';
  }
  return locate(problem.path, origins) + ': ' + text;
}

/**
 * Validates the main file and the drop-ins as one config. Every problem line names its file; a
 * file that is not JSON is one problem (the rest are still read, so that all are told at once).
 */
export function readConfigFiles(files: ConfigFiles): FilesResult {
  const errors: string[] = [];
  const main = parseJson(files.main.text);
  if ('problem' in main) errors.push(files.main.path + ': config: ' + main.problem);
  const services: Json[] = [];
  const dropIns: string[] = [];
  for (const file of files.dropIns) {
    const parsed = parseJson(file.text);
    if ('problem' in parsed) errors.push(file.path + ': service: ' + parsed.problem);
    else {
      services.push(parsed.document);
      dropIns.push(file.path);
    }
  }
  if (!('document' in main)) return { config: null, errors };
  const document = main.document;
  const object = document !== null && typeof document === 'object' && !Array.isArray(document);
  const own = object ? (document as { services?: Json }).services : undefined;
  // The main file's own services come first; a `services` that is not a list stays as it is
  // (its problem is the main file's), and the drop-ins are read after it all the same.
  const merged = !object
    ? document
    : {
        ...(document as object),
        services: own === undefined ? services : Array.isArray(own) ? [...own, ...services] : own,
      };
  const origins: Origins = {
    main: files.main.path,
    mainServices: Array.isArray(own) ? own.length : 0,
    dropIns: Array.isArray(own) || own === undefined ? dropIns : [],
    dir: files.dir,
  };
  const result = validateDocument(merged);
  if (result.problems !== null) errors.push(...result.problems.map((p) => line(p, origins)));
  if (errors.length > 0 || result.config === null) return { config: null, errors };
  return { config: result.config, errors: null };
}

/** At most this many drop-in files are read: more could not all be services. */
export const DROP_INS_MAX = SERVICES_MAX;
