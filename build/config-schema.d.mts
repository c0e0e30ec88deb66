// Types of config-schema.mjs, for the test that holds its outputs to the schema.
export declare const SCHEMA_PATH: string;
export declare const OWN_KEYWORDS: string[];
export declare const MODULE_PATH: string;
export declare const REFERENCE_PATH: string;
export declare function sourceStamp(): string;
export declare function expectedModule(): Promise<string>;
export declare function moduleText(schemaText: string, stamp: string): string;
export declare function referenceText(reference: string, schemaText: string): string;
export declare function writeSchemaOutputs(): Promise<void>;
export declare function model(schema: unknown): unknown[];
