import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, type Project } from '../helpers/cliHarness.js';
import { ImageView } from '../helpers/imageView.js';
import { objectFile, stampKeys } from '../commands/store/storeCli.js';
import { requireKernel } from '../helpers/hostPrereqs.js';

requireKernel();

const RECIPE = 'tree /data data\nautorun /bin/true\n';
const quiet = { start() {}, done() {}, say() {}, notice() {}, fetching() {} };

/**
 * Cuts `p` in this process while an "editor" rewrites data/a.txt, with
 * contents of the same size, right after the cut took its digest: `times`
 * times in all (once per digest asked for). That is the window between the
 * digest a layer key is computed from and the write of the layer's bytes.
 */
async function cutWhileEditing(p: Project, times: number): Promise<{ error?: Error & { code?: string }; edits: number }> {
  const { cutRequest } = await import('../../src/cut/cutRequest.js');
  const { cutImage } = await import('../../src/cut/cutImage.js');
  const { CutStore } = await import('../../src/cut/cutStore.js');
  const target = join(p.dir, 'data/a.txt');
  const digest = CutStore.prototype.digest;
  let edits = 0;
  CutStore.prototype.digest = function (path, sig, read) {
    const d = digest.call(this, path, sig, read);
    if (path === target && edits < times) writeFileSync(target, `ed${++edits}\n`);
    return d;
  };
  const cwd = process.cwd();
  try {
    process.chdir(p.dir);
    await cutImage(cutRequest('./r.rapido', [], p.env), quiet);
    return { edits };
  } catch (error) {
    return { error: error as Error, edits };
  } finally {
    CutStore.prototype.digest = digest;
    process.chdir(cwd);
  }
}

/** The key data/ gets when a.txt holds `text`, from an ordinary cut in a project of its own. */
function treeKeyFor(text: string): string {
  const ref = makeProject();
  try {
    ref.write('r.rapido', RECIPE);
    ref.write('data/a.txt', text);
    ref.write('data/b.txt', 'bbbb');
    const r = ref.run(['cut', '-B', './r.rapido']);
    assert.equal(r.status, 0, r.stderr);
    return stampKeys(ref.out)['tree:/data']!;
  } finally {
    ref.cleanup();
  }
}

test('a file rewritten (same size) between its digest and the write is not stored under the old key: the layer is derived again', async () => {
  const staleKey = treeKeyFor('one\n');
  const p = makeProject();
  try {
    p.write('r.rapido', RECIPE);
    p.write('data/a.txt', 'one\n');
    p.write('data/b.txt', 'bbbb');
    const { error, edits } = await cutWhileEditing(p, 1);
    assert.equal(error, undefined, String(error));
    assert.equal(edits, 1);
    assert.equal(new ImageView(readFileSync(p.out)).lookup('/data/a.txt')!.data!.toString(), 'ed1\n', 'the image holds what the file holds now');
    assert.ok(!existsSync(objectFile(p, staleKey)), 'no object under the key of the contents that were replaced');
    assert.equal(stampKeys(p.out)['tree:/data'], treeKeyFor('ed1\n'), 'the layer has the key of its contents');
  } finally {
    p.cleanup();
  }
});

test('a file that keeps changing during the cut fails it with CPIO_SOURCE_CHANGED, and nothing is stored under either stale key', async () => {
  const keys = [treeKeyFor('one\n'), treeKeyFor('ed1\n')];
  const p = makeProject();
  try {
    p.write('r.rapido', RECIPE);
    p.write('data/a.txt', 'one\n');
    p.write('data/b.txt', 'bbbb');
    const { error, edits } = await cutWhileEditing(p, 2);
    assert.equal(edits, 2);
    assert.equal(error?.code, 'CPIO_SOURCE_CHANGED', String(error));
    assert.match(error!.message, /data\/a\.txt: .*changed while its layer was being written/);
    for (const k of keys) assert.ok(!existsSync(objectFile(p, k)), `no object ${k}`);
    // Once the file is left alone, the cut goes through.
    const again = p.run(['cut', '-B', './r.rapido']);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(stampKeys(p.out)['tree:/data'], treeKeyFor('ed2\n'));
  } finally {
    p.cleanup();
  }
});
