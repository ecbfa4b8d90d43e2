import fs from 'node:fs';
import { listCuts } from './cutHistory.js';
import { dataFilePath, inspectDataFile } from './dbCheck.js';
import { digestFileSync } from './digest.js';
import { fsyncDir } from './fsyncDir.js';
import { objectsNotInJournal, readJournal } from './journal.js';
import { getLayer, putLayer, type LayerRecord } from './layerIndex.js';
import { newcProblem } from './newcArchive.js';
import { scanObjects } from './objectScan.js';
import { openStore, type Store } from './openStore.js';
import { getPin, putPin } from './pins.js';
import { storePaths, type StoreDir } from './storeDir.js';
import { storeTransaction } from './storeTransaction.js';

/** Builder and layer name of a record re-created from its object alone: what it was built from is unknown. */
export const RECOVERED = 'recovered';
/** The pin that keeps recovered layers through gc until the user's recipes are cut (and so rooted) again. */
export const RECOVERED_PIN = 'recovered';

/** Why the index must be rebuilt rather than checked, or null when it is usable. */
export function indexLost(store: StoreDir): string | null {
  const s = inspectDataFile(store.paths.db);
  if (s.state === 'corrupt') return s.why;
  if (s.state === 'absent' && objectsNotInJournal(store) > 0) return 'missing';
  return null;
}

export interface RebuildResult {
  /** What was wrong with the old index. */
  why: string;
  /** Where the damaged index was moved (kept for a post-mortem), or null when there was none. */
  movedTo: string | null;
  /** Layer records re-created from objects: key, size, digest; builder and inputs unknown. */
  recovered: { key: string; size: number }[];
  /** Records and cuts found in the journal, ingested as usual. */
  journal: { entries: number; layers: number; cuts: number };
  /** Object files that are not newc archives: left for repair to remove (they are no intact layer). */
  notArchives: string[];
  /** The pin holding the recovered layers, or null when there were none. */
  pin: string | null;
}

function asideName(db: string, now: number): string {
  const t = new Date(now).toISOString().replace(/[:.]/g, '-');
  let aside = `${db}.corrupt-${t}`;
  for (let i = 2; fs.existsSync(aside); i++) aside = `${db}.corrupt-${t}-${i}`;
  return aside;
}

/**
 * Rebuilds a lost or damaged index from what is on disk. The damaged db/ is
 * moved aside (never deleted), a fresh index is created (which ingests the
 * journal), and every object file without a record whose bytes are a whole
 * newc archive gets one: key from its file name, size and digest recomputed,
 * builder and layer name "recovered" (its inputs are unknown, so `why` cannot
 * diff it; a cut whose layer has that key reuses it). The recovered layers are
 * pinned, so a gc before the recipes are cut again does not drop them.
 * Lost: cut history (except the journal's), pins, dracut manifests, host
 * verdicts and the stat cache. The caller holds the gc lock.
 */
export function rebuildIndex(dir: string, why: string, now = Date.now()): { store: Store; result: RebuildResult } {
  const paths = storePaths(dir);
  let movedTo: string | null = null;
  if (fs.existsSync(dataFilePath(paths.db))) {
    movedTo = asideName(paths.db, now);
    fs.renameSync(paths.db, movedTo);
    fsyncDir(paths.root);
  }
  const pending = readJournal({ dir: paths.root, readOnly: false, paths }).entries;
  const store = openStore(dir, { rebuild: true });
  try {
    const recovered: LayerRecord[] = [];
    const notArchives: string[] = [];
    for (const f of scanObjects(store)) {
      if (!f.key || getLayer(store, f.key)) continue;
      if (newcProblem(f.path) !== null) {
        notArchives.push(f.path);
        continue;
      }
      const size = fs.statSync(f.path).size;
      const digest = digestFileSync(f.path);
      recovered.push({ key: f.key, builder: RECOVERED, layerName: RECOVERED, size, digest, derivation: null, createdAt: Math.round(f.mtimeMs), lastUsedAt: now });
    }
    let pin: string | null = null;
    if (recovered.length > 0) {
      pin = RECOVERED_PIN;
      getPin(store, RECOVERED_PIN); // opens the pins db outside the transaction
      storeTransaction(store, () => {
        for (const r of recovered) putLayer(store, r);
        putPin(store, { name: RECOVERED_PIN, at: now, source: 'rapido-store verify --repair (index rebuilt from the objects)', layers: recovered.map((r) => ({ name: r.layerName, key: r.key })) });
      });
    }
    const recipes = new Set(pending.flatMap((e) => (e.cut ? [e.cut.recipe] : [])));
    const result: RebuildResult = {
      why,
      movedTo,
      recovered: recovered.map((r) => ({ key: r.key, size: r.size })),
      journal: {
        entries: pending.length,
        layers: new Set(pending.flatMap((e) => e.layers.map((l) => l.key))).size,
        cuts: [...recipes].reduce((n, r) => n + listCuts(store, r).length, 0),
      },
      notArchives,
      pin,
    };
    return { store, result };
  } catch (e) {
    void store.close().catch(() => {});
    throw e;
  }
}
