import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { test } from 'node:test';
import tar from 'tar-stream';
import { RapidoError } from '../../src/errors.js';
import { cleanTmp, getLayer, getManifest, hasObject, listLayers, objectPath, putLayer, recordManifest, STORE_FORMAT_VERSION, writeObject, type Store } from '../../src/store/index.js';
import { exportArchive } from '../../src/store/exportArchive.js';
import { MANIFEST_NAME, OBJECTS_PREFIX, SIG_NAME } from '../../src/store/exportManifest.js';
import { importArchive, type ImportOptions } from '../../src/store/importArchive.js';
import { listPins } from '../../src/store/pins.js';
import { generateKeyPair, parsePublicKey, parseSecretKey, type SecretKey } from '../../src/store/signingKeys.js';
import { trustKey } from '../../src/store/trustedKeys.js';
import { verifyStore } from '../../src/store/verify.js';
import { addDerived, runChild, tempDir, tempStore, writeScript } from './tempStore.js';

async function exportToBuffer(store: Store, keys: string[], signer?: SecretKey): Promise<Buffer> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await exportArchive(store, keys, out, { signer });
  return Buffer.concat(chunks);
}

const importBuffer = (store: Store, buf: Buffer, opts: Partial<ImportOptions> = {}) =>
  importArchive(store, Readable.from([buf]), { verifySignature: true, ...opts });

interface Setup {
  src: Store;
  dst: Store;
  keys: string[];
  signer: SecretKey;
  archive: Buffer;
}

async function setup(t: Parameters<typeof tempStore>[0], trust = true): Promise<Setup> {
  const src = await tempStore(t);
  const dst = await tempStore(t);
  const big = Buffer.alloc(3 << 20);
  for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
  const keys = [addDerived(src, 'system', big), addDerived(src, 'overlay', Buffer.from('overlay bytes')), addDerived(src, 'empty', Buffer.alloc(0))];
  recordManifest(src, 'abcdefabcdefabcd', [{ path: '/usr/bin/x', digest: '0123456789abcdef' }], keys[1]!);
  const pair = generateKeyPair('src-box');
  const signer = parseSecretKey(pair.secret);
  if (trust) trustKey(dst, parsePublicKey(pair.public));
  const archive = await exportToBuffer(src, keys, signer);
  return { src, dst, keys, signer, archive };
}

/** The store received nothing: no record, no object, no temp file left. */
function assertUntouched(store: Store): void {
  assert.deepEqual(listLayers(store), []);
  const objects = fs.readdirSync(store.paths.objects);
  assert.deepEqual(objects.flatMap((d) => fs.readdirSync(path.join(store.paths.objects, d))), []);
  assert.deepEqual(fs.readdirSync(store.paths.tmp), []);
}

async function rejects(p: Promise<unknown>, codeWanted: string, message: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof RapidoError, `expected a RapidoError, got ${String((e as Error)?.stack ?? e)}`);
    assert.equal(e.code, codeWanted, e.message);
    assert.match(e.message, message);
    assert.match(e.message, /nothing was imported/);
    return true;
  });
}

function offsetOf(buf: Buffer, text: string | Buffer): number {
  const i = buf.indexOf(text);
  assert.ok(i >= 0, `${String(text)} in the archive`);
  return i;
}

test('export/import: a signed round trip adds every layer with its record and manifest; a second import finds them present', async (t) => {
  const { src, dst, keys, archive } = await setup(t);
  const r = await importBuffer(dst, archive);
  assert.deepEqual(r.signedBy?.name, 'src-box');
  assert.deepEqual(r.entries.map((e) => e.outcome), ['added', 'added', 'added']);
  for (const k of keys) {
    assert.deepEqual(fs.readFileSync(objectPath(dst, k)), fs.readFileSync(objectPath(src, k)));
    const { lastUsedAt: _a, ...theirs } = getLayer(src, k)!;
    const { lastUsedAt: _b, ...ours } = getLayer(dst, k)!;
    assert.deepEqual(ours, theirs);
    assert.equal(fs.statSync(objectPath(dst, k)).mode & 0o777, 0o444);
  }
  assert.deepEqual(getManifest(dst, 'abcdefabcdefabcd'), getManifest(src, 'abcdefabcdefabcd'));
  assert.deepEqual(verifyStore(dst, { graceMs: 0 }).problems, []);
  assert.deepEqual(fs.readdirSync(dst.paths.tmp), []);

  const again = await importBuffer(dst, archive, { pin: 'from-src' });
  assert.deepEqual(again.entries.map((e) => e.outcome), ['present', 'present', 'present']);
  assert.deepEqual(listPins(dst).map((p) => [p.name, p.layers.length]), [['from-src', 3]]);
});

