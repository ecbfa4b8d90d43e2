/**
 * The one error type rapido raises on purpose. `code` is stable (scripts may
 * match on it), `hint` tells the user what to do next. The CLI formats these
 * in one place (src/cli/reportError.ts) and sets the exit code there.
 */
export class RapidoError extends Error {
  readonly code: string;
  readonly hint?: string;
  readonly exitCode: number;

  constructor(code: string, message: string, opts: { hint?: string; cause?: unknown; exitCode?: number } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'RapidoError';
    this.code = code;
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? 1;
  }
}

export function isRapidoError(e: unknown): e is RapidoError {
  return e instanceof RapidoError;
}
