import fs from 'node:fs';
import path from 'node:path';
import { appendCut, listCuts, type CutRecord } from './cutHistory.js';
import { getLayer, putLayer, touchLayers, type LayerRecord } from './layerIndex.js';
import type { Store } from './openStore.js';
import { storeTransaction } from './storeTransaction.js';
import type { StoreDir } from './storeDir.js';
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
  fs.writeFileSync(tmp, JSON.stringify(entry));
  fs.renameSync(tmp, path.join(store.paths.journal, name));
}

/** Moves journal entries into LMDB; safe to run concurrently and again after a crash (idempotent). */
export function ingestJournal(store: Store): number {
  let names: string[];
  try {
    names = fs.readdirSync(store.paths.journal).filter((n) => NAME_RE.test(n)).sort();
  } catch {
    return 0;
  }
  if (names.length === 0) return 0;
  const entries: JournalEntry[] = [];
  for (const n of names) {
    try {
      entries.push(JSON.parse(fs.readFileSync(path.join(store.paths.journal, n), 'utf8')) as JournalEntry);
    } catch {
      /* taken by a concurrent ingest, or unreadable: nothing to import */
    }
  }
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
