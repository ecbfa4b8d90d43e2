import fs from 'node:fs';
import path from 'node:path';
import { RapidoError } from '../errors.js';
import type { StoreDir } from './types.js';

const KEY_RE = /^[0-9a-f]{16}$/;

export function isLayerKey(key: string): boolean {
  return KEY_RE.test(key);
}

/** Keys become file names, so anything but 16 lowercase hex chars is refused. */
export function assertLayerKey(key: string): void {
  if (!KEY_RE.test(key)) {
    throw new RapidoError('BAD_KEY', `not a layer key (16 lowercase hex chars): ${JSON.stringify(key)}`);
  }
}

/** `<store>/objects/<k0k1>/<key>`: 256 shards keep directories small. */
export function objectPath(store: StoreDir, key: string): string {
  assertLayerKey(key);
  return path.join(store.paths.objects, key.slice(0, 2), key);
}

/** True when the object exists as a regular file (and, if given, has the expected size). */
export function hasObject(store: StoreDir, key: string, expectSize?: number): boolean {
  const st = fs.statSync(objectPath(store, key), { throwIfNoEntry: false });
  if (!st || !st.isFile()) return false;
  return expectSize === undefined || st.size === expectSize;
}
