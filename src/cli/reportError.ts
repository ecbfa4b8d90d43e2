import { isRapidoError, type RapidoError } from '../errors.js';
import { diskFullError, isDiskFull } from '../store/diskFull.js';
import { EXIT } from '../exitCodes.js';

/** The one place errors become text and an exit code. */
export function reportError(e: unknown, prog = 'rapido'): void {
  // A full disk is one message wherever it struck (Node's ENOSPC from write(2) carries no path, LMDB's no code name).
  const err: unknown = !isRapidoError(e) && isDiskFull(e) ? diskFullError(e) : e;
  if (isRapidoError(err)) {
    const r: RapidoError = err;
    process.stderr.write(`${prog}: error: ${r.message}\n`);
    if (r.hint) process.stderr.write(`  hint: ${r.hint}\n`);
    if (process.env.RAPIDO_DEBUG && r.cause) process.stderr.write(`  cause: ${String((r.cause as Error).stack ?? r.cause)}\n`);
    process.exitCode = r.exitCode;
    return;
  }
  const x = err as Error | undefined;
  process.stderr.write(`${prog}: internal error: ${x?.stack ?? String(err)}\n  hint: please report this with the command you ran (set RAPIDO_DEBUG=1 for details)\n`);
  process.exitCode = EXIT.SOFTWARE;
}
