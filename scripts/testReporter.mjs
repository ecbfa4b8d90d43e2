// A node:test reporter that fits one screen: a line per test file, each
// failure in full, and a closing `N passed, N failed, N skipped` line.
import { relative } from 'node:path';

const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);

export default async function* oneScreen(source) {
  const files = new Map();
  const failures = [];
  const totals = { passed: 0, failed: 0, skipped: 0 };
  const fileOf = (data) => (data.file ? relative(process.cwd(), data.file) : '(top level)');
  const entry = (f) => {
    let e = files.get(f);
    if (!e) files.set(f, (e = { passed: 0, failed: 0, skipped: 0, ms: 0 }));
    return e;
  };
  for await (const { type, data } of source) {
    if (type !== 'test:pass' && type !== 'test:fail') continue;
    const e = entry(fileOf(data));
    // Suites carry their tests' results; count leaves only, but time the file by its top-level entries.
    if (data.nesting === 0) e.ms += data.details?.duration_ms ?? 0;
    const err = data.details?.error;
    if (data.details?.type === 'suite') {
      // A failing hook (e.g. a missing prerequisite under CI) fails the suite; its tests are then cancelled.
      if (type === 'test:fail' && err?.failureType !== 'subtestsFailed') failures.push({ file: fileOf(data), name: data.name, error: err });
      continue;
    }
    if (type === 'test:fail' && err?.failureType === 'cancelledByParent') {
      e.failed++;
      totals.failed++;
      continue;
    }
    if (data.skip !== undefined || data.todo !== undefined) {
      e.skipped++;
      totals.skipped++;
    } else if (type === 'test:pass') {
      e.passed++;
      totals.passed++;
    } else {
      e.failed++;
      totals.failed++;
      failures.push({ file: fileOf(data), name: data.name, error: data.details?.error });
    }
  }
  for (const [f, e] of [...files].sort()) {
    const mark = e.failed ? 'FAIL' : 'ok  ';
    const extra = [e.failed && `${e.failed} failed`, e.skipped && `${e.skipped} skipped`].filter(Boolean).join(', ');
    yield `${mark} ${f.replace(/^dist\//, '')}: ${e.passed} passed${extra ? `, ${extra}` : ''} (${fmt(e.ms)})\n`;
  }
  for (const x of failures) {
    const err = x.error?.cause ?? x.error;
    const lines = String(err?.stack ?? err?.message ?? err).split('\n').filter((l) => !/\(node:internal\/|node:async_hooks/.test(l));
    // A long message (an e2e test's console tail) is kept whole up to 60
    // lines, else its head and its tail: the cause is usually at the end.
    const kept = lines.length <= 60 ? lines : [...lines.slice(0, 15), `... (${lines.length - 55} lines left out)`, ...lines.slice(-40)];
    const text = kept.join('\n    ');
    yield `\nFAILED ${x.file.replace(/^dist\//, '')} > ${x.name}\n    ${text}\n`;
  }
  if (failures.length) yield '\n(full report: dist/test-report.txt)\n';
  yield `${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`;
}
