import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The real upstream suites, built by scripts/build-suites.sh into its cache
 * (the same defaults as the script: RAPIDO_SUITES_CACHE, else
 * /var/cache/rapido/suites as root, ~/.cache/rapido/suites otherwise).
 * FSTESTS_SRC / BLKTESTS_SRC in the environment win, as in rapido.conf.
 */
export type Suite = 'xfstests' | 'blktests';

const ENV_KEY: Record<Suite, string> = { xfstests: 'FSTESTS_SRC', blktests: 'BLKTESTS_SRC' };

export function suitesCache(): string {
  if (process.env.RAPIDO_SUITES_CACHE) return process.env.RAPIDO_SUITES_CACHE;
  if (process.getuid?.() === 0) return '/var/cache/rapido/suites';
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'rapido', 'suites');
}

/** The built tree of `suite`, or null when scripts/build-suites.sh has not built it. */
export function builtSuite(suite: Suite): string | null {
  const fromEnv = process.env[ENV_KEY[suite]];
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : null;
  const cache = suitesCache();
  let names: string[];
  try {
    names = readdirSync(cache);
  } catch {
    return null;
  }
  const built = names
    .filter((n) => n.startsWith(`${suite}-`) && existsSync(join(cache, n, '.rapido-built')))
    .sort();
  return built.length ? join(cache, built[built.length - 1]) : null;
}

export const SUITE_NEEDS = (suite: Suite): string =>
  `${suite} built from ../shared/suites (run scripts/build-suites.sh, or set ${ENV_KEY[suite]})`;