test('import replaces a corrupt local copy and keeps an intact one', async (t) => {
  const { dst, keys, archive } = await setup(t);
  await importBuffer(dst, archive);
  const p = objectPath(dst, keys[0]!);
  fs.chmodSync(p, 0o644);
  fs.truncateSync(p, 10);
  const r = await importBuffer(dst, archive);
  assert.deepEqual(r.entries.map((e) => e.outcome), ['replaced', 'present', 'present']);
  assert.deepEqual(verifyStore(dst, { graceMs: 0 }).problems, []);
});

test('import refuses an unsigned archive unless told not to verify, and a key it does not trust', async (t) => {
  const { src, dst, keys, archive } = await setup(t, false);
  await rejects(importBuffer(dst, archive), 'IMPORT_UNTRUSTED', /signed by key "src-box" \(fingerprint [0-9a-f]{16}\), which this store does not trust/);
  assertUntouched(dst);
  const unsigned = await exportToBuffer(src, keys);
  await rejects(importBuffer(dst, unsigned), 'IMPORT_UNSIGNED', /not signed/);
  assertUntouched(dst);
  const r = await importBuffer(dst, unsigned, { verifySignature: false });
  assert.equal(r.signedBy, null);
  assert.equal(r.entries.length, 3);
});

test('import of a truncated archive imports nothing and names where it broke', async (t) => {
  const { dst, keys, archive } = await setup(t);
  const objStart = offsetOf(archive, OBJECTS_PREFIX + keys[0]);
  const cases: [number, string, RegExp][] = [
    [0, 'IMPORT_BAD_ARCHIVE', /the archive is empty/],
    [300, 'IMPORT_TRUNCATED', /empty or truncated at its start/],
    [700, 'IMPORT_TRUNCATED', /truncated in rapido-export\/manifest\.json/],
    [objStart - 1, 'IMPORT_TRUNCATED', /truncated after rapido-export\/manifest\.sig/],
    [objStart + 512 + 100_000, 'IMPORT_TRUNCATED', new RegExp(`truncated in rapido-export/objects/${keys[0]}`)],
    [archive.length - 1100, 'IMPORT_TRUNCATED', new RegExp(`truncated after rapido-export/objects/${keys[1]}`)],
  ];
  for (const [at, c, re] of cases) {
    await rejects(importBuffer(dst, archive.subarray(0, at)), c, re);
    assertUntouched(dst);
  }
  // Cut cleanly at an entry boundary, without the end-of-archive blocks: an object is simply absent.
  const lastObj = offsetOf(archive, OBJECTS_PREFIX + keys[2]);
  await rejects(importBuffer(dst, archive.subarray(0, lastObj)), 'IMPORT_TRUNCATED', new RegExp(`ends before rapido-export/objects/${keys[2]} \\(2 of 3 objects present\\)|truncated`));
  assertUntouched(dst);
  // Not a tar at all (random bytes, or a compressed archive).
  await rejects(importBuffer(dst, Buffer.alloc(4096, 0x5a)), 'IMPORT_BAD_ARCHIVE', /not a readable tar archive/);
  assertUntouched(dst);
  // Only the end-of-archive blocks missing: every member arrived and checked, so it imports.
  assert.ok(archive.subarray(-1024).every((b) => b === 0));
  const r = await importBuffer(dst, archive.subarray(0, archive.length - 1024));
  assert.equal(r.entries.length, 3);
});

