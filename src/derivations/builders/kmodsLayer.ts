import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { TREE_MODS_DIR } from '../../config/kernelTree.js';
import { RapidoError } from '../../errors.js';
import type { HostInputs } from '../hostInputs.js';
import { resolveModules } from '../kmodClosure.js';
import type { LayerMemo } from '../layerMemo.js';
import type { LayerPlan } from '../layerPlan.js';
import type { CutContext } from './context.js';
import { EntrySet } from './entrySet.js';

function checkModDir(plan: LayerPlan, ctx: CutContext, inputs: HostInputs): void {
  const { modDir, release } = ctx.kernel;
  if (!inputs.lstat(modDir)?.isDirectory()) {
    const d = plan.directives[0];
    throw new RapidoError('KMOD_DIR_MISSING', `${d.file}:${d.line}: no modules directory ${modDir} for kernel ${release}`, {
      hint: ctx.kernel.source === 'KERNEL_SRC'
        ? `install the tree's modules: make modules_install INSTALL_MOD_PATH=<KERNEL_SRC>/${TREE_MODS_DIR} (used when it exists, or set KERNEL_INSTALL_MOD_PATH)`
        : 'install the kernel\'s modules (make modules_install, with KERNEL_INSTALL_MOD_PATH in rapido.conf for a tree-local install)',
    });
  }
}

/** The kernel's modules.* index files (modprobe's view of the modules), for any recipe with `kmod`. */
export function collectKmodIndexLayer(plan: LayerPlan, ctx: CutContext, inputs: HostInputs): EntrySet {
  const set = new EntrySet(inputs);
  checkModDir(plan, ctx, inputs);
  const { modDir, release } = ctx.kernel;
  for (const name of readdirSync(modDir).sort()) {
    if (!name.startsWith('modules.')) continue;
    const st = inputs.lstat(join(modDir, name));
    if (st?.isFile()) set.addHostFile(`/lib/modules/${release}/${name}`, join(modDir, name), st);
  }
  set.applyFilters(plan.directives.filter((d) => d.kind === 'filter').flatMap((d) => d.args));
  return set;
}

/** `kmod`/`try-kmod`: modules with their dependencies and softdeps. */
export function collectKmodsLayer(plan: LayerPlan, ctx: CutContext, inputs: HostInputs, memo: LayerMemo): EntrySet {
  const set = new EntrySet(inputs);
  checkModDir(plan, ctx, inputs);
  const { modDir, release } = ctx.kernel;
  const required = new Set<string>();
  const optional = new Set<string>();
  for (const d of plan.directives) {
    if (d.kind === 'kmod') d.args.forEach((a) => required.add(a));
    else if (d.kind === 'try-kmod') d.args.forEach((a) => optional.add(a));
  }
  // The closure depends only on the names and the depmod index files: reuse last cut's while they are unchanged.
  const names = [...required, ...optional];
  const index = ['modules.dep', 'modules.softdep', 'modules.alias', 'modules.builtin', 'modules.builtin.modinfo'].map((f) => {
    const p = join(modDir, f);
    inputs.lstat(p);
    return [p, inputs.sigs.get(p)];
  });
  const memoKey = JSON.stringify({ names, index });
  let res = memo.get<ReturnType<typeof resolveModules>>('closure', memoKey);
  if (!res) {
    res = resolveModules(modDir, names);
    memo.set('closure', memoKey, res);
  }
  const missing = res.missing.filter((m) => required.has(m));
  if (missing.length) {
    const d = plan.directives.find((x) => x.kind === 'kmod' && x.args.some((a) => missing.includes(a)))!;
    throw new RapidoError('KMOD_NOT_FOUND', `${d.file}:${d.line}: kernel module '${missing[0]}' does not exist for kernel ${release}`, {
      hint: `enable it in the kernel config (as =m or =y), or use try-kmod; modules live in ${modDir}`,
    });
  }
  const imageDir = `/lib/modules/${release}`;
  for (const rel of res.modules) {
    const st = inputs.lstat(join(modDir, rel));
    if (!st?.isFile()) throw new RapidoError('KMOD_NOT_FOUND', `modules.dep names ${rel}, but ${join(modDir, rel)} is missing`, { hint: 'run depmod, or reinstall the modules' });
    set.addHostFile(`${imageDir}/${rel}`, join(modDir, rel), st);
  }
  set.applyFilters(plan.directives.filter((d) => d.kind === 'filter').flatMap((d) => d.args));
  return set;
}
