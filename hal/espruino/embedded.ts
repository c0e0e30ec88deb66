// The config a board runs: validated on the host and written in here by the board build
// (build/espruino/features.mjs replaces this module's contents), which then writes the function in
// at its one call, so that the board keeps no function for it. The source's own is never run.

/** The embedded config, byte arrays as `{ $bytes: [...] }` (hal/espruino/main.ts revives them). */
export function embeddedConfig(): unknown {
  return null;
}
