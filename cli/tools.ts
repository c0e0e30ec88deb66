// The commands that are not the appliance: the lab, the benchmarks and the operator's tools. The
// build makes them a bundle of their own (dist/lifeline-tools.mjs, build/targets.mjs), which
// cli/lifeline.ts imports only when one of them is called: `lifeline run` and `check-config` load
// one file, the appliance's, and never parse the lab, the simulator or tinybench.

export { compare } from '../bench/compare';
export { bench } from '../bench/suite';
export { lab } from '../lab/lab';
export { consoleClient } from '../operator/console-client';
export { fleet } from '../operator/fleet';
export { flash } from '../operator/flash';
export { install, uninstall } from '../operator/install';
export { keygen } from '../operator/keygen';
