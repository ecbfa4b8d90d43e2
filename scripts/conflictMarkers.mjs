// Fails on a merge conflict left in a tracked file: eslint and tsc never see
// shell scripts, recipes or docs, and a stray `<<<<<<<` there breaks a fresh machine's set-up.
import { execFileSync } from 'node:child_process';

let found = '';
try {
  found = execFileSync('git', ['grep', '-n', '-I', '-E', '^(<<<<<<<|>>>>>>>) ', '--', '.', ':!node_modules'], { encoding: 'utf8' });
} catch (e) {
  if (e.status !== 1) throw e; // 1: no match
}
if (found) {
  process.stderr.write(`conflict markers:\n${found}`);
  process.exit(1);
}
console.log('conflict markers: none');
