/**
 * A file's lines as views of its bytes (split at '\n', nothing copied or
 * decoded): the stamp and the tree snapshots are laid out a record per line,
 * so that a cut decodes, or copies as they are, only the lines it needs.
 * A last line without '\n' counts; nothing follows a final '\n'.
 */
export function byteLines(bytes: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const nl = bytes.indexOf(10, at);
    const end = nl < 0 ? bytes.length : nl;
    lines.push(bytes.subarray(at, end));
    at = end + 1;
  }
  return lines;
}
