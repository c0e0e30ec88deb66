// Where the config is, as `run`, `check-config` and `reload` take it: `--config FILE` (or, for
// check-config, the operand FILE) and `--config-dir DIR` (docs/reference.md, "Drop-in files").
// The command table (cli/commands.ts) has already checked the flags; this reads their values.

import type { ConfigPaths } from '../appliance/config-files';

/**
 * The values of the flags of `args` named in `valued` (each followed by its value), and the
 * operands: the other arguments that are not flags. Switches (flags without a value) are left out.
 */
export function flagValues(
  args: readonly string[],
  valued: readonly string[],
): { flags: Map<string, string>; operands: string[] } {
  const flags = new Map<string, string>();
  const operands: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (valued.includes(arg) && args[i + 1] !== undefined) flags.set(arg, args[++i]!);
    else if (!arg.startsWith('-')) operands.push(arg);
  }
  return { flags, operands };
}

/** The config's main file (the flag, or the one operand) and its drop-ins' directory. */
export function configPaths(
  parsed: { flags: Map<string, string>; operands: string[] },
  fileFlag: string,
  dirFlag: string,
): ConfigPaths | null {
  const given = parsed.flags.get(fileFlag);
  const files = parsed.operands.length + (given === undefined ? 0 : 1);
  if (files !== 1) return null;
  return { file: given ?? parsed.operands[0]!, dir: parsed.flags.get(dirFlag) ?? null };
}
