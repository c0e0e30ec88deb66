// Skips, and the complete run that allows none. A test that cannot run on a machine (no root for
// namespaces or a tmpfs, no Espruino builds beside the project) skips there with a clear line on
// stderr, so that a contributor without them still gets a green run of the rest. CI sets
// LIFELINE_TEST_COMPLETE=1 (.ci/run): there every such test must run, so a skip fails it with the
// reason, and a reporter (test/setup/complete-reporter.ts) fails the run on any skipped test at all.

/** The environment variable of the complete-run mode, and its value there. */
export const COMPLETE_VARIABLE = 'LIFELINE_TEST_COMPLETE';

export function completeRun(): boolean {
  return process.env[COMPLETE_VARIABLE] === '1';
}

/**
 * Whether to skip `what` on this machine, given `reason` ('' or null: it can run): true with a
 * line on stderr outside a complete run; in a complete run a reason throws, failing the file.
 */
export function skipping(what: string, reason: string | null): boolean {
  if (reason === null || reason === '') return false;
  const line = what + ' skipped: ' + reason;
  if (completeRun())
    throw new Error(line + ' (' + COMPLETE_VARIABLE + '=1: a complete run skips nothing)');
  process.stderr.write(line + '\n');
  return true;
}
