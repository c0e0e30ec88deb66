// The `exec` targets' results as the probe table reads them (EXEC_TARGETS; a board runs no
// commands, so its probe table makes none of this and its build leaves the module out): per slot,
// the last result of the target's command and how long that run took, written by the host
// (appliance/exec-checks.ts), which runs the commands on their own intervals. A round takes the
// last result as the slot's answer at once (firmware/probes.ts).

/** An `exec` target's last run, as appliance/exec-checks.ts writes it. */
export const enum ExecResult {
  /** No run has ended yet. */
  None = 0,
  Healthy = 1,
  /** Ended with another exit code, or by a signal. */
  Failed = 2,
  /** Killed at its `timeoutMs`. */
  TimedOut = 3,
  /** Could not be started (no such program, not executable). */
  NotStarted = 4,
}

export class ExecResults {
  /** Per slot, its command's last result (ExecResult). */
  readonly result: Uint8Array;
  /** Per slot, how long that run took. */
  readonly runMs: Float64Array;

  constructor(slotCount: number) {
    this.result = new Uint8Array(slotCount);
    this.runMs = new Float64Array(slotCount);
  }
}
