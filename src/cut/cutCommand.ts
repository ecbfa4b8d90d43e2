import { relative } from 'node:path';
import type { BootOptions } from '../cli/bootOptions.js';
import type { PostStep } from '../derivations/builders/context.js';
import { checkStamp, readStamp, type Stamp } from '../derivations/cutStamp.js';
import { cutRequest } from './cutRequest.js';

export interface CutCommandArgs {
  name: string;
  buildOnly: boolean;
  post: PostStep[];
  boot: BootOptions;
}

/** `rapido cut`: returns the exit status (the guest's, when it boots). */
export async function cutCommand(a: CutCommandArgs): Promise<number> {
  const t0 = performance.now();
  const req = cutRequest(a.name, a.post);
  const prev = readStamp(req.out);
  const shownOut = relative(process.cwd(), req.out) || req.out;
  let stamp: Stamp;
  const freshness = checkStamp(prev, req.key, req.out);
  if (prev && freshness.fresh) {
    stamp = prev;
    const mib = (stamp.current.size / 1048576).toFixed(1);
    process.stderr.write(`rapido: ${a.name}: up to date, ${stamp.layers.length} layers, ${mib} MiB -> ${shownOut} (${(performance.now() - t0).toFixed(0)} ms)\n`);
  } else {
    const [{ cutImage }, { makeProgress, formatBytes }] = await Promise.all([import('./cutImage.js'), import('./progress.js')]);
    const outcome = await cutImage(req, makeProgress(), prev, freshness.unchanged);
    stamp = outcome.stamp;
    const built = outcome.layers.filter((l) => l.source === 'built').length;
    const reused = outcome.layers.length - built;
    process.stderr.write(
      `rapido: ${a.name}: ${outcome.layers.length} layers (${built} built, ${reused} reused), ${formatBytes(outcome.imageBytes)}, ` +
        `${formatBytes(outcome.written)} written -> ${shownOut} (${(performance.now() - t0).toFixed(0)} ms)\n`,
    );
  }
  if (a.buildOnly) return 0;
  const { bootCut } = await import('./bootCut.js');
  return bootCut(req.conf, req.out, stamp, a.boot);
}
