import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { RapidoError } from '../errors.js';

/**
 * The host's network devices as iproute2 reports them, in the caller's
 * network namespace. (/sys/class/net would show the namespace sysfs was
 * mounted in, which under `unshare -n` is still the host's.)
 */

export type LinkKind = 'tap' | 'tun' | 'bridge' | 'other';

export interface LinkInfo {
  name: string;
  kind: LinkKind;
  /** A tap's owner as `ip` prints it: a user name, or a uid when it has none. */
  owner?: string;
  /** The bridge it is enslaved to. */
  master?: string;
  up: boolean;
  /** IPv4/IPv6 addresses as ADDR/PREFIX. */
  addresses: string[];
}

/** The iproute2 `ip` on PATH (or in /sbin, /usr/sbin, where Debian keeps it); busybox's has no -j. */
export function findIp(env: NodeJS.ProcessEnv = process.env): string {
  const dirs = [...(env.PATH ?? '').split(':').filter((d) => d.startsWith('/')), '/usr/sbin', '/sbin'];
  for (const d of dirs) {
    const p = join(d, 'ip');
    try {
      accessSync(p, constants.X_OK);
    } catch {
      continue;
    }
    const r = spawnSync(p, ['-j', 'link', 'show', 'dev', 'lo'], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim().startsWith('[')) return p;
  }
  throw new RapidoError('NET_NO_IPROUTE2', 'iproute2 is missing: no `ip` command that speaks JSON (-j) on PATH', {
    hint: 'install it: apt-get install iproute2 (busybox\'s ip is not enough)',
  });
}

/** Runs `ip ARGS`; a failure is a RapidoError quoting ip's own message. */
export function runIp(ip: string, args: string[]): string {
  const r = spawnSync(ip, args, { encoding: 'utf8' });
  if (r.error) throw new RapidoError('NET_IP_FAILED', `cannot run ${ip}: ${r.error.message}`, { cause: r.error });
  if (r.status !== 0) {
    throw new RapidoError('NET_IP_FAILED', `ip ${args.join(' ')} failed: ${(r.stderr || r.stdout).trim() || `status ${r.status}`}`);
  }
  return r.stdout;
}

interface IpLinkJson {
  ifname: string;
  flags?: string[];
  master?: string;
  linkinfo?: { info_kind?: string; info_data?: { type?: string; user?: string | number } };
  addr_info?: { local?: string; prefixlen?: number }[];
}

/** The device called `name`, or undefined when there is none. */
export function linkInfo(ip: string, name: string): LinkInfo | undefined {
  const r = spawnSync(ip, ['-d', '-j', 'addr', 'show', 'dev', name], { encoding: 'utf8' });
  if (r.status !== 0) {
    if (/does not exist|Cannot find device/i.test(r.stderr)) return undefined;
    throw new RapidoError('NET_IP_FAILED', `ip addr show dev ${name} failed: ${r.stderr.trim() || `status ${r.status}`}`);
  }
  let parsed: IpLinkJson[];
  try {
    parsed = JSON.parse(r.stdout) as IpLinkJson[];
  } catch (e) {
    throw new RapidoError('NET_IP_FAILED', `ip printed something other than JSON for ${name}`, { cause: e });
  }
  const l = parsed[0];
  if (!l) return undefined;
  const kindName = l.linkinfo?.info_kind;
  const kind: LinkKind = kindName === 'bridge' ? 'bridge'
    : kindName === 'tun' ? (l.linkinfo?.info_data?.type === 'tun' ? 'tun' : 'tap')
      : 'other';
  const user = l.linkinfo?.info_data?.user;
  return {
    name: l.ifname,
    kind,
    owner: user === undefined ? undefined : String(user),
    master: l.master,
    up: (l.flags ?? []).includes('UP'),
    addresses: (l.addr_info ?? []).filter((a) => a.local).map((a) => `${a.local}/${a.prefixlen}`),
  };
}

/** What a link is, in words, for messages. */
export function describeKind(kind: LinkKind): string {
  return kind === 'tap' ? 'a tap device' : kind === 'tun' ? 'a tun (not tap) device' : kind === 'bridge' ? 'a bridge' : 'some other kind of device';
}
