import { readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { RapidoError } from '../../errors.js';
import { resolveCephClient } from '../../config/cephClient.js';
import { netConfPath, type RapidoConfig } from '../../config/loadConfig.js';
import { splitRecipeWords } from '../../config/shellSplit.js';
import { DIRECTIVES, TREE_ALL_FLAG, type Directive, type DirectiveKind } from './directives.js';

/** Rapido's networking manifest: `include net.fest` means our `network` directive, wherever the file is (or is not). */
const RAPIDO_NET_MANIFEST = 'net.fest';

export interface Recipe {
  name: string;
  /** The top manifest file. */
  path: string;
  description?: string;
  /** All directives, includes flattened in place, in file order. */
  directives: Directive[];
  /** Every manifest file read (the top one and its includes): inputs of the cut. */
  files: string[];
  /** rapido.conf/environment values the recipe referenced or required, by name. */
  vars: Record<string, string>;
  /** Names among `vars` declared with `secret`: their values are never recorded or shown. */
  secrets: string[];
}

/** A QEMU block driver URL (`rbd:pool/image`, `nbd:...`), not a host path. */
const QEMU_PROTOCOL = /^[a-z][a-z0-9+.-]*:/;

/** Directive arguments that name host paths (relative ones are taken from the manifest's directory). */
const HOST_PATH_ARGS: Partial<Record<DirectiveKind, (i: number, n: number) => boolean>> = {
  file: (i) => i === 1,
  tree: (i, n) => i === n - 1,
  'vm-drive': (i) => i === 0,
  autorun: () => true,
  include: () => true,
};

export function parseRecipe(name: string, path: string, conf: RapidoConfig): Recipe {
  const recipe: Recipe = { name, path, directives: [], files: [], vars: {}, secrets: [] };
  parseFile(path, conf, recipe, []);
  recipe.vars = Object.fromEntries(Object.entries(recipe.vars).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return recipe;
}

function parseFile(path: string, conf: RapidoConfig, recipe: Recipe, stack: string[]): void {
  if (stack.includes(path)) {
    throw new RapidoError('RECIPE_INCLUDE_CYCLE', `include cycle: ${[...stack, path].join(' -> ')}`, {
      hint: 'remove one of the include lines',
    });
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const where = stack.length ? ` (included from ${stack.at(-1)})` : '';
    throw new RapidoError('RECIPE_NOT_FOUND', `cannot read manifest ${path}${where}`, {
      hint: 'check the path; `rapido list` shows the available recipes',
      cause: e,
    });
  }
  recipe.files.push(path);
  const dir = dirname(path);
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n].trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const where = `${path}:${n + 1}`;
    const sp = raw.search(/\s/);
    const word = sp < 0 ? raw : raw.slice(0, sp);
    const rest = sp < 0 ? '' : raw.slice(sp + 1).trim();
    if (!Object.hasOwn(DIRECTIVES, word)) {
      // Echo only what looks like a mistyped directive: never a line of some other file an include named.
      const what = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/.test(word) ? `unknown directive '${word}'` : 'not a recipe line (a line starts with a directive)';
      throw new RapidoError('RECIPE_SYNTAX', `${where}: ${what}`, {
        hint: `directives: ${Object.keys(DIRECTIVES).join(', ')}`,
      });
    }
    const kind = word as DirectiveKind;
    if (kind === 'description') {
      recipe.description ??= expand(rest, conf, recipe, where);
      continue;
    }
    const refs: string[] = [];
    const words = splitRecipeWords(rest, where).map((w) => expand(w, conf, recipe, where, refs));
    const { min, max } = DIRECTIVES[kind];
    if (words.length < min || words.length > max) {
      const want = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
      throw new RapidoError('RECIPE_SYNTAX', `${where}: '${kind}' takes ${want} argument(s), got ${words.length}`, {
        hint: usage(kind),
      });
    }
    const isHostPath = HOST_PATH_ARGS[kind];
    const args = words.map((w, i) => (isHostPath?.(i, words.length) && !isAbsolute(w) && !(kind === 'vm-drive' && QEMU_PROTOCOL.test(w)) ? resolve(dir, w) : w));
    if (kind === 'include') {
      for (const inc of args) {
        if (basename(inc) === RAPIDO_NET_MANIFEST) recipe.directives.push(networkDirective(conf, path, n + 1));
        else parseFile(inc, conf, recipe, [...stack, path]);
      }
      continue;
    }
    if (kind === 'network') {
      recipe.directives.push(networkDirective(conf, path, n + 1));
      continue;
    }
    if (kind === 'ceph') {
      // Paths and names only (the files are the overlay's inputs); the guest scripts see CEPH_USER.
      const c = resolveCephClient(conf, where);
      recipe.vars.CEPH_USER = c.user;
      recipe.directives.push({ kind, args: [c.conf, c.keyring, c.user, c.monName], file: path, line: n + 1 });
      continue;
    }
    if (kind === 'require') {
      for (const v of args) requireVar(v, conf, recipe, where);
      continue;
    }
    if (kind === 'env' || kind === 'secret') {
      declareVar(args[0], args[1], conf, recipe, where);
      if (kind === 'secret' && !recipe.secrets.includes(args[0])) recipe.secrets.push(args[0]);
      continue;
    }
    checkArgs(kind, args, where);
    recipe.directives.push({ kind, args, file: path, line: n + 1, ...(refs.length ? { refs: [...new Set(refs)] } : {}) });
  }
}

