import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs, { readFileSync, rmSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeProject, type Project } from '../helpers/cliHarness.js';
import { ImageView } from '../helpers/imageView.js';
import { stampKeys, store } from '../commands/store/storeCli.js';
import { requireKernel } from '../helpers/hostPrereqs.js';

requireKernel();

const quiet = { start() {}, done() {}, say() {}, notice() {}, fetching() {} };

/** An in-process cut of p's r.rapido, counting how often each file under data/ is opened. */
async function countingCut(p: Project): Promise<Map<string, number>> {
  const { cutRequest } = await import('../../src/cut/cutRequest.js');
  const { cutImage } = await import('../../src/cut/cutImage.js');
  const data = join(p.dir, 'data') + '/';
  const opens = new Map<string, number>();
  const real = fs.openSync;
  fs.openSync = ((path: fs.PathLike, ...rest: unknown[]) => {
    const s = String(path);
    if (s.startsWith(data)) opens.set(s.slice(data.length), (opens.get(s.slice(data.length)) ?? 0) + 1);
    return (real as (...a: unknown[]) => number)(path, ...rest);
  }) as typeof fs.openSync;
  syncBuiltinESMExports();
  const cwd = process.cwd();
  try {
    process.chdir(p.dir);
    await cutImage(cutRequest('./r.rapido', [], p.env), quiet);
  } finally {
    fs.openSync = real;
    syncBuiltinESMExports();
    process.chdir(cwd);
  }
  return opens;
}

test('a cold cut reads each file of a tree once: its layers are written while the files are hashed, and keyed after', async () => {
  const p = makeProject();
  try {
    p.write('r.rapido', 'tree /data data\nautorun /bin/true\n');
    const names: string[] = [];
    for (let i = 0; i < 40; i++) names.push(p.write(`data/d${i % 4}/f${i}.txt`, `file ${i}\n`.repeat(i + 1)).slice(p.dir.length + 6));
    p.write('data/run.sh', '#!/bin/sh\necho hi\n', 0o755);
    await sleep(1100); // out of the racy window: the stat cache keeps what the cut hashes
    const cold = await countingCut(p);
    for (const n of names) assert.equal(cold.get(n), 1, `${n} opened ${cold.get(n)} times`);
    // An executable is read whole for the ELF check (its digest noted then), and once more by the write.
    assert.equal(cold.get('run.sh'), 2);
    const view = new ImageView(readFileSync(p.out));
    assert.equal(view.lookup('/data/d3/f7.txt')!.data!.toString(), 'file 7\n'.repeat(8));

    // Keyed as a cut that hashes first would key it: the audit derives each layer that way and finds it.
    const audit = store(p, ['audit', './r.rapido', '--layer', 'tree:/data']);
    assert.equal(audit.status, 0, audit.stdout + audit.stderr);
    assert.match(audit.stdout, /reproducible/);

    // Without its stamp, the next cut takes every digest from the stat cache: no file of the tree is read.
    const key = stampKeys(p.out)['tree:/data'];
    rmSync(join(p.dir, 'initrds'), { recursive: true });
    const warm = await countingCut(p);
    for (const n of names) assert.equal(warm.get(n), undefined, `${n} read again`);
    assert.equal(stampKeys(p.out)['tree:/data'], key);
  } finally {
    p.cleanup();
  }
});
