import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { describe, it } from 'node:test';
import { requireHost, skipUnless } from '../helpers/hostPrereqs.js';
import * as contract from '../../src/runner/guestContract.js';
import { GUEST_INIT_SCRIPT, guestInitPath } from '../../src/runner/guestInitPath.js';

describe('guest init script', () => {
  const text = readFileSync(GUEST_INIT_SCRIPT, 'utf8');

  it('is found from the compiled module', () => {
    assert.ok(statSync(GUEST_INIT_SCRIPT).isFile());
    assert.equal(guestInitPath(), GUEST_INIT_SCRIPT);
    assert.match(text, /^#!\/bin\/sh\n/);
  });

  for (const shell of ['/bin/busybox sh', '/usr/bin/dash', '/usr/bin/bash --posix']) {
    const [bin, ...args] = shell.split(' ');
    it(`parses under ${shell}`, skipUnless(existsSync(bin), bin), () => {
      requireHost(existsSync(bin), bin);
      execFileSync(bin, [...args, '-n', GUEST_INIT_SCRIPT]);
    });
  }

  it('uses the paths and parameters of the guest contract', () => {
    for (const p of [contract.GUEST_ENV_PATH, contract.GUEST_STATUS_TTY, `${contract.GUEST_AUTORUN_DIR}/*`, `${contract.GUEST_POST_DIR}/*`]) {
      assert.ok(text.includes(p), p);
    }
    for (const k of [contract.KPARAM_VM_NUM, contract.KPARAM_HOSTNAME, contract.KPARAM_EXIT]) {
      assert.ok(text.includes(`${k}=*)`), k);
    }
    assert.ok(text.includes(`{ report_missing; echo "${contract.GUEST_STATUS_PREFIX}$status"; } > "$status_tty"`));
    assert.ok(text.includes(`echo "${contract.GUEST_MISSING_COMMAND_PREFIX}$name"`));
    assert.ok(text.includes(`while [ $n -lt ${contract.GUEST_MISSING_MAX} ]`));
    assert.ok(text.includes(`echo "${contract.GUEST_CONSOLE_MARKER}"`));
    assert.ok(text.includes(`[ "$port" = ${contract.GUEST_STATUS_SYSFS_PORT} ]`));
    assert.equal(contract.GUEST_STATUS_SYSFS_PORT, `0x${contract.GUEST_STATUS_IOPORT.toString(16).toUpperCase()}`);
    assert.equal(contract.GUEST_STATUS_TTY, `/dev/ttyS${contract.GUEST_STATUS_SERIAL_INDEX}`);
  });
});
