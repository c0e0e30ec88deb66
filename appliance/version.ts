// The release this appliance runs (lifeline_build_info, the metrics server's banner): `dev` here,
// as the sources run unbuilt in the tests; the Node build writes the package's version in
// (build/targets.mjs replaces this module's contents, as a board's build does its features).

export const VERSION: string = 'dev';
