import type { CommandModule } from 'yargs';
import { existsSync } from 'node:fs';
import { RapidoError } from '../errors.js';
import { configPath, loadConfig, netConfPath, outPath, storeDir, vmPidDir, type RapidoConfig } from '../config/loadConfig.js';
import { treeVmlinuxFor } from '../config/kernelTree.js';
import { resolveKernel } from '../config/resolveKernel.js';
import { readStamp, type Stamp } from '../image/stamp.js';
import { imageVmResources } from '../image/vmResources.js';
import type { Store } from '../store/index.js';
import { bootOptionsFrom, withBootOptions, type BootOptions } from './bootOptions.js';
import type { NetRequest } from '../runner/netArgs.js';
import type { BootVmOptions } from '../runner/bootVm.js';

export const bootModule: CommandModule = {
  command: 'boot [options]',
  describe: 'boot the last cut image (DRACUT_OUT) again; a second boot while one runs gets VM number 2',
  builder: (y) => withBootOptions(y),
  handler: async (argv) => {
    process.exitCode = await bootLast(loadConfig(), bootOptionsFrom(argv));
  },
};

/** Boots a cut image: resources from the recipe (or the image itself), the kernel it was cut for, unless overridden. */
export async function bootCut(conf: RapidoConfig, out: string, stamp: Stamp | undefined, o: BootOptions): Promise<number> {
  if (!existsSync(out)) {
    throw new RapidoError('NO_IMAGE', `no image at ${out}`, { hint: 'cut one first: rapido cut -B NAME (rapido list shows recipes)' });
  }
  const vm = stamp?.vm ?? imageVmResources(out);
  const kernel = o.kernel ?? stamp?.kernel.image ?? resolveKernel(conf).image;
  // gdb needs the symbols of the very kernel that boots: KERNEL_SRC's vmlinux goes with its bzImage only.
  const vmlinux = o.gdbPort !== undefined ? treeVmlinuxFor(conf, kernel) : undefined;
  const { bootVm } = await import('../runner/bootVm.js');
  const { getHostVerdict, putHostVerdict } = await import('../store/hostVerdicts.js');
  // The remembered KVM verdict lives in the store: open it (LMDB) only when --accel auto may ask.
  const s: Store | undefined = o.accel === 'tcg' || o.accel === 'kvm' ? undefined : (await import('../store/index.js')).openStore(storeDir(conf));
  try {
    const base: BootVmOptions = {
      image: out,
      kernel,
      cpus: o.vmCpus ?? vm.cpus ?? 2,
      mem: o.vmMem ?? vm.mem ?? '512M',
      timeoutSec: o.timeout,
      accel: o.accel ?? 'auto',
      // Two consoles cannot share one terminal: a pair always runs unattended.
      interactive: Boolean(process.stdin.isTTY) && !o.exit && !(o.vms && o.vms > 1),
      quiet: Boolean(o.quiet),
      verbose: Boolean(o.verbose),
      pidDir: vmPidDir(conf, out),
      netConfDir: netConfPath(conf),
      net: await netRequest(conf, Boolean(vm.net), o),
      extraKernelParams: conf.get('QEMU_EXTRA_KERNEL_PARAMS'),
      extraQemuArgs: conf.get('QEMU_EXTRA_ARGS'),
      kernelParams: o.kernelParams,
      gdbPort: o.gdbPort,
      drives: vm.drives,
      vmlinux,
      verdicts: {
        get: (k: string) => (s ? getHostVerdict(s, k) : undefined),
        put: (k: string, v: unknown) => { if (s) putHostVerdict(s, k, v); },
      },
    };
    if (o.vms && o.vms > 1) {
      const { bootGroup } = await import('../runner/bootGroup.js');
      return await bootGroup(base, o.vms);
    }
    const result = await bootVm(base);
    return result.status;
  } finally {
    await s?.close();
  }
}

/** The network and host share a boot asks for; undefined (`-net none`, no share) when nothing does. */
async function netRequest(conf: RapidoConfig, wanted: boolean, o: BootOptions): Promise<Omit<NetRequest, 'netConfDir'> | undefined> {
  const confMode = conf.get('VM_NET_MODE');
  const share = conf.get('VIRTFS_SHARE_PATH');
  if (!wanted && !share && !o.net && !o.hostfwd?.length) return undefined;
  const { parseNetMode } = await import('../runner/netArgs.js');
  const { findIp, linkInfo } = await import('../network/hostLinks.js');
  let ip: string | undefined;
  return {
    wanted,
    mode: o.net ?? (confMode ? parseNetMode(confMode, 'VM_NET_MODE in rapido.conf') : undefined),
    modeSource: o.net ? '--net' : confMode ? 'VM_NET_MODE in rapido.conf' : undefined,
    hostfwd: o.hostfwd ?? [],
    sharePath: share ? configPath(conf, share) : undefined,
    link: (name) => linkInfo((ip ??= findIp()), name),
  };
}

/** `rapido boot`: the last cut image again. */
export async function bootLast(conf: RapidoConfig, o: BootOptions): Promise<number> {
  const out = outPath(conf);
  return bootCut(conf, out, readStamp(out), o);
}
