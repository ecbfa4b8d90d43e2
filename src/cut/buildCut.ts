import type { PostStep } from '../derivations/builders/context.js';
import type { Stamp } from '../image/stamp.js';
import type { CutRequest } from './cutRequest.js';
import { checkCut, shownPath, upToDateLine, type NoopCheck } from './noopCut.js';
import { writeStderr } from '../writeStderr.js';

/**
 * The cut itself (`rapido cut -B`): the image at DRACUT_OUT, from the store where possible, and one summary line.
 * `warm`: most layers came from the store (or nothing changed), as in the edit -> re-cut loop.
 */
export async function buildCut(name: string, post: PostStep[], precomputed?: NoopCheck, opts: { substitute?: boolean } = {}): Promise<{ req: CutRequest; stamp: Stamp; warm: boolean }> {
  const t0 = Date.now();
  const { req, prev, freshness } = precomputed ?? checkCut(name, post);
  if (prev && freshness.fresh) {
    writeStderr(upToDateLine(name, prev, req.out, Date.now() - t0));
    return { req, stamp: prev, warm: true };
  }
  const [{ cutImage }, { makeProgress }, { formatBytes }, { layerNameList }] = await Promise.all([
    import('./cutImage.js'), import('./progress.js'), import('../format.js'), import('./layerNameList.js'),
  ]);
  const outcome = await cutImage(req, makeProgress(), prev, freshness.unchanged, opts, freshness.changed);
  const built = outcome.layers.filter((l) => l.source === 'built').length;
  const fetched = outcome.layers.filter((l) => l.source === 'fetched').length;
  const reused = outcome.layers.length - built - fetched;
  // Which cache gave how many: `3 fetched from https://cache/rapido, 1 from file:///mnt/cache`.
  const from = [...outcome.fetchedFrom].map(([cache, n], i) => `${i === 0 ? `${n} fetched from` : `${n} from`} ${cache}`).join(', ');
  // Which layers changed, on the one line logs keep (CI, `git bisect run`); a cut that built everything says so by its counts.
  const rebuilt = built && built < outcome.layers.length ? `, rebuilt: ${layerNameList(outcome.layers.filter((l) => l.source === 'built').map((l) => l.name))}` : '';
  writeStderr(
    `rapido: ${name}: ${outcome.layers.length} layers (${built} built, ${reused} reused${fetched ? `, ${from}` : ''})${rebuilt}, ${formatBytes(outcome.imageBytes)}, ` +
      `${formatBytes(outcome.written)} written${outcome.cloned ? `, ${formatBytes(outcome.cloned)} cloned` : ''} -> ${shownPath(req.out)} (${(Date.now() - t0).toFixed(0)} ms)\n`,
  );
  return { req, stamp: outcome.stamp, warm: built * 2 <= outcome.layers.length };
}
