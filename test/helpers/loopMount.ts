import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A filesystem of the given type on a sparse file, loop-mounted in a temp dir (root only). */
export interface LoopMount {
  dir: string;
  close(): void;
}

const MKFS: Record<string, string[]> = {
  // XFS refuses filesystems under 300 MB; the backing file is sparse, so size costs nothing.
  xfs: ['/usr/sbin/mkfs.xfs', '-q', '-f'],
  btrfs: ['/usr/sbin/mkfs.btrfs', '-q', '-f'],
  ext4: ['/usr/sbin/mkfs.ext4', '-q', '-F'],
};

export const LOOP_NEEDS = 'root, loop devices and mkfs.xfs, mkfs.btrfs and mkfs.ext4 (scripts/setup.sh installs xfsprogs and btrfs-progs)';

export function canLoopMount(): boolean {
  return process.getuid?.() === 0 && existsSync('/dev/loop-control') && Object.values(MKFS).every(([mkfs]) => existsSync(mkfs));
}

/** `mkfsArgs`: more options for mkfs (e.g. `-m reflink=0`, an XFS made before xfsprogs 5.1). */
export function loopMount(type: keyof typeof MKFS, mkfsArgs: string[] = []): LoopMount {
  const root = mkdtempSync(join(tmpdir(), `rapido-loop-${type}-`));
  const image = join(root, 'fs.img');
  const dir = join(root, 'mnt');
  mkdirSync(dir);
  writeFileSync(image, '');
  const run = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message}`);
  };
  try {
    run('truncate', ['-s', '512M', image]);
    const [mkfs, ...args] = MKFS[type];
    run(mkfs, [...args, ...mkfsArgs, image]);
    run('mount', ['-o', 'loop', image, dir]);
  } catch (e) {
    rmSync(root, { recursive: true, force: true });
    throw e;
  }
  return {
    dir,
    close() {
      // A lazy unmount if something still holds it: the loop device goes when the last user does.
      if (spawnSync('umount', [dir]).status !== 0) spawnSync('umount', ['-l', dir]);
      rmSync(root, { recursive: true, force: true });
    },
  };
}