/** The net-conf directory is the directive's argument: a different VM_NET_CONF is a different layer. */
function networkDirective(conf: RapidoConfig, file: string, line: number): Directive {
  return { kind: 'network', args: [netConfPath(conf)], file, line };
}

function checkArgs(kind: DirectiveKind, args: string[], where: string): void {
  if (kind === 'vm-cpus' && !/^[1-9][0-9]*$/.test(args[0])) {
    throw new RapidoError('RECIPE_SYNTAX', `${where}: vm-cpus wants a positive number, got '${args[0]}'`, { hint: usage(kind) });
  }
  if (kind === 'vm-mem' && !/^[1-9][0-9]*[KMGT]?$/i.test(args[0])) {
    throw new RapidoError('RECIPE_SYNTAX', `${where}: vm-mem wants a size like 512M or 2G, got '${args[0]}'`, { hint: usage(kind) });
  }
  if (kind === 'tree' && args.length === 3 && args[0] !== TREE_ALL_FLAG) {
    throw new RapidoError('RECIPE_SYNTAX', `${where}: tree takes one option, ${TREE_ALL_FLAG}, got '${args[0]}'`, { hint: usage(kind) });
  }
  if (kind === 'vm-drive' && args[1] !== undefined && !/^[a-z0-9]+$/.test(args[1])) {
    throw new RapidoError('RECIPE_SYNTAX', `${where}: vm-drive's format must be a QEMU format name like raw or qcow2, got '${args[1]}'`, { hint: usage(kind) });
  }
  const imagePathArgs =
    kind === 'dir' ? args : kind === 'tree' ? [args[args.length - 2]] : kind === 'file' || kind === 'slink' ? [args[0]] : [];
  for (const p of imagePathArgs) {
    if (!p.startsWith('/') || p.split('/').includes('..')) {
      throw new RapidoError('RECIPE_SYNTAX', `${where}: image path '${p}' must be absolute and free of '..'`, { hint: usage(kind) });
    }
  }
}

function requireVar(name: string, conf: RapidoConfig, recipe: Recipe, where: string): void {
  const v = conf.get(name);
  if (v === undefined || v === '') {
    throw new RapidoError('CONF_MISSING', `${name} is not set (required by ${where})`, {
      hint: `set ${name}="..." in ${conf.path ?? 'rapido.conf'} or the environment`,
    });
  }
  recipe.vars[name] = v;
}

