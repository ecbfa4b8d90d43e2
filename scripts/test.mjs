#!/usr/bin/env node
// Runs the compiled test files (dist/test/**/*.test.js; helpers are not tests).
//   node scripts/test.mjs            everything
//   node scripts/test.mjs --fast     unit, store and CLI tests (no guest boots)
//   node scripts/test.mjs --e2e      real kernels under QEMU: recipes, faults, bootVm
//   node scripts/test.mjs FILTER...  files whose path contains a FILTER
// One line per file on stdout and the failures in full; the whole spec
// report goes to dist/test-report.txt.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = 'dist/test';
// Files that boot guests: they need QEMU and a kernel, and take minutes.
const E2E = [/^e2e\//, /^faults\//, /^runner\/bootVm\.test\.js$/];

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? walk(join(dir, d.name)) : d.name.endsWith('.test.js') ? [join(dir, d.name)] : []);
}

const args = process.argv.slice(2);
const mode = args.includes('--fast') ? 'fast' : args.includes('--e2e') ? 'e2e' : 'all';
const filters = args.filter((a) => !a.startsWith('--'));
const files = walk(ROOT).sort().filter((f) => {
  const rel = relative(ROOT, f);
  const e2e = E2E.some((re) => re.test(rel));
  if (mode === 'fast' && e2e) return false;
  if (mode === 'e2e' && !e2e) return false;
  return filters.length === 0 || filters.some((x) => rel.includes(x));
});
if (files.length === 0) {
  console.error(`test: no test files match (${mode}${filters.length ? `, ${filters.join(' ')}` : ''}); did the build run?`);
  process.exit(1);
}
const r = spawnSync(process.execPath, [
  '--test', '--test-concurrency=2',
  '--test-reporter=./scripts/testReporter.mjs', '--test-reporter-destination=stdout',
  '--test-reporter=spec', '--test-reporter-destination=dist/test-report.txt',
  ...files,
], { stdio: 'inherit' });
process.exit(r.status ?? 1);
