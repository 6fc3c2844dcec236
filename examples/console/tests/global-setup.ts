// Starts what the browser test runs against: moto (Cognito), two tenants' pools in it, and
// examples/admin_service with the console, each on a free 127.0.0.1 port. Their addresses and
// pools reach the tests through process.env (E2E_STATE); the returned function stops them.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { PASSWORD, createPool, enrollTotp } from './cognito';

const consoleDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const root = resolve(consoleDir, '../..');
export const workDir = join(root, 'target', 'console-e2e');

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => ok(port));
    });
  });
}

async function waitFor(what: string, url: string, child: ChildProcess, log: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}; see ${log}`);
    try {
      const response = await fetch(url);
      if (response.status < 500) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${what} did not answer within 60 s; see ${log}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function start(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; log: string } {
  const log = join(workDir, `${name}.log`);
  const out = openSync(log, 'w');
  const child = spawn(command, args, { stdio: ['ignore', out, out], env: { ...process.env, ...env } });
  return { child, log };
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  mkdirSync(workDir, { recursive: true });
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    for (const child of children) child.kill('SIGTERM');
  };
  try {
    // The console bundle, built from source.
    execFileSync(process.execPath, [join(consoleDir, 'build.mjs')], { stdio: 'inherit' });

    // The service, from this checkout (cargo's lock serialises with other builds).
    // `all` reuses what `cargo test --all-features` built (scripts/test); `admin` is enough.
    const features = process.env.ADMIN_SERVICE_FEATURES ?? 'admin';
    const featureArgs = features === 'all' ? ['--all-features'] : ['--features', features];
    execFileSync('cargo', ['build', '--quiet', '--example', 'admin_service', ...featureArgs], { cwd: root, stdio: 'inherit' });
    const targetDir = process.env.CARGO_TARGET_DIR ? resolve(root, process.env.CARGO_TARGET_DIR) : join(root, 'target');
    const service = join(targetDir, 'debug', 'examples', 'admin_service');

    const motoBinary = process.env.MOTO_SERVER ?? join(root, '.venv', 'bin', 'moto_server');
    if (!existsSync(motoBinary)) {
      throw new Error(`moto_server not found at ${motoBinary}: run bash scripts/test once (it installs moto into .venv) or set MOTO_SERVER`);
    }
    const motoPort = await freePort();
    const moto = start('moto', motoBinary, ['-H', '127.0.0.1', '-p', String(motoPort)]);
    children.push(moto.child);
    const motoUrl = `http://127.0.0.1:${motoPort}`;
    await waitFor('moto', `${motoUrl}/moto-api/`, moto.child, moto.log);

    const acme = await createPool(motoUrl, 'acme', ['admin', 'support'], {
      // alice holds support too: an administrator can only grant the roles they hold.
      alice: ['admin', 'support'],
      bob: [],
      dave: [],
      erin: [],
      frank: [],
      // More users than one page of the console's list (10).
      ...Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`user${String(i + 1).padStart(2, '0')}`, []])),
    });
    const globex = await createPool(motoUrl, 'globex', ['admin'], { gina: ['admin'], gus: [] });
    // Bob has an authenticator app, so an admin can make TOTP his preferred factor.
    await enrollTotp(motoUrl, acme, 'bob', PASSWORD);

    const config = join(workDir, 'admin.toml');
    const tenant = (pool: typeof acme): string =>
      `[[tenant]]\nid = "${pool.tenant}"\nuser_pool_id = "${pool.id}"\nclient_ids = ["${pool.clientId}"]\n` +
      `jwks_url = "${motoUrl}/${pool.id}/.well-known/jwks.json"\n`;
    writeFileSync(
      config,
      `# Written by examples/console/tests/global-setup.ts\nrevocations = true\n\n[aws]\nendpoint_url = "${motoUrl}"\nregion = "us-east-1"\n\n` +
        `${tenant(acme)}\n${tenant(globex)}`,
    );
    const servicePort = await freePort();
    const admin = start('admin_service', service, ['--config', config, '--bind', `127.0.0.1:${servicePort}`, '--console', join(consoleDir, 'dist')], {
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
      RUST_LOG: 'info',
    });
    children.push(admin.child);
    const serviceUrl = `http://127.0.0.1:${servicePort}`;
    await waitFor('admin_service', `${serviceUrl}/tenants/acme/client-config`, admin.child, admin.log);

    process.env.E2E_STATE = JSON.stringify({ motoUrl, serviceUrl, acme, globex, logs: workDir });
    return stop;
  } catch (err) {
    await stop();
    throw err;
  }
}
