import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { currentSig, fileSig, lstatOrNull, type StatSig } from '../derivations/hostInputs.js';
import { currentBootId } from './bootId.js';
import { byteLines } from './byteLines.js';

/** A host path, its stat signature (null: must stay absent) and, for files in the layer, its content digest. */
export type StampInput = [path: string, sig: StatSig | null, digest?: string];

/**
 * The stamp beside a composed image records what it was cut from: the
 * request (recipe, config values, kernel, -x/-f steps) and, per layer, the
 * stat signature of every host path its content came from. If all of them
 * still match, nothing changed and the cut is decided from lstat alone, with
 * no database, no hashing and no builder loaded. It is a cache: a missing or
 * unreadable stamp only means the slow path runs.
 */
// 6: layer keys stopped holding host paths (store format 2); a stamp of 5 holds keys hashed the old way.
export const STAMP_VERSION = 6;
/** Git's racy-clean rule: a file modified this close to the stamp may change again within the same timestamp. */
export const RACY_WINDOW_MS = 1000;

export interface StampLayer {
  name: string;
  /** The plan a chunk of a big tree belongs to (`tree:/fstests` for `tree:/fstests#2`); absent when it is `name`. */
  plan?: string;
  key: string;
  size: number;
  /** xxh64 of the object, checked when the object is copied into the image. */
  digest: string;
  /** What decides this layer besides files: canonical JSON of its directives and values. */
  request: string;
  inputs: StampInput[];
  /** An input changed within RACY_WINDOW_MS of the stamp: its signature cannot be trusted. */
  racy: boolean;
  /** Builder results carried to the next cut (see layerMemo.ts). */
  memo?: Record<string, { key: string; value: unknown }>;
  /** The layer's store object and its stat signature: a removed or replaced object shows in lstat. */
  object: [path: string, sig: StatSig];
}

export interface ImageLayout {
  /** Inode of the file holding this layout, to notice a file replaced behind our back. */
  ino: string;
  size: number;
  keys: string[];
  /** Each layer's size: with the keys, where each one sits (composeImage's slots). */
  sizes: number[];
  /** Full stat signature of that file when written: any later write moves its mtime or ctime, so its bytes are no longer trusted. */
  sig: StatSig;
  /**
   * The boot (bootId.ts) in which the file was written without a data
   * sync: trusted in that boot only. Absent: its bytes were synced.
   */
  boot?: string;
}

export interface Stamp {
  version: number;
  request: string;
  recipe: string;
  layers: StampLayer[];
  /** The store the layers were found in: its path and the identity (dev:ino) of its objects/ directory. */
  store: { path: string; id: string };
  /** The composed image; its `sig` is checked by the no-op path. */
  current: ImageLayout;
  /** The previous image, kept as the spare that the next compose rewrites in place. */
  spare?: ImageLayout;
  vm: { cpus?: number; mem?: string; net?: boolean; drives?: { file: string; format: string }[] };
  kernel: { release: string; image: string };
}

function stampPathFor(out: string): string {
  return join(dirname(out), `.${basename(out)}.rapido.json`);
}

/** The file's bytes, kept on a stamp read from disk (a non-enumerable, cross-bundle key): the next write copies its unchanged layers' lines. */
const STAMP_BYTES = Symbol.for('rapido.stampBytes');

export function readStamp(out: string): Stamp | undefined {
  try {
    const bytes = readFileSync(stampPathFor(out));
    const s = JSON.parse(bytes.toString('utf8')) as Stamp;
    if (s.version !== STAMP_VERSION) return undefined;
    Object.defineProperty(s, STAMP_BYTES, { value: bytes });
    return s;
  } catch {
    return undefined;
  }
}

/**
 * Written as JSON with one layer per line, so that the next cut copies the
 * line of every layer that did not change (`prev`, the stamp this cut
 * started from) instead of serialising and encoding it again: after an
 * edit of a big tree, that is all but one or two chunks' lists of inputs.
 */
export function writeStamp(out: string, stamp: Stamp, prev?: Stamp): void {
  const path = stampPathFor(out);
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, stampBytes(stamp, prev));
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

const LAYER_SEP = Buffer.from(',\n');
const LAYERS_END = Buffer.from('\n]}');

function stampBytes(stamp: Stamp, prev?: Stamp): Buffer {
  const { layers, ...rest } = stamp;
  const before = prev ? layerLines(prev) : undefined;
  const parts: Buffer[] = [Buffer.from(`${JSON.stringify(rest).slice(0, -1)},"layers":[\n`)];
  layers.forEach((l, i) => {
    if (i > 0) parts.push(LAYER_SEP);
    const old = before?.get(l.name);
    parts.push(old && sameLayer(l, old.layer) ? old.line : Buffer.from(JSON.stringify(l)));
  });
  parts.push(LAYERS_END);
  return Buffer.concat(parts);
}

