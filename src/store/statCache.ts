import fs from 'node:fs';
import path from 'node:path';
import { digestFileSync } from './digest.js';
import type { StatCacheValue, StatEntry, Store } from './types.js';
export type { StatEntry } from './types.js';

export interface StatCacheCounters {
  /** Digests answered from the cache without reading the file. */
  hits: number;
  /** Files actually read and hashed. */
  hashed: number;
  /** Hashed files too fresh to cache (racy window). */
  racy: number;
  /** Entries waiting for flushStatCache. */
  pending: number;
}

interface State {
  /** path → entry string (see StatCacheValue). */
  pending: Map<string, string>;
  hits: number;
  hashed: number;
  racy: number;
}

/**
 * A file changed within this long of its hash can change again without its
 * mtime/ctime moving (timestamp granularity), so its entry can't be trusted.
 */
export const RACY_WINDOW_NS = 1_000_000_000n;

// lmdb-js refuses keys over 1978 bytes; such paths are simply never cached.
const MAX_KEY_BYTES = 1900;
// Bounds memory when a caller hashes a huge tree without flushing.
const AUTO_FLUSH_AT = 50_000;

const states = new WeakMap<Store, State>();

function state(store: Store): State {
  let s = states.get(store);
  if (!s) {
    s = { pending: new Map(), hits: 0, hashed: 0, racy: 0 };
    states.set(store, s);
  }
  return s;
}

/** An entry's stat part for `st`, up to and including the ':' before the digest. */
function statPart(st: fs.BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}:`;
}

/** The digest an entry holds for `st`, if it was taken at exactly that stat. */
function cachedDigest(e: StatCacheValue | undefined, st: fs.BigIntStats): string | undefined {
  if (typeof e === 'string') {
    const head = statPart(st);
    // Every field is ':'-terminated digits, so a matching prefix is a matching stat.
    return e.length === head.length + 16 && e.startsWith(head) ? e.slice(head.length) : undefined;
  }
  // An older rapido's entry states the same facts: used as it is (and replaced only when the file changes).
  return e && matchesLegacy(e, st) ? e.digest : undefined;
}

function matchesLegacy(e: StatEntry, st: fs.BigIntStats): boolean {
  return (
    e.ino === String(st.ino) &&
    e.size === Number(st.size) &&
    e.mtimeNs === String(st.mtimeNs) &&
    e.ctimeNs === String(st.ctimeNs) &&
    e.dev === String(st.dev)
  );
}

/**
 * The digest an entry holds if it was taken at the stat whose signature
 * (hostInputs' statSig: dev:ino:size:mtimeMs:ctimeMs:mode) is `sig`: the
 * entry's nanosecond times are turned into milliseconds as Node derives
 * Stats' (statSigBig).
 */
function digestForSig(e: StatCacheValue | undefined, sig: string): string | undefined {
  if (typeof e !== 'string') return undefined;
  const f = e.split(':');
  if (f.length !== 6) return undefined;
  const ms = (ns: string) => {
    const n = BigInt(ns);
    return Number(n / 1_000_000_000n) * 1e3 + Number(n % 1_000_000_000n) / 1e6;
  };
  return sig.startsWith(`${f[0]}:${f[1]}:${f[2]}:${ms(f[3])}:${ms(f[4])}:`) ? f[5] : undefined;
}

/** The digest the cache holds for `file` at the stat whose signature is `sig`, without a stat or a read; nothing otherwise. */
export function knownStatDigest(store: Store, file: string, sig: string): string | undefined {
  const abs = path.resolve(file);
  const s = state(store);
  const d = digestForSig(s.pending.get(abs) ?? store.db.statcache.get(abs), sig);
  if (d !== undefined) s.hits++;
  return d;
}

/**
 * A file's digest taken by a caller that read it for its own reasons (the
 * ELF check reads small files whole): `st` is a stat taken before that read,
 * `atNs` the wall-clock time just after it. It stands for exactly the stat
 * and read statDigest itself would have done at that moment.
 */
export interface HashedRead {
  st: fs.BigIntStats;
  digest: string;
  atNs: bigint;
}

/**
 * Digest of a file, from the stat cache when (dev, ino, size, mtime, ctime)
 * are unchanged since it was hashed. New entries are kept in memory until
 * flushStatCache() so hashing a whole module tree costs one transaction.
 * With `read`, its stat and digest are used instead of stat-ing and hashing
 * now, and the racy window is measured from when it was read. With `sig`,
 * the file's lstat signature, an entry taken at that stat is used without
 * a stat.
 */
export function statDigest(store: Store, file: string, st?: fs.BigIntStats, read?: HashedRead, sig?: string): string {
  const abs = path.resolve(file);
  const s = state(store);
  const entry = s.pending.get(abs) ?? store.db.statcache.get(abs);
  // A caller that lstat'ed the file (a cut's walk) passes its signature: a matching entry needs no stat.
  const known = sig === undefined ? undefined : digestForSig(entry, sig);
  if (known !== undefined) {
    s.hits++;
    return known;
  }
  if (read) st = read.st;
  st ??= fs.statSync(abs, { bigint: true });
  const cached = cachedDigest(entry, st);
  if (cached !== undefined) {
    s.hits++;
    return cached;
  }

  const digest = read ? read.digest : digestFileSync(abs);
  s.hashed++;
  // git's racy-clean rule, applied to ctime too (tar/rsync/cp -p write then set an old mtime).
  const nowNs = read ? read.atNs : BigInt(Date.now()) * 1_000_000n;
  const newest = st.mtimeNs > st.ctimeNs ? st.mtimeNs : st.ctimeNs;
  if (nowNs - newest < RACY_WINDOW_NS) {
    s.racy++;
    s.pending.delete(abs);
    return digest;
  }
  if (!store.readOnly && Buffer.byteLength(abs) <= MAX_KEY_BYTES) {
    s.pending.set(abs, statPart(st) + digest);
    if (s.pending.size >= AUTO_FLUSH_AT) flushStatCache(store);
  }
  return digest;
}

/** Writes all pending entries in one transaction; returns how many. A read-only store just drops them. */
export function flushStatCache(store: Store): number {
  const s = states.get(store);
  if (!s || s.pending.size === 0) return 0;
  const entries = [...s.pending];
  s.pending.clear();
  if (store.readOnly) return 0;
  store.env.transactionSync(() => {
    for (const [file, entry] of entries) store.db.statcache.putSync(file, entry);
  });
  return entries.length;
}

export function statCacheCounters(store: Store): StatCacheCounters {
  const s = state(store);
  return { hits: s.hits, hashed: s.hashed, racy: s.racy, pending: s.pending.size };
}
