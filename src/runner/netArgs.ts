import { statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { RapidoError } from '../errors.js';
import { EXIT } from '../exitCodes.js';
import { describeKind, type LinkInfo } from '../network/hostLinks.js';
import { KPARAM_NET, KPARAM_NIC, KPARAM_SHARE, SHARE_MOUNT_TAG, USER_NIC } from './guestContract.js';
import { tapMac, vmNics, type VmNic } from './netConf.js';
import { qemuOptEscape } from './qemuArgs.js';

export type NetMode = 'tap' | 'user' | 'none';
export const NET_MODES = ['tap', 'user', 'none'] as const;

/** `--hostfwd HOSTPORT:GUESTPORT`: a TCP port on the host's 127.0.0.1 forwarded to the guest (user mode). */
export interface HostFwd {
  host: number;
  guest: number;
}

/** What a boot asks of the network and the host share. */
export interface NetRequest {
  /** The image carries the `network` directive's layer. */
  wanted: boolean;
  /** --net, else rapido.conf VM_NET_MODE; undefined: decide (see planNet). */
  mode?: NetMode;
  /** Where the mode came from, for messages. */
  modeSource?: string;
  hostfwd: HostFwd[];
  netConfDir: string;
  /** VIRTFS_SHARE_PATH: a host directory exported over 9p, mounted at /host. */
  sharePath?: string;
  /** The device called NAME in our network namespace (hostLinks.ts linkInfo, bound to an `ip`). */
  link: (name: string) => LinkInfo | undefined;
}

export interface NetSetup {
  mode: NetMode;
  nics: VmNic[];
  qemuArgs: string[];
  kernelParams: string[];
  /** One line each, for the log: a choice the user did not make explicitly. */
  notes: string[];
}

/**
 * The VM's network and host share as QEMU arguments and kernel parameters.
 * Mode, unless given: tap when VM N's net-conf names taps that all exist;
 * user when it names none, or none of them exists (said in a note), or
 * --hostfwd asks for it; and no NIC at all for an image without the
 * `network` directive, exactly as before networking existed.
 */
export function planNet(req: NetRequest, vmNum: number): NetSetup {
  const notes: string[] = [];
  const args: string[] = [];
  const kparams: string[] = [];
  let mode: NetMode;
  let nics: VmNic[] = [];
  if (!req.wanted) {
    if (req.mode && req.mode !== 'none' && req.modeSource?.startsWith('--')) {
      throw new RapidoError('NET_NOT_IN_IMAGE', `${req.modeSource} ${req.mode}: the image was cut from a recipe without networking`, {
        hint: 'add the line `network` (or Rapido\'s `include net.fest`) to the recipe and cut again',
        exitCode: EXIT.USAGE,
      });
    }
    if (req.hostfwd.length) {
      throw new RapidoError('NET_NOT_IN_IMAGE', '--hostfwd: the image was cut from a recipe without networking', {
        hint: 'add the line `network` (or Rapido\'s `include net.fest`) to the recipe and cut again',
        exitCode: EXIT.USAGE,
      });
    }
    mode = 'none';
  } else {
    const conf = vmNics(req.netConfDir, vmNum);
    mode = req.mode ?? autoMode(req, conf, vmNum, notes);
    if (mode === 'tap') nics = checkTaps(req, conf, vmNum);
    if (mode === 'user') nics = [{ tap: USER_NIC, mac: tapMac(vmNum, USER_NIC), file: '' }];
    if (req.hostfwd.length && mode !== 'user') {
      throw new RapidoError('NET_HOSTFWD', `--hostfwd needs user-mode networking, but VM ${vmNum} uses ${mode === 'tap' ? 'taps' : 'no network'}${req.modeSource ? ` (${req.modeSource})` : ''}`, {
        hint: 'add --net user, or reach the guest over its tap address instead',
        exitCode: EXIT.USAGE,
      });
    }
  }

  if (mode === 'none') args.push('-net', 'none');
  nics.forEach((nic, i) => {
    const id = `rnet${i}`;
    if (mode === 'tap') {
      args.push('-netdev', `tap,id=${id},ifname=${nic.tap},script=no,downscript=no`);
    } else {
      const fwd = req.hostfwd.map((f) => `,hostfwd=tcp:127.0.0.1:${f.host}-:${f.guest}`).join('');
      args.push('-netdev', `user,id=${id}${fwd}`);
    }
    args.push('-device', `virtio-net-pci,netdev=${id},mac=${nic.mac}`);
    kparams.push(`${KPARAM_NIC}=${nic.tap},${nic.mac}`);
  });
  if (req.wanted) kparams.unshift(`${KPARAM_NET}=${mode}`);

  if (req.sharePath !== undefined) {
    let isDir = false;
    try {
      isDir = statSync(req.sharePath).isDirectory();
    } catch { /* reported below */ }
    if (!isDir) {
      throw new RapidoError('VIRTFS_PATH', `VIRTFS_SHARE_PATH ${req.sharePath} is not a directory`, {
        hint: 'create it, or point VIRTFS_SHARE_PATH in rapido.conf at the host directory to share at /host',
      });
    }
    args.push('-virtfs', `local,path=${qemuOptEscape(req.sharePath)},mount_tag=${SHARE_MOUNT_TAG},security_model=mapped-xattr,id=${SHARE_MOUNT_TAG}`);
    if (req.wanted) kparams.push(`${KPARAM_SHARE}=${SHARE_MOUNT_TAG}`);
    else notes.push(`VIRTFS_SHARE_PATH: the image has no \`network\` directive, which carries the 9p modules and mounts the share: nothing mounts it at /host (mount -t 9p -o trans=virtio ${SHARE_MOUNT_TAG} DIR by hand)`);
  }
  return { mode, nics, qemuArgs: args, kernelParams: kparams, notes };
}

function autoMode(req: NetRequest, conf: VmNic[], vmNum: number, notes: string[]): NetMode {
  if (req.hostfwd.length) return 'user';
  if (conf.length === 0) return 'user';
  const links = conf.map((n) => req.link(n.tap));
  // A name held by something else is a mistake to report (checkTaps), not a reason to fall back.
  if (links.some((l) => l && l.kind !== 'tap')) return 'tap';
  const missing = links.filter((l) => !l);
  if (missing.length === 0) return 'tap';
  if (missing.length === conf.length) {
    notes.push(`vm${vmNum} in ${req.netConfDir} names ${conf.map((n) => n.tap).join(', ')}, but ${conf.length > 1 ? 'none exists' : 'it does not exist'}: ` +
      'user-mode networking instead (run `sudo rapido setup-network` for taps)');
    return 'user';
  }
  return 'tap'; // some exist: checkTaps names the missing ones
}

/** Every tap must exist, be a tap and be ours to open: one line saying what to do otherwise, instead of QEMU's error. */
function checkTaps(req: NetRequest, conf: VmNic[], vmNum: number): VmNic[] {
  if (conf.length === 0) {
    throw new RapidoError('NET_NO_TAP', `tap networking for VM ${vmNum}, but ${join(req.netConfDir, `vm${vmNum}`)} has no <tap>.network file`, {
      hint: `add one (e.g. vm${vmNum}/rapido-tap${vmNum}.network with an Address=), or use --net user`,
    });
  }
  for (const nic of conf) {
    const l = req.link(nic.tap);
    if (!l || l.kind !== 'tap') {
      throw new RapidoError('NET_TAP_MISSING', `tap ${nic.tap} (${nic.file}) ${l ? `is ${describeKind(l.kind)}, not a tap` : 'does not exist'}: run \`sudo rapido setup-network\``, {
        hint: 'setup-network creates the bridge (BR_DEV) and a tap per net-conf/vmN/<tap>.network; or boot with --net user',
      });
    }
    const me = userInfo();
    if (me.uid !== 0 && l.owner !== undefined && l.owner !== me.username && l.owner !== String(me.uid)) {
      throw new RapidoError('NET_TAP_OWNER', `tap ${nic.tap} belongs to user ${l.owner}, so QEMU (running as ${me.username}) cannot open it: run \`sudo rapido setup-network -o ${me.username}\``, {
        hint: 'or set TAP_USER in rapido.conf to the user who boots the VMs (teardown-network first to re-create the taps)',
      });
    }
  }
  return conf;
}

/** `HOSTPORT:GUESTPORT`, both TCP ports. */
export function parseHostFwd(raw: string): HostFwd {
  const m = /^(\d{1,5}):(\d{1,5})$/.exec(raw.trim());
  const ok = (n: number) => n >= 1 && n <= 65535;
  if (!m || !ok(Number(m[1])) || !ok(Number(m[2]))) {
    throw new RapidoError('USAGE', `invalid --hostfwd ${JSON.stringify(raw)}: want HOSTPORT:GUESTPORT`, {
      hint: 'e.g. --hostfwd 2222:22 (then ssh -p 2222 root@127.0.0.1)',
      exitCode: EXIT.USAGE,
    });
  }
  return { host: Number(m[1]), guest: Number(m[2]) };
}

/** --net / VM_NET_MODE values. */
export function parseNetMode(raw: string, source: string): NetMode {
  const v = raw.trim();
  if ((NET_MODES as readonly string[]).includes(v)) return v as NetMode;
  throw new RapidoError('USAGE', `invalid ${source} ${JSON.stringify(raw)}: want ${NET_MODES.join(', ')}`, {
    hint: 'tap: net-conf\'s taps (rapido setup-network); user: QEMU\'s user-mode network, no root needed; none: no NIC',
    exitCode: EXIT.USAGE,
  });
}
