import { isRapidoError } from '../errors.js';

/** The one place errors become text and an exit code. */
export function reportError(e: unknown, prog = 'rapido'): void {
  if (isRapidoError(e)) {
    process.stderr.write(`${prog}: error: ${e.message}\n`);
    if (e.hint) process.stderr.write(`  hint: ${e.hint}\n`);
    if (process.env.RAPIDO_DEBUG && e.cause) process.stderr.write(`  cause: ${String((e.cause as Error).stack ?? e.cause)}\n`);
    process.exitCode = e.exitCode;
    return;
  }
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'ENOSPC') {
    process.stderr.write(`${prog}: error: no space left on device (${err.path ?? ''})\n  hint: free disk space, or run rapido-store gc\n`);
  } else {
    process.stderr.write(`${prog}: internal error: ${err?.stack ?? String(e)}\n  hint: please report this with the command you ran (set RAPIDO_DEBUG=1 for details)\n`);
  }
  process.exitCode = 70;
}
