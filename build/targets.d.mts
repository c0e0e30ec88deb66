// Types of build.mjs for the tests that use its esbuild settings.
import type { BuildOptions } from 'esbuild';
export declare const ESPRUINO_UNSUPPORTED: string[];
export declare function espruinoOptions(config: unknown, embedded?: unknown): BuildOptions;
export declare const NODE_OPTIONS: BuildOptions;
export declare const TOOLS_OPTIONS: BuildOptions;
export declare const TOOLS_BUNDLE: string;
export declare const NODE_BUNDLES: string[];
export declare const NODE_TARGET: string;
export declare function buildInfo(version?: string): Record<string, string>;
export declare function build(
  configPath?: string,
  options?: { version?: string },
): Promise<boolean>;
export declare function validatedConfig(path: string, root?: string): Promise<any>;
export declare function reservedNameList(root?: string): string[];
export declare function buildEspruino(
  config: unknown,
  root?: string,
): Promise<{ text: string; inputs: string[]; shrunk: number }>;
export declare function buildM4Bench(root?: string): Promise<boolean>;
