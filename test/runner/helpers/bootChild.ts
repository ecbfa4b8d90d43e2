// Runs one bootVm() in its own process, for tests that signal rapido itself
// or give it a terminal. Usage: node bootChild.js OPTIONS_JSON_FILE RESULT_FILE
import { readFileSync, writeFileSync } from 'node:fs';
import { bootVm, type BootVmOptions } from '../../../src/runner/bootVm.js';
import { isRapidoError } from '../../../src/errors.js';

const [optsFile, resultFile] = process.argv.slice(2);
if (optsFile && resultFile) {
  const m = new Map<string, unknown>();
  const opts = JSON.parse(readFileSync(optsFile, 'utf8')) as Omit<BootVmOptions, 'verdicts'>;
  try {
    const r = await bootVm({ ...opts, verdicts: { get: (k) => m.get(k), put: (k, v) => void m.set(k, v) } });
    writeFileSync(resultFile, JSON.stringify(r));
  } catch (e) {
    if (!isRapidoError(e)) throw e;
    writeFileSync(resultFile, JSON.stringify({ error: e.code, exitCode: e.exitCode, message: e.message }));
    process.exitCode = e.exitCode;
  }
}
