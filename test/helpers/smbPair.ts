/**
 * The SMB pairs' end-to-end check (cifs: smbd, ksmbd: the in-kernel server;
 * the same cifs client on VM 2): the client writes 4 MiB and the server reads
 * the same bytes from its xfs, an fio verify job passes on the mount, the
 * share unmounts, and the password never reaches the console.
 */
import assert from 'node:assert/strict';
import type { Project } from './cliHarness.js';
import type { Netns } from './netns.js';
import { onClient, PAIR_BOOT, pairSteps } from './pairNetns.js';

/** rapido.conf lines the SMB pair tests add: the password the console must never show. */
export const SMB_PW = 'e2e-Secret-pw';
export const SMB_CONF = `CIFS_PW="${SMB_PW}"\n`;

const CLIENT_STEP = onClient([
  'mnt=$(cat /run/cifs-mnt)',
  'dd if=/dev/urandom of="$mnt/data.bin" bs=1M count=4 status=none',
  'sync',
  'sum=$(sha256sum < "$mnt/data.bin" | cut -d" " -f1)',
  'echo "CLIENT-SUM $sum"',
  'said=$(pair_ask "file data.bin")',
  'echo "SERVER-SAID $said"',
  '[ "$said" = "file $sum" ]',
  'fio --name=cifs-verify --directory="$mnt" --size=8M --bs=64k --rw=write --verify=crc32c --do_verify=1 --ioengine=psync --output-format=terse > /tmp/fio.out',
  'echo "FIO-OK $(cut -d";" -f5 /tmp/fio.out)"',
  'umount "$mnt" && echo "UMOUNT-OK"',
  'pair_ask bye',
]);

/** Cuts RECIPE with the client step and boots VM 1 and VM 2 in NS. */
export async function bootSmbPair(ns: Netns, p: Project, recipe: 'cifs' | 'ksmbd'): Promise<{ status: number; stdout: string; stderr: string; say: string }> {
  p.write('client.sh', CLIENT_STEP, 0o755);
  const cut = p.run(['cut', '-B', '-f', 'client.sh', recipe]);
  assert.equal(cut.status, 0, cut.stderr);
  const r = await ns.rapido(p, PAIR_BOOT);
  return { ...r, say: `${r.stderr}\n${pairSteps(r.stdout, /(CIFS|cifs|smb|ksmbd)/, 60)}` };
}

/** The console of a pair that worked: the share, the mount, the same bytes on both sides, fio, the unmount, no password shown. */
export function assertSmbPairWorked(r: { status: number; stdout: string; stderr: string; say: string }, recipe: 'cifs' | 'ksmbd', server: string): void {
  const { stdout: out, say } = r;
  assert.equal(r.status, 0, say);
  assert.match(out, new RegExp(`\\[vm1\\] ${recipe}: server: ${server} shares /dev/zram0 \\(xfs\\) as //192\\.168\\.155\\.101/rapido for root`), say);
  assert.match(out, new RegExp(`\\[vm2\\] ${recipe}: client: //192\\.168\\.155\\.101/rapido mounted on /mnt/cifs \\(vers=3\\.1\\.1\\)`), say);
  const client = /\[vm2\] CLIENT-SUM ([0-9a-f]{64})/.exec(out);
  assert.ok(client, say);
  assert.match(out, new RegExp(`\\[vm1\\] pair: server: /srv/share/data\\.bin ${client[1]}`), 'the server read the same bytes from its xfs');
  assert.match(out, /\[vm2\] FIO-OK 0\b/, say);
  assert.match(out, /\[vm2\] UMOUNT-OK/, say);
  assertNoPassword(r);
  assert.doesNotMatch(r.stderr, /the server's steps failed/);
}

export function assertNoPassword(r: { stdout: string; stderr: string }): void {
  assert.doesNotMatch(r.stdout + r.stderr, new RegExp(SMB_PW), 'the password is never on the console or in rapido\'s messages');
}

/** Cuts RECIPE with the client step, boots VM 1 and VM 2, and checks the console; `server` names the server program (smbd, ksmbd). */
export async function checkSmbPair(ns: Netns, p: Project, recipe: 'cifs' | 'ksmbd', server: string): Promise<void> {
  assertSmbPairWorked(await bootSmbPair(ns, p, recipe), recipe, server);
}
