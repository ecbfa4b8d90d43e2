import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeImage, type ComposeLayer } from '../../src/image/composeImage.js';
import { readImageLayer } from '../../src/image/imageLayer.js';

function layer(dir: string, key: string, size: number, fill: number): ComposeLayer {
  const path = join(dir, key);
  const b = Buffer.alloc(size, fill);
  b.write(key); // not all one byte: an offset off by a slot would show
  writeFileSync(path, b);
  return { key, path, size };
}

test('image layer: each layer read back from its slot of the composed image; nothing once the image is not the file its layout describes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rapido-imagelayer-'));
  try {
    const out = join(dir, 'myinitrd');
    const layers = [layer(dir, 'aaaaaaaaaaaaaaaa', (1 << 20) + 7, 1), layer(dir, 'bbbbbbbbbbbbbbbb', 300_000, 2), layer(dir, 'cccccccccccccccc', 4096, 3)];
    const { current } = composeImage(out, layers, {});
    for (const l of layers) assert.ok(readImageLayer(out, current, l.key, l.size)?.equals(readFileSync(l.path)), l.key);
    assert.equal(readImageLayer(out, current, 'dddddddddddddddd', 10), undefined, 'a key the image does not hold');
    assert.equal(readImageLayer(out, current, layers[1].key, layers[1].size + 1), undefined, 'another size than the slot holds');
    assert.equal(readImageLayer(out, undefined, layers[1].key, layers[1].size), undefined, 'no layout');
    assert.equal(readImageLayer(out, { ...current, boot: 'another-boot' }, layers[1].key, layers[1].size), undefined, 'written unsynced in another boot');
    // Touched behind our back (its times moved): its bytes are no longer vouched for.
    const t = new Date(Date.now() - 60_000);
    utimesSync(out, t, t);
    assert.equal(readImageLayer(out, current, layers[1].key, layers[1].size), undefined);
    rmSync(out);
    assert.equal(readImageLayer(out, current, layers[1].key, layers[1].size), undefined, 'no image');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
