// Glob patterns to RegExps, one helper per semantics. They differ because they
// match different things: recipe `filter` patterns match image paths (so `**`
// crosses directories and a match covers what is below it), while modules.alias
// patterns and ld.so.conf `include` components follow libc's fnmatch(3), as
// kmod and ldconfig do, so rapido resolves the same modules and libraries.

/** Recipe `filter`: `*` and `?` match within a path component, `**` across them; a match also covers what is below it. */
export function pathGlobToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}(?:/.*)?$`);
}

/**
 * fnmatch(3) without flags: '*' and '?' match any character ('/' too), [...] with '!' or '^' negation, '\' escapes.
 * On one path component (no '/') it is also glob(3)'s per-component match.
 */
export function fnmatchToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') re += '[^]*';
    else if (c === '?') re += '[^]';
    else if (c === '\\' && i + 1 < pattern.length) re += escapeRe(pattern[++i]);
    else if (c === '[') {
      let j = i + 1;
      if (pattern[j] === '!' || pattern[j] === '^') j++;
      if (pattern[j] === ']') j++; // a leading ']' is a member
      while (j < pattern.length && pattern[j] !== ']') j++;
      if (j >= pattern.length) {
        re += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, j);
      const negate = body[0] === '!' || body[0] === '^';
      if (negate) body = body.slice(1);
      re += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = j;
    } else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`);
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
