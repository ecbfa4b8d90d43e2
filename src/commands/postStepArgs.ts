// `-x CMD` / `-f FILE` on the command line: the one reader of them, shared by
// the warm path's hand parser (cli/fastArgs.ts, no yargs) and the yargs
// commands (cut, why, audit). Imports nothing but a type, so the fast bundle
// stays small.
import type { PostStep } from '../derivations/builders/context.js';

/**
 * Reads one post step at argv[i]: `-x CMD`, `-f FILE`, `-x=CMD` or `-f=FILE`.
 * Returns the step and how many words it took, or null when argv[i] is none.
 */
export function readPostStep(argv: string[], i: number): { step: PostStep; used: number } | null {
  const a = argv[i];
  if ((a === '-x' || a === '-f') && i + 1 < argv.length) {
    const v = argv[i + 1];
    return { step: a === '-x' ? { kind: 'cmd', cmd: v } : { kind: 'file', path: v }, used: 2 };
  }
  if (/^-[xf]=/.test(a)) {
    const v = a.slice(3);
    return { step: a[1] === 'x' ? { kind: 'cmd', cmd: v } : { kind: 'file', path: v }, used: 1 };
  }
  return null;
}

/** -x and -f run in the order given on the command line, interleaved: yargs keeps two separate arrays, so re-scan. */
export function orderedPostSteps(raw: string[]): PostStep[] {
  const steps: PostStep[] = [];
  for (let i = 0; i < raw.length; ) {
    if (raw[i] === '--') break;
    const r = readPostStep(raw, i);
    if (r) {
      steps.push(r.step);
      i += r.used;
    } else {
      i++;
    }
  }
  return steps;
}
