import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConsoleRouter, stripEscapes, type ConsoleKind } from '../../src/runner/consoleRouter.js';
import { GUEST_CONSOLE_MARKER } from '../../src/runner/guestContract.js';

/** Feeds `chunks` through a router; returns what reached out, the log and onLine. */
function route(chunks: string[], verbose = false) {
  let out = '';
  let log = '';
  const lines: [ConsoleKind, string][] = [];
  const r = new ConsoleRouter({
    out: { write: (s: string) => { out += s; return true; } } as NodeJS.WritableStream,
    verbose,
    log: (t) => (log += t),
    onLine: (l, k) => lines.push([k, l]),
  });
  for (const c of chunks) r.push(c);
  r.end();
  return { out, log, lines, tail: r.kernelTail(2) };
}

// What QEMU passes on from SeaBIOS and a kernel booted with console_msg_format=syslog printk.time=1.
const FIRMWARE = '\x1bc\x1b[?7l\x1b[2J\x1b[0mSeaBIOS (version 1.16.2)\r\nBooting from ROM...\r\nProbing EDD (edd=off to disable)... o\x1bc\x1b[?7l\x1b[2J';
const BOOT = `${FIRMWARE}<5>[    0.000000] Linux version 6.1.0\r\n<6>[    0.100000] Run /rapido-init as init process\r\n\r\n${GUEST_CONSOLE_MARKER}\r\n`;

describe('console router', () => {
  it('stdout gets the steps\' output only; the log gets everything without escape sequences', () => {
    const r = route([BOOT, 'hello\r\n', '<6>[   12.500000] zram0: detected capacity change\r\n', 'bye\r\n']);
    assert.equal(r.out, 'hello\nbye\n');
    assert.equal(r.log, 'SeaBIOS (version 1.16.2)\nBooting from ROM...\nProbing EDD (edd=off to disable)... o\n' +
      '[    0.000000] Linux version 6.1.0\n[    0.100000] Run /rapido-init as init process\n\n' +
      `${GUEST_CONSOLE_MARKER}\nhello\n[   12.500000] zram0: detected capacity change\nbye\n`);
    assert.ok(!r.log.includes('\x1b'));
    assert.deepEqual(r.lines.filter(([k]) => k === 'guest').map(([, l]) => l), ['hello', 'bye']);
    assert.deepEqual(r.tail, ['[    0.100000] Run /rapido-init as init process', '[   12.500000] zram0: detected capacity change']);
  });

  it('--verbose shows firmware and kernel lines too, still without the firmware\'s escape sequences', () => {
    const r = route([BOOT, 'hello\r\n'], true);
    assert.ok(r.out.startsWith('SeaBIOS (version 1.16.2)\nBooting from ROM...\n'), r.out);
    assert.match(r.out, /^\[ {4}0\.000000\] Linux version 6\.1\.0$/m);
    assert.ok(!r.out.includes('\x1b'));
    assert.ok(r.out.endsWith('hello\n'));
  });

  it('a record in the middle of a step\'s line is cut out; the line goes on', () => {
    const r = route([BOOT, 'generic/001 ', '<4>[   30.000000] WARNING: something\r\n', '5s\r\n']);
    assert.equal(r.out, 'generic/001 5s\n');
    assert.deepEqual(r.lines.filter(([k]) => k !== 'firmware').slice(-2), [['kernel', '[   30.000000] WARNING: something'], ['guest', 'generic/001 5s']]);
    assert.match(r.log, /generic\/001 \n\[ {3}30\.000000\] WARNING: something\n5s\n$/);
  });

  it('a partial line is passed on at once, but not a record split across chunks', () => {
    let out = '';
    const r = new ConsoleRouter({ out: { write: (s: string) => { out += s; return true; } } as NodeJS.WritableStream, verbose: false });
    r.push(BOOT);
    r.push('generic/001 ');
    assert.equal(out, 'generic/001 ', 'the test name shows before it ends');
    r.push('\r\n<6>[   1');
    r.push('2.000000]');
    r.push(' kernel says\r\n');
    assert.equal(out, 'generic/001 \n');
  });

  it('a step\'s own dmesg output (no syslog prefix) stays on stdout; colours stay, screen control goes', () => {
    const r = route([BOOT, '[    1.000000] from dmesg\r\n', '\x1b[31mred\x1b[0m \x1b[2Jcleared\r\n']);
    assert.equal(r.out, '[    1.000000] from dmesg\n\x1b[31mred\x1b[0m cleared\n');
    assert.equal(stripEscapes('\x1b[31mred\x1b[0m \x1b]0;title\x07x'), 'red x');
  });

  it('a quiet kernel: the marker ends the firmware part; the init\'s complaints before it are shown', () => {
    const quiet = route([`${FIRMWARE}\r\n${GUEST_CONSOLE_MARKER}\r\nstep output\r\n`]);
    assert.equal(quiet.out, 'step output\n');
    const early = route([`${FIRMWARE}rapido-init: could not mount proc on /proc\r\nmore\r\n`]);
    assert.equal(early.out, 'rapido-init: could not mount proc on /proc\nmore\n');
  });
});
