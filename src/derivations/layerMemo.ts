/**
 * Results a builder may carry from one cut to the next, kept in the stamp
 * beside the image: a value is reused only under the exact key it was stored
 * with, and the key names every input the value was computed from (e.g. the
 * stat signatures of modules.dep and friends for a module closure, which
 * costs ~45 ms to resolve for the fstests recipes). Only what a cut uses is
 * carried forward.
 */
export class LayerMemo {
  private readonly out: Record<string, { key: string; value: unknown }> = {};

  constructor(private readonly prev: Record<string, { key: string; value: unknown }> = {}) {}

  get<T>(name: string, key: string): T | undefined {
    const e = this.prev[name];
    if (e?.key !== key) return undefined;
    this.out[name] = e;
    return e.value as T;
  }

  set(name: string, key: string, value: unknown): void {
    this.out[name] = { key, value };
  }

  toJSON(): Record<string, { key: string; value: unknown }> {
    return this.out;
  }
}
