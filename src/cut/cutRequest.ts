import { loadConfig, outPath, storeDir, type RapidoConfig } from '../config/loadConfig.js';
import { resolveKernel, type KernelInfo } from '../config/resolveKernel.js';
import { canonicalJson } from '../derivations/canonicalJson.js';
import { NATIVE_BUILDER_VERSION, type PostStep } from '../derivations/builders/context.js';
import { findRecipe } from '../derivations/recipe/findRecipe.js';
import { parseRecipe, type Recipe } from '../derivations/recipe/parseRecipe.js';
import { shownVars } from '../derivations/recipe/secrets.js';
import { STAMP_VERSION } from '../image/stamp.js';
import { resolve } from 'node:path';
import { warnUnknownConfKeys } from './confWarnings.js';
import { guestInitPath, guestNetPath } from '../runner/guestInitPath.js';

/**
 * Everything a cut is decided by, apart from file contents. Cheap to build
 * (text parsing only), so the warm path can compare it with the stamp.
 */
export interface CutRequest {
  conf: RapidoConfig;
  kernel: KernelInfo;
  recipe: Recipe;
  post: PostStep[];
  out: string;
  store: string;
  epoch: number;
  searchPath: string[];
  /** Canonical JSON of all of the above that matters for the image. */
  key: string;
}

const DEFAULT_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export function cutRequest(
  recipeName: string,
  post: PostStep[],
  env: NodeJS.ProcessEnv = process.env,
  opts: { warnUnknownKeys?: boolean } = {},
): CutRequest {
  const conf = loadConfig(process.cwd(), env);
  // Before anything can fail on the value a misspelled key did not set (a kernel, a recipe directory, a ${VAR}).
  if (opts.warnUnknownKeys) warnUnknownConfKeys(conf, recipeName);
  const recipePath = findRecipe(recipeName, conf);
  const kernel = resolveKernel(conf);
  const recipe = parseRecipe(recipeName, recipePath, conf);
  const epoch = Number(env.SOURCE_DATE_EPOCH ?? 0) || 0;
  const searchPath = [...new Set([...(env.PATH ?? '').split(':').filter((p) => p.startsWith('/')), ...DEFAULT_PATH])];
  const absPost = post.map((p) => (p.kind === 'file' ? { kind: 'file' as const, path: resolve(p.path) } : p));
  const out = outPath(conf);
  const store = storeDir(conf);
  const key = canonicalJson({
    v: STAMP_VERSION,
    builders: NATIVE_BUILDER_VERSION,
    recipe: recipe.path,
    manifests: recipe.files,
    directives: recipe.directives.map((d) => [d.kind, ...d.args]),
    vars: shownVars(recipe.vars, recipe.secrets),
    kernel,
    post: absPost,
    epoch,
    searchPath,
    dracutExtra: conf.get('DRACUT_EXTRA_ARGS') ?? '',
    store,
    // Another rapido install (another checkout) ships its own guest init: its path decides the overlay too.
    guestInit: guestInitPath(),
    guestNet: guestNetPath(),
  });
  return { conf, kernel, recipe, post: absPost, out, store, epoch, searchPath, key };
}
