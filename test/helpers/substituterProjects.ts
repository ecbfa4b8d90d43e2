import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { makeProject, RAPIDO_STORE_BIN, type Project } from './cliHarness.js';

/**
 * Two throw-away projects for substituter tests: A builds a recipe and pushes
 * it (signed with A's key) to a file:// cache in A's dir; B has an empty
 * store, trusts A's key unless asked not to, and lists SUBSTITUTERS.
 */
export interface CachePair {
  a: Project;
  b: Project;
  cache: string;
  cacheUrl: string;
  keyFile: string;
  store(p: Project, args: string[]): ReturnType<Project['run']>;
  cleanup(): void;
}

export function cachePair(recipe: string, opts: { trust?: boolean; push?: boolean; substituters?: (cacheUrl: string) => string; files?: Record<string, string> } = {}): CachePair {
  const a = makeProject();
  const cache = join(a.dir, 'cache');
  const cacheUrl = pathToFileURL(cache).href;
  const b = makeProject(`RAPIDO_SUBSTITUTERS="${(opts.substituters ?? ((u) => u))(cacheUrl)}"\n`);
  const store = (p: Project, args: string[]) => p.run(args, { bin: RAPIDO_STORE_BIN });
  const must = (r: ReturnType<Project['run']>, what: string) => {
    if (r.status !== 0) throw new Error(`${what} failed (${r.status}): ${r.stderr}`);
    return r;
  };
  const keyFile = join(a.dir, 'ci.key');
  for (const [rel, text] of Object.entries(opts.files ?? {})) {
    a.write(rel, text);
    b.write(rel, text);
  }
  try {
    must(a.run(['cut', '-B', recipe]), 'cut in A');
    must(store(a, ['keygen', 'ci', '--dir', a.dir]), 'keygen');
    if (opts.push !== false) must(store(a, ['push', '--to', cacheUrl, '--key', keyFile, recipe]), 'push');
    if (opts.trust !== false) must(store(b, ['trust', join(a.dir, 'ci.pub')]), 'trust');
  } catch (e) {
    a.cleanup();
    b.cleanup();
    throw e;
  }
  return {
    a, b, cache, cacheUrl, keyFile, store,
    cleanup() {
      a.cleanup();
      b.cleanup();
    },
  };
}

export const imageOf = (p: Project): Buffer => readFileSync(p.out);
