import fs from 'node:fs';
import path from 'node:path';
import { appendCut, listCuts, type CutRecord } from './cutHistory.js';
import { withDiskFull } from './diskFull.js';
import { scanObjects } from './objectScan.js';
import { getLayer, putLayer, touchLayers, type LayerRecord } from './layerIndex.js';
import type { Store } from './types.js';
import { storeTransaction } from './storeTransaction.js';
import type { StoreDir } from './types.js';
import { uniqueSuffix } from './uniqueSuffix.js';

/**
 * A warm re-cut that only rebuilt a small layer does not open LMDB (loading
 * it costs more than the whole re-cut). It leaves its records here instead,
 * one file per cut, and the next process that opens the database ingests
 * them in one transaction. Objects are durable before their journal entry
 * is written, so a lost entry only leaves an orphan object that the next
 * build of the same key adopts.
 */
export interface JournalEntry {
  at: number;
  layers: LayerRecord[];
  touched: string[];
  cut?: CutRecord;
}

const NAME_RE = /^\d{15}\.\d+\.[0-9a-f]+\.json$/;

export function appendJournal(store: StoreDir, entry: JournalEntry): void {
  const name = `${String(entry.at).padStart(15, '0')}.${process.pid}.${uniqueSuffix()}.json`;
  const tmp = path.join(store.paths.tmp, `journal.${process.pid}.${name}`);
  withDiskFull('the journal', store.dir, () => {
    try {
      fs.writeFileSync(tmp, JSON.stringify(entry));
      fs.renameSync(tmp, path.join(store.paths.journal, name));
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw e;
    }
  });
}

/** The journal entries waiting to be ingested, oldest first, with their file names; unreadable ones are skipped. */
export function readJournal(store: StoreDir): { names: string[]; entries: JournalEntry[] } {
  let names: string[];
  try {
    names = fs.readdirSync(store.paths.journal).filter((n) => NAME_RE.test(n)).sort();
  } catch {
    return { names: [], entries: [] };
  }
  const entries: JournalEntry[] = [];
  for (const n of names) {
    try {
      entries.push(JSON.parse(fs.readFileSync(path.join(store.paths.journal, n), 'utf8')) as JournalEntry);
    } catch {
      /* taken by a concurrent ingest, or unreadable: nothing to import */
    }
  }
  return { names, entries };
}

/** Layer objects whose record is not in the journal either: what a missing index would lose. */
export function objectsNotInJournal(store: StoreDir): number {
  const journaled = new Set(readJournal(store).entries.flatMap((e) => e.layers.map((l) => l.key)));
  return scanObjects(store).filter((f) => f.key && !journaled.has(f.key)).length;
}

/**
 * Moves journal entries into LMDB; safe to run concurrently and again after a crash (idempotent).
 * A full disk throws DISK_FULL and leaves the entries for the next open.
 */
export function ingestJournal(store: Store): number {
  const { names, entries } = readJournal(store);
  if (names.length === 0) return 0;
  storeTransaction(store, () => {
    for (const e of entries) {
      for (const rec of e.layers) if (!getLayer(store, rec.key)) putLayer(store, rec);
      touchLayers(store, e.touched, e.at);
      if (e.cut && !listCuts(store, e.cut.recipe, { limit: 50 }).some((c) => c.at === e.cut!.at && c.outPath === e.cut!.outPath)) {
        appendCut(store, e.cut);
      }
    }
  });
  for (const n of names) fs.rmSync(path.join(store.paths.journal, n), { force: true });
  return entries.length;
}
