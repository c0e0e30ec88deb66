// `lifeline reload --config FILE [--config-dir DIR] [--pid PID]` (systemd's ExecReload): checks
// the config as `check-config` does, then sends SIGHUP to the running `lifeline run` (PID, or the
// one holding the config's stateDir lock), which reads the same files again and applies them
// between rounds (appliance/reload.ts). It does not wait for the apply: the audit says when.

import { loadConfig } from '../appliance/config-files';
import { configPaths, flagValues } from './config-args';

export async function reloadCommand(
  args: readonly string[],
  usageError: (text: string) => number,
): Promise<number> {
  const parsed = flagValues(args, ['--config', '--config-dir', '--pid']);
  const paths = configPaths(parsed, '--config', '--config-dir');
  if (paths === null || parsed.operands.length > 0)
    return usageError('reload takes --config FILE [--config-dir DIR] [--pid PID]');
  const loaded = loadConfig(paths);
  for (const line of loaded.errors) process.stderr.write(line + '\n');
  if (loaded.config === null) return 2;
  const given = parsed.flags.get('--pid');
  const stateDir = loaded.config.stateDir;
  const { lockHolderPid } = await import('../appliance/state-lock');
  const pid = given !== undefined ? Number(given) : stateDir === null ? 0 : lockHolderPid(stateDir);
  if (!(pid > 0)) {
    process.stderr.write('lifeline reload: no running lifeline (give --pid, or a stateDir)\n');
    return 1;
  }
  try {
    process.kill(pid, 'SIGHUP');
  } catch (error) {
    process.stderr.write('lifeline reload: pid ' + pid + ': ' + (error as Error).message + '\n');
    return 1;
  }
  return 0;
}
