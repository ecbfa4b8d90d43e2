import { existsSync, readdirSync } from 'node:fs';
import { release as hostRelease } from 'node:os';
import { join } from 'node:path';
import { RapidoError } from '../errors.js';
import { installModPath, readKernelTree } from './kernelTree.js';
import { isDir, type RapidoConfig } from './loadConfig.js';

export interface KernelInfo {
  release: string;
  /** The bootable image: KERNEL_SRC's bzImage, or <KERNEL_INSTALL_MOD_PATH>/boot/vmlinuz-<release> when there, or /boot's. */
  image: string;
  /** Where this release's modules live (may not exist: only `kmod` needs it). */
  modDir: string;
  /** Its build configuration: KERNEL_SRC's .config or /boot/config-<release> (may not exist). */
  config: string;
  /** How it was chosen, for messages. */
  source: 'KERNEL_SRC' | 'KERNEL_RELEASE' | 'running' | 'newest-in-boot';
}

/**
 * KERNEL_SRC (a built tree; a different KERNEL_RELEASE next to it is an
 * error), then KERNEL_RELEASE (its image from KERNEL_INSTALL_MOD_PATH/boot
 * when there, as in an unpacked kernel package, else /boot), then the running kernel if it has an image and
 * modules, else the newest kernel in /boot with modules. Modules come from
 * KERNEL_INSTALL_MOD_PATH, else ${KERNEL_SRC}/mods when it exists, else /lib/modules.
 */
export function resolveKernel(conf: RapidoConfig, bootDir = '/boot', modulesRoot = '/lib/modules'): KernelInfo {
  const modPath = installModPath(conf);
  const modDirFor = (rel: string) => (modPath ? join(modPath, 'lib/modules', rel) : join(modulesRoot, rel));

  const src = conf.get('KERNEL_SRC');
  if (src) {
    // A KERNEL_RELEASE that disagrees with the tree is an error there, not a silent override.
    const tree = readKernelTree(conf, src);
    return { release: tree.release, image: tree.image, modDir: modDirFor(tree.release), config: join(tree.dir, '.config'), source: 'KERNEL_SRC' };
  }

  const rel = conf.get('KERNEL_RELEASE');
  const configOf = (r: string) => join(bootDir, `config-${r}`);
  if (rel) {
    // An unpacked kernel package (dpkg-deb -x: boot/ beside lib/modules/) as KERNEL_INSTALL_MOD_PATH: its own image goes with its modules.
    const beside = modPath ? join(modPath, 'boot') : undefined;
    const dir = beside && existsSync(join(beside, `vmlinuz-${rel}`)) ? beside : bootDir;
    return { release: rel, image: join(dir, `vmlinuz-${rel}`), modDir: modDirFor(rel), config: join(dir, `config-${rel}`), source: 'KERNEL_RELEASE' };
  }

  const running = hostRelease();
  if (existsSync(join(bootDir, `vmlinuz-${running}`)) && isDir(modDirFor(running))) {
    return { release: running, image: join(bootDir, `vmlinuz-${running}`), modDir: modDirFor(running), config: configOf(running), source: 'running' };
  }
  let candidates: string[] = [];
  try {
    candidates = readdirSync(bootDir)
      .filter((f) => f.startsWith('vmlinuz-'))
      .map((f) => f.slice('vmlinuz-'.length))
      .filter((r) => isDir(modDirFor(r)));
  } catch {
    /* no /boot: handled below */
  }
  candidates.sort(compareVersions);
  const newest = candidates.at(-1);
  if (!newest) {
    throw new RapidoError('NO_KERNEL', `no kernel found: /boot has no vmlinuz-* with modules under ${modDirFor('<release>')}`, {
      hint: 'install one (apt-get install linux-image-amd64), or set KERNEL_SRC to a built kernel tree in rapido.conf',
    });
  }
  return { release: newest, image: join(bootDir, `vmlinuz-${newest}`), modDir: modDirFor(newest), config: configOf(newest), source: 'newest-in-boot' };
}

/** Version-aware order: 6.10 sorts after 6.9. */
function compareVersions(a: string, b: string): number {
  const pa = a.split(/(\d+)/);
  const pb = b.split(/(\d+)/);
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] === pb[i]) continue;
    const na = Number(pa[i]);
    const nb = Number(pb[i]);
    if (i % 2 === 1 && !Number.isNaN(na) && !Number.isNaN(nb)) return na - nb;
    return pa[i] < pb[i] ? -1 : 1;
  }
  return pa.length - pb.length;
}
