import { readdirSync, readlinkSync } from 'node:fs';
import { join, posix } from 'node:path';
import { RapidoError } from '../../errors.js';
import { GUEST_NET_CONF_DIR, GUEST_NET_PATH } from '../../runner/guestContract.js';
import { guestNetPath } from '../../runner/guestInitPath.js';
import type { HostInputs } from '../hostInputs.js';
import type { LayerPlan } from '../layerPlan.js';
import { EntrySet } from './entrySet.js';

/**
 * The `network` directive's own layer: the guest's network script and the
 * whole VM_NET_CONF directory at Rapido's /rapido-rsc/net (every VM's
 * settings: the script picks its own by VM number at boot, and maps the
 * others' addresses to their hostnames). A .network edit rebuilds only this.
 * No net-conf directory is fine (user-mode networking needs none); creating
 * one later is noticed, as the directory's absence is an input too.
 */
export function collectNetLayer(plan: LayerPlan, inputs: HostInputs): EntrySet {
  const set = new EntrySet(inputs);
  const script = guestNetPath();
  const st = inputs.lstat(script);
  if (!st?.isFile()) throw new RapidoError('INSTALL_BROKEN', `guest network script ${script} is missing`, { hint: 'reinstall rapido' });
  set.addHostFile(GUEST_NET_PATH, script, st, 0o755);
  set.addDir(GUEST_NET_CONF_DIR);

  const dirs = [...new Set(plan.directives.filter((d) => d.kind === 'network').map((d) => d.args[0]))];
  for (const hostDir of dirs) {
    const top = inputs.lstat(hostDir);
    if (!top) continue;
    if (!top.isDirectory()) {
      throw new RapidoError('NET_CONF', `VM_NET_CONF ${hostDir} is not a directory`, {
        hint: 'point VM_NET_CONF in rapido.conf at a directory of vm<N>/ subdirectories (Rapido\'s net-conf layout)',
      });
    }
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
      }
    };
    walk(hostDir, GUEST_NET_CONF_DIR);
  }
  set.applyFilters(plan.directives.filter((d) => d.kind === 'filter').flatMap((d) => d.args));
  return set;
}
