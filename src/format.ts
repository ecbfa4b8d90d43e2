// How rapido reads and writes sizes, durations and ages: one way, so `ls`, `info`, gc's report
// and the cut summary agree.
import { RapidoError } from './errors.js';
import { EXIT } from './exitCodes.js';

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** "10G", "500M", "1.5GiB", "4096": binary units, as du -h and ls -lh show them. */
export function parseSize(text: string, option = '--max-size'): number {
  if (text.trim().startsWith('-')) {
    throw new RapidoError('USAGE', `${option}: a size cannot be negative: ${JSON.stringify(text)}`, { hint: 'write e.g. 20G, 500M or 1.5GiB (binary units)', exitCode: EXIT.USAGE });
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (!m) {
    throw new RapidoError('USAGE', `${option}: cannot read ${JSON.stringify(text)} as a size`, { hint: 'write e.g. 20G, 500M or 1.5GiB (binary units)', exitCode: EXIT.USAGE });
  }
  return Math.floor(Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!);
}

const DURATION_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** "7d", "12h", "30m", "90s", "2w", "1d12h"; a bare number is seconds. */
export function parseDuration(text: string, option: string): number {
  const t = text.trim();
  if (t.startsWith('-')) {
    throw new RapidoError('USAGE', `${option}: a duration cannot be negative: ${JSON.stringify(text)}`, { hint: 'write e.g. 10m, 12h, 7d or 0 for none', exitCode: EXIT.USAGE });
  }
  if (/^\d+(?:\.\d+)?$/.test(t)) return Number(t) * 1000;
  const re = /(\d+(?:\.\d+)?)\s*([smhdw])/gy;
  let ms = 0;
  let end = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(t))) {
    ms += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    end = re.lastIndex;
  }
  if (end === 0 || end !== t.length) {
    throw new RapidoError('USAGE', `${option}: cannot read ${JSON.stringify(text)} as a duration`, { hint: 'write e.g. 7d, 12h, 30m, 90s or 1d12h', exitCode: EXIT.USAGE });
  }
  return ms;
}

/** Binary units up to GiB ("20.2 MiB", "1.25 GiB"). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 2 ** 20) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 2 ** 30) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  return `${(n / 2 ** 30).toFixed(2)} GiB`;
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s % 86400 === 0 && s > 0) return `${s / 86400}d`;
  if (s % 3600 === 0 && s > 0) return `${s / 3600}h`;
  if (s % 60 === 0 && s > 0) return `${s / 60}m`;
  return `${s}s`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** An age: "42s", "5m", "3h", "2d" (rounded to the largest unit). */
export function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.round(s / 60)}m`;
  if (s < 86400) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}
