import { test } from 'node:test';
import assert from 'node:assert/strict';
import { orderedPostSteps } from '../../src/commands/postStepArgs.js';
import { parseFastCut } from '../../src/cli/fastArgs.js';

const argv = ['cut', '-B', '-x', 'echo a', '-f', './b.sh', '-x=echo c', '-f=d.sh', 'simple-example'];
const steps = [
  { kind: 'cmd', cmd: 'echo a' },
  { kind: 'file', path: './b.sh' },
  { kind: 'cmd', cmd: 'echo c' },
  { kind: 'file', path: 'd.sh' },
];

test('the warm path and the yargs commands read -x/-f into the same ordered steps', () => {
  assert.deepEqual(orderedPostSteps(argv), steps);
  assert.deepEqual(parseFastCut(argv), { name: 'simple-example', buildOnly: true, post: steps });
});

test('orderedPostSteps stops at --; the hand parser declines what it does not know', () => {
  assert.deepEqual(orderedPostSteps(['cut', '-x', 'a', '--', '-x', 'b', 'n']), [{ kind: 'cmd', cmd: 'a' }]);
  assert.equal(parseFastCut(['cut', '--timeout', '3', 'n']), null);
  assert.equal(parseFastCut(['cut', 'n', '-x']), null); // -x without its value: yargs reports it
});
