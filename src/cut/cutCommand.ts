import type { BootOptions } from '../cli/bootOptions.js';
import type { PostStep } from '../derivations/builders/context.js';
import type { Stamp } from '../derivations/cutStamp.js';
import { checkCut, shownPath, upToDateLine, type NoopCheck } from './noopCut.js';

export interface CutCommandArgs {
  name: string;
  buildOnly: boolean;
  post: PostStep[];
  boot: BootOptions;
}

/** `rapido cut`: returns the exit status (the guest's, when it boots). */
export async function cutCommand(a: CutCommandArgs, precomputed?: NoopCheck): Promise<number> {
  const t0 = performance.now();
  const { req, prev, freshness } = precomputed ?? checkCut(a.name, a.post);
  let stamp: Stamp;
  if (prev && freshness.fresh) {
    stamp = prev;
    process.stderr.write(upToDateLine(a.name, stamp, req.out, performance.now() - t0));
  } else {
    const [{ cutImage }, { makeProgress, formatBytes }] = await Promise.all([import('./cutImage.js'), import('./progress.js')]);
    const outcome = await cutImage(req, makeProgress(), prev, freshness.unchanged);
    stamp = outcome.stamp;
    const built = outcome.layers.filter((l) => l.source === 'built').length;
    const reused = outcome.layers.length - built;
    process.stderr.write(
      `rapido: ${a.name}: ${outcome.layers.length} layers (${built} built, ${reused} reused), ${formatBytes(outcome.imageBytes)}, ` +
        `${formatBytes(outcome.written)} written -> ${shownPath(req.out)} (${(performance.now() - t0).toFixed(0)} ms)\n`,
    );
  }
  if (a.buildOnly) return 0;
  const { bootCut } = await import('./bootCut.js');
  return bootCut(req.conf, req.out, stamp, a.boot);
}
