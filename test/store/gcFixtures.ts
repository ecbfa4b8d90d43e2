// Shared helpers for the gc / verify / export tests (not a test file itself).
import fs from 'node:fs';
import path from 'node:path';
import { STAMP_VERSION, writeStamp, type Stamp } from '../../src/image/stamp.js';
import { appendCut, hashString, objectPath, putLayer, writeObject, type Store } from '../../src/store/index.js';

export const HOUR = 3_600_000;

/** A deterministic layer key for a name. */
export function keyOf(name: string): string {
  return hashString(`layer:${name}`);
}

/** Writes an object and its record, as a cut would; `usedAgo` ages the record (ms). */
export function addLayer(store: Store, name: string, bytes: Buffer | string, usedAgo = 0): string {
  const key = keyOf(name);
  const w = writeObject(store, key, (fd) => fs.writeSync(fd, typeof bytes === 'string' ? Buffer.from(bytes) : bytes));
  const at = Date.now() - usedAgo;
  putLayer(store, { key, builder: 'native-test', layerName: name, size: w.size, digest: w.digest, derivation: { name }, createdAt: at, lastUsedAt: at });
  return key;
}

/** Makes files look written `ago` ms ago (the grace period looks at mtimes). */
export function age(file: string, ago: number): void {
  const t = new Date(Date.now() - ago);
  fs.utimesSync(file, t, t);
}

export function ageObject(store: Store, key: string, ago: number): void {
  age(objectPath(store, key), ago);
}

/** Records a cut of recipe that used keys, writing into outPath. */
export function recordCut(store: Store, recipe: string, keys: string[], outPath: string, at = Date.now()): void {
  appendCut(store, { recipe, at, outPath, layers: keys.map((k, i) => ({ name: `l${i}`, key: k, hit: false })), inputs: {} });
}

/** An image file with a stamp that describes it (its inode and size), holding `current` and a spare layout. */
export function writeImage(out: string, current: string[], spare: string[] = []): void {
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, 'image bytes');
  const st = fs.statSync(out, { bigint: true });
  const stamp = {
    version: STAMP_VERSION,
    request: '',
    recipe: 'r',
    layers: [],
    image: '',
    current: { ino: String(st.ino), size: Number(st.size), keys: current },
    spare: spare.length ? { ino: '1', size: 1, keys: spare } : undefined,
    vm: {},
    kernel: { release: 'x', image: 'x' },
  } as unknown as Stamp;
  writeStamp(out, stamp);
}
