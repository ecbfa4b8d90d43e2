import { readdirSync, readlinkSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import { RapidoError } from '../../errors.js';
import { readElfInfoHashing, resolveElfClosure, type ElfInfo } from '../elfClosure.js';
import type { HostInputs } from '../hostInputs.js';
import type { LayerPlan } from '../layerPlan.js';
import { treeArgs, type Directive } from '../recipe/directives.js';
import { pathKeysHint } from '../recipe/pathKeysHint.js';
import { EntrySet } from './entrySet.js';

/**
 * What a `tree` leaves out unless `--all` is given: version-control data and
 * build by-products no test run reads. `.libs/` stays: libtool keeps the real
 * executables there behind wrapper scripts when a program links a library of
 * the same tree. Directory names match a directory; the patterns match files.
 */
const SKIPPED_DIRS = new Set(['.git', '.hg', '.svn', '.deps', 'autom4te.cache']);
const SKIPPED_FILES = [/\.o$/, /\.lo$/, /\.a$/, /^config\.log$/, /^\.git$/];

/** What a later cut needs to re-derive the tree from a snapshot instead of walking it (cut/treeDelta.ts). */
export interface TreeWalkInfo {
  /** Each `tree` directive's host directory, and whether it was walked with `--all`. */
  trees: { hostDir: string; all: boolean }[];
  /** Tree files the library closure read: the dynamic ELF programs and the in-tree libraries they need. */
  elf: string[];
}

/** Whether the walk leaves a directory or file of this name out (see SKIPPED_DIRS). */
export function skippedInTree(name: string, isDir: boolean, all: boolean): boolean {
  if (all) return false;
  return isDir ? SKIPPED_DIRS.has(name) : SKIPPED_FILES.some((re) => re.test(name));
}

/**
 * `tree [--all] /IMAGE/PATH HOST_DIR`: a host directory copied recursively,
 * symlinks kept as symlinks, plus the shared-library closure of the ELF
 * programs and libraries in it, at their host paths (as `bin` does): a
 * built test suite runs its own helpers, which need the libraries they
 * were linked against. The closure lives in this layer because it is a
 * function of this tree's files: rebuilding the suite re-cuts this layer and
 * nothing else.
 */
export function collectTreeLayer(plan: LayerPlan, inputs: HostInputs, info?: TreeWalkInfo): EntrySet {
  const set = new EntrySet(inputs);
  /** Host ELF file → where it is in the image and which directive brought it, for the missing-library error. */
  const elves = new Map<string, { imagePath: string; d: Directive; size: number }>();
  const trees: { hostDir: string; imagePath: string }[] = [];
  for (const d of plan.directives) {
    if (d.kind !== 'tree') continue;
    const { imagePath, hostDir, all } = treeArgs(d);
    const st = inputs.lstat(hostDir);
    if (!st?.isDirectory()) {
      throw new RapidoError('TREE_MISSING', `${d.file}:${d.line}: tree source ${hostDir} is ${st ? 'not a directory' : 'missing'}`, {
        hint: pathKeysHint(d, d.file) ?? 'check the path (and the rapido.conf variable it comes from)',
      });
    }
    trees.push({ hostDir, imagePath });
    info?.trees.push({ hostDir, all });
    set.addDir(imagePath, Number(st.mode));
    const walk = (host: string, image: string) => {
      for (const name of readdirSync(host).sort()) {
        const h = join(host, name);
        const i = posix.join(image, name);
        const s = inputs.lstat(h);
        if (!s) continue; // vanished between readdir and lstat
        if (s.isDirectory()) {
          if (skippedInTree(name, true, all)) continue;
          set.addDir(i, Number(s.mode));
          walk(h, i);
          continue;
        }
        if (skippedInTree(name, false, all)) continue;
        if (s.isFile()) {
          set.addHostFile(i, h, s);
          // Only executable files can be programs; libraries in a tree are found through the programs that need them.
          if (s.mode & 0o111) elves.set(h, { imagePath: i, d, size: Number(s.size) });
        } else if (s.isSymbolicLink()) set.addSymlink(i, readlinkSync(h));
        else if (s.isFIFO()) set.addNode(i, 'fifo', Number(s.mode));
        // sockets and device nodes in a source tree are skipped: they cannot be copied meaningfully.
      }
    };
    walk(hostDir, imagePath);
  }
  const filters = plan.directives.filter((d) => d.kind === 'filter').flatMap((d) => d.args);
  set.applyFilters(filters);

  // A filtered-out program needs no libraries: that is also the way out of a missing one.
  const headers = new Map<string, ElfInfo>();
  for (const [h, e] of elves) {
    if (!set.has(e.imagePath)) continue;
    const info = dynamicElf(h, e.size, inputs);
    if (info) headers.set(h, info);
  }
  const programs = [...headers.keys()];
  if (programs.length) {
    // ld.so's search path comes from here: a change must re-resolve.
    inputs.lstat('/etc/ld.so.conf');
    inputs.lstat('/etc/ld.so.conf.d');
    const closure = resolveElfClosure(programs, headers);
    if (closure.missing.length) {
      const m = closure.missing[0];
      const e = elves.get(m.neededBy);
      const where = e ? `${e.d.file}:${e.d.line}: ` : '';
      const what = e ? `${m.neededBy} (${e.imagePath} in the image)` : m.neededBy;
      const more = closure.missing.length > 1 ? ` (and ${closure.missing.length - 1} more missing)` : '';
      throw new RapidoError('TREE_LIB_MISSING', `${where}${what} needs ${m.lib}, which is not on the library path${more}`, {
        hint: `install the library package, or leave the file out with 'filter ${e?.imagePath ?? m.neededBy}'`,
      });
    }
    const inTree = (f: string) => trees.some((t) => isUnder(f, t.hostDir));
    if (info) info.elf.push(...new Set([...programs, ...closure.files.filter(inTree)]));
    for (const f of closure.files) {
      // The programs themselves, and libraries the tree carries (found via $ORIGIN), are already in the layer.
      if (inTree(f)) continue;
      if (!set.mirrorHostPath(f)) {
        throw new RapidoError('BIN_NOT_FOUND', `${f} vanished while cutting`, { hint: 'run the cut again' });
      }
    }
    set.applyFilters(filters);
  }
  return set;
}

function isUnder(path: string, dir: string): boolean {
  const r = relative(dir, path);
  return r !== '' && !r.startsWith('..') && !r.startsWith(sep);
}

/**
 * The headers of an ELF program or library that the dynamic loader links, or
 * null (static and non-ELF files need nothing). A small file is read whole
 * and its digest noted in `inputs`, so deriving the key does not read it again.
 */
function dynamicElf(path: string, size: number, inputs: HostInputs): ElfInfo | null {
  let r;
  try {
    r = readElfInfoHashing(path, size);
  } catch {
    return null; // unreadable or malformed: copied as data, as before
  }
  if (r.read) inputs.noteHashedRead(path, r.read);
  return r.info !== null && (r.info.interp !== undefined || r.info.needed.length > 0) ? r.info : null;
}
