/** Every directive a recipe may hold: Rapido's manifest language plus ours. */
export const DIRECTIVES = {
  // Rapido's manifest directives, same meaning.
  bin: { min: 1, max: Infinity },
  'try-bin': { min: 1, max: Infinity },
  kmod: { min: 1, max: Infinity },
  'try-kmod': { min: 1, max: Infinity },
  dir: { min: 1, max: Infinity },
  file: { min: 1, max: 2 },
  autorun: { min: 1, max: Infinity },
  tree: { min: 2, max: 3 },
  slink: { min: 2, max: 2 },
  filter: { min: 1, max: Infinity },
  include: { min: 1, max: Infinity },
  // Ours.
  'dracut-module': { min: 1, max: Infinity },
  'dracut-install': { min: 1, max: Infinity },
  'vm-cpus': { min: 1, max: 1 },
  'vm-mem': { min: 1, max: 1 },
  // A disk QEMU attaches (virtio): a host file or a QEMU block URL such as rbd:POOL/IMAGE:conf=...; format default raw.
  'vm-drive': { min: 1, max: 2 },
  require: { min: 1, max: Infinity },
  env: { min: 1, max: 2 },
  // Like env, but its value is never recorded or shown (recipe/secrets.ts).
  secret: { min: 1, max: 2 },
  description: { min: 0, max: Infinity },
  // A NIC per net-conf tap (or user-mode networking) and the host share; Rapido spells it `include net.fest`.
  network: { min: 0, max: 0 },
  // The Ceph cluster's monitors and the user's key at /etc/ceph (from CEPH_CONF + CEPH_KEYRING, or CEPH_SRC).
  ceph: { min: 0, max: 0 },
} as const;

export type DirectiveKind = keyof typeof DIRECTIVES;

export interface Directive {
  kind: DirectiveKind;
  /** Arguments after `${VAR}` expansion. Host paths are made absolute against the manifest's directory. `network`: the VM_NET_CONF directory; `ceph`: conf, keyring, user, mon name. */
  args: string[];
  /** Where it was written, for error messages and `rapido-store why`. */
  file: string;
  line: number;
  /** The rapido.conf keys `${VAR}` expanded into args, when any (named by an error about a missing host path). */
  refs?: string[];
}

/** `tree --all /IMAGE/PATH HOST_DIR`: keep what a tree leaves out by default (.git, build droppings). */
export const TREE_ALL_FLAG = '--all';

/** The image path and host directory of a `tree` directive, with or without `--all`. */
export function treeArgs(d: { args: string[] }): { imagePath: string; hostDir: string; all: boolean } {
  const all = d.args.length === 3;
  return { imagePath: d.args[all ? 1 : 0], hostDir: d.args[all ? 2 : 1], all };
}
