import { basename } from 'node:path';
import { RapidoError } from '../../errors.js';
import {
  GUEST_AUTORUN_DIR,
  GUEST_ENV_PATH,
  GUEST_INIT_PATH,
  GUEST_POST_DIR,
  GUEST_RSC_DIR,
} from '../../runner/guestContract.js';
import type { HostInputs } from '../hostInputs.js';
import type { LayerPlan } from '../layerPlan.js';
import { addCephFiles } from './cephFiles.js';
import type { CutContext } from './context.js';
import { EntrySet } from './entrySet.js';
import { shownVars } from '../recipe/secrets.js';
import { pathKeysHint } from '../recipe/pathKeysHint.js';
import { digestBuffer } from '../../store/digest.js';

const SKELETON_DIRS: [string, number][] = [
  ['/dev', 0o755], ['/proc', 0o555], ['/sys', 0o555], ['/run', 0o755], ['/tmp', 0o1777],
  ['/root', 0o700], ['/etc', 0o755], ['/mnt', 0o755], ['/var', 0o755],
];

const seq = (i: number) => String(i + 1).padStart(3, '0');

/**
 * What a developer edits all day goes here, in the image's last layer: our
 * init, autorun scripts, -x/-f steps, the config values the recipe uses,
 * files, dirs, links and VM resources.
 */
export function collectOverlayLayer(plan: LayerPlan, ctx: CutContext, inputs: HostInputs): EntrySet {
  const set = new EntrySet(inputs);
  for (const [d, mode] of SKELETON_DIRS) set.addDir(d, mode);
  // The kernel opens /dev/console for init's stdio before devtmpfs is mounted.
  set.addNode('/dev/console', 'char', 0o600, 5, 1);

  const init = inputs.lstat(ctx.guestInit);
  if (!init?.isFile()) throw new RapidoError('INSTALL_BROKEN', `guest init ${ctx.guestInit} is missing`, { hint: 'reinstall rapido' });
  set.addHostFile(GUEST_INIT_PATH, ctx.guestInit, init, 0o755);
  set.addData(GUEST_ENV_PATH, Buffer.from(envFile(ctx.recipe.vars)));
  // A digest of the file with secrets in it could be brute-forced: record that of the stand-ins instead.
  if (ctx.recipe.secrets.length) set.recordDigest(GUEST_ENV_PATH, digestBuffer(Buffer.from(envFile(shownVars(ctx.recipe.vars, ctx.recipe.secrets)))));

  let autoruns = 0;
  for (const d of plan.directives) {
    const where = `${d.file}:${d.line}`;
    switch (d.kind) {
      case 'autorun':
        for (const script of d.args) {
          const st = inputs.lstat(script);
          if (!st?.isFile()) throw new RapidoError('AUTORUN_MISSING', `${where}: autorun script ${script} not found`, { hint: 'check the path (relative paths are taken from the manifest\'s directory)' });
          // Executable whatever the host mode: the init runs each one directly.
          set.addHostFile(`${GUEST_AUTORUN_DIR}/${seq(autoruns++)}-${basename(script)}`, script, st, 0o755);
          set.addDir(GUEST_AUTORUN_DIR);
        }
        break;
      case 'dir':
        for (const p of d.args) set.addDir(p);
        break;
      case 'slink':
        set.addSymlink(d.args[0], d.args[1]);
        break;
      case 'file': {
        const [imagePath, host = imagePath] = d.args;
        const st = inputs.lstat(host);
        if (st?.isFile()) set.addHostFile(imagePath, host, st);
        else if (!st && d.args.length === 1 && imagePath.startsWith(GUEST_RSC_DIR + '/')) set.addData(imagePath, Buffer.alloc(0));
        else throw new RapidoError('FILE_MISSING', `${where}: ${host} is ${st ? 'not a regular file' : 'missing'}`, { hint: pathKeysHint(d, ctx.recipe.path) ?? 'file /IMAGE/PATH [HOST_PATH]: the host file must exist' });
        break;
      }
      case 'ceph':
        addCephFiles(set, inputs, d.args, where);
        break;
      case 'vm-cpus':
        set.addData(`${GUEST_RSC_DIR}/cpu/${d.args[0]}`, Buffer.alloc(0));
        break;
      case 'vm-mem':
        set.addData(`${GUEST_RSC_DIR}/mem/${d.args[0].toUpperCase()}`, Buffer.alloc(0));
        break;
    }
  }
  ctx.post.forEach((step, i) => {
    const path = `${GUEST_POST_DIR}/${seq(i)}`;
    if (step.kind === 'cmd') set.addData(path, Buffer.from(`#!/bin/sh\n${step.cmd}\n`), 0o755);
    else {
      const st = inputs.lstat(step.path);
      if (!st?.isFile()) throw new RapidoError('FILE_MISSING', `-f ${step.path}: no such file`, { hint: 'give a script file on the host' });
      set.addHostFile(path, step.path, st, 0o755);
    }
  });
  if (ctx.post.length) set.addDir(GUEST_POST_DIR);
  set.applyFilters(plan.directives.filter((d) => d.kind === 'filter').flatMap((d) => d.args));
  return set;
}

/** Single-quoted so the guest shell takes every value literally. */
export function envFile(vars: Record<string, string>): string {
  return Object.entries(vars)
    .map(([k, v]) => `export ${k}='${v.replace(/'/g, `'\\''`)}'\n`)
    .join('');
}
