/**
 * `rapido list | head`: a closed pipe ends the output, not the process (the
 * store must still close). Streams writing to stdout (export -o -) still see
 * the error through their own listeners.
 */
export function ignoreEpipe(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
}
