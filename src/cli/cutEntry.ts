import { cutCommand } from '../cut/cutCommand.js';
import type { NoopCheck } from '../cut/noopCut.js';
import type { CutArgs } from './fastArgs.js';
import { reportError } from './reportError.js';

/**
 * `rapido cut -B` when something changed, as one CommonJS bundle
 * (dist/bin/cut.cjs): builders, the hasher and LMDB stay lazy inside it.
 */
export function runCut(args: CutArgs, check?: NoopCheck): Promise<number> {
  return cutCommand({ ...args, boot: {} }, check).catch((e: unknown) => {
    reportError(e);
    return Number(process.exitCode ?? 1);
  });
}
