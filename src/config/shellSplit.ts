import { RapidoError } from '../errors.js';

// Shell-style word splitting, in the two dialects rapido reads. They differ on
// purpose: rapido.conf values that hold arguments are written as on a shell
// command line (escapes matter), while the recipe format never had escapes:
// `\` and "..." stay literal there (changing that would change what existing
// recipes mean), and `#` starts a comment.
// parseShellConf.ts parseShellWord reads a single assignment value with `$VAR`
// expansion, which is not splitting and stays there.

interface Dialect {
  /** `\` escapes outside quotes and \" \\ \$ \` inside "..."; otherwise `\` is a plain character and "..." is literal like '...'. */
  escapes: boolean;
  /** `#` at the start of a word ends the line. */
  comments: boolean;
  isBlank: (c: string) => boolean;
  unterminated: (quote: string) => RapidoError;
}

function split(src: string, d: Dialect): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === "'" || (c === '"' && !d.escapes)) {
      const end = src.indexOf(c, i + 1);
      if (end < 0) throw d.unterminated(c);
      word += src.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < src.length && src[j] !== '"'; j++) {
        if (src[j] === '\\' && j + 1 < src.length && '"\\$`\n'.includes(src[j + 1])) {
          j++;
          if (src[j] !== '\n') word += src[j];
        } else {
          word += src[j];
        }
      }
      if (j >= src.length) throw d.unterminated(c);
      inWord = true;
      i = j;
    } else if (c === '\\' && d.escapes) {
      if (i + 1 < src.length) {
        // backslash-newline is a line continuation, not a character
        if (src[i + 1] !== '\n') {
          word += src[i + 1];
          inWord = true;
        }
        i++;
      } else {
        word += c;
        inWord = true;
      }
    } else if (c === '#' && d.comments && !inWord) {
      break;
    } else if (d.isBlank(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/**
 * Splits a string into words the way sh would without expansions: blanks
 * separate words, '...' is literal, "..." honours \" \\ \$ \` escapes, and a
 * backslash outside quotes escapes the next character. Used for rapido.conf
 * values that hold arguments (QEMU_EXTRA_ARGS, DRACUT_EXTRA_ARGS), which users
 * write as they would on a shell command line;
 * no shell is run, so `$X` and globs stay literal.
 */
export function shellSplit(src: string, what = 'value'): string[] {
  return split(src, {
    escapes: true,
    comments: false,
    isBlank: (c) => c === ' ' || c === '\t' || c === '\n',
    unterminated: () =>
      new RapidoError('SHELL_SYNTAX', `${what}: unterminated quote in ${JSON.stringify(src)}`, {
        hint: 'close every \' and " quote; use \\ to escape a literal quote',
      }),
  });
}

/** A recipe line's words: whitespace-separated; "..." and '...' group words with spaces; `#` starts a comment. */
export function splitRecipeWords(s: string, where: string): string[] {
  return split(s, {
    escapes: false,
    comments: true,
    isBlank: (c) => /\s/.test(c),
    unterminated: (q) => new RapidoError('RECIPE_SYNTAX', `${where}: unterminated ${q}`, { hint: 'close the quote on the same line' }),
  });
}
