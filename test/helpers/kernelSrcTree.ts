import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { requireKernel } from './hostPrereqs.js';

export interface KernelSrcTree {
  /** What KERNEL_SRC points at. */
  dir: string;
  release: string;
  /** `${dir}/mods/lib/modules/<release>`: where rapido must find the modules by default. */
  modDir: string;
  bzImage: string;
  vmlinux: string;
}

/** Modules the zram recipes need; the rest of the kernel's 400 MB is left out. */
const MODULES = ['kernel/drivers/block/zram', 'kernel/mm/zsmalloc.ko'];

/**
 * A tree shaped like a built kernel (`make; make modules_install
 * INSTALL_MOD_PATH=$PWD/mods`), made from the installed Debian kernel: CI
 * cannot afford a kernel build. bzImage is a copy of its vmlinuz, the release
 * is its own (the image reports it in uname -r), and the modules are copied
 * under mods/ and indexed with `depmod -b`, as modules_install does.
 */
export function makeKernelSrcTree(dir: string): KernelSrcTree {
  const k = requireKernel();
  const release = k.release;
  const bzImage = join(dir, 'arch/x86/boot/bzImage');
  mkdirSync(dirname(bzImage), { recursive: true });
  copyFileSync(k.image, bzImage);
  mkdirSync(join(dir, 'include/config'), { recursive: true });
  writeFileSync(join(dir, 'include/config/kernel.release'), `${release}\n`);
  // gdb only gets its path printed; the real one is the unstripped ELF a build leaves at the top.
  const vmlinux = join(dir, 'vmlinux');
  writeFileSync(vmlinux, '');
  const modDir = join(dir, 'mods/lib/modules', release);
  for (const rel of MODULES) cpSync(join(k.modDir, rel), join(modDir, rel), { recursive: true });
  for (const f of ['modules.builtin', 'modules.builtin.modinfo', 'modules.order']) {
    if (existsSync(join(k.modDir, f))) copyFileSync(join(k.modDir, f), join(modDir, f));
  }
  depmod(dir, release);
  return { dir, release, modDir, bzImage, vmlinux };
}

/** What `make modules_install` runs last. */
export function depmod(treeDir: string, release: string): void {
  const r = spawnSync('depmod', ['-b', join(treeDir, 'mods'), release], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`depmod -b ${join(treeDir, 'mods')} ${release} failed: ${r.stderr}`);
}
