import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { RAPIDO_STORE_BIN } from '../../helpers/cliHarness.js';
import { altConf, builtCount, cut, makeProject, store, storeJson } from './storeCli.js';

test('export/import via the CLI: signed round trip, then a cut in the second store reuses every layer', () => {
  const p = makeProject();
  try {
    p.write('data/blob', 'z'.repeat(300_000));
    p.write('r.rapido', 'bin cat\ntree /data data\nkmod zram\nautorun /bin/true\n');
    cut(p, './r.rapido');
    // Same project paths, another store and image: as another machine with the same host files.
    const conf2 = altConf(p, 'second.conf', { store: join(p.dir, 'store2'), out: join(p.dir, 'initrds', 'second') });
    const env2 = { RAPIDO_CONF: conf2 };

    const kg = store(p, ['keygen', 'laptop']);
    assert.equal(kg.status, 0, kg.stderr);
    assert.equal(statSync(join(p.dir, 'laptop.key')).mode & 0o777, 0o600);
    assert.match(readFileSync(join(p.dir, 'laptop.pub'), 'utf8'), /^laptop:[A-Za-z0-9+/]+=*\n$/);
    const again = store(p, ['keygen', 'laptop']);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /laptop\.key already exists; not overwriting a key/);

    const ex = store(p, ['export', '-o', 'layers.tar', '--sign', 'laptop.key']);
    assert.equal(ex.status, 0, ex.stderr);
    const n = Number(/exported (\d+) layers \(.*\) to layers\.tar, signed by laptop \(fingerprint [0-9a-f]{16}\)/.exec(ex.stderr)?.[1]);
    assert.ok(n >= 4, ex.stderr);
    assert.deepEqual(readdirSync(p.dir).filter((f) => f.includes('.tmp')), [], 'no temp archive left');

    const untrusted = store(p, ['import', 'layers.tar'], env2);
    assert.equal(untrusted.status, 1);
    assert.match(untrusted.stderr, /signed by key "laptop" \(fingerprint [0-9a-f]{16}\), which this store does not trust; nothing was imported/);
    assert.match(untrusted.stderr, /hint: check the fingerprint with the signer, then: rapido-store trust laptop\.pub/);

    assert.match(store(p, ['trust', 'laptop.pub'], env2).stdout, /trusted laptop \(fingerprint [0-9a-f]{16}\)/);
    assert.match(store(p, ['trust'], env2).stdout, /^laptop +[0-9a-f]{16} {2}laptop:/m);
    const imp = store(p, ['import', 'layers.tar'], env2);
    assert.equal(imp.status, 0, imp.stderr);
    assert.match(imp.stderr, new RegExp(`imported ${n} layers \\(.*\\), signed by laptop \\(fingerprint [0-9a-f]{16}\\): ${n} added, 0 already present`));
    assert.match(imp.stdout, /^added +[0-9a-f]{16} {2}system /m);

    const c2 = p.run(['cut', '-B', './r.rapido'], { env: env2 });
    assert.equal(c2.status, 0, c2.stderr);
    assert.equal(builtCount(c2.stderr), 0, `every layer came from the import: ${c2.stderr}`);
    assert.deepEqual(readFileSync(join(p.dir, 'initrds', 'second')), readFileSync(p.out));

    // Over a pipe, as over ssh; the second import finds everything present.
    const piped = spawnSync('sh', ['-c', `"${process.execPath}" "${RAPIDO_STORE_BIN}" export -o - --sign laptop.key | RAPIDO_CONF="${conf2}" "${process.execPath}" "${RAPIDO_STORE_BIN}" import - --json`], {
      cwd: p.dir, env: p.env, encoding: 'utf8',
    });
    assert.equal(piped.status, 0, piped.stderr);
    const res = JSON.parse(piped.stdout) as { entries: { outcome: string }[]; signedBy: { name: string } };
    assert.deepEqual(res.entries.map((e) => e.outcome), Array(n).fill('present'));
    assert.equal(res.signedBy.name, 'laptop');

    assert.equal(store(p, ['verify'], env2).status, 0);
    assert.equal(store(p, ['untrust', 'laptop'], env2).status, 0);
    assert.match(store(p, ['untrust', 'laptop'], env2).stderr, /no trusted key named laptop/);
  } finally {
    p.cleanup();
  }
});

