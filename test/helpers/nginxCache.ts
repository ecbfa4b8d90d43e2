import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';

export const NGINX = '/usr/sbin/nginx';
export const NGINX_NEEDS = `${NGINX} (Debian's nginx: scripts/setup-test-services.sh installs it)`;

export interface NginxCache {
  url: string;
  accessLog: string;
  /** Stops it now (fast shutdown: open transfers are cut). */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/**
 * nginx with its own configuration in WORK, serving ROOT read-only on a
 * loopback port, in the foreground (a child of the test). `rateLimit` slows
 * each download (nginx's limit_rate), so a test can stop it mid-transfer.
 */
export async function startNginx(work: string, root: string, opts: { rateLimit?: string } = {}): Promise<NginxCache> {
  const port = await freePort();
  mkdirSync(join(work, 'logs'), { recursive: true });
  const accessLog = join(work, 'logs/access.log');
  const conf = join(work, 'nginx.conf');
  writeFileSync(conf, `
${process.getuid?.() === 0 ? 'user root;' : ''}
worker_processes 1;
pid ${join(work, 'nginx.pid')};
error_log ${join(work, 'logs/error.log')};
events { worker_connections 64; }
http {
  access_log ${accessLog};
  client_body_temp_path ${work}/body; proxy_temp_path ${work}/proxy; fastcgi_temp_path ${work}/fcgi;
  uwsgi_temp_path ${work}/uwsgi; scgi_temp_path ${work}/scgi;
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location / { limit_except GET { deny all; } }
    ${opts.rateLimit ? `limit_rate ${opts.rateLimit};` : ''}
  }
}
`);
  const child: ChildProcess = spawn(NGINX, ['-p', work, '-c', conf, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((r) => child.on('close', () => r()));
  // Ready when the port accepts connections.
  for (let i = 0; ; i++) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        r(true);
      });
      s.on('error', () => r(false));
    });
    if (ok) break;
    if (child.exitCode !== null || i > 100) throw new Error(`nginx did not start: ${stderr}${existsSync(join(work, 'logs/error.log')) ? readFileSync(join(work, 'logs/error.log'), 'utf8') : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    accessLog,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
