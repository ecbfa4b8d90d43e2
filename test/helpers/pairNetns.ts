/**
 * What the server/client e2e tests share: a project whose VM 1 (.101) and
 * VM 2 (.102) have net-conf addresses, with the bridge and taps set up in a
 * network namespace made for the test (never the host's), the two-VM boot
 * arguments, client-only steps, and the console trimmed for a failure report.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { makeProject, type Project } from './cliHarness.js';
import { requireHost } from './hostPrereqs.js';
import { makeNetns, type Netns, type Result } from './netns.js';

/** `rapido boot` of VM 1 and VM 2 of the cut image, under TCG, bounded. */
export const PAIR_BOOT = ['boot', '--vms', '2', '--accel', 'tcg', '--timeout', '400'];
const CONF = 'BR_DEV="br-rapido"\nBR_ADDR="192.168.155.1/24"\nTAP_USER="root"\n';
const network = (addr: string) => `[Network]\nAddress=${addr}/24\n`;

/** Runs fn with such a project and namespace (after requireHost(ok, needs)), and removes both after. */
export async function inPairNetns(ok: boolean, needs: string, conf: string, fn: (ns: Netns, p: Project) => Promise<void>): Promise<void> {
  requireHost(ok, needs);
  const ns = makeNetns();
  const p = makeProject(CONF + conf);
  try {
    p.write('net-conf/vm1/rapido-tap1.network', network('192.168.155.101'));
    p.write('net-conf/vm2/rapido-tap2.network', network('192.168.155.102'));
    const setup = await ns.rapido(p, ['setup-network']);
    assert.equal(setup.status, 0, setup.stderr);
    await fn(ns, p);
  } finally {
    ns.cleanup();
    p.cleanup();
  }
}

/** A bash step (-f) that runs only on the client (both VMs boot the same image), with pair-lib sourced. */
export const onClient = (lines: string[]) => ['#!/bin/bash', '[ "$RAPIDO_VM_NUM" = 2 ] || exit 0', 'set -e', '. /usr/lib/rapido/pair-lib.sh', ...lines, ''].join('\n');

/** The console's last `max` lines without blank lines and kernel messages, except those matching `keep`. */
export function pairSteps(out: string, keep: RegExp, max: number): string {
  const kernel = /^\[vm\d\] \[ *\d+\.\d+\] /;
  return out.split('\n').filter((l) => !/^\[vm\d\] \s*$/.test(l) && (!kernel.test(l) || keep.test(l))).slice(-max).join('\n');
}

/**
 * A bound on one VM's boot to its autorun's end under TCG on a loaded 2-core
 * host (about 20 s when idle): below PAIR_WAIT_SECS's default, 120 s, so a
 * run this short did not wait for a server.
 */
export const CLIENT_BOOT_SECS = 100;

/**
 * `rapido cut -B RECIPE`, then `rapido boot` of it as VM 2 with no VM 1:
 * VM 1's number is held by this test process (the claim a starting rapido
 * writes), so the client boots alone and nothing answers at VM 1's address.
 * The wall time of the boot in secs; `say` is what to show on a failure.
 */
export async function bootClientAlone(ns: Netns, p: Project, recipe: string, timeoutSecs = 240): Promise<Result & { secs: number; say: string }> {
  const cut = p.run(['cut', '-B', recipe]);
  assert.equal(cut.status, 0, cut.stderr);
  const claim = join(dirname(p.out), 'rapido_vm1.pid');
  writeFileSync(claim, `${process.pid} rapido-claim\n`);
  try {
    const t0 = Date.now();
    const r = await ns.rapido(p, ['boot', '--accel', 'tcg', '--timeout', String(timeoutSecs)]);
    return { ...r, secs: (Date.now() - t0) / 1000, say: `${r.stderr}\n${r.stdout.slice(-3000)}` };
  } finally {
    rmSync(claim, { force: true });
  }
}
