// Types of package.mjs.
export declare function makePackage(): Promise<{ tarball: string; bytes: number }>;
