import { readdirSync, readlinkSync } from 'node:fs';
import { join, posix } from 'node:path';
import { RapidoError } from '../../errors.js';
import type { HostInputs } from '../hostInputs.js';
import type { LayerPlan } from '../layerPlan.js';
import { EntrySet } from './entrySet.js';

/** `tree /IMAGE/PATH HOST_DIR`: a host directory copied recursively, symlinks kept as symlinks. */
export function collectTreeLayer(plan: LayerPlan, inputs: HostInputs): EntrySet {
  const set = new EntrySet(inputs);
  for (const d of plan.directives) {
    if (d.kind !== 'tree') continue;
    const [imagePath, hostDir] = d.args;
    const st = inputs.lstat(hostDir);
    if (!st?.isDirectory()) {
      throw new RapidoError('TREE_MISSING', `${d.file}:${d.line}: tree source ${hostDir} is ${st ? 'not a directory' : 'missing'}`, {
        hint: 'check the path (and the rapido.conf variable it comes from)',
      });
    }
    set.addDir(imagePath, Number(st.mode));
    const walk = (host: string, image: string) => {
      for (const name of readdirSync(host).sort()) {
        const h = join(host, name);
        const i = posix.join(image, name);
        const s = inputs.lstat(h);
        if (!s) continue; // vanished between readdir and lstat
        if (s.isDirectory()) {
          set.addDir(i, Number(s.mode));
          walk(h, i);
        } else if (s.isFile()) set.addHostFile(i, h, s);
        else if (s.isSymbolicLink()) set.addSymlink(i, readlinkSync(h));
        else if (s.isFIFO()) set.addNode(i, 'fifo', Number(s.mode));
        // sockets and device nodes in a source tree are skipped: they cannot be copied meaningfully.
      }
    };
    walk(hostDir, imagePath);
  }
  set.applyFilters(plan.directives.filter((d) => d.kind === 'filter').flatMap((d) => d.args));
  return set;
}
