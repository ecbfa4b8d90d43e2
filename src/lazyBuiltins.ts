import { createRequire } from 'node:module';

/**
 * Node builtins loaded on first use. Loading one costs 3-6 ms, paid by every
 * warm cut and no-op that imports it at the top while only a rare step needs
 * it. (A builtin needs no resolution: any absolute path does.)
 */
const requireBuiltin = createRequire('/');

let crypto: typeof import('node:crypto') | undefined;
/** node:crypto: only a `secret` directive needs it. */
export function lazyCrypto(): typeof import('node:crypto') {
  return (crypto ??= requireBuiltin('node:crypto') as typeof import('node:crypto'));
}

let childProcess: typeof import('node:child_process') | undefined;
/** node:child_process: only a compose that clones slots (image/cloneRanges.ts) needs it on the warm path. */
export function lazyChildProcess(): typeof import('node:child_process') {
  return (childProcess ??= requireBuiltin('node:child_process') as typeof import('node:child_process'));
}
