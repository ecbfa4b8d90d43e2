// Shared helpers for the store tests (not a test file itself).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { canonicalJson } from '../../src/derivations/canonicalJson.js';
import { hashString, initHasher, openStore, putLayer, writeObject, type Store } from '../../src/store/index.js';

/** Absolute path of the built store API, for child scripts. */
const storeIndexPath = fileURLToPath(new URL('../../src/store/index.js', import.meta.url));

export function tempDir(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rapido-store-test-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A fresh store in its own temp dir, closed after the test. */
export async function tempStore(t: TestContext): Promise<Store> {
  await initHasher();
  const store = openStore(path.join(tempDir(t), 'store'));
  t.after(() => store.close());
  return store;
}

/** A pid that certainly belonged to a process that has exited and been reaped. */
export function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  return r.pid!;
}

/** Writes an ESM child script importing the built store API as `S`. */
export function writeScript(dir: string, name: string, body: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `import fs from 'node:fs';\nimport * as S from ${JSON.stringify(storeIndexPath)};\n${body}\n`);
  return file;
}

export interface Child {
  proc: ChildProcess;
  /** Resolves with the first stdout line that satisfies pred. */
  line(pred: (l: string) => boolean): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string }>;
}

export function runChild(script: string, args: string[]): Child {
  const proc = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: { pred: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    for (const l of stdout.split('\n')) {
      for (const w of [...waiters]) {
        if (w.pred(l)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(l);
        }
      }
    }
  });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string }>(
    (resolve) => proc.on('close', (code, signal) => resolve({ code, signal, stderr, stdout })),
  );
  return {
    proc,
    exited,
    line: (pred) =>
      new Promise((resolve, reject) => {
        waiters.push({ pred, resolve });
        void exited.then((r) => reject(new Error(`child exited before expected output: ${r.stderr}`)));
      }),
  };
}

/** A layer whose key is the hash of its derivation, as a native builder makes it (export, import and substituter tests). */
export function addDerived(store: Store, name: string, bytes: Buffer): string {
  const derivation = { builder: 'native-test', layer: name, version: 1 };
  const key = hashString(canonicalJson(derivation));
  const w = writeObject(store, key, (fd) => fs.writeSync(fd, bytes));
  putLayer(store, { key, builder: 'native-test', layerName: name, size: w.size, digest: w.digest, derivation, createdAt: 1000, lastUsedAt: 2000 });
  return key;
}
