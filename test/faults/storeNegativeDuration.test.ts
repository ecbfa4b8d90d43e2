// Fault: `--grace -5m` was read by yargs as the flags -5 and -m ("Unknown
// arguments: 5, m"). A negative or unreadable duration or size must be a
// usage error naming the option (exit 2), however it is written.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { makeProject } from '../helpers/cliHarness.js';
import { store } from '../commands/store/storeCli.js';

test('--grace -5m, --grace=-5m and friends: a usage error naming the option, exit 2, nothing done', () => {
  const p = makeProject();
  try {
    const cases: [string[], RegExp][] = [
      [['gc', '--grace', '-5m'], /^rapido-store: error: --grace: a duration cannot be negative: "-5m"\n {2}hint: write e\.g\. 10m, 12h, 7d or 0 for none\n$/],
      [['gc', '--grace=-5m'], /^rapido-store: error: --grace: a duration cannot be negative: "-5m"\n/],
      [['gc', '--dry-run', '--grace', '-5m'], /^rapido-store: error: --grace: a duration cannot be negative: "-5m"\n/],
      [['verify', '--grace', '-5m'], /^rapido-store: error: --grace: a duration cannot be negative: "-5m"\n/],
      [['verify', '--grace=-5m'], /^rapido-store: error: --grace: a duration cannot be negative: "-5m"\n/],
      [['gc', '--older-than', '-7d'], /^rapido-store: error: --older-than: a duration cannot be negative: "-7d"\n/],
      [['gc', '--dry-run', '--wait', '-1s'], /^rapido-store: error: --wait: a duration cannot be negative: "-1s"\n/],
      [['gc', '--max-size', '-5G'], /^rapido-store: error: --max-size: a size cannot be negative: "-5G"\n/],
      [['gc', '--grace', 'soon'], /^rapido-store: error: --grace: cannot read "soon" as a duration\n/],
      [['gc', '--grace'], /^rapido-store: error: Not enough arguments following: grace\n {2}hint: rapido-store --help lists commands/],
    ];
    for (const [args, re] of cases) {
      const r = store(p, args);
      assert.equal(r.status, 2, `rapido-store ${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re, `rapido-store ${args.join(' ')}`);
      assert.equal(r.stdout, '');
    }
    assert.equal(existsSync(p.store), false, 'refused before the store was touched');
  } finally {
    p.cleanup();
  }
});
