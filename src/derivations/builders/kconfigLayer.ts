import type { HostInputs } from '../hostInputs.js';
import type { LayerPlan } from '../layerPlan.js';
import type { CutContext } from './context.js';
import { EntrySet } from './entrySet.js';

/**
 * The kernel's configuration at /boot/config-RELEASE, where the suites'
 * scripts look for it (blktests' _have_kernel_option, fstests' checks),
 * from KERNEL_SRC's .config or the installed kernel's /boot/config-RELEASE.
 * Empty when the host has neither; a kernel built with IKCONFIG_PROC still
 * offers /proc/config.gz.
 */
export function collectKconfigLayer(plan: LayerPlan, ctx: CutContext, inputs: HostInputs): EntrySet {
  const set = new EntrySet(inputs);
  const st = inputs.lstat(ctx.kernel.config);
  if (st?.isFile()) set.addHostFile(`/boot/config-${ctx.kernel.release}`, ctx.kernel.config, st, 0o644);
  set.applyFilters(plan.directives.filter((d) => d.kind === 'filter').flatMap((d) => d.args));
  return set;
}
