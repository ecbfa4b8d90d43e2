import { createRequire } from 'node:module';

let mod: typeof import('node:crypto') | undefined;

/**
 * node:crypto, loaded on first use. Loading it costs 3-6 ms, paid by every
 * warm cut and no-op that imports it at the top while only a `secret`
 * directive needs it. (A builtin needs no resolution: any absolute path does.)
 */
export function lazyCrypto(): typeof import('node:crypto') {
  return (mod ??= createRequire('/')('node:crypto') as typeof import('node:crypto'));
}
