import { RapidoError } from '../errors.js';
import { EXIT } from '../exitCodes.js';
import { allNetConfTaps } from '../runner/netConf.js';
import { describeKind, findIp, linkInfo, runIp } from './hostLinks.js';

/**
 * `rapido setup-network` / `teardown-network`, as Rapido's: the bridge
 * BR_DEV (with BR_ADDR, and BR_IF enslaved) and one tap per
 * net-conf `vm<N>/<tap>.network`, owned by TAP_USER. Both are idempotent:
 * what is already as wanted is left alone and said so. iproute2 only.
 */

export interface BridgeSettings {
  bridge?: string;
  /** ADDR/PREFIX for the bridge. */
  address?: string;
  /** A host interface to enslave to the bridge. */
  uplink?: string;
  /** Who may open the taps (QEMU runs as this user). */
  owner?: string;
  netConfDir: string;
  say: (line: string) => void;
}

export function requireRoot(command: string, argv: string[]): void {
  if (process.getuid?.() === 0) return;
  const args = argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
  throw new RapidoError('NET_NOT_ROOT', `${command} creates and removes host network devices, which needs root`, {
    hint: `run it with sudo: sudo rapido ${command}${args ? ` ${args}` : ''}`,
  });
}

function requireBridgeName(s: BridgeSettings, command: string): string {
  if (!s.bridge) {
    throw new RapidoError('USAGE', `${command}: no bridge named: give -b BRIDGE or set BR_DEV in rapido.conf`, {
      hint: 'e.g. BR_DEV="br-rapido" and BR_ADDR="192.168.155.1/24" in rapido.conf', exitCode: EXIT.USAGE,
    });
  }
  return s.bridge;
}

export function setupNetwork(s: BridgeSettings): void {
  const bridge = requireBridgeName(s, 'setup-network');
  if (!s.owner) {
    throw new RapidoError('USAGE', 'setup-network: no tap owner: give -o USER or set TAP_USER in rapido.conf', {
      hint: 'the user who boots the VMs (QEMU opens the taps as that user)', exitCode: EXIT.USAGE,
    });
  }
  const taps = allNetConfTaps(s.netConfDir);
  const ip = findIp();
  // Check every name before changing anything: a refusal leaves the host as it was.
  const br = linkInfo(ip, bridge);
  if (br && br.kind !== 'bridge') {
    throw new RapidoError('NET_NAME_TAKEN', `${bridge} exists and is ${describeKind(br.kind)}, not a bridge`, {
      hint: `use another bridge name (-b, BR_DEV), or remove it: ip link delete ${bridge}`,
    });
  }
  const existing = new Map(taps.map((t) => [t.tap, linkInfo(ip, t.tap)]));
  for (const t of taps) {
    const l = existing.get(t.tap);
    if (l && l.kind !== 'tap') {
      throw new RapidoError('NET_NAME_TAKEN', `${t.tap} (${t.file}) exists and is ${describeKind(l.kind)}, not a tap`, {
        hint: `rename the .network file to another tap name, or remove the device: ip link delete ${t.tap}`,
      });
    }
  }
  if (s.uplink && !linkInfo(ip, s.uplink)) {
    throw new RapidoError('NET_IP_FAILED', `BR_IF ${s.uplink} does not exist`, { hint: 'name an existing host interface in BR_IF, or leave it unset' });
  }

  if (br) s.say(`bridge ${bridge}: exists`);
  else {
    runIp(ip, ['link', 'add', bridge, 'type', 'bridge']);
    s.say(`bridge ${bridge}: created`);
  }
  if (s.address) {
    const have = br?.addresses ?? [];
    const want = s.address.includes('/') ? s.address : `${s.address}/32`;
    if (have.includes(want)) s.say(`bridge ${bridge}: has address ${want}`);
    else {
      runIp(ip, ['addr', 'add', s.address, 'dev', bridge]);
      s.say(`bridge ${bridge}: address ${s.address}`);
    }
  }
  if (s.uplink) {
    if (linkInfo(ip, s.uplink)?.master === bridge) s.say(`${s.uplink}: already on ${bridge}`);
    else {
      runIp(ip, ['link', 'set', s.uplink, 'master', bridge]);
      s.say(`${s.uplink}: connected to ${bridge}`);
    }
  }
  for (const t of taps) {
    const l = existing.get(t.tap);
    if (!l) {
      runIp(ip, ['tuntap', 'add', 'dev', t.tap, 'mode', 'tap', 'user', s.owner]);
      s.say(`tap ${t.tap} (vm${t.vmNum}): created, owner ${s.owner}`);
    } else if (l.owner !== undefined && l.owner !== s.owner) {
      s.say(`tap ${t.tap} (vm${t.vmNum}): exists, owned by ${l.owner}, not ${s.owner}: left as it is (teardown-network first to change it)`);
    } else s.say(`tap ${t.tap} (vm${t.vmNum}): exists`);
    if (l?.master !== bridge) runIp(ip, ['link', 'set', t.tap, 'master', bridge]);
  }
  for (const dev of [bridge, ...taps.map((t) => t.tap)]) runIp(ip, ['link', 'set', 'dev', dev, 'up']);
  if (taps.length === 0) s.say(`no vm<N>/<tap>.network in ${s.netConfDir}: no taps to create`);
}

export function teardownNetwork(s: BridgeSettings): void {
  const bridge = requireBridgeName(s, 'teardown-network');
  const ip = findIp();
  let taps: { vmNum: number; tap: string; file: string }[] = [];
  try {
    taps = allNetConfTaps(s.netConfDir);
  } catch (e) {
    // Without a net-conf there are no taps of ours to find; the bridge still goes.
    if (!(e instanceof RapidoError && e.code === 'NET_CONF_MISSING')) throw e;
  }
  for (const t of taps) {
    const l = linkInfo(ip, t.tap);
    if (!l) s.say(`tap ${t.tap}: absent`);
    else if (l.kind !== 'tap') s.say(`${t.tap}: is ${describeKind(l.kind)}, not a tap: left alone`);
    else {
      runIp(ip, ['link', 'delete', t.tap]);
      s.say(`tap ${t.tap}: removed`);
    }
  }
  const br = linkInfo(ip, bridge);
  if (!br) s.say(`bridge ${bridge}: absent`);
  else if (br.kind !== 'bridge') {
    throw new RapidoError('NET_NAME_TAKEN', `${bridge} is ${describeKind(br.kind)}, not a bridge: not removed`, {
      hint: 'check BR_DEV (-b) in rapido.conf',
    });
  } else {
    // Deleting the bridge releases BR_IF as well.
    runIp(ip, ['link', 'delete', bridge, 'type', 'bridge']);
    s.say(`bridge ${bridge}: removed`);
  }
}
