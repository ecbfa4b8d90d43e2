import { readFileSync } from 'node:fs';
import { readNewc } from '../derivations/cpio/readNewc.js';
import type { Recipe } from '../derivations/recipe/parseRecipe.js';

/** The VM an image asks for: Rapido's /rapido-rsc/cpu/N and /rapido-rsc/mem/SIZE entries, or vm-cpus / vm-mem. */
export interface VmResources {
  cpus?: number;
  mem?: string;
  /** The image wants a network: the `network` directive (Rapido: `/rapido-rsc/net`, from `include net.fest`). */
  net?: boolean;
  /** `vm-drive` disks, in recipe order: QEMU attaches each as a virtio disk (/dev/vda, vdb, ...). */
  drives?: VmDrive[];
}

interface VmDrive {
  /** A host path or a QEMU block URL (rbd:POOL/IMAGE:...). */
  file: string;
  format: string;
}

/** The one parser of a /rapido-rsc path (with or without the leading slash, as cpio stores it). */
function applyRsc(vm: VmResources, path: string): void {
  if (/^\/?rapido-rsc\/net(\/|$)/.test(path)) vm.net = true;
  const m = /^\/?rapido-rsc\/(cpu|mem)\/([^/]+)$/.exec(path);
  if (m?.[1] === 'cpu') vm.cpus = Number(m[2]);
  if (m?.[1] === 'mem') vm.mem = m[2].toUpperCase();
}

/** What a recipe asks for; recorded in the stamp when the image is cut, so booting reads no image. */
export function recipeVmResources(recipe: Recipe): VmResources {
  const vm: VmResources = {};
  for (const d of recipe.directives) {
    if (d.kind === 'vm-cpus') vm.cpus = Number(d.args[0]);
    if (d.kind === 'vm-mem') vm.mem = d.args[0].toUpperCase();
    if (d.kind === 'file') applyRsc(vm, d.args[0]);
    if (d.kind === 'network') vm.net = true;
    if (d.kind === 'vm-drive') (vm.drives ??= []).push({ file: d.args[0], format: d.args[1] ?? 'raw' });
  }
  return vm;
}

/** An image rapido did not cut (or whose stamp is gone): its /rapido-rsc entries; none if it is no newc archive. */
export function imageVmResources(out: string): VmResources {
  const vm: VmResources = {};
  let entries;
  try {
    entries = readNewc(readFileSync(out));
  } catch {
    return vm; // compressed or not an archive: the defaults apply
  }
  for (const e of entries) applyRsc(vm, e.path);
  return vm;
}
