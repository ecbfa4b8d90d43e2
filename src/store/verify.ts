import fs from 'node:fs';
import { digestFileSync } from './digest.js';
import { readJournal, type JournalEntry } from './journal.js';
import { listLayers, removeLayerRecord } from './layerIndex.js';
import { isLayerKey, objectPath } from './objectPath.js';
import { scanObjects } from './objectScan.js';
import type { Store } from './types.js';
import { completePendingRemoval, pendingRemoval, removeLayers } from './removeLayers.js';
import { storeTransaction } from './storeTransaction.js';

/**
 * - corrupt: the object's size or digest differs from its record;
 * - missing: a record whose object file is gone;
 * - orphan: an object file without a record;
 * - stray: something under objects/ that is not an object (bad name, wrong shard, not a regular file).
 */
type VerifyProblemKind = 'corrupt' | 'missing' | 'orphan' | 'stray';

export interface VerifyEntry {
  kind: VerifyProblemKind;
  key: string | null;
  path: string;
  detail: string;
  layerName?: string;
  builder?: string;
  /** Recipes whose cut history used this key. */
  recipes: string[];
  size?: number;
}

export interface VerifyReport {
  /** Objects re-hashed. */
  checked: number;
  /** Bytes re-hashed. */
  bytes: number;
  ms: number;
  problems: VerifyEntry[];
  /** Layer records checked, those still in the journal included. */
  records: number;
  /** Of them, records not in the index yet (the journal could not be ingested). */
  journalRecords: number;
  /**
   * Not problems: orphans younger than the grace period (a running cut
   * writes its object before its record) and records whose object a killed
   * gc already removed (the next gc or repair finishes that removal).
   */
  notes: VerifyEntry[];
}

export interface VerifyOptions {
  /** Orphans younger than this (ms) are notes, not problems. */
  graceMs: number;
  now?: number;
  /** Called after each object is checked. */
  onProgress?: (checked: number, total: number, bytes: number) => void;
}

/** key → recipes and layer name, from the cut history (and cuts still in the journal). */
function usage(store: Store, journal: JournalEntry[]): Map<string, { recipes: Set<string>; layerName: string }> {
  const m = new Map<string, { recipes: Set<string>; layerName: string }>();
  const cuts = [...[...store.db.cuts.getRange()].map((e) => e.value), ...journal.flatMap((e) => (e.cut ? [e.cut] : []))];
  for (const cut of cuts) {
    for (const l of cut.layers) {
      const u = m.get(l.key);
      if (u) u.recipes.add(cut.recipe);
      else m.set(l.key, { recipes: new Set([cut.recipe]), layerName: l.name });
    }
  }
  return m;
}

/**
 * Re-hashes every object against its record (size first, then xxh64) and
 * checks that records and object files match one to one. Reads only; the
 * caller opened the store (which ingests the journal) and awaited initHasher().
 */
