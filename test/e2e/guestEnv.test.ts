/**
 * End to end: the guest as a test environment (/dev/fd, the kernel's
 * filesystems, module hotplug, users, terminfo, the kernel config), the
 * report of commands and libraries the image lacks, and a clean console with
 * the whole of it in <image>.console.log. Real QEMU (TCG), the host's kernel;
 * one boot checks many things.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { consoleLogPath } from '../../src/runner/bootVm.js';
import { makeProject } from '../helpers/cliHarness.js';
import { haveQemu, QEMU_NEEDS, requireHost, requireKernel, skipUnless } from '../helpers/hostPrereqs.js';

const BOOT = ['--timeout', '240', '--accel', 'tcg'];

/** The kernel filesystems the init mounts, with the config option that gives each. */
const KERNEL_FS: [string, string, string][] = [
  ['configfs', '/sys/kernel/config', 'CONFIG_CONFIGFS_FS'],
  ['debugfs', '/sys/kernel/debug', 'CONFIG_DEBUG_FS'],
  ['tracefs', '/sys/kernel/tracing', 'CONFIG_TRACING'],
  ['securityfs', '/sys/kernel/security', 'CONFIG_SECURITYFS'],
];

const ENV_SCRIPT = `#!/bin/bash
check() { if eval "$2"; then echo "ENV ok $1"; else echo "ENV FAIL $1"; fi; }
check devfd '[ -L /dev/fd ] && [ -e /dev/fd/0 ]'
check stdio '[ -L /dev/stdin ] && [ -L /dev/stdout ] && [ -L /dev/stderr ]'
check procsubst '[ "$(cat <(echo sub))" = sub ]'
for m in $KERNEL_FS; do check "mount \${m%%:*}" "grep -q ' \${m#*:} \${m%%:*} ' /proc/mounts"; done
check users 'grep -q "^root:x:0:0:" /etc/passwd && grep -q "^fsgqa:" /etc/passwd && grep -q "^fsgqa2:" /etc/passwd && grep -q "^123456-fsgqa:" /etc/passwd && grep -q "^nogroup:" /etc/group'
read -r release < /proc/sys/kernel/osrelease
check kconfig '[ -s /boot/config-$release ] || [ -e /proc/config.gz ]'
check terminfo '[ -e /lib/terminfo/l/linux ] || [ -e /usr/share/terminfo/l/linux ] || [ -e /etc/terminfo/l/linux ]'
# Hotplug: scsi_debug's disk gets sd_mod, which no one loads by hand.
modprobe scsi_debug
for ((i = 0; i < 60; i++)); do ls /sys/block | grep -q '^sd' && break; sleep 0.5; done
disk=$(ls /sys/block | grep '^sd' | head -n 1)
check hotplug '[ -n "$disk" ] && [ -b /dev/$disk ] && grep -q "^sd_mod " /proc/modules'
# Commands and a library the image lacks; the step still succeeds.
parted -l 2>/dev/null
parted -s /dev/null print 2>/dev/null
nproc > /dev/null 2>&1
lsblk > /dev/null
echo "ENV done"
exit 0
`;

