import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readStamp, STAMP_VERSION, writeStamp, type Stamp, type StampLayer } from '../../src/image/stamp.js';

function layer(name: string, inputs: number): StampLayer {
  return {
    name, key: `k-${name}`, size: 100, digest: `d-${name}`, request: '{}', racy: false, object: [`/store/${name}`, '1:2:100:5:5:33188'],
    inputs: Array.from({ length: inputs }, (_, i) => [`/tree/${name}/${String(i).padStart(4, '0')}`, `1:${i}:10:5:5:33188`, `h${i}`]),
  };
}

function stamp(layers: StampLayer[]): Stamp {
  return {
    version: STAMP_VERSION, request: 'r', recipe: 'x', layers, store: { path: '/store', id: '1:2' },
    current: { ino: '1', size: 1, keys: [], sizes: [], sig: 's' }, vm: {}, kernel: { release: 'r', image: '/boot/vmlinuz' },
  };
}

function withDir(f: (out: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'rapido-stamp-'));
  try {
    f(join(dir, 'img'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const stampFile = (out: string) => join(out, '..', '.img.rapido.json');

test('stamp: written one layer per line, it reads back as the same stamp', () => {
  withDir((out) => {
    const s = stamp([layer('a', 3), layer('b', 0), { ...layer('c', 2), plan: 'c', memo: { snapshot: { key: 'id', value: { chunks: [1, 2] } } } }]);
    writeStamp(out, s);
    const text = readFileSync(stampFile(out), 'utf8');
    assert.equal(text.split('\n').length, s.layers.length + 2);
    assert.deepEqual(JSON.parse(text), s);
    assert.deepEqual({ ...readStamp(out) }, s);
  });
});

test('stamp: a re-cut copies the lines of the layers it did not change and writes the others anew', () => {
  withDir((out) => {
    writeStamp(out, stamp([layer('a', 3), layer('b', 2), layer('c', 2)]));
    // Mark layer b's line so that a copy of it shows: the same record, its keys in another order.
    const lines = readFileSync(stampFile(out), 'utf8').split('\n');
    const b = JSON.parse(lines[2].slice(0, -1)) as StampLayer;
    const marked = JSON.stringify(Object.fromEntries(Object.entries(b).reverse()));
    lines[2] = `${marked},`;
    writeFileSync(stampFile(out), lines.join('\n'));
    const prev = readStamp(out)!;
    assert.deepEqual(prev.layers[1], b);

    // a: new inputs (an edit); b: the last stamp's record as it was; c: equal content, but a new list.
    const next = stamp([{ ...prev.layers[0], inputs: [...prev.layers[0].inputs.slice(1)] }, prev.layers[1], { ...prev.layers[2], inputs: [...prev.layers[2].inputs] }]);
    writeStamp(out, next, prev);
    const text = readFileSync(stampFile(out), 'utf8');
    assert.ok(text.split('\n').includes(`${marked},`), 'the unchanged layer\'s line is copied');
    assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(next)));
    assert.equal(readStamp(out)!.layers[0].inputs.length, 2, 'the edited layer is written anew');

    // A layer whose record changed in any field is written anew, even with the same lists.
    const moved = stamp([next.layers[0], { ...readStamp(out)!.layers[1], object: ['/store/b', 'other'] }, next.layers[2]]);
    writeStamp(out, moved, readStamp(out));
    assert.deepEqual(readStamp(out)!.layers[1].object, ['/store/b', 'other']);
    assert.ok(!readFileSync(stampFile(out), 'utf8').includes(marked));
  });
});

test('stamp: a last stamp not laid out one layer per line (an older rapido, a pretty-printed one) is simply written anew', () => {
  withDir((out) => {
    const s = stamp([layer('a', 2), layer('b', 2)]);
    writeFileSync(stampFile(out), JSON.stringify(s, null, 1));
    const prev = readStamp(out)!;
    const next = stamp([prev.layers[0], { ...prev.layers[1], key: 'k-b2' }]);
    writeStamp(out, next, prev);
    assert.deepEqual(JSON.parse(readFileSync(stampFile(out), 'utf8')), JSON.parse(JSON.stringify(next)));
  });
});
