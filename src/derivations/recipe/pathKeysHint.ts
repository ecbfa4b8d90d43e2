import type { Directive } from './directives.js';
import { recipeKeys } from './recipeKeys.js';

/**
 * The hint for a host path that a directive names but the host lacks, when
 * the path came from rapido.conf keys (`${VAR}`): each key with the comment
 * documenting it in the recipe (which says what makes that path, e.g. a
 * set-up script) and its default. A secret's default is never shown.
 */
export function pathKeysHint(d: Directive, manifest: string): string | undefined {
  if (!d.refs?.length) return undefined;
  const keys = new Map(recipeKeys(manifest).map((k) => [k.name, k]));
  const says = d.refs.map((name) => {
    const k = keys.get(name);
    const dflt = k?.default !== undefined && k.how !== 'secret' ? `; default ${k.default}` : '';
    return `${name} (rapido.conf or the environment${dflt})${k?.doc ? `: ${k.doc}` : ''}`;
  });
  return `the path comes from ${says.join('; ')}`;
}
