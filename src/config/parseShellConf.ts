import { RapidoError } from '../errors.js';

/**
 * Parses rapido.conf: the shell-style `KEY="value"` file Rapido users already
 * have. We do not run a shell (that would make the warm path spawn bash), so
 * we accept the subset these files use: comments, blank lines, optional
 * `export`, double quotes (with ${VAR}/$VAR expansion and backslash escapes),
 * single quotes (literal) and bare words.
 */
export type Lookup = (name: string) => string | undefined;

const ASSIGN = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;

/** Where each key was set (line of its first assignment) and which names the values expand: for the unknown-key warning. */
export interface ConfSource {
  lines: Map<string, number>;
  refs: Set<string>;
}

export function parseShellConf(text: string, file: string, fallback: Lookup, source?: ConfSource): Map<string, string> {
  const values = new Map<string, string>();
  const lookup: Lookup = (name) => {
    source?.refs.add(name);
    return values.get(name) ?? fallback(name);
  };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = ASSIGN.exec(line);
    if (!m) {
      throw new RapidoError('CONF_SYNTAX', `${file}:${i + 1}: not a KEY="value" line: ${line}`, {
        hint: 'rapido.conf holds shell-style assignments, one per line, e.g. KERNEL_SRC="/home/me/linux"',
      });
    }
    const value = parseShellWord(m[2], lookup, `${file}:${i + 1}`);
    values.set(m[1], value);
    if (source && !source.lines.has(m[1])) source.lines.set(m[1], i + 1);
  }
  return values;
}

/** One shell word (quotes, expansion), optionally followed by a `# comment`. */
function parseShellWord(src: string, lookup: Lookup, where: string): string {
  let out = '';
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === '"') {
      const end = findClosingDoubleQuote(src, i + 1);
      if (end < 0) throw unterminated(where);
      out += expandDoubleQuoted(src.slice(i + 1, end), lookup, where);
      i = end + 1;
    } else if (c === "'") {
      const end = src.indexOf("'", i + 1);
      if (end < 0) throw unterminated(where);
      out += src.slice(i + 1, end);
      i = end + 1;
    } else if (c === '#' || /\s/.test(c)) {
      const rest = src.slice(i).trim();
      if (rest !== '' && !rest.startsWith('#')) {
        throw new RapidoError('CONF_SYNTAX', `${where}: unquoted space in value`, {
          hint: 'quote values that contain spaces: KEY="a b"',
        });
      }
      break;
    } else if (c === '\\' && i + 1 < src.length) {
      out += src[i + 1];
      i += 2;
    } else if (c === '$') {
      const [value, next] = expandVariable(src, i, lookup, where);
      out += value;
      i = next;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

function findClosingDoubleQuote(src: string, from: number): number {
  for (let i = from; i < src.length; i++) {
    if (src[i] === '\\') i++;
    else if (src[i] === '"') return i;
  }
  return -1;
}

function expandDoubleQuoted(body: string, lookup: Lookup, where: string): string {
  let out = '';
  for (let i = 0; i < body.length; ) {
    const c = body[i];
    if (c === '\\' && i + 1 < body.length && '$`"\\\n'.includes(body[i + 1])) {
      out += body[i + 1];
      i += 2;
    } else if (c === '$') {
      const [value, next] = expandVariable(body, i, lookup, where);
      out += value;
      i = next;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** `$NAME` or `${NAME}`; an unset variable expands to '' as in the shell. */
function expandVariable(src: string, at: number, lookup: Lookup, where: string): [string, number] {
  if (src[at + 1] === '{') {
    const end = src.indexOf('}', at + 2);
    if (end < 0) throw unterminated(where);
    const name = src.slice(at + 2, end);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new RapidoError('CONF_SYNTAX', `${where}: unsupported expansion \${${name}}`, {
        hint: 'only plain ${VAR} expansion is supported',
      });
    }
    return [lookup(name) ?? '', end + 1];
  }
  const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(at + 1));
  if (!m) return ['$', at + 1];
  return [lookup(m[0]) ?? '', at + 1 + m[0].length];
}

function unterminated(where: string): RapidoError {
  return new RapidoError('CONF_SYNTAX', `${where}: unterminated quote or \${`, { hint: 'close the quote on the same line' });
}
