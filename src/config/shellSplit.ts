import { RapidoError } from '../errors.js';

/**
 * Splits a string into words the way sh would without expansions: blanks
 * separate words, '...' is literal, "..." honours \" \\ \$ \` escapes, and a
 * backslash outside quotes escapes the next character. Used for rapido.conf
 * values that hold arguments (QEMU_EXTRA_ARGS, DRACUT_EXTRA_ARGS), which users
 * write as they would on a shell command line;
 * no shell is run, so `$X` and globs stay literal.
 */
export function shellSplit(src: string, what = 'value'): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === "'") {
      const end = src.indexOf("'", i + 1);
      if (end < 0) throw unterminated(what, src);
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
      if (j >= src.length) throw unterminated(what, src);
      inWord = true;
      i = j;
    } else if (c === '\\') {
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
    } else if (c === ' ' || c === '\t' || c === '\n') {
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

function unterminated(what: string, src: string): RapidoError {
  return new RapidoError('SHELL_SYNTAX', `${what}: unterminated quote in ${JSON.stringify(src)}`, {
    hint: 'close every \' and " quote; use \\ to escape a literal quote',
  });
}