export function verifyStore(store: Store, opts: VerifyOptions): VerifyReport {
  const t0 = performance.now();
  const now = opts.now ?? Date.now();
  // Records a full disk or a read-only store kept in the journal count as records: their objects are no orphans.
  const journal = readJournal(store).entries;
  const used = usage(store, journal);
  const pending = new Set(pendingRemoval(store)?.keys ?? []);
  const files = scanObjects(store);
  const fileOf = new Map(files.filter((f) => f.key).map((f) => [f.key!, f]));
  const records = listLayers(store);
  const indexed = new Set(records.map((r) => r.key));
  let journalRecords = 0;
  for (const rec of journal.flatMap((e) => e.layers)) {
    if (indexed.has(rec.key)) continue;
    indexed.add(rec.key);
    records.push(rec);
    journalRecords++;
  }
  const report: VerifyReport = { checked: 0, bytes: 0, ms: 0, problems: [], notes: [], records: records.length, journalRecords };
  const about = (key: string | null) => {
    const u = key ? used.get(key) : undefined;
    return { recipes: u ? [...u.recipes].sort() : [], layerName: u?.layerName };
  };

  for (const rec of records) {
    const ctx = { key: rec.key, layerName: rec.layerName, builder: rec.builder, recipes: about(rec.key).recipes, size: rec.size };
    if (!isLayerKey(rec.key)) {
      report.problems.push({ ...ctx, kind: 'corrupt', path: '', detail: `record with an invalid key ${JSON.stringify(rec.key)}` });
      continue;
    }
    const file = fileOf.get(rec.key);
    const p = objectPath(store, rec.key);
    if (!file) {
      const entry: VerifyEntry = { ...ctx, kind: 'missing', path: p, detail: 'object file missing' };
      if (pending.has(rec.key)) report.notes.push({ ...entry, detail: 'object removed by an interrupted gc; the next gc finishes removing its record' });
      else report.problems.push(entry);
      continue;
    }
    if (file.size !== rec.size) {
      report.problems.push({ ...ctx, kind: 'corrupt', path: p, detail: `size ${file.size}, expected ${rec.size}` });
      continue;
    }
    let digest: string;
    try {
      digest = digestFileSync(p);
    } catch (e) {
      report.problems.push({ ...ctx, kind: 'corrupt', path: p, detail: `unreadable: ${(e as NodeJS.ErrnoException).code ?? String(e)}` });
      continue;
    }
    report.checked++;
    report.bytes += file.size;
    opts.onProgress?.(report.checked, records.length, report.bytes);
    if (digest !== rec.digest) report.problems.push({ ...ctx, kind: 'corrupt', path: p, detail: `digest ${digest}, expected ${rec.digest}` });
  }

  const recorded = new Set(records.map((r) => r.key));
  for (const f of files) {
    if (f.key && recorded.has(f.key)) continue;
    const { recipes, layerName } = about(f.key);
    const entry: VerifyEntry = f.key
      ? { kind: 'orphan', key: f.key, path: f.path, detail: 'object file without a record', layerName, recipes, size: f.size }
      : { kind: 'stray', key: null, path: f.path, detail: `not a store object (${f.stray})`, recipes: [], size: f.size };
    if (now - f.mtimeMs < opts.graceMs) report.notes.push({ ...entry, detail: `${entry.detail}, written ${Math.round((now - f.mtimeMs) / 1000)} s ago (a running cut may still record it)` });
    else report.problems.push(entry);
  }
  report.ms = performance.now() - t0;
  return report;
}

export interface RepairResult {
  /** Corrupt objects removed with their records (rebuilt by the next cut). */
  corrupt: number;
  /** Records of missing objects removed. */
  missing: number;
  /** Orphan and stray files removed. */
  orphans: number;
  /** Keys of an interrupted gc whose removal was finished. */
  pending: number;
}

/**
 * Fixes what verifyStore found: corrupt objects go with their records, then
 * records of missing objects, then orphan and stray files. The caller holds
 * the gc lock, so no cut is writing meanwhile. A corrupt object whose file
 * changed since it was checked is left for the next verify.
 */
export function repairStore(store: Store, report: VerifyReport): RepairResult {
  const pending = completePendingRemoval(store).keys;
  const keys: string[] = [];
  const files: string[] = [];
  const result: RepairResult = { corrupt: 0, missing: 0, orphans: 0, pending };
  for (const p of report.problems) {
    if (p.kind === 'corrupt' && p.key && isLayerKey(p.key)) {
      keys.push(p.key);
      result.corrupt++;
    } else if (p.kind === 'corrupt' && p.key) {
      storeTransaction(store, () => removeLayerRecord(store, p.key!)); // a record with an unusable key: nothing to unlink
      result.corrupt++;
    } else if (p.kind === 'missing' && p.key) {
      keys.push(p.key);
      result.missing++;
    } else if ((p.kind === 'orphan' || p.kind === 'stray') && fs.lstatSync(p.path, { throwIfNoEntry: false })) {
      files.push(p.path);
      result.orphans++;
    }
  }
  removeLayers(store, keys, files);
  return result;
}