test('import via the CLI: unsigned, truncated and tampered archives are refused with a clear message', () => {
  const p = makeProject();
  try {
    p.write('data/blob', 'q'.repeat(200_000));
    p.write('r.rapido', 'bin cat\ntree /data data\n');
    cut(p, './r.rapido');
    const conf2 = altConf(p, 'second.conf', { store: join(p.dir, 'store2') });
    const env2 = { RAPIDO_CONF: conf2 };
    assert.equal(store(p, ['export', '-o', 'plain.tar', './r.rapido']).status, 0);

    const unsigned = store(p, ['import', 'plain.tar'], env2);
    assert.equal(unsigned.status, 1);
    assert.match(unsigned.stderr, /error: the archive is not signed; nothing was imported\n {2}hint: .*--no-verify-signature/);

    const full = readFileSync(join(p.dir, 'plain.tar'));
    writeFileSync(join(p.dir, 'short.tar'), full.subarray(0, full.length >> 1));
    const short = store(p, ['import', 'short.tar', '--no-verify-signature'], env2);
    assert.equal(short.status, 1);
    assert.match(short.stderr, /error: the archive is truncated in rapido-export\/objects\/[0-9a-f]{16}; nothing was imported/);

    const tampered = Buffer.from(full);
    const at = tampered.indexOf('q'.repeat(64));
    tampered[at + 10] = 'Q'.charCodeAt(0);
    writeFileSync(join(p.dir, 'tampered.tar'), tampered);
    const t = store(p, ['import', 'tampered.tar', '--no-verify-signature'], env2);
    assert.equal(t.status, 1);
    assert.match(t.stderr, /error: rapido-export\/objects\/[0-9a-f]{16}: content does not match its SHA-256 in the manifest; nothing was imported/);

    assert.match(store(p, ['import', 'nope.tar'], env2).stderr, /no archive file nope\.tar/);
    assert.match(store(p, ['export', '-o', 'x.tar', 'no-such-recipe']).stderr, /"no-such-recipe" is neither a layer key in the store nor a recipe/);
    assert.equal(existsSync(join(p.dir, 'x.tar')), false);

    // Nothing of the refused archives reached the second store.
    const ls = storeJson(p, ['ls'], env2);
    assert.deepEqual(ls.json, []);
    const ok = store(p, ['import', 'plain.tar', '--no-verify-signature', '--pin', 'plain'], env2);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stderr, /signature not checked \(--no-verify-signature\): 4 added, 0 already present; pinned as plain/);
  } finally {
    p.cleanup();
  }
});

test('a dracut layer travels with its two-level manifest: the other store\'s cut finds it by its closure', () => {
  const p = makeProject();
  try {
    p.write('d.rapido', 'dracut-module base\nautorun /bin/true\n');
    cut(p, './d.rapido');
    const conf2 = altConf(p, 'second.conf', { store: join(p.dir, 'store2'), out: join(p.dir, 'initrds', 'second') });
    assert.equal(store(p, ['export', '-o', 'd.tar', './d.rapido']).status, 0);
    const imp = store(p, ['import', 'd.tar', '--no-verify-signature'], { RAPIDO_CONF: conf2 });
    assert.equal(imp.status, 0, imp.stderr);
    assert.match(imp.stdout, /^added +[0-9a-f]{16} {2}dracut +dracut /m);
    const c2 = p.run(['cut', '-B', './d.rapido'], { env: { RAPIDO_CONF: conf2 } });
    assert.equal(builtCount(c2.stderr), 0, c2.stderr);
  } finally {
    p.cleanup();
  }
});
