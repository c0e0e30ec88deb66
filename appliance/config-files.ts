// The config as `lifeline run` and `check-config` read it from disk: one file (`--config FILE`),
// or the main file and the drop-in files of a directory (`--config-dir DIR`: each DIR/*.json holds
// one service; docs/reference.md, "Drop-in files"), then what only the host can check (secret
// files, the metrics server's web config). One function, so that whatever reads the config again
// (a reload) reads it the same way.

import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

import type { Config } from '../firmware/config';
import { DROP_INS_MAX, readConfigFiles, type ConfigFile } from '../config/dropins';
import { CONFIG_BYTES_MAX, parseConfigText } from '../config/validate';
import { readRegularFile, secretFileProblem } from '../hal/node/files';
import { md5Addon, readMd5Key } from '../hal/node/md5';
import { loadWebConfig } from './web-config';

/** Where the config is: the main file, and the drop-ins' directory or null. */
export interface ConfigPaths {
  readonly file: string;
  readonly dir: string | null;
}

/** A config read: the Config or the lines to print (and exit 2 with); notes for check-config. */
export interface LoadedConfig {
  readonly config: Config | null;
  readonly errors: readonly string[];
  /** What was not read and why (a file that does not end in .json), for check-config to say. */
  readonly notes: readonly string[];
}

/** The names of DIR that are drop-ins (`*.json`, not hidden), in order; the others as notes. */
function listDropIns(dir: string): { names: string[]; notes: string[] } | { problem: string } {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { problem: dir + ': does not exist' };
    if (code === 'ENOTDIR') return { problem: dir + ': is not a directory' };
    return { problem: dir + ': cannot be read (' + code + ')' };
  }
  // Code unit order, as `LC_ALL=C ls` has it: the same on every machine, whatever its locale.
  entries.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const names = entries.filter((name) => name.endsWith('.json') && !name.startsWith('.'));
  const notes = entries
    .filter((name) => !name.startsWith('.') && !names.includes(name))
    .map((name) => join(dir, name) + ': note: not read (only DIR/*.json files are)');
  if (names.length > DROP_INS_MAX)
    return {
      problem:
        dir + ': holds ' + names.length + ' *.json files: at most ' + DROP_INS_MAX + ' services',
    };
  return { names, notes };
}

/** A drop-in's text, or why not; a link that leads nowhere says so. */
function readDropIn(path: string): ConfigFile | string {
  const file = readRegularFile(path, CONFIG_BYTES_MAX);
  if (file.text !== null) return { path, text: file.text };
  try {
    if (lstatSync(path).isSymbolicLink() && file.problem === 'cannot be read (ENOENT)')
      return path + ': is a link to ' + readlinkSync(path) + ', which does not exist';
  } catch {
    // Gone since it was listed: the read's own words say so.
  }
  return path + ': ' + file.problem;
}

/** The config of one file (the errors as they always were) or of a file and a directory. */
function readConfigSources(paths: ConfigPaths): LoadedConfig {
  const main = readRegularFile(paths.file, CONFIG_BYTES_MAX);
  if (paths.dir === null) {
    if (main.text === null)
      return { config: null, errors: [paths.file + ': ' + main.problem], notes: [] };
    const result = parseConfigText(main.text);
    return { config: result.config, errors: result.errors ?? [], notes: [] };
  }
  const listed = listDropIns(paths.dir);
  const errors: string[] = [];
  if (main.text === null) errors.push(paths.file + ': ' + main.problem);
  if ('problem' in listed) errors.push(listed.problem);
  const dropIns: ConfigFile[] = [];
  for (const name of 'names' in listed ? listed.names : []) {
    const read = readDropIn(join(paths.dir, name));
    if (typeof read === 'string') errors.push(read);
    else dropIns.push(read);
  }
  const notes = 'notes' in listed ? listed.notes : [];
  if (errors.length > 0 || main.text === null) return { config: null, errors, notes };
  const main_ = { path: paths.file, text: main.text };
  const result = readConfigFiles({ main: main_, dir: paths.dir, dropIns });
  return { config: result.config, errors: result.errors ?? [], notes };
}

/**
 * Reads and validates the config, then what only the host can check; with drop-ins every line
 * names its file (the host's problems are the main file's).
 */
export function loadConfig(paths: ConfigPaths): LoadedConfig {
  const read = readConfigSources(paths);
  if (read.config === null) return read;
  const where = paths.dir === null ? '' : paths.file + ': ';
  const errors = hostProblems(read.config).map((line) => where + line);
  return errors.length > 0 ? { config: null, errors, notes: read.notes } : read;
}

/**
 * What only the host can check: no secret file (the console key, the recovery codes, a TCP MD5
 * password) is open to group or others, each TCP MD5 secret's file is readable and holds a usable
 * key, and the addon is there to use it (the secret itself never appears in a message); the
 * metrics server's web config (its YAML, certificate, key and password hashes) is usable.
 */
function hostProblems(config: Config): string[] {
  const problems: string[] = [];
  const secrets = [
    ['console.keyFile', config.console?.keyFile ?? null],
    ['console.recoveryCodesFile', config.console?.recoveryCodesFile ?? null],
  ] as const;
  for (const [path, file] of secrets) {
    const exposed = file === null ? '' : secretFileProblem(file);
    if (exposed !== '') problems.push(path + ': ' + file + ' ' + exposed);
  }
  const peers = config.announcer.peers;
  for (let i = 0; i < peers.length; i++) {
    const passwordFile = peers[i]!.passwordFile;
    if (passwordFile === null) continue;
    const path = 'announcer.peers[' + i + '].passwordFile';
    const read = readMd5Key(passwordFile);
    if ('error' in read) problems.push(path + ': ' + passwordFile + ' ' + read.error);
    try {
      md5Addon();
    } catch (error) {
      problems.push(path + ': ' + (error as Error).message);
    }
  }
  const webConfigFile = config.metricsWebConfigFile;
  if (webConfigFile !== null) {
    for (const problem of loadWebConfig(webConfigFile).problems)
      problems.push('metrics.webConfigFile: ' + webConfigFile + ': ' + problem);
  }
  return problems;
}
