/**
 * Runs the real engine (`node dist/engine/main.js`, as `npm start` does) in a child process, so
 * end-to-end tests can kill -9 it, restart it on the same data, and read everything it logged.
 * Needs a build (`npm test` builds first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../engine/paths';
import { freePort } from './ports';

const MAIN = path.join(projectRoot(), 'dist', 'engine', 'main.js');

/**
 * The Node.js flags `npm start` gives the engine (package.json `scripts.start`, `node <flags>
 * dist/engine/main.js`), so tests and benches run the engine exactly as users start it.
 */
export function startFlags(): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(projectRoot(), 'package.json'), 'utf8')) as { scripts: { start: string } };
  const words = pkg.scripts.start.split(/\s+/);
  const node = words.indexOf('node');
  const main = words.indexOf('dist/engine/main.js');
  if (node < 0 || main < node) throw new Error(`package.json scripts.start is not "node <flags> dist/engine/main.js": ${pkg.scripts.start}`);
  return words.slice(node + 1, main);
}

export interface EngineProcess {
  port: number;
  mllpPort: number;
  baseUrl: string;
  /** The first admin the engine created from WASL_ADMIN_USER / WASL_ADMIN_PASSWORD. */
  admin: { username: string; password: string };
  /** fetch() on the engine's port as the admin (HTTP basic auth), e.g. `api('/api/v1/channels')`. */
  api(pathAndQuery: string, init?: RequestInit): Promise<Response>;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

export interface EngineProcessOptions {
  dataDir: string;
  channelsFile: string;
  mllpPort?: number;
  production?: { databaseUrl: string; amqpUrl: string };
  env?: Record<string, string>;
  /** Node.js flags after startFlags() (so they win), e.g. `--cpu-prof` (not allowed in NODE_OPTIONS). */
  nodeArgs?: string[];
}

/** The admin every test engine starts with (the API needs a signed-in caller). */
export const TEST_ADMIN = { username: 'admin', password: 'test-admin-password' } as const;

/** An Authorization header value for HTTP basic auth. */
export function basicAuth(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

export async function startEngineProcess(options: EngineProcessOptions): Promise<EngineProcess> {
  if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} missing: run npm run build first`);
  const port = await freePort();
  const mllpPort = options.mllpPort ?? (await freePort());
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    MLLP_PORT: String(mllpPort),
    WASL_DATA_DIR: options.dataDir,
    WASL_CHANNELS_FILE: options.channelsFile,
    WASL_FLOWS_DIR: path.join(options.dataDir, 'no-hand-made-flows'),
    DATABASE_URL: options.production?.databaseUrl ?? '',
    AMQP_URL: options.production?.amqpUrl ?? '',
    LOG_LEVEL: 'info',
    WASL_ADMIN_USER: TEST_ADMIN.username,
    WASL_ADMIN_PASSWORD: TEST_ADMIN.password,
    ...options.env,
  };
  const child: ChildProcess = spawn(process.execPath, [...startFlags(), ...(options.nodeArgs ?? []), MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`engine did not start within 60 s:\n${output.slice(-3000)}`)), 60_000);
    const check = () => {
      if (output.includes('Wasl is running')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', check);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`engine exited with ${code} before it started:\n${output.slice(-3000)}`));
    });
  });

  return {
    port,
    mllpPort,
    baseUrl: `http://127.0.0.1:${port}`,
    admin: { username: env.WASL_ADMIN_USER ?? '', password: env.WASL_ADMIN_PASSWORD ?? '' },
    api: (pathAndQuery, init = {}) => {
      const headers = new Headers(init.headers);
      if (!headers.has('authorization')) headers.set('authorization', basicAuth(env.WASL_ADMIN_USER ?? '', env.WASL_ADMIN_PASSWORD ?? ''));
      return fetch(`http://127.0.0.1:${port}${pathAndQuery}`, { ...init, headers });
    },
    output: () => output,
    kill9: async () => {
      child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface TestChannelOptions {
  id: string;
  fhirUrl: string;
  maxAttempts?: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
  extraDestinations?: string;
}

/** Writes a channels.yaml for one ADT → FHIR channel and returns its path. */
export function writeTestChannels(dir: string, o: TestChannelOptions): string {
  const file = path.join(dir, 'channels.yaml');
  fs.writeFileSync(
    file,
    `channels:
  - id: ${o.id}
    name: ${o.id}
    source:
      type: mllp
      port: \${MLLP_PORT}
      acceptMessageTypes: [ADT^A01, ADT^A03, ADT^A04, ADT^A08]
    filters:
      - field: MSH-9.1
        in: [ADT]
    transformers:
      - type: hl7-to-fhir
        mapping: adt
    destinations:
      fhir:
        type: fhir
        url: ${o.fhirUrl}
        timeoutMs: 5000
        retry: { maxAttempts: ${o.maxAttempts ?? 8}, initialDelayMs: ${o.initialDelayMs ?? 200}, maxDelayMs: ${o.maxDelayMs ?? 2000} }
${o.extraDestinations ?? ''}`,
  );
  return file;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `wasl-${prefix}-`));
}
