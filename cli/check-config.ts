// `lifeline check-config FILE [--config-dir DIR] [--board CLASS]` (or `--config FILE`): the
// config's problems, every line naming its file with --config-dir; for an Espruino board also
// what the board cannot do and its duty cycle (config/duty.ts), which warns when a probe round
// would take more than half the probe interval of the board's CPU. Loaded at start-up with `run`
// (cli/lifeline.ts); the board's part only when --board is given.

import { loadConfig } from '../appliance/config-files';
import { configNotes } from '../config/validate';
import { configPaths, flagValues } from './config-args';

export async function checkConfig(
  args: readonly string[],
  usageError: (text: string) => number,
): Promise<number> {
  const parsed = flagValues(args, ['--config', '--config-dir', '--board']);
  const paths = configPaths(parsed, '--config', '--config-dir');
  if (paths === null)
    return usageError('check-config takes one FILE (or --config FILE) [--config-dir DIR]');
  const board = parsed.flags.get('--board');
  const duty = board === undefined ? null : await import('../config/duty');
  const boardClass = duty === null ? null : duty.BOARD_CLASSES[board!];
  if (duty !== null && boardClass === undefined)
    return usageError(
      'check-config --board takes one of ' + Object.keys(duty.BOARD_CLASSES).join(', '),
    );
  const loaded = loadConfig(paths);
  for (const line of loaded.errors) process.stderr.write(line + '\n');
  if (loaded.config === null) return 2;
  if (duty !== null) {
    // For a board, what a board cannot do is a problem too (an exec target, ...), as `flash
    // --config` says.
    const problems = (await import('../config/board')).espruinoProblems(loaded.config);
    for (const line of problems) process.stderr.write(line + '\n');
    if (problems.length > 0) return 2;
    const cycle = duty.dutyCycle(loaded.config, boardClass!.factor);
    const warning = duty.dutyCycleWarning(cycle, boardClass!.name);
    if (warning !== null) process.stdout.write(warning + '\n');
  }
  // Notes are not problems: the config is valid and the exit code says so.
  for (const line of [...loaded.notes, ...configNotes(loaded.config)])
    process.stdout.write(line + '\n');
  return 0;
}
