import fs from 'node:fs';
import { readStamp } from '../image/stamp.js';
import { ago } from '../format.js';
import type { CutRecord } from './cutHistory.js';
import type { Store } from './types.js';
import { listPins } from './pins.js';

/** Why a layer is kept. */
export type RootRef =
  /** A composed image that still exists holds it (`spare`: the previous image kept beside it). */
  | { kind: 'image'; path: string; spare?: boolean }
  /** One of the last N cuts of a recipe used it (rank 1 = the newest cut). */
  | { kind: 'recent'; recipe: string; at: number; rank: number }
  | { kind: 'pin'; name: string };

export type RootKind = RootRef['kind'];

export interface Roots {
  /** Every rooted key, with every root that holds it. */
  byKey: Map<string, RootRef[]>;
  /** Images that exist, and how their layers were found. */
  images: { path: string; from: 'stamp' | 'cut history'; keys: number }[];
  /** Recipes with cut history, and how many of their cuts are roots. */
  recipes: { recipe: string; cuts: number }[];
  pins: string[];
}

export interface RootOptions {
  /** The last N cuts of each recipe are roots. */
  keepLast: number;
}

export const DEFAULT_KEEP_LAST = 3;

function add(roots: Roots, key: string, ref: RootRef): void {
  const refs = roots.byKey.get(key);
  if (refs) refs.push(ref);
  else roots.byKey.set(key, [ref]);
}

/** Keys an existing image holds: its stamp's layouts when the stamp describes this very file, else its newest cut. */
function imageKeys(outPath: string, newest: CutRecord): { from: 'stamp' | 'cut history'; current: string[]; spare: string[] } | null {
  const st = fs.lstatSync(outPath, { bigint: true, throwIfNoEntry: false });
  if (!st || !st.isFile()) return null;
  const stamp = readStamp(outPath);
  if (stamp?.current && stamp.current.ino === String(st.ino) && stamp.current.size === Number(st.size)) {
    return { from: 'stamp', current: stamp.current.keys, spare: stamp.spare?.keys ?? [] };
  }
  return { from: 'cut history', current: newest.layers.map((l) => l.key), spare: [] };
}

/**
 * The gc roots: (a) every composed image that still exists, found through
 * the outPaths of the cut history; (b) the last `keepLast` cuts of each
 * recipe; (c) pins. One pass over the cut history.
 */
export function collectRoots(store: Store, opts: RootOptions): Roots {
  const roots: Roots = { byKey: new Map(), images: [], recipes: [], pins: [] };
  const newestByOut = new Map<string, CutRecord>();
  const byRecipe = new Map<string, CutRecord[]>();
  // Keys are <recipe>\0<time>: each recipe's cuts come out oldest first.
  for (const { value: cut } of store.db.cuts.getRange()) {
    const list = byRecipe.get(cut.recipe);
    if (list) list.push(cut);
    else byRecipe.set(cut.recipe, [cut]);
    const seen = newestByOut.get(cut.outPath);
    if (!seen || seen.at <= cut.at) newestByOut.set(cut.outPath, cut);
  }

  for (const [outPath, newest] of [...newestByOut].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const found = imageKeys(outPath, newest);
    if (!found) continue;
    roots.images.push({ path: outPath, from: found.from, keys: new Set([...found.current, ...found.spare]).size });
    for (const key of new Set(found.current)) add(roots, key, { kind: 'image', path: outPath });
    for (const key of new Set(found.spare)) if (!found.current.includes(key)) add(roots, key, { kind: 'image', path: outPath, spare: true });
  }

  for (const [recipe, cuts] of [...byRecipe].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const recent = opts.keepLast > 0 ? cuts.slice(-opts.keepLast).reverse() : [];
    roots.recipes.push({ recipe, cuts: recent.length });
    recent.forEach((cut, i) => {
      for (const key of new Set(cut.layers.map((l) => l.key))) add(roots, key, { kind: 'recent', recipe, at: cut.at, rank: i + 1 });
    });
  }

  for (const pin of listPins(store)) {
    roots.pins.push(pin.name);
    for (const key of new Set(pin.layers.map((l) => l.key))) add(roots, key, { kind: 'pin', name: pin.name });
  }
  return roots;
}

function ordinal(n: number): string {
  const suffix = n % 100 >= 11 && n % 100 <= 13 ? 'th' : ['th', 'st', 'nd', 'rd'][n % 10] ?? 'th';
  return `${n}${suffix}`;
}

/** One line per root, for people: "image /p/initrds/myinitrd", "2nd-last cut of fstests (3h ago)", "pin stable". */
export function describeRoot(ref: RootRef, now = Date.now()): string {
  switch (ref.kind) {
    case 'image': return ref.spare ? `spare of image ${ref.path}` : `image ${ref.path}`;
    case 'recent': return `${ref.rank === 1 ? 'last' : `${ordinal(ref.rank)}-last`} cut of ${ref.recipe} (${ago(now - ref.at)} ago)`;
    case 'pin': return `pin ${ref.name}`;
  }
}

