import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { RapidoError } from '../errors.js';

/**
 * VM_NET_CONF (`net-conf/` by default), laid out as Rapido's: `vm<N>/` per VM,
 * holding `hostname` and one `<tap>.network` (systemd.network syntax) per
 * NIC, which VM N gets on host tap device `<tap>`.
 */

const NETWORK_SUFFIX = '.network';

/** A NIC of VM N: the host tap it is attached to and its MAC (see tapMac). */
export interface VmNic {
  tap: string;
  mac: string;
  /** The `.network` file that configures it in the guest. */
  file: string;
}

/**
 * Rapido's MAC for VM N's NIC on `tap`: `b8:` and the first five bytes of
 * md5("vm<N>.<tap>\n") (what `echo vmN.tap | md5sum` hashes), so a `.network`
 * file can match on it and DHCP leases stay put from boot to boot.
 */
export function tapMac(vmNum: number, tap: string): string {
  const hex = createHash('md5').update(`vm${vmNum}.${tap}\n`).digest('hex');
  return ['b8', ...[0, 2, 4, 6, 8].map((i) => hex.slice(i, i + 2))].join(':');
}

/** Interface names the kernel accepts (IFNAMSIZ) and that survive our kernel command line (no `,`, blanks or `=`). */
const TAP_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/;

/** VM N's NICs, one per `vm<N>/<tap>.network`, in name order (the order QEMU gets them in: eth0, eth1, ...). */
export function vmNics(dir: string, vmNum: number): VmNic[] {
  const vmDir = join(dir, `vm${vmNum}`);
  return networkFiles(vmDir).map((f) => {
    const tap = checkTapName(f.slice(0, -NETWORK_SUFFIX.length), join(vmDir, f));
    return { tap, mac: tapMac(vmNum, tap), file: join(vmDir, f) };
  });
}

/** Every tap the net-conf names, for every VM (`rapido setup-network` creates them), in VM then name order. */
export function allNetConfTaps(dir: string): { vmNum: number; tap: string; file: string }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new RapidoError('NET_CONF_MISSING', `no net-conf directory at ${dir}`, {
        hint: 'create vm1/<tap>.network files there (Rapido\'s net-conf.example layout), or point VM_NET_CONF at yours',
      });
    }
    throw new RapidoError('NET_CONF', `cannot read ${dir}`, { cause: e });
  }
  const vms = names.map((n) => /^vm([1-9][0-9]*)$/.exec(n)).filter((m) => m !== null).map((m) => Number(m[1])).sort((a, b) => a - b);
  return vms.flatMap((vmNum) => vmNics(dir, vmNum).map((n) => ({ vmNum, tap: n.tap, file: n.file })));
}

function networkFiles(vmDir: string): string[] {
  try {
    return readdirSync(vmDir).filter((f) => f.endsWith(NETWORK_SUFFIX) && f.length > NETWORK_SUFFIX.length).sort();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw new RapidoError('NET_CONF', `cannot read ${vmDir}`, { cause: e });
  }
}

function checkTapName(tap: string, file: string): string {
  if (!TAP_NAME_RE.test(tap)) {
    throw new RapidoError('NET_CONF', `${file}: ${JSON.stringify(tap)} is not a usable tap device name`, {
      hint: 'a tap name has at most 15 letters, digits, "_", "-" or "." (the file is <tap>.network)',
    });
  }
  return tap;
}
