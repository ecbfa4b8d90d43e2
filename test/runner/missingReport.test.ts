import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GUEST_MISSING_COMMAND_PREFIX } from '../../src/runner/guestContract.js';
import { MissingReport } from '../../src/runner/missingReport.js';

describe('missing commands and libraries', () => {
  it('counts the guest\'s reports and the shells\' and loader\'s messages, in the order first seen', () => {
    const m = new MissingReport();
    m.addStatusText(['parted', 'nproc', 'parted', 'parted'].map((n) => `${GUEST_MISSING_COMMAND_PREFIX}${n}\r\n`).join('') + 'rapido-status 0\r\n');
    for (const line of [
      '/rapido-post/001: 2: diff: not found', // dash
      'sh: 1: column: not found', // dash -c
      '/x.sh: line 3: zgrep: not found', // busybox sh
      'sh: diff: not found',
      '/fstests/ltp/fsstress: error while loading shared libraries: liburing.so.2: cannot open shared object file: No such file or directory',
      'Error: device: not found', // not a shell's message
      'generic/001 5s',
    ]) m.scanConsoleLine(line);
    assert.deepEqual([...m.commands], [['parted', 3], ['nproc', 1], ['diff', 2], ['column', 1], ['zgrep', 1]]);
    assert.deepEqual([...m.libraries], [['liburing.so.2', 1]]);
    assert.deepEqual(m.lines(), [
      'commands not found in the image: parted (3x), nproc, diff (2x), column, zgrep; add them to the recipe: bin parted nproc diff column zgrep (try-bin for optional ones)',
      'shared libraries missing in the image: liburing.so.2; bring the program that needs them with bin (which copies its libraries), or the library with file',
    ]);
  });

  it('says nothing when nothing is missing', () => {
    const m = new MissingReport();
    m.addStatusText('rapido-status 0\r\n');
    m.scanConsoleLine('all good');
    assert.deepEqual(m.lines(), []);
  });
});
