// Fault: `rapido-store import` killed with SIGKILL halfway through a large
// archive leaves its staged objects in <store>/tmp. Every store command that
// writes must remove such abandoned temp files (their writer pid is dead).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { makeProject, RAPIDO_STORE_BIN, type Project } from '../helpers/cliHarness.js';
import { cut, store } from '../commands/store/storeCli.js';

let source: Project;
let archive: string;

before(() => {
  // An archive large enough (~64 MiB of incompressible data) that an import is still streaming when killed.
  source = makeProject();
  source.write('data/big.bin', randomBytes(48 << 20).toString('base64'));
  source.write('r.rapido', 'bin cat\ntree /data data\nautorun /bin/true\n');
  cut(source, './r.rapido');
  archive = join(source.dir, 'layers.tar');
  const e = store(source, ['export', '-o', archive, './r.rapido']);
  assert.equal(e.status, 0, e.stderr);
  assert.ok(statSync(archive).size > 60 << 20);
});
after(() => source?.cleanup());

const tmpFiles = (p: Project) => readdirSync(join(p.store, 'tmp'));

/** Starts an import into p's store, SIGKILLs it once it has staged some bytes in tmp/, and returns what it left. */
async function killImportMidway(p: Project): Promise<string[]> {
  const child = spawn(process.execPath, [RAPIDO_STORE_BIN, 'import', '--no-verify-signature', archive], { cwd: p.dir, env: p.env, stdio: 'ignore' });
  const exited = new Promise<NodeJS.Signals | null>((res) => child.on('close', (_code, signal) => res(signal)));
  const deadline = Date.now() + 60_000;
  for (;;) {
    let staged = 0;
    try {
      staged = tmpFiles(p).reduce((n, f) => n + statSync(join(p.store, 'tmp', f)).size, 0);
    } catch {
      /* tmp/ not created yet, or a file renamed meanwhile */
    }
    if (staged > 1 << 20) break;
    assert.ok(Date.now() < deadline && child.exitCode === null, 'the import ended before it could be killed midway');
    await sleep(5);
  }
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
  const left = tmpFiles(p);
  assert.ok(left.length > 0, 'the killed import left staged objects in tmp/');
  return left;
}

// Each command, run after a killed import, must leave tmp/ empty.
const writers: [string, (p: Project) => string[]][] = [
  ['import (of the same archive, to the end)', () => ['import', '--no-verify-signature', archive]],
  ['verify', () => ['verify']],
  ['verify --repair', () => ['verify', '--repair']],
  ['gc', () => ['gc']],
  ['pin', () => ['pin', 'keep', './small.rapido']],
  ['unpin', () => ['unpin', 'keep']],
  ['trust', (p) => {
    store(p, ['keygen', 'k', '--dir', p.dir]);
    return ['trust', join(p.dir, 'k.pub')];
  }],
];

for (const [name, argsOf] of writers) {
  test(`an import killed midway leaves its temp files; the next ${name} removes them`, async () => {
    const p = makeProject();
    try {
      // A store with a cut in it, so pin and unpin have something to do.
      p.write('small/x', 'x\n');
      p.write('small.rapido', 'bin cat\ntree /small small\nautorun /bin/true\n');
      cut(p, './small.rapido');
      if (name === 'unpin') assert.equal(store(p, ['pin', 'keep', './small.rapido']).status, 0);
      await killImportMidway(p);
      const args = argsOf(p);
      const r = store(p, args);
      assert.equal(r.status, 0, `rapido-store ${args.join(' ')}: ${r.stderr}`);
      assert.deepEqual(tmpFiles(p), [], `rapido-store ${args.join(' ')} removes what the killed import left`);
      if (name.startsWith('import')) assert.match(r.stderr, /imported 4 layers .*: 1 added, 3 already present/);
    } finally {
      p.cleanup();
    }
  });
}
