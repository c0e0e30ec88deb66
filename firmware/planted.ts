// Bugs planted on purpose, for the deterministic simulator's own test (test/unit/sim.test.ts): a
// simulator that cannot find a bug put in front of it finds nothing else either. Each is off
// unless a test sets its bit in `planted.bugs`. Rare paths (boot, a console command, a pin edge)
// read the flags where they act; the decision engine reads them once, at construction, so its
// step pays one comparison of a field. The appliance never sets them.

export const enum Bug {
  /** Boot: a corrupt overrides.json throws out of start (the boot wedged by it). */
  CorruptOverridesThrow = 1,
  /** An override change is answered OK although overrides.json could not be written. */
  OkWithoutSave = 2,
  /** A restart believes a wall clock that went backwards (the override restored for a year). */
  WallClockTrusted = 4,
  /** A recovery code whose use cannot be recorded is accepted anyway (used again after restart). */
  UsedCodeForgotten = 8,
  /** The decision engine withdraws one unhealthy round early. */
  FallEarly = 16,
  /** The decision engine re-announces within the hold-down. */
  HoldDownIgnored = 32,
  /** A route change caused by the pin leaves no audit record. */
  PinUnaudited = 64,
  /** The pin's action is ignored while a console override is in place. */
  PinBeatenByConsole = 128,
}

/** The planted bugs in force (a bit set of Bug); 0 everywhere but in the simulator's test. */
export const planted = { bugs: 0 };