test('import of a tampered archive imports nothing: a changed content byte, a changed manifest', async (t) => {
  const { dst, keys, archive } = await setup(t);
  const content = Buffer.from(archive);
  content[offsetOf(content, OBJECTS_PREFIX + keys[0]) + 512 + 12345] ^= 0x20;
  await rejects(importBuffer(dst, content), 'IMPORT_TAMPERED', new RegExp(`rapido-export/objects/${keys[0]}: content does not match its SHA-256`));
  assertUntouched(dst);

  const manifest = Buffer.from(archive);
  const at = offsetOf(manifest, '"layerName": "overlay"');
  manifest.write('"layerName": "overlaX"', at); // same length: the tar stays well-formed
  await rejects(importBuffer(dst, manifest), 'IMPORT_BAD_SIGNATURE', /does not verify with trusted key src-box.*changed after signing/);
  assertUntouched(dst);
  // Unchecked signature: the manifest's own consistency still catches the edit.
  await rejects(importBuffer(dst, manifest, { verifySignature: false }), 'IMPORT_BAD_MANIFEST', /disagrees with the entry/);
  assertUntouched(dst);
});

/** A tar with the given members, to attack import with. */
async function craft(members: { name: string; type?: tar.Header['type']; data?: Buffer; linkname?: string }[]): Promise<Buffer> {
  const pack = tar.pack();
  const collected = (async () => {
    const chunks: Buffer[] = [];
    for await (const c of pack) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  })();
  for (const m of members) {
    const isFile = (m.type ?? 'file') === 'file';
    await new Promise<void>((res, rej) => {
      const header = { name: m.name, type: m.type ?? 'file', linkname: m.linkname, size: isFile ? m.data?.length ?? 0 : 0 };
      pack.entry(header, isFile ? m.data ?? Buffer.alloc(0) : Buffer.alloc(0), (e) => (e ? rej(e) : res()));
    });
  }
  pack.finalize();
  return collected;
}

test('import refuses absolute paths, "..", links, devices, directories and unexpected members', async (t) => {
  const { dst, keys, archive } = await setup(t);
  // The genuine manifest and signature first, so only the bad member is to blame.
  const members: { name: string; data: Buffer }[] = [];
  const ex = tar.extract();
  Readable.from([archive]).pipe(ex);
  for await (const e of ex) {
    const chunks: Buffer[] = [];
    for await (const c of e) chunks.push(c as Buffer);
    members.push({ name: e.header.name, data: Buffer.concat(chunks) });
  }
  const head = members.slice(0, 2);
  const bad: [Parameters<typeof craft>[0][number], RegExp][] = [
    [{ name: '../../etc/passwd', data: Buffer.from('x') }, /path traversal/],
    [{ name: `rapido-export/objects/../objects/${keys[0]}`, data: Buffer.from('x') }, /path traversal/],
    [{ name: '/etc/passwd', data: Buffer.from('x') }, /absolute path/],
    [{ name: `${OBJECTS_PREFIX}${keys[0]}`, type: 'symlink', linkname: '/etc/passwd' }, /symlink entries are not allowed/],
    [{ name: `${OBJECTS_PREFIX}${keys[0]}`, type: 'link', linkname: MANIFEST_NAME }, /link entries are not allowed/],
    [{ name: `${OBJECTS_PREFIX}${keys[0]}`, type: 'character-device' }, /character-device entries are not allowed/],
    [{ name: 'rapido-export/objects/', type: 'directory' }, /directory entries are not allowed/],
    [{ name: 'rapido-export/extra.txt', data: Buffer.from('x') }, /unexpected name/],
    [{ name: `${OBJECTS_PREFIX}0123456789abcdef`, data: Buffer.from('x') }, /not listed in the manifest/],
    [{ name: SIG_NAME, data: members[1]!.data }, /must directly follow/],
  ];
  for (const [member, re] of bad) {
    await rejects(importBuffer(dst, await craft([...head, members[2]!, member])), 'IMPORT_BAD_ENTRY', re);
    assertUntouched(dst);
    // First in the archive, before the manifest.
    await rejects(importBuffer(dst, await craft([member, ...members])), 'IMPORT_BAD_ENTRY', /./);
    assertUntouched(dst);
  }
  // A member twice.
  await rejects(importBuffer(dst, await craft([...members, members[2]!])), 'IMPORT_BAD_ENTRY', /appears twice/);
  assertUntouched(dst);
});

