import { checkCut, upToDateLine, type NoopCheck } from '../cut/noopCut.js';
import { parseFastCut, type CutArgs } from './fastArgs.js';
import { writeStderr } from '../writeStderr.js';

export type FastCheck = { done: true; code: number } | { done: false; args: CutArgs; check?: NoopCheck };

/**
 * The first thing `rapido` runs (bundled as CommonJS: dist/bin/fast.cjs;
 * Node starts a CommonJS entry ~12 ms faster than an ES module one, and this
 * bundle is small). For `rapido cut -B ...` it decides a no-op from lstat
 * alone and answers it; otherwise it hands its findings to the cut bundle.
 * Undefined: not `cut -B`, the full CLI runs it.
 */
export function fastCheck(argv: string[]): FastCheck | undefined {
  const args = parseFastCut(argv);
  if (!args?.buildOnly) return undefined;
  try {
    const t0 = Date.now();
    const check = checkCut(args.name, args.post);
    if (check.prev && check.freshness.fresh) {
      writeStderr(upToDateLine(args.name, check.prev, check.req.out, Date.now() - t0));
      return { done: true, code: 0 };
    }
    return { done: false, args, check };
  } catch {
    return { done: false, args }; // the cut runs the check again and reports the error
  }
}

export { requireWithCodeCache } from './codeCache.js';
