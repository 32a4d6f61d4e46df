/**
 * The engine's configuration, read once from the environment. Embedded defaults need nothing;
 * production sets DATABASE_URL (PostgreSQL) and AMQP_URL (RabbitMQ). Secrets come only from
 * the environment.
 */
import path from 'node:path';
import { projectRoot } from './paths';

export interface EngineConfig {
  /** HTTP port for editor, ops pages, API, metrics and the demo FHIR server. 0 = any free port. */
  port: number;
  host: string;
  /** Demo MLLP port; channels.yaml reads it as ${MLLP_PORT}. */
  mllpPort: number;
  dataDir: string;
  channelsFile: string;
  flowsDir: string;
  databaseUrl?: string;
  amqpUrl?: string;
  secretKey?: string;
  /** Earlier WASL_SECRET_KEY values, comma-separated (WASL_SECRET_KEY_PREVIOUS): still decrypt stored secrets after a rotation. */
  previousSecretKeys?: string;
  adminUser?: string;
  adminPassword?: string;
  role: 'all' | 'intake' | 'worker';
}

function intFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name} must be a port number (0-65535), got '${raw}'`);
  return n;
}

function roleFrom(raw: string | undefined): EngineConfig['role'] {
  if (raw === undefined || raw === '' || raw === 'all') return 'all';
  if (raw === 'intake' || raw === 'worker') return raw;
  throw new Error(`WASL_ROLE must be all, intake or worker, got '${raw}'`);
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): EngineConfig {
  const root = projectRoot();
  return {
    port: intFrom(env, 'PORT', 1880),
    host: env.HOST || '0.0.0.0',
    mllpPort: intFrom(env, 'MLLP_PORT', 2575),
    dataDir: path.resolve(env.WASL_DATA_DIR || path.join(process.cwd(), 'data')),
    channelsFile: path.resolve(env.WASL_CHANNELS_FILE || path.join(root, 'channels.yaml')),
    flowsDir: path.resolve(env.WASL_FLOWS_DIR || path.join(root, 'flows')),
    databaseUrl: env.DATABASE_URL || undefined,
    amqpUrl: env.AMQP_URL || undefined,
    secretKey: env.WASL_SECRET_KEY || undefined,
    previousSecretKeys: env.WASL_SECRET_KEY_PREVIOUS || undefined,
    adminUser: env.WASL_ADMIN_USER || undefined,
    adminPassword: env.WASL_ADMIN_PASSWORD || undefined,
    role: roleFrom(env.WASL_ROLE),
  };
}
