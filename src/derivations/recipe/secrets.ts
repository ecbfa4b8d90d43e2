import { lazyCrypto } from '../../lazyBuiltins.js';

/**
 * `secret VAR [DEFAULT]` values (passwords, keys) reach the guest like `env`
 * ones, but what rapido records and prints (derivations in the store, the
 * stamp, `rapido-store info`/`why`) holds a stand-in instead: a salted scrypt
 * of the value. Deterministic, so a changed secret still changes the overlay
 * layer's key, the same secret gives the same key on every machine, and the
 * value cannot be read back or cheaply guessed from it. The overlay object and
 * the image itself carry the value: the guest needs it.
 */
const cache = new Map<string, string>();

function standIn(name: string, value: string): string {
  const k = `${name}\0${value}`;
  let s = cache.get(k);
  if (s === undefined) {
    s = `<secret scrypt:${lazyCrypto().scryptSync(value, `rapido-secret:${name}`, 16, { N: 1 << 14 }).toString('hex')}>`;
    cache.set(k, s);
  }
  return s;
}

/** The recipe's variables as they may be shown and recorded: secrets replaced by their stand-ins. */
export function shownVars(vars: Record<string, string>, secrets: readonly string[]): Record<string, string> {
  if (!secrets.length) return vars;
  return Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, secrets.includes(k) ? standIn(k, v) : v]));
}
