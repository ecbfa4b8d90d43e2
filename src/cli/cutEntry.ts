import { buildCut } from '../cut/buildCut.js';
import type { NoopCheck } from '../cut/noopCut.js';
import type { CutArgs } from './fastArgs.js';
import { reportError } from './reportError.js';

/**
 * `rapido cut -B` when something changed, as one CommonJS bundle
 * (dist/bin/cut.cjs): builders, the hasher and LMDB stay lazy inside it,
 * and nothing of the boot side is in it.
 */
export async function runCut(args: CutArgs, check?: NoopCheck): Promise<{ code: number; warm: boolean }> {
  try {
    const { warm } = await buildCut(args.name, args.post, check, { substitute: !args.noSubstitute });
    return { code: 0, warm };
  } catch (e) {
    reportError(e);
    return { code: Number(process.exitCode ?? 1), warm: false };
  }
}
