import { formatBytes } from '../format.js';
import { stderrIsTTY, writeStderr } from '../writeStderr.js';

/** One layer of a cut, as reported while cutting and in the summary. */
export interface LayerOutcome {
  name: string;
  builder: string;
  key: string;
  size: number;
  /** 'stamp': decided from stat alone; 'store': found in the store; 'fetched': downloaded from a substituter; 'built': built now. */
  source: 'stamp' | 'store' | 'fetched' | 'built';
  ms: number;
}

/** Per-layer progress on a TTY; silence otherwise (the caller prints one summary line). */
export interface Progress {
  start(layer: string, builder: string): void;
  done(outcome: LayerOutcome): void;
  /** A line for the user (`rapido: ` is prepended), on any output. */
  say(line: string): void;
  /** A line only a person at a terminal wants (e.g. a skipped try-bin); nothing in scripts and logs. */
  notice(line: string): void;
  /** Layers looked up on substituters: DONE of TOTAL, BYTES downloaded so far (a line on a TTY only). */
  fetching(done: number, total: number, bytes: number): void;
}

const SOURCE_LABEL: Record<LayerOutcome['source'], string> = { stamp: 'unchanged', store: 'from store', fetched: 'fetched', built: 'built' };

/** Progress on stderr: drawn on a terminal; elsewhere only `say` lines, written without creating process.stderr (writeStderr.ts). */
export function makeProgress(): Progress {
  if (!stderrIsTTY()) return { start() {}, done() {}, say: (line) => writeStderr(`rapido: ${line}\n`), notice() {}, fetching() {} };
  const tty = process.stderr;
  let timer: NodeJS.Timeout | undefined;
  // On a terminal a message first clears the progress line being drawn, which then goes on below it.
  const say = (line: string) => void tty.write(`\r\x1b[Krapido: ${line}\n`);
  return {
    say,
    notice: say,
    fetching(done, total, bytes) {
      tty.write(`\r\x1b[K  ${'substituters'.padEnd(16)} ${done}/${total} layers looked up, ${formatBytes(bytes)} downloaded`);
    },
    start(layer, builder) {
      const t0 = Date.now();
      const draw = () => tty.write(`\r\x1b[K  ${layer.padEnd(16)} ${builder.padEnd(15)} ${((Date.now() - t0) / 1000).toFixed(1)}s`);
      draw();
      timer = setInterval(draw, 200);
      timer.unref();
    },
    done(o) {
      if (timer) clearInterval(timer);
      tty.write(`\r\x1b[K  ${o.name.padEnd(16)} ${o.builder.padEnd(15)} ${SOURCE_LABEL[o.source].padEnd(10)} ${formatBytes(o.size).padStart(9)}  ${o.ms.toFixed(0)} ms\n`);
    },
  };
}
