import type { Database } from 'lmdb';
import { RapidoError } from '../errors.js';
import type { Store } from './types.js';
import { storeTransaction } from './storeTransaction.js';

/** A named gc root: the layers of one cut (or of one import), kept until unpinned. */
export interface Pin {
  name: string;
  /** ms since the epoch. */
  at: number;
  /** The recipe whose cut was pinned, when pinned from a recipe. */
  recipe?: string;
  /** `at` of that cut. */
  cutAt?: number;
  /** Where pinned from when not a recipe (e.g. "import <file>"). */
  source?: string;
  layers: { name: string; key: string }[];
}

const NAME_RE = /^[^\0/\s][^\0]{0,199}$/;

export function assertPinName(name: string): void {
  if (!NAME_RE.test(name)) {
    throw new RapidoError('BAD_PIN_NAME', `invalid pin name ${JSON.stringify(name)}`, {
      hint: 'a pin name is 1-200 characters, not starting with a space or "/"',
    });
  }
}

// The db was added after format 1 shipped; it is opened on first use, so a
// store without it (read-only, or written by an older rapido) simply has no pins.
const dbs = new WeakMap<Store, Database<Pin, string> | null>();

function pinsDb(store: Store): Database<Pin, string> | null {
  let db = dbs.get(store);
  if (db === undefined) {
    db = (store.env.openDB('pins', {}) as Database<Pin, string> | undefined) ?? null;
    dbs.set(store, db);
  }
  return db;
}

function writableDb(store: Store): Database<Pin, string> {
  const db = pinsDb(store);
  if (!db) throw new RapidoError('STORE_READONLY', `cannot change pins: the store at ${store.dir} was opened read-only`);
  return db;
}

export function getPin(store: Store, name: string): Pin | undefined {
  return pinsDb(store)?.get(name);
}

export function listPins(store: Store): Pin[] {
  const db = pinsDb(store);
  return db ? [...db.getRange()].map((e) => e.value) : [];
}

/** Adds or replaces a pin; returns the pin it replaced, if any. */
export function putPin(store: Store, pin: Pin): Pin | undefined {
  assertPinName(pin.name);
  const db = writableDb(store);
  return storeTransaction(store, () => {
    const old = db.get(pin.name);
    db.putSync(pin.name, pin);
    return old;
  });
}

/** Removes a pin; returns it, or undefined when there was none. */
export function removePin(store: Store, name: string): Pin | undefined {
  const db = writableDb(store);
  return storeTransaction(store, () => {
    const old = db.get(name);
    if (old) db.removeSync(name);
    return old;
  });
}
