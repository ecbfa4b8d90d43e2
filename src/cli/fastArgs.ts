import type { PostStep } from '../derivations/builders/context.js';
import { readPostStep } from '../commands/postStepArgs.js';

export interface CutArgs {
  name: string;
  buildOnly: boolean;
  /** --no-substitute: build what is missing locally without asking RAPIDO_SUBSTITUTERS. */
  noSubstitute?: boolean;
  post: PostStep[];
}

/**
 * The edit → re-cut loop runs `rapido cut [-B] [--no-substitute] [-x CMD] [-f FILE] NAME`
 * hundreds of times a day. Parsing that by hand spares loading yargs (about
 * 70 ms); anything else (other flags, --help) goes to the full parser.
 */
export function parseFastCut(argv: string[]): CutArgs | null {
  if (argv[0] !== 'cut') return null;
  let name: string | undefined;
  let buildOnly = false;
  let noSubstitute = false;
  const post: PostStep[] = [];
  for (let i = 1; i < argv.length; ) {
    const a = argv[i];
    const step = readPostStep(argv, i);
    if (step) {
      post.push(step.step);
      i += step.used;
      continue;
    }
    if (a === '-B') buildOnly = true;
    else if (a === '--no-substitute') noSubstitute = true;
    else if (!a.startsWith('-') && name === undefined) name = a;
    else return null;
    i++;
  }
  return name === undefined ? null : { name, buildOnly, post, ...(noSubstitute ? { noSubstitute } : {}) };
}