/** Each layer of a stamp read from disk with its line; none if the file is not laid out as stampBytes writes it. */
function layerLines(prev: Stamp): Map<string, { layer: StampLayer; line: Buffer }> | undefined {
  const bytes = (prev as Stamp & { [STAMP_BYTES]?: Buffer })[STAMP_BYTES];
  if (!bytes) return undefined;
  const lines = byteLines(bytes);
  const header = lines[0].toString('latin1');
  if (lines.length !== prev.layers.length + 2 || !header.endsWith('"layers":[') || lines[lines.length - 1].toString('latin1') !== ']}') return undefined;
  const out = new Map<string, { layer: StampLayer; line: Buffer }>();
  prev.layers.forEach((layer, i) => {
    const line = lines[i + 1];
    out.set(layer.name, { layer, line: line[line.length - 1] === 0x2c ? line.subarray(0, -1) : line });
  });
  return out;
}

/**
 * The same layer record. Inputs and memo are compared by identity: a cut
 * hands on the last stamp's lists and memos it did not change (and never
 * changes them in place), and makes new ones for what it did.
 */
function sameLayer(a: StampLayer, b: StampLayer): boolean {
  return (
    a.name === b.name && a.plan === b.plan && a.key === b.key && a.size === b.size && a.digest === b.digest && a.request === b.request &&
    a.racy === b.racy && a.inputs === b.inputs && a.memo === b.memo && a.object[0] === b.object[0] && a.object[1] === b.object[1]
  );
}

/** True when every recorded input of the layer still has its signature. */
export function layerInputsUnchanged(layer: StampLayer): boolean {
  return !layer.racy && changedInputs(layer).length === 0;
}

/** The recorded inputs whose signature changed (all of them, not just the first: a cut re-derives only what they touch). */
export function changedInputs(layer: StampLayer): string[] {
  const changed: string[] = [];
  for (const [path, sig] of layer.inputs) {
    if (currentSig(path, sig) !== sig) changed.push(path);
  }
  return changed;
}

/** A store's identity: its objects/ directory's dev:ino (a store removed and created again gets a new one). */
export function storeIdentity(storePath: string): string | null {
  const st = lstatOrNull(join(storePath, 'objects'));
  return st?.isDirectory() ? `${st.dev}:${st.ino}` : null;
}

/** True when the path is still the very file a layout or object was recorded from (no write, no replacement). */
function sigHolds(path: string, sig: StatSig): boolean {
  return fileSig(path) === sig;
}

/**
 * True when the path still holds the bytes a layout was recorded from: its
 * full stat signature (any write moves mtime/ctime) and, for a file written
 * without a data sync, the same boot (a crash may have lost its bytes).
 */
export function layoutHolds(layout: ImageLayout, path: string): boolean {
  return typeof layout.sig === 'string' && (layout.boot === undefined || layout.boot === currentBootId()) && sigHolds(path, layout.sig);
}

export interface Freshness {
  /** Nothing changed: same request, image untouched, every layer's inputs unchanged. */
  fresh: boolean;
  /** Names of the layers whose inputs are unchanged, so the slow path need not stat them again. */
  unchanged: Set<string>;
  /** Per layer with changed inputs, which ones: a big tree re-derives only what they touch (cut/treeDelta.ts). */
  changed: Map<string, string[]>;
}

/**
 * Checks every layer (not just up to the first change): the slow path reuses
 * the answers. Fresh also needs the image to be the very file the stamp
 * describes (a write moves its mtime/ctime) and the store to still hold each
 * layer's object, unchanged, in the same store: all from lstat.
 */
export function checkStamp(stamp: Stamp | undefined, request: string, out: string): Freshness {
  const unchanged = new Set<string>();
  const changed = new Map<string, string[]>();
  if (!stamp) return { fresh: false, unchanged, changed };
  for (const l of stamp.layers) {
    const c = changedInputs(l);
    if (c.length) changed.set(l.name, c);
    else if (!l.racy) unchanged.add(l.name);
  }
  const fresh =
    stamp.request === request &&
    unchanged.size === stamp.layers.length &&
    layoutHolds(stamp.current, out) &&
    storeIdentity(stamp.store.path) === stamp.store.id &&
    stamp.layers.every((l) => sigHolds(l.object[0], l.object[1]));
  return { fresh, unchanged, changed };
}