describe('the guest as a test environment', { ...skipUnless(haveQemu(), QEMU_NEEDS), concurrency: 2 }, () => {
  test('one boot: /dev/fd, kernel filesystems, hotplug, users, kconfig, terminfo; missing commands and libraries reported; clean console, full log', async () => {
    requireHost(haveQemu(), QEMU_NEEDS);
    const kconfig = readFileSync(requireKernel().config, 'utf8');
    const fsWanted = KERNEL_FS.filter(([, , opt]) => new RegExp(`^${opt}=[ym]$`, 'm').test(kconfig));
    const p = makeProject();
    try {
      // No sd_mod load and no diff in the recipe; lsblk without its libraries (file copies just the binary).
      p.write('env.rapido', 'bin bash cat ls grep head sleep modprobe\nkmod scsi_debug sd_mod\ntry-kmod configfs\nfile /usr/bin/lsblk\nautorun env.sh\nvm-mem 512M\n');
      p.write('env.sh', ENV_SCRIPT.replace('$KERNEL_FS', fsWanted.map(([fs, dir]) => `${fs}:${dir}`).join(' ')));
      const r = await p.runAsync(['cut', ...BOOT, '-x', 'echo a > /tmp/a; echo b > /tmp/b; diff /tmp/a /tmp/b; exit 3', './env.rapido']);
      const diag = `${r.stderr}\n${r.stdout.slice(-4000)}`;
      assert.equal(r.status, 3, `the step's status stays the status\n${diag}`);
      assert.match(r.stdout, /^ENV done$/m, diag);
      assert.deepEqual(r.stdout.match(/^ENV FAIL .*$/gm) ?? [], []);
      for (const name of ['devfd', 'stdio', 'procsubst', 'users', 'kconfig', 'terminfo', 'hotplug', ...fsWanted.map(([fs]) => `mount ${fs}`)]) {
        assert.match(r.stdout, new RegExp(`^ENV ok ${name}$`, 'm'), diag);
      }

      // One line each: bash's calls (through the guest's hook), dash's (from its message), the loader's error.
      const cmds = r.stderr.match(/^rapido: commands not found in the image: (.*)$/m);
      assert.ok(cmds, diag);
      assert.match(cmds[1], /(^|, )parted \(2x\)(,|;)/);
      assert.match(cmds[1], /(^|, )nproc(,|;)/);
      assert.match(cmds[1], /(^|, )diff(,|;)/);
      assert.match(cmds[1], /add them to the recipe: bin /);
      assert.match(r.stderr, /^rapido: shared libraries missing in the image: lib(smartcols|udev|blkid|mount)\.so\.1[;, ]/m);

      // Clean stdout: no escape sequences, no firmware, no kernel record before the failure; then the kernel's tail.
      assert.ok(!r.stdout.includes('\x1b'), 'no escape sequences');
      assert.doesNotMatch(r.stdout, /SeaBIOS|Booting from ROM/);
      const failedAt = r.stdout.indexOf('rapido-init: step /rapido-post/001 failed with status 3');
      assert.ok(failedAt > 0, diag);
      assert.doesNotMatch(r.stdout.slice(0, failedAt), /^\[\s*\d+\.\d+\] /m, 'no kernel messages among the steps\' output');
      assert.match(r.stdout.slice(failedAt), /^\[\s*\d+\.\d+\] /m, 'the kernel\'s last messages after the failure');
      assert.match(r.stderr, /the kernel's last \d+ messages/);

      const log = consoleLogPath(p.out, 1);
      assert.match(r.stderr, /^rapido: VM 1 finished with status 3; console with kernel messages: .*myinitrd\.console\.log$/m);
      const text = readFileSync(log, 'utf8');
      assert.ok(!text.includes('\x1b'));
      assert.match(text, /^SeaBIOS/m);
      assert.match(text, /^\[\s*\d+\.\d+\] Linux version /m);
      assert.match(text, /^\[\s*\d+\.\d+\] Run \/rapido-init as init process$/m);
      assert.match(text, /^\[\s*\d+\.\d+\] .*\[sd[a-z]+\] Attached SCSI disk$/m);
      assert.match(text, /^ENV done$/m);
    } finally {
      p.cleanup();
    }
  });

  test('--verbose: firmware text and kernel messages on stdout too, still without escape sequences; no tail after a success', async () => {
    requireHost(haveQemu(), QEMU_NEEDS);
    const p = makeProject();
    try {
      p.write('v.rapido', 'bin cat\n');
      const r = await p.runAsync(['cut', ...BOOT, '--verbose', '-x', 'echo verbose-run', './v.rapido']);
      assert.equal(r.status, 0, r.stderr + r.stdout.slice(-2000));
      assert.match(r.stdout, /^SeaBIOS/m);
      assert.match(r.stdout, /^\[\s*\d+\.\d+\] Linux version /m);
      assert.match(r.stdout, /^verbose-run$/m);
      assert.ok(!r.stdout.includes('\x1b'));
      assert.doesNotMatch(r.stderr, /kernel's last|not found in the image/);
      assert.ok(existsSync(consoleLogPath(p.out, 1)));
    } finally {
      p.cleanup();
    }
  });
});
