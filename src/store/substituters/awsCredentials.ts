import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AwsCredentials } from './sigv4.js';

/** Credentials, or the places looked in (for a message that says where, never what). */
export type CredentialLookup = { found: AwsCredentials } | { found: null; lookedIn: string[] };

/** The `[NAME]` section of an AWS INI file (credentials format: `key = value`, `#`/`;` comments). */
function iniSection(text: string, name: string): Map<string, string> | null {
  let current: string | null = null;
  let section: Map<string, string> | null = null;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const head = /^\[\s*(.+?)\s*\]$/.exec(line);
    if (head) {
      current = head[1]!;
      if (current === name) section ??= new Map();
      continue;
    }
    const kv = /^([^=]+?)\s*=\s*(.*)$/.exec(line);
    if (kv && current === name) section!.set(kv[1]!.toLowerCase(), kv[2]!);
  }
  return section;
}

/**
 * Where the AWS CLI and SDKs find static credentials, in their order:
 * AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN), else the
 * AWS_PROFILE (default `default`) section of AWS_SHARED_CREDENTIALS_FILE or
 * ~/.aws/credentials. (SSO, instance metadata and assume-role are the SDK's
 * business; a cache user can export keys from those.)
 */
export function findAwsCredentials(env: NodeJS.ProcessEnv): CredentialLookup {
  const lookedIn: string[] = [];
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    return {
      found: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN || undefined },
    };
  }
  lookedIn.push(env.AWS_ACCESS_KEY_ID ? 'AWS_ACCESS_KEY_ID (set, but AWS_SECRET_ACCESS_KEY is not)' : 'AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (unset)');
  const profile = env.AWS_PROFILE || 'default';
  const file = env.AWS_SHARED_CREDENTIALS_FILE || path.join(env.HOME || os.homedir(), '.aws', 'credentials');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    lookedIn.push(`${file} (${(e as NodeJS.ErrnoException).code ?? 'unreadable'})`);
    return { found: null, lookedIn };
  }
  const section = iniSection(text, profile);
  const id = section?.get('aws_access_key_id');
  const secret = section?.get('aws_secret_access_key');
  if (id && secret) {
    return { found: { accessKeyId: id, secretAccessKey: secret, sessionToken: section!.get('aws_session_token') || undefined } };
  }
  lookedIn.push(section ? `${file} [${profile}] (no aws_access_key_id/aws_secret_access_key)` : `${file} (no [${profile}] section)`);
  return { found: null, lookedIn };
}
