import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { RapidoError } from '../../errors.js';
import { shellSplit } from '../../config/shellSplit.js';
import type { HostInputs } from '../hostInputs.js';
import type { LayerPlan } from '../layerPlan.js';
import type { CutContext } from './context.js';
import { importEsm } from '../../importEsm.js';

/** dracut's own files: a change to any of them (an upgrade) must rebuild the layer. */
const DRACUT_FILES = ['/usr/bin/dracut', '/usr/lib/dracut/dracut-version.sh', '/usr/lib/dracut/dracut-functions.sh', '/usr/lib/dracut/dracut-init.sh', '/usr/lib/dracut/dracut-install'];

/** Bumped when what we ask of dracut changes its output for the same request. */
export const DRACUT_BUILDER_VERSION = 2;

export interface DracutRequest {
  modules: string[];
  installs: string[];
  extraArgs: string[];
  epoch: number;
}

export function dracutRequest(plan: LayerPlan, ctx: CutContext, extraArgs: string): DracutRequest {
  const modules: string[] = [];
  const installs: string[] = [];
  for (const d of plan.directives) {
    if (d.kind === 'dracut-module') modules.push(...d.args);
    if (d.kind === 'dracut-install') installs.push(...d.args);
  }
  return { modules, installs, extraArgs: shellSplit(extraArgs, 'DRACUT_EXTRA_ARGS'), epoch: ctx.epoch };
}

/** The dracut files the first-level key depends on, recorded as inputs. */
export function dracutSelfFiles(inputs: HostInputs): string[] {
  const found = DRACUT_FILES.filter((f) => inputs.lstat(f));
  if (!found.includes('/usr/bin/dracut')) {
    throw new RapidoError('DRACUT_MISSING', 'this recipe has dracut-* directives, but dracut is not installed', {
      hint: 'apt-get install dracut-core (or drop the dracut-module/dracut-install lines)',
    });
  }
  return found;
}

/**
 * Runs dracut without a kernel (modules come from our own layer), without
 * compression (the kernel takes concatenated plain cpio archives), and
 * reproducibly, into a temp dir. Returns the output path; the caller moves it
 * into the store and removes `tmpDir`.
 */
export async function runDracut(req: DracutRequest, tmpRoot: string): Promise<{ output: string; tmpDir: string }> {
  // The pid in the name lets cleanTmp remove it if this process is killed.
  const tmpDir = mkdtempSync(join(tmpRoot, `dracut-${process.pid}-`));
  const output = join(tmpDir, 'layer.cpio');
  const args = [
    '--no-kernel', '--reproducible', '--no-compress', '--no-early-microcode', '--no-hostonly', '--force', '--quiet',
    '--modules', req.modules.join(' '),
    ...(req.installs.length ? ['--install', req.installs.join(' ')] : []),
    ...req.extraArgs,
    output,
  ];
  const { execa } = await importEsm<typeof import('execa')>('execa');
  try {
    // TMPDIR, not --tmpdir: dracut records its command line in the image
    // (build-parameter.txt), and a random path there breaks reproducibility.
    await execa('dracut', args, { env: { SOURCE_DATE_EPOCH: String(req.epoch), TMPDIR: tmpDir }, stdin: 'ignore', all: true });
  } catch (e) {
    rmSync(tmpDir, { recursive: true, force: true });
    const err = e as { code?: string; all?: string; exitCode?: number };
    if (err.code === 'ENOENT') {
      throw new RapidoError('DRACUT_MISSING', 'dracut is not installed', { hint: 'apt-get install dracut-core' });
    }
    const tail = (err.all ?? '').trim().split('\n').slice(-5).join('\n');
    throw new RapidoError('DRACUT_FAILED', `dracut failed (exit ${err.exitCode ?? '?'}):\n${tail}`, {
      hint: 'check the dracut-module / dracut-install lines and DRACUT_EXTRA_ARGS',
      cause: e,
    });
  }
  if (!existsSync(output)) {
    rmSync(tmpDir, { recursive: true, force: true });
    throw new RapidoError('DRACUT_FAILED', 'dracut exited 0 but wrote no image', { hint: 'run dracut by hand with the same arguments to see why' });
  }
  return { output, tmpDir };
}

export function dracutVersion(): string {
  try {
    return /DRACUT_VERSION=(\S+)/.exec(readFileSync('/usr/lib/dracut/dracut-version.sh', 'utf8'))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
