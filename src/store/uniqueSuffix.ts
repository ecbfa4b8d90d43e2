let counter = 0;

/**
 * A hex suffix unique within this process (and, with the pid beside it in
 * every name, across processes). Not node:crypto: loading it costs several
 * milliseconds of the warm cut's start-up, and names need no secrecy.
 */
export function uniqueSuffix(): string {
  counter = (counter + 1) & 0xffff;
  const t = Number(process.hrtime.bigint() & 0xffffffffffn);
  return t.toString(16).padStart(10, '0') + counter.toString(16).padStart(4, '0');
}