test('import refuses a record whose derivation does not hash to its key', async (t) => {
  const { dst } = await setup(t);
  const forged = await tempStore(t);
  const key = '0123456789abcdef';
  const w = writeObject(forged, key, (fd) => fs.writeSync(fd, 'payload'));
  putLayer(forged, { key, builder: 'native-system', layerName: 'system', size: w.size, digest: w.digest, derivation: { builder: 'native-system' }, createdAt: 0, lastUsedAt: 0 });
  const archive = await exportToBuffer(forged, [key]);
  await rejects(importBuffer(dst, archive, { verifySignature: false }), 'IMPORT_BAD_MANIFEST', /does not belong to its key \(its derivation hashes to [0-9a-f]{16}\)/);
  assertUntouched(dst);
});

test('export refuses a corrupt or missing object instead of shipping it', async (t) => {
  const { src, keys } = await setup(t);
  const p = objectPath(src, keys[1]!);
  fs.chmodSync(p, 0o644);
  fs.writeFileSync(p, 'overlay bytez');
  await assert.rejects(exportToBuffer(src, keys), (e: unknown) => e instanceof RapidoError && e.code === 'EXPORT_CORRUPT' && /verify --repair/.test(e.hint ?? ''));
  fs.rmSync(p);
  await assert.rejects(exportToBuffer(src, keys), (e: unknown) => e instanceof RapidoError && e.code === 'EXPORT_MISSING');
});

test('an import killed midway leaves nothing visible; its temp files are cleaned', async (t) => {
  const { dst, archive } = await setup(t);
  const dir = tempDir(t);
  const file = path.join(dir, 'a.tar');
  fs.writeFileSync(file, archive);
  const script = writeScript(
    dir,
    'importer.mjs',
    `
const { importArchive } = await import(${JSON.stringify(new URL('../../src/store/importArchive.js', import.meta.url).href)});
const { Readable } = await import('node:stream');
const [storeDir, file] = process.argv.slice(2);
await S.initHasher();
const store = S.openStore(storeDir);
const buf = fs.readFileSync(file);
// Hand over most of the archive, then stall forever: the parent kills us mid-object.
async function* slow() { yield buf.subarray(0, buf.length - 200000); fs.writeSync(1, 'midway\\n'); await new Promise(() => {}); }
await importArchive(store, Readable.from(slow()), { verifySignature: true });
`,
  );
  await dst.close();
  const child = runChild(script, [dst.dir, file]);
  await child.line((l) => l === 'midway');
  // Let it write what it was handed.
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(fs.readdirSync(dst.paths.tmp).length > 0, 'the importer was writing temp files');
  child.proc.kill('SIGKILL');
  await child.exited;
  const { openStore } = await import('../../src/store/index.js');
  const again = openStore(dst.dir);
  t.after(() => again.close());
  assert.deepEqual(listLayers(again), []);
  assert.ok(cleanTmp(again).length > 0);
  assertUntouched(again);
  assert.equal(hasObject(again, listLayers(again)[0]?.key ?? '0000000000000000'), false);
});

test('import refuses an archive from an older store format, whose keys a cut here would never derive', async (t) => {
  const { src, dst, keys } = await setup(t);
  const archive = await exportToBuffer(src, keys);
  const at = offsetOf(archive, `"storeFormat": ${STORE_FORMAT_VERSION}`);
  const old = Buffer.from(archive);
  old.write(`"storeFormat": 1`, at);
  await rejects(importBuffer(dst, old, { verifySignature: false }), 'IMPORT_VERSION', /exported from a store of format 1, .* format 2/);
  assertUntouched(dst);
});
