import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeProject, type Project } from '../helpers/cliHarness.js';
import { ImageView } from '../helpers/imageView.js';
import { objectFile, stampKeys } from '../commands/store/storeCli.js';
import { requireKernel } from '../helpers/hostPrereqs.js';

requireKernel();

const RECIPE = 'tree /data data\nautorun run.sh\n';
const quiet = { start() {}, done() {}, say() {}, notice() {}, fetching() {} };
type Files = Record<string, string>;
const BASE: Files = { 'run.sh': 'one\n', 'data/a.txt': 'one\n', 'data/b.txt': 'bbbb' };

function fill(p: Project, files: Files): void {
  p.write('r.rapido', RECIPE);
  for (const [f, text] of Object.entries(files)) p.write(f, text);
}

/**
 * Cuts `p` in this process while an "editor" rewrites `target` with
 * contents of the same size (`ed1`, `ed2`...) right after the cut was given
 * a digest for it: `times` times in all. That is the window between the
 * digest a layer key is computed from and the write of the layer's bytes.
 * `via`: the digest asked for before building (CutStore.digest), or the
 * one that decides whether a tree layer is written in one pass (knownDigest).
 */
async function cutWhileEditing(p: Project, target: string, via: 'digest' | 'knownDigest', times: number): Promise<{ error?: Error & { code?: string }; edits: number }> {
  const { cutRequest } = await import('../../src/cut/cutRequest.js');
  const { cutImage } = await import('../../src/cut/cutImage.js');
  const { CutStore } = await import('../../src/cut/cutStore.js');
  const path = join(p.dir, target);
  type Asked = (this: unknown, file: string, sig: string | null | undefined, read?: unknown) => string | undefined;
  const proto = CutStore.prototype as unknown as Record<typeof via, Asked>;
  const original = proto[via];
  let edits = 0;
  proto[via] = function (file, sig, read) {
    const d = original.call(this, file, sig, read);
    if (file === path && d !== undefined && edits < times) writeFileSync(path, `ed${++edits}\n`);
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
    proto[via] = original;
    process.chdir(cwd);
  }
}

/** The key `layer` gets from these files, by an ordinary cut in a project of its own. */
function keyFor(layer: string, files: Files): string {
  const ref = makeProject();
  try {
    fill(ref, files);
    const r = ref.run(['cut', '-B', './r.rapido']);
    assert.equal(r.status, 0, r.stderr);
    return stampKeys(ref.out)[layer]!;
  } finally {
    ref.cleanup();
  }
}

test('a file rewritten (same size) between its digest and the write is not stored under the old key: the layer is derived again', async () => {
  const staleKey = keyFor('overlay', BASE);
  const p = makeProject();
  try {
    fill(p, BASE);
    const { error, edits } = await cutWhileEditing(p, 'run.sh', 'digest', 1);
    assert.equal(error, undefined, String(error));
    assert.equal(edits, 1);
    assert.equal(new ImageView(readFileSync(p.out)).lookup('/rapido-autorun/001-run.sh')!.data!.toString(), 'ed1\n', 'the image holds what the file holds now');
    assert.ok(!existsSync(objectFile(p, staleKey)), 'no object under the key of the contents that were replaced');
    assert.equal(stampKeys(p.out).overlay, keyFor('overlay', { ...BASE, 'run.sh': 'ed1\n' }), 'the layer has the key of its contents');
  } finally {
    p.cleanup();
  }
});

test('a file that keeps changing during the cut fails it with CPIO_SOURCE_CHANGED, and nothing is stored under either stale key', async () => {
  const keys = [keyFor('overlay', BASE), keyFor('overlay', { ...BASE, 'run.sh': 'ed1\n' })];
  const p = makeProject();
  try {
    fill(p, BASE);
    const { error, edits } = await cutWhileEditing(p, 'run.sh', 'digest', 2);
    assert.equal(edits, 2);
    assert.equal(error?.code, 'CPIO_SOURCE_CHANGED', String(error));
    assert.match(error!.message, /run\.sh: .*changed while its layer was being written/);
    for (const k of keys) assert.ok(!existsSync(objectFile(p, k)), `no object ${k}`);
    // Once the file is left alone, the cut goes through.
    const again = p.run(['cut', '-B', './r.rapido']);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(stampKeys(p.out).overlay, keyFor('overlay', { ...BASE, 'run.sh': 'ed2\n' }));
  } finally {
    p.cleanup();
  }
});

test('a tree layer written in one pass is keyed by the bytes it wrote: a file rewritten after its digest was known is not stored under the old key', async () => {
  const files = { ...BASE, 'data/c.txt': 'new file\n' };
  const staleKey = keyFor('tree:/data', files);
  const p = makeProject();
  try {
    fill(p, BASE);
    await sleep(1100); // past the racy window, so the stat cache keeps a.txt's digest
    const first = p.run(['cut', '-B', './r.rapido']);
    assert.equal(first.status, 0, first.stderr);
    // A new file makes the tree's layer one that is written before it is keyed; a.txt is known by the stat cache.
    rmSync(join(p.dir, 'initrds'), { recursive: true });
    p.write('data/c.txt', files['data/c.txt']);
    const { error, edits } = await cutWhileEditing(p, 'data/a.txt', 'knownDigest', 1);
    assert.equal(error, undefined, String(error));
    assert.equal(edits, 1, 'the cut was given a.txt\'s digest by the stat cache before writing the layer');
    assert.equal(new ImageView(readFileSync(p.out)).lookup('/data/a.txt')!.data!.toString(), 'ed1\n');
    assert.ok(!existsSync(objectFile(p, staleKey)), 'no object under the key of the contents that were replaced');
    assert.equal(stampKeys(p.out)['tree:/data'], keyFor('tree:/data', { ...files, 'data/a.txt': 'ed1\n' }));
  } finally {
    p.cleanup();
  }
});
