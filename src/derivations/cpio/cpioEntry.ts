/** What an archive member is; maps onto the S_IFMT bits of the newc mode field. */
export type CpioEntryType = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

/**
 * One member of a cpio archive, independent of where its bytes come from.
 * Layers build these from host files or generated data; the newc writer turns
 * them into bytes, the reader turns bytes back into them.
 */
export interface CpioEntry {
  /** Archive name, no leading '/' or './', e.g. 'usr/bin/bash'. */
  path: string;
  type: CpioEntryType;
  /** Permission bits only (& 0o7777); the type bits come from `type`. */
  mode: number;
  /** Default 0. */
  uid?: number;
  /** Default 0. */
  gid?: number;
  /** Seconds; default: the writer's epoch option. */
  mtime?: number;
  /** Default 1 (dirs: 2); hardlink groups always get the group's size. */
  nlink?: number;
  /** char/block devices. */
  rdevMajor?: number;
  rdevMinor?: number;
  /** File contents given in memory, or ... */
  data?: Buffer;
  /** ... a host path to read them from (regular file). */
  source?: string;
  /** For `data` holding a secret: the digest a derivation records instead of the data's own (recipe/secrets.ts). */
  recordedDigest?: string;
  /** Size of `source`; required with it. The writer throws if the file no longer has this size. */
  size?: number;
  /** Symlink target. */
  target?: string;
  /**
   * Entries sharing a group are hardlinks of each other: same inode,
   * nlink = group size, contents only on the last member written (as GNU cpio does).
   */
  hardlinkGroup?: string;
}

/** S_IFMT values of each entry type, as they appear in the archive's mode field. */
export const TYPE_BITS: Readonly<Record<CpioEntryType, number>> = {
  fifo: 0o010000,
  char: 0o020000,
  dir: 0o040000,
  block: 0o060000,
  file: 0o100000,
  symlink: 0o120000,
  socket: 0o140000,
};

/** The entry type of S_IFMT bits, or undefined for a value no archive should carry. */
export function typeOfModeBits(mode: number): CpioEntryType | undefined {
  switch (mode & 0o170000) {
    case 0o010000: return 'fifo';
    case 0o020000: return 'char';
    case 0o040000: return 'dir';
    case 0o060000: return 'block';
    case 0o100000: return 'file';
    case 0o120000: return 'symlink';
    case 0o140000: return 'socket';
    default: return undefined;
  }
}
