import { RapidoError } from '../errors.js';
import { storeTransaction } from './storeTransaction.js';
import type { CutRecord, Store } from './types.js';
export type { CutLayer, CutRecord } from './types.js';

// Keys are `<recipe>\0<at, 15-digit zero padded>[.<nnnn>]`: byte order is time
// order within a recipe, and \0 sorts below every character a recipe may use.
const SEP = '\0';
const AFTER_SEP = '\x01';

function assertRecipe(recipe: string): void {
  if (recipe === '' || recipe.includes(SEP)) {
    throw new RapidoError('BAD_RECIPE', `invalid recipe name for cut history: ${JSON.stringify(recipe)}`);
  }
}

function cutKey(recipe: string, at: number, seq: number): string {
  const t = String(Math.max(0, Math.trunc(at))).padStart(15, '0');
  return seq === 0 ? `${recipe}${SEP}${t}` : `${recipe}${SEP}${t}.${String(seq).padStart(4, '0')}`;
}

/** Appends a cut and returns its database key. Two cuts in the same millisecond both survive. */
export function appendCut(store: Store, cut: CutRecord): string {
  assertRecipe(cut.recipe);
  return storeTransaction(store, () => {
    let seq = 0;
    while (store.db.cuts.doesExist(cutKey(cut.recipe, cut.at, seq))) seq++;
    const key = cutKey(cut.recipe, cut.at, seq);
    store.db.cuts.putSync(key, cut);
    return key;
  });
}

/** Cuts of one recipe, newest first. */
export function listCuts(store: Store, recipe: string, opts: { limit?: number } = {}): CutRecord[] {
  assertRecipe(recipe);
  // Reverse range: start is the upper bound, end the (exclusive) lower one.
  const range = store.db.cuts.getRange({
    start: recipe + AFTER_SEP,
    end: recipe + SEP,
    reverse: true,
    limit: opts.limit,
  });
  return [...range].map((e) => e.value);
}

export function lastCut(store: Store, recipe: string): CutRecord | undefined {
  return listCuts(store, recipe, { limit: 1 })[0];
}
