import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { statSig } from '../derivations/hostInputs.js';
import { currentBootId } from './bootId.js';
import { slotOffsets } from './composeImage.js';
import type { ImageLayout } from './stamp.js';

/**
 * A layer's bytes as the composed image holds them, if the image is still
 * the very file its layout describes (stamp.ts layoutHolds: unwritten since,
 * and synced or written in this boot) before and after the read. Those bytes
 * were checked against the layer's digest when they were composed, so a cut
 * that patches the layer (a tree chunk with one file edited) reads them
 * here instead of reading its store object and hashing it again to trust
 * it. Undefined when the image cannot vouch for them: the caller reads the
 * object.
 */
export function readImageLayer(out: string, layout: ImageLayout | undefined, key: string, size: number): Buffer | undefined {
  const i = layout?.keys.indexOf(key) ?? -1;
  if (!layout || i < 0 || layout.sizes?.[i] !== size || (layout.boot !== undefined && layout.boot !== currentBootId())) return undefined;
  let fd: number | undefined;
  try {
    fd = openSync(out, 'r');
    const holds = () => statSig(fstatSync(fd!)) === layout.sig;
    if (!holds()) return undefined;
    const buf = Buffer.allocUnsafe(size);
    const at = slotOffsets(layout.sizes).offsets[i];
    let got = 0;
    while (got < size) {
      const n = readSync(fd, buf, got, size - got, at + got);
      if (n === 0) return undefined;
      got += n;
    }
    return holds() ? buf : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
