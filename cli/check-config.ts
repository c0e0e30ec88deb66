// `lifeline check-config FILE [--board CLASS]`: the config's problems, and for an Espruino board
// also what the board cannot do and its duty cycle (config/duty.ts), which warns when a probe
// round would take more than half the probe interval of the board's CPU. Loaded at start-up with
// `run` (cli/lifeline.ts); the board's part only when --board is given.

import { loadConfig } from '../appliance/run';
import { configNotes } from '../config/validate';

export async function checkConfig(
  args: readonly string[],
  usageError: (text: string) => number,
): Promise<number> {
  const boardIndex = args.indexOf('--board');
  const board = boardIndex >= 0 ? args[boardIndex + 1] : undefined;
  const files = args.filter((_, i) => boardIndex < 0 || (i !== boardIndex && i !== boardIndex + 1));
  if (files.length !== 1 || files[0]!.startsWith('-'))
    return usageError('check-config takes exactly one FILE [--board CLASS]');
  const duty = board === undefined ? null : await import('../config/duty');
  const boardClass = duty === null ? null : duty.BOARD_CLASSES[board!];
  if (duty !== null && boardClass === undefined)
    return usageError(
      'check-config --board takes one of ' + Object.keys(duty.BOARD_CLASSES).join(', '),
    );
  const loaded = loadConfig(files[0]!);
  for (const line of loaded.errors) process.stderr.write(line + '\n');
  if (loaded.config === null) return 2;
  if (duty !== null) {
    // For a board, what a board cannot do is a problem too, as `flash --config` says.
    const problems = (await import('../config/board')).espruinoProblems(loaded.config);
    for (const line of problems) process.stderr.write(line + '\n');
    if (problems.length > 0) return 2;
    const cycle = duty.dutyCycle(loaded.config, boardClass!.factor);
    const warning = duty.dutyCycleWarning(cycle, boardClass!.name);
    if (warning !== null) process.stdout.write(warning + '\n');
  }
  // Notes are not problems: the config is valid and the exit code says so.
  for (const line of configNotes(loaded.config)) process.stdout.write(line + '\n');
  return 0;
}
