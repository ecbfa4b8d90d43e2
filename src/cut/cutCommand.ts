import type { BootOptions } from '../cli/bootOptions.js';
import type { PostStep } from '../derivations/builders/context.js';
import { buildCut } from './buildCut.js';
import type { NoopCheck } from './noopCut.js';

export interface CutCommandArgs {
  name: string;
  buildOnly: boolean;
  post: PostStep[];
  boot: BootOptions;
}

/** `rapido cut`: returns the exit status (the guest's, when it boots). */
export async function cutCommand(a: CutCommandArgs, precomputed?: NoopCheck): Promise<number> {
  const { req, stamp } = await buildCut(a.name, a.post, precomputed);
  if (a.buildOnly) return 0;
  const { bootCut } = await import('./bootCut.js');
  return bootCut(req.conf, req.out, stamp, a.boot);
}