/** `env VAR [DEFAULT]`: the guest sees VAR from rapido.conf or the environment, else DEFAULT. */
function declareVar(name: string, dflt: string | undefined, conf: RapidoConfig, recipe: Recipe, where: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new RapidoError('RECIPE_SYNTAX', `${where}: '${name}' is not a variable name`, { hint: usage('env') });
  }
  const v = conf.get(name) ?? dflt;
  if (v === undefined) {
    throw new RapidoError('CONF_MISSING', `${name} is not set (declared by ${where} without a default)`, {
      hint: `set ${name}="..." in ${conf.path ?? 'rapido.conf'} or the environment, or give a default: env ${name} VALUE`,
    });
  }
  recipe.vars[name] = v;
}

/**
 * `${VAR}` / `$VAR` from rapido.conf or the environment, else the default of
 * an `env VAR DEFAULT` above it; unset is an error, never an empty string.
 * The names used are appended to `refs` (a missing host path names its key).
 */
function expand(word: string, conf: RapidoConfig, recipe: Recipe, where: string, refs: string[] = []): string {
  return word.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_m, a: string, b: string) => {
    const name = a ?? b;
    refs.push(name);
    // recipe.vars holds a name conf lacks only when an env line gave it its default.
    const v = conf.get(name) ?? (Object.hasOwn(recipe.vars, name) ? recipe.vars[name] : undefined);
    if (v === undefined) {
      throw new RapidoError('CONF_MISSING', `${where}: \${${name}} is not set`, {
        hint: `set ${name}="..." in ${conf.path ?? 'rapido.conf (none found; create one or set RAPIDO_CONF)'} or export it`,
      });
    }
    recipe.vars[name] = v;
    return v;
  });
}

function usage(kind: DirectiveKind): string {
  const u: Record<DirectiveKind, string> = {
    bin: 'bin ELF... (a name on PATH or a path; a directory means every ELF under it)',
    'try-bin': 'try-bin ELF... (like bin, skipped when absent)',
    kmod: 'kmod MODULE... (with its modules.dep dependencies and softdeps)',
    'try-kmod': 'try-kmod MODULE... (like kmod, skipped when absent)',
    dir: 'dir /PATH... (an empty directory in the image)',
    file: 'file /IMAGE/PATH [HOST_PATH] (host file copied to the image path; without HOST_PATH the same path on the host)',
    autorun: 'autorun SCRIPT... (host scripts run at boot, in order)',
    tree: `tree [${TREE_ALL_FLAG}] /IMAGE/PATH HOST_DIR (a host directory copied recursively with its ELF files' libraries; .git and build droppings left out unless ${TREE_ALL_FLAG})`,
    slink: 'slink /IMAGE/PATH TARGET (a symlink)',
    filter: 'filter /IMAGE/PATH... (leave these paths, or glob matches, out of the image)',
    include: 'include MANIFEST... (another manifest, relative to this one)',
    'dracut-module': 'dracut-module NAME... (dracut modules, built by dracut into their own layer)',
    'dracut-install': 'dracut-install FILE... (files installed by dracut, with what dracut resolves for them)',
    'vm-cpus': 'vm-cpus N',
    'vm-mem': 'vm-mem SIZE (e.g. 512M, 2G)',
    'vm-drive': 'vm-drive FILE|URL [FORMAT] (a virtio disk QEMU attaches: a host file, or a QEMU block URL such as rbd:POOL/IMAGE:conf=PATH:id=USER; FORMAT default raw)',
    require: 'require VAR... (fail early unless rapido.conf or the environment sets VAR)',
    env: 'env VAR [DEFAULT] (pass a rapido.conf value to the guest\'s autorun environment)',
    secret: 'secret VAR [DEFAULT] (like env, for passwords and keys: the value is never recorded or shown)',
    description: 'description TEXT',
    ceph: 'ceph (no arguments: the cluster of CEPH_CONF + CEPH_KEYRING, or CEPH_SRC\'s vstart, for CEPH_USER: its monitors and that user\'s key at /etc/ceph)',
    network: 'network (no arguments: NICs from VM_NET_CONF\'s vmN/<tap>.network files, or user-mode networking; Rapido\'s `include net.fest` means the same)',
  };
  return `usage: ${u[kind]}`;
}
