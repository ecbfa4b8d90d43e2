import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { RapidoError } from '../errors.js';
import { configPath, isDir, type RapidoConfig } from './loadConfig.js';

/** Where a built x86 kernel tree keeps what rapido uses. */
const TREE_RELEASE_FILE = 'include/config/kernel.release';
const TREE_BZIMAGE = 'arch/x86/boot/bzImage';
const TREE_VMLINUX = 'vmlinux';
/** Rapido's example config installs a tree's modules here (KERNEL_INSTALL_MOD_PATH="${KERNEL_SRC}/mods"). */
export const TREE_MODS_DIR = 'mods';

export interface KernelTree {
  dir: string;
  /** `make kernelrelease`, as the build wrote it. */
  release: string;
  image: string;
}

/** A KERNEL_SRC tree: its release (the build must have run) and its bzImage path (which may not exist yet). */
export function readKernelTree(conf: RapidoConfig, src: string): KernelTree {
  const dir = configPath(conf, src);
  const relFile = join(dir, TREE_RELEASE_FILE);
  let release: string;
  try {
    release = readFileSync(relFile, 'utf8').trim();
  } catch (e) {
    throw new RapidoError('KERNEL_SRC_UNBUILT', `KERNEL_SRC=${dir}: cannot read ${relFile}`, {
      hint: 'build the kernel first (make -j$(nproc)), or fix KERNEL_SRC in rapido.conf',
      cause: e,
    });
  }
  if (!release) {
    throw new RapidoError('KERNEL_SRC_UNBUILT', `KERNEL_SRC=${dir}: ${relFile} is empty`, { hint: 'build the kernel first (make -j$(nproc))' });
  }
  const fixed = conf.get('KERNEL_RELEASE');
  if (fixed && fixed !== release) {
    // The tree's bzImage is what boots, so its release decides which modules the guest can load.
    throw new RapidoError(
      'KERNEL_CONFLICT',
      `rapido.conf sets KERNEL_SRC=${dir} (release ${release}) and KERNEL_RELEASE=${fixed}: KERNEL_SRC wins, ` +
        `because the guest boots its bzImage, which loads only ${release}'s modules`,
      { hint: `remove KERNEL_RELEASE from rapido.conf (or set it to ${release}); to boot /boot/vmlinuz-${fixed} instead, remove KERNEL_SRC` },
    );
  }
  return { dir, release, image: join(dir, TREE_BZIMAGE) };
}

/**
 * KERNEL_INSTALL_MOD_PATH as set, else `${KERNEL_SRC}/mods` when that exists
 * (Rapido's example config presets it), else none: /lib/modules.
 */
export function installModPath(conf: RapidoConfig): string | undefined {
  const set = conf.get('KERNEL_INSTALL_MOD_PATH');
  if (set) return configPath(conf, set);
  const src = conf.get('KERNEL_SRC');
  if (!src) return undefined;
  const mods = join(configPath(conf, src), TREE_MODS_DIR);
  return isDir(mods) ? mods : undefined;
}

/** KERNEL_SRC's vmlinux (symbols for gdb), when the image booted is that tree's bzImage and vmlinux was built. */
export function treeVmlinuxFor(conf: RapidoConfig, image: string): string | undefined {
  const src = conf.get('KERNEL_SRC');
  if (!src) return undefined;
  const dir = configPath(conf, src);
  if (resolve(image) !== join(dir, TREE_BZIMAGE)) return undefined;
  const p = join(dir, TREE_VMLINUX);
  return existsSync(p) ? p : undefined;
}

/** The error for a kernel image that is not there, with a hint that fits where it was expected. */
export function missingKernelError(image: string): RapidoError {
  if (image.endsWith(`/${TREE_BZIMAGE}`)) {
    const tree = dirname(dirname(dirname(dirname(image))));
    if (existsSync(join(tree, TREE_RELEASE_FILE))) {
      return new RapidoError('KERNEL_NOT_FOUND', `KERNEL_SRC=${tree} is configured and built, but has no ${TREE_BZIMAGE}`, {
        hint: `build the image: make -C ${tree} bzImage`,
      });
    }
  }
  return new RapidoError('KERNEL_NOT_FOUND', `kernel not found: ${image}`, {
    hint: 'set KERNEL_SRC (a built tree) or KERNEL_RELEASE in rapido.conf, or pass --kernel',
  });
}

/** `depmod` as it must be run for a modules directory `<root>/lib/modules/<release>`. */
export function depmodCommand(modDir: string): string {
  const m = /^(.*)\/lib\/modules\/([^/]+)\/?$/.exec(modDir);
  if (!m) return `depmod -b <root> <release> (for ${modDir})`;
  return m[1] ? `depmod -b ${m[1]} ${m[2]}` : `depmod ${m[2]}`;
}
