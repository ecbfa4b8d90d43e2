import { fstatSync, writeSync } from 'node:fs';

/**
 * Writes to fd 2 directly. The first use of process.stderr costs 3-7 ms
 * (node:stream and a pipe or file stream), a share of a warm cut or no-op
 * that prints one line. Ordering with process.stderr holds: on Linux it
 * writes files, pipes and terminals synchronously too. A non-blocking fd
 * that is full (EAGAIN) hands the rest to process.stderr, which waits; a
 * closed pipe (EPIPE) drops the line, as for `rapido cut ... 2>&1 | head`.
 */
export function writeStderr(text: string): void {
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(2, buf, off, buf.length - off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        process.stderr.write(buf.subarray(off));
        return;
      }
      if (code === 'EPIPE') return;
      throw e;
    }
  }
}

/**
 * Whether fd 2 is a terminal, without loading node:tty (3-4 ms) when it is
 * a file or a pipe, as in scripts, CI and benchmarks: only a character
 * device (a terminal, or /dev/null) is asked the real question.
 */
export function stderrIsTTY(): boolean {
  try {
    if (!fstatSync(2).isCharacterDevice()) return false;
  } catch {
    return false;
  }
  return process.stderr.isTTY === true;
}
