import crypto from 'node:crypto';
import fs from 'node:fs';
import { RapidoError } from '../../errors.js';
import { exportEntries } from '../exportArchive.js';
import type { ExportEntry } from '../exportManifest.js';
import { getManifest } from '../manifests.js';
import { objectPath } from '../objectPath.js';
import type { SecretKey } from '../signingKeys.js';
import type { Store } from '../types.js';
import { CacheFault, type CacheBackend } from './cacheBackend.js';
import {
  manifestPathIn, mergeCacheManifest, objectPathIn, parseCacheManifest, recordPathIn, signedRecord, VERSION_PATH, versionFile, versionMismatch,
} from './cacheRecord.js';
import { pool } from './substitute.js';

export interface PushResult {
  pushed: ExportEntry[];
  skipped: ExportEntry[];
  bytes: number;
}

/** Uploads at once (a small pool, as for downloads). */
const PUSH_POOL = 4;

function failed(e: unknown, cache: string): RapidoError {
  const what = e instanceof CacheFault ? e.message : String((e as Error)?.message ?? e);
  return new RapidoError('PUSH_FAILED', `push to ${cache} failed: ${what}`, {
    hint: 'what was pushed before stays valid (objects go first, records last); run the same push again to finish it',
    cause: e,
  });
}

/**
 * Pushes layers to a cache: every object is checked against its record first
 * (as export does: nothing corrupt leaves the store), then per layer the
 * object, then its signed record, so a reader that finds a record always
 * finds the whole object, however the push ends. A layer whose record is
 * already there is skipped (one HEAD or stat). Then dracut's first-key
 * manifests, merged with what the cache holds.
 */
export async function pushLayers(
  store: Store, keys: string[], backend: CacheBackend, signer: SecretKey, onLayer?: (e: ExportEntry, outcome: 'pushed' | 'skipped') => void,
): Promise<PushResult> {
  const entries = exportEntries(store, keys);
  const signal = () => AbortSignal.timeout(10 * 60_000);
  const result: PushResult = { pushed: [], skipped: [], bytes: 0 };
  try {
    const v = await backend.get(VERSION_PATH, signal());
    if (v === null) await backend.put(VERSION_PATH, versionFile(), signal());
    else {
      const why = versionMismatch(v);
      if (why) throw new RapidoError('PUSH_FAILED', `push to ${backend.display}: ${why}`, { hint: 'push to another location, or with the rapido that made this cache' });
    }
    await pool(entries, PUSH_POOL, async (e) => {
      if (await backend.exists(recordPathIn(e.key), signal())) {
        result.skipped.push(e);
        onLayer?.(e, 'skipped');
        return;
      }
      const bytes = fs.readFileSync(objectPath(store, e.key));
      // Checked again as read: the bytes uploaded are the ones the record's SHA-256 vouches for.
      if (bytes.length !== e.size || crypto.createHash('sha256').update(bytes).digest('hex') !== e.sha256) {
        throw new RapidoError('EXPORT_CORRUPT', `the object of layer ${e.key} changed while being pushed`, { hint: 'rapido-store verify' });
      }
      await backend.put(objectPathIn(e.key), bytes, signal());
      await backend.put(recordPathIn(e.key), signedRecord(e.record, e.sha256, signer), signal());
      result.pushed.push(e);
      result.bytes += e.size;
      onLayer?.(e, 'pushed');
    });
    const pushedKeys = new Set(entries.map((e) => e.key));
    const firstKeys = new Set(entries.map((e) => (e.builder === 'dracut' ? (e.record.derivation as { firstKey?: string })?.firstKey : undefined)).filter((k): k is string => !!k));
    for (const firstKey of firstKeys) {
      const ours = getManifest(store, firstKey).filter((x) => pushedKeys.has(x.key));
      const theirs = parseCacheManifest(await backend.get(manifestPathIn(firstKey), signal()), firstKey);
      // Two pushers merging at once may drop each other's variant: a lost hint (a rebuild), never a wrong layer.
      await backend.put(manifestPathIn(firstKey), mergeCacheManifest(firstKey, ours, theirs), signal());
    }
  } catch (e) {
    if (e instanceof RapidoError) throw e;
    if (e instanceof CacheFault) throw failed(e, backend.display);
    throw e;
  }
  return result;
}
