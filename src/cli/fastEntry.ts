import { checkCut, upToDateLine } from '../cut/noopCut.js';
import { parseFastCut } from './fastArgs.js';

/**
 * The warm no-op `rapido cut -B NAME`, bundled as CommonJS (dist/bin/fast.cjs)
 * and loaded by bin/rapido.js before anything else: Node starts a CommonJS
 * entry ~12 ms faster than an ES module one, which is a tenth of the whole
 * no-op. Returns the exit code when it handled the command, undefined when
 * the full CLI must run (anything else, or any error: the full CLI reports it).
 */
export function fastCut(argv: string[]): number | undefined {
  try {
    const a = parseFastCut(argv);
    if (!a?.buildOnly) return undefined;
    const t0 = Date.now();
    const { req, prev, freshness } = checkCut(a.name, a.post);
    if (!prev || !freshness.fresh) return undefined;
    process.stderr.write(upToDateLine(a.name, prev, req.out, Date.now() - t0));
    return 0;
  } catch {
    return undefined;
  }
}
