export declare function shrink(
  source: string,
  mangled: Set<string>,
): {
  text: string;
  methods: string[];
  declarations: string[];
  properties: number;
  parameters: number;
};
export declare function inlineConstants(source: string): { text: string; constants: number };
export declare function inlineCalls(
  source: string,
  mangled: Set<string>,
): { text: string; inlined: number };
export declare const INLINE_CALLS_MAX: number;
export declare const INLINE_BYTES_MAX: number;
export declare const INLINE_BLOCK_CALLS_MAX: number;
export declare const INLINE_BLOCK_BYTES_MAX: number;
