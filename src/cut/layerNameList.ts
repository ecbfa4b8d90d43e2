/**
 * Layer names for the summary line, with the chunks of one plan folded into
 * ranges the way a shell writes them: `tree:/data#{1-263,266}` instead of
 * 264 names (a cold cut of a big tree over a stale stamp lists them all).
 * Order is kept; a lone chunk stays `tree:/data#5`.
 */
export function layerNameList(names: string[]): string {
  const out: string[] = [];
  let plan: string | undefined;
  let runs: [number, number][] = [];
  const flush = () => {
    if (plan === undefined) return;
    const parts = runs.map(([a, b]) => (a === b ? String(a) : `${a}-${b}`));
    out.push(parts.length === 1 && runs[0][0] === runs[0][1] ? `${plan}#${parts[0]}` : `${plan}#{${parts.join(',')}}`);
    plan = undefined;
    runs = [];
  };
  for (const name of names) {
    const m = /^(.*)#(\d+)$/.exec(name);
    if (!m) {
      flush();
      out.push(name);
      continue;
    }
    const n = Number(m[2]);
    if (m[1] !== plan) {
      flush();
      plan = m[1];
    }
    const last = runs[runs.length - 1];
    if (last && n === last[1] + 1) last[1] = n;
    else runs.push([n, n]);
  }
  flush();
  return out.join(' ');
}
