import { treeArgs, type Directive, type DirectiveKind } from './recipe/directives.js';
import type { Recipe } from './recipe/parseRecipe.js';

/**
 * A cut's layers, in the order they are concatenated into the image. The
 * order is by how often a layer changes: what a developer edits all day
 * (autorun scripts, -x steps, config values: the overlay) is last, so a
 * re-cut rewrites only the image's tail; the kernel's modules change with
 * each kernel build and come just before it.
 */
type LayerKind = 'dracut' | 'system' | 'tree' | 'kconfig' | 'kmod-index' | 'kmods' | 'net' | 'overlay';

export interface LayerPlan {
  /** Unique within a cut: 'dracut', 'system', 'tree:/fstests', 'kconfig', 'kmod-index', 'kmods', 'net', 'overlay'. */
  name: string;
  kind: LayerKind;
  directives: Directive[];
}

const KIND_OF: Record<DirectiveKind, LayerKind | 'all' | null> = {
  'dracut-module': 'dracut',
  'dracut-install': 'dracut',
  bin: 'system',
  'try-bin': 'system',
  tree: 'tree',
  kmod: 'kmods',
  'try-kmod': 'kmods',
  dir: 'overlay',
  file: 'overlay',
  autorun: 'overlay',
  slink: 'overlay',
  'vm-cpus': 'overlay',
  'vm-mem': 'overlay',
  // Nothing in the image; in the overlay's derivation so that changing it re-cuts (and re-stamps) the image.
  'vm-drive': 'overlay',
  filter: 'all',
  include: null,
  require: null,
  env: null,
  secret: null,
  description: null,
  network: 'net',
  ceph: 'overlay',
};

/**
 * What the `network` directive needs besides its own layer (the net-conf and
 * the guest's network script): busybox for ip, udhcpc and ping, and the
 * modules of a virtio NIC and of the 9p host share (built in, they are
 * silently nothing; 9p is optional).
 */
function networkNeeds(d: Directive): Directive[] {
  return [
    { ...d, kind: 'bin', args: ['busybox'] },
    { ...d, kind: 'kmod', args: ['virtio_net'] },
    { ...d, kind: 'try-kmod', args: ['virtio_pci', 'af_packet', '9p', '9pnet_virtio'] },
  ];
}

export function planLayers(recipe: Recipe): LayerPlan[] {
  const filters = recipe.directives.filter((d) => d.kind === 'filter');
  const byName = new Map<string, LayerPlan>();
  const get = (name: string, kind: LayerKind) => {
    let p = byName.get(name);
    if (!p) byName.set(name, (p = { name, kind, directives: [] }));
    return p;
  };
  // The system and overlay layers always exist: they carry what our init needs.
  // So does kconfig: /boot/config-$(uname -r) for the suites' scripts, changing
  // only with the kernel's configuration.
  get('system', 'system');
  get('kconfig', 'kconfig');
  get('overlay', 'overlay');
  const directives = recipe.directives.flatMap((d) => (d.kind === 'network' ? [d, ...networkNeeds(d)] : [d]));
  for (const d of directives) {
    const kind = KIND_OF[d.kind];
    if (kind === null || kind === 'all') continue;
    const name = kind === 'tree' ? `tree:${treeArgs(d).imagePath}` : kind;
    get(name, kind).directives.push(d);
    // The kernel's modules.* index files change with depmod, not with each
    // module rebuild: a layer of their own keeps a module rebuild small.
    if (kind === 'kmods') get('kmod-index', 'kmod-index').directives.push(d);
  }
  // net-conf changes less often than the overlay: a .network edit rewrites only the image's last two layers.
  const order: LayerKind[] = ['dracut', 'system', 'tree', 'kconfig', 'kmod-index', 'kmods', 'net', 'overlay'];
  const plans = [...byName.values()].sort((a, b) => {
    const k = order.indexOf(a.kind) - order.indexOf(b.kind);
    return k !== 0 ? k : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
  // Filters apply to every native layer, so they are part of each one's derivation.
  for (const p of plans) if (p.kind !== 'dracut') p.directives.push(...filters);
  return plans;
}
