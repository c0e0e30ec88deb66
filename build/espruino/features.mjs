// The board build's feature module: firmware/features.ts with every constant set from the board's
// config (build/espruino/sources.mjs gives esbuild this text for that module, and writes each
// constant in where a source reads it), so that the code of a feature that is off is gone before
// the shrink runs (build/espruino/shrink.mjs): it neither costs the board a function nor counts as
// a call that keeps one.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The source of the feature module (everything on: what Node and the tests run). */
export const FEATURES_MODULE = 'firmware/features.ts';
/** The module whose one function returns the config a board runs. */
export const EMBEDDED_MODULE = 'hal/espruino/embedded.ts';

/** The constants firmware/features.ts exports, in order, with their values there. */
export function sourceFeatures(root = '.') {
  const text = readFileSync(join(root, FEATURES_MODULE), 'utf8');
  const found = {};
  for (const match of text.matchAll(/^export const ([A-Z0-9_]+): boolean = (true|false);$/gm))
    found[match[1]] = match[2] === 'true';
  return found;
}

/** What a board with the validated `config` has of each feature. */
export function boardFeatures(config) {
  const fleet = config.fleet != null || config.guard != null;
  const console = config.console != null;
  const pin = config.overridePin?.driver === 'espruino';
  const announcer = config.announcer ?? {};
  const prefixes = (config.services ?? []).flatMap((service) => service.prefixes);
  return {
    BGP: announcer.kind === 'bgp',
    CONSOLE: console,
    PIN: pin,
    // Nothing can set or end an override where neither a console nor a pin can.
    OVERRIDES: console || pin,
    FLEET: fleet,
    IPV6: prefixes.some((prefix) => prefix.family === 6),
    GRACEFUL_RESTART: (announcer.restartTimeS ?? 0) > 0,
    GRACEFUL_SHUTDOWN: (announcer.gracefulShutdownMs ?? 0) > 0,
    // Espruino's sockets cannot listen (the board's config refuses passive peers).
    PASSIVE_PEERS: false,
    // A board has no metrics and no `status` figures but its console's.
    STATISTICS: false,
    // A board runs until it is powered off or flashed.
    STOP: false,
    DETAILED_LOG: false,
    // Its OPEN buffer has no room for the longer form.
    EXTENDED_OPEN: false,
    // No BFD on a board (the board's config refuses peers[].bfd).
    BFD: false,
    // A board takes a new config by reflashing, and runs no commands (it refuses exec targets).
    RELOAD: false,
    EXEC_TARGETS: false,
    SLAB: true,
  };
}

/** The feature module's text for `features` (the names firmware/features.ts exports). */
export function featuresModule(features, root = '.') {
  const names = Object.keys(sourceFeatures(root));
  const missing = names.filter((name) => typeof features[name] !== 'boolean');
  const unknown = Object.keys(features).filter((name) => !names.includes(name));
  if (missing.length > 0 || unknown.length > 0)
    throw new Error(
      'the board features and ' +
        FEATURES_MODULE +
        ' differ: missing ' +
        (missing.join(', ') || '-') +
        ', unknown ' +
        (unknown.join(', ') || '-'),
    );
  return names.map((name) => 'export const ' + name + ' = ' + features[name] + ';\n').join('');
}
