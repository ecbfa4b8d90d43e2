import type { KernelInfo } from '../../config/resolveKernel.js';
import type { Recipe } from '../recipe/parseRecipe.js';

/** A `-x CMD` (command) or `-f FILE` (script) step run after the autorun scripts. */
export type PostStep = { kind: 'cmd'; cmd: string } | { kind: 'file'; path: string };

export interface CutContext {
  recipe: Recipe;
  kernel: KernelInfo;
  post: PostStep[];
  /** SOURCE_DATE_EPOCH: every entry's mtime. */
  epoch: number;
  /** Host PATH used to resolve `bin NAME`. */
  searchPath: string[];
  /** The guest init script installed at /rapido-init. */
  guestInit: string;
  /** Something the user may want to know that is not an error (e.g. a try-bin that was skipped); the cut decides where it goes. */
  notice?: (message: string) => void;
}

/** Bumped whenever a builder's output for the same inputs changes: part of every layer key. */
export const NATIVE_BUILDER_VERSION = 4;
