/**
 * import() of an ES module package (execa) from code that may run inside a
 * vm.Script: dist/bin/cut.cjs is loaded with V8's code cache that way
 * (cli/codeCache.ts), and a vm script's own import() needs an experimental
 * flag. bin/rapido.js, a real module, lends its import() through this hook.
 */
export function importEsm<T>(specifier: string): Promise<T> {
  const hook = (globalThis as { __rapidoImportEsm?: (s: string) => Promise<unknown> }).__rapidoImportEsm;
  return (hook ? hook(specifier) : import(specifier)) as Promise<T>;
}
