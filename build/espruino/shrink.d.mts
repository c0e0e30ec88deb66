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
