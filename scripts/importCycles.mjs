#!/usr/bin/env node
// Fails when the modules under src/ import each other in a cycle (type-only
// imports count: a cycle of types is still two modules that cannot be read
// apart). Strongly connected components of the relative-import graph.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

const ROOT = 'src';
const files = (function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? walk(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : []);
})(ROOT);
const known = new Set(files.map((f) => normalize(f)));
const IMPORT = /(?:import|export)\s[^;]*?from\s+'(\.[^']+)'|import\('(\.[^']+)'\)|import\s+'(\.[^']+)'/g;
const graph = new Map();
for (const f of known) {
  const deps = new Set();
  for (const m of readFileSync(f, 'utf8').matchAll(IMPORT)) {
    const target = normalize(join(dirname(f), m[1] ?? m[2] ?? m[3])).replace(/\.js$/, '.ts');
    if (known.has(target)) deps.add(target);
  }
  graph.set(f, deps);
}

// Tarjan's algorithm, iterative enough for a few hundred modules.
let index = 0;
const idx = new Map(), low = new Map(), stack = [], onStack = new Set(), cycles = [];
function visit(v) {
  idx.set(v, index); low.set(v, index); index++;
  stack.push(v); onStack.add(v);
  for (const w of graph.get(v)) {
    if (!idx.has(w)) { visit(w); low.set(v, Math.min(low.get(v), low.get(w))); }
    else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const scc = [];
    let w;
    do { w = stack.pop(); onStack.delete(w); scc.push(w); } while (w !== v);
    if (scc.length > 1 || graph.get(v).has(v)) cycles.push(scc.sort());
  }
}
for (const v of graph.keys()) if (!idx.has(v)) visit(v);
if (cycles.length) {
  for (const c of cycles) console.error(`import cycle: ${c.map((f) => relative(ROOT, f)).join(' <-> ')}`);
  process.exit(1);
}
console.log(`import cycles: none among ${graph.size} modules under ${ROOT}/`);
