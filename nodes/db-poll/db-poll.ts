/**
 * wasl-db-poll: the claims channel's source. Claims batches of rows from a PostgreSQL staging
 * table (FOR UPDATE SKIP LOCKED, so several Wasl processes share one table) and queues each batch
 * as one message (engine/claims/db-poll.ts). The database URL comes from the environment variable
 * the node names, never from the flow.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { logger } from '../../common/logger';
import { SECRET_KEY_HELP } from '../../common/secret-box';
import { acquirePostgres } from '../../connectors/claims/connections';
import { ensureStagingTable, DEFAULT_TABLES } from '../../connectors/claims/schema';
import { ClaimsStaging } from '../../connectors/claims/staging';
import { DbPoll, workerId } from '../../engine/claims/db-poll';
import { getRuntime } from '../shared/runtime';
import { clearStatus, setStatus } from '../shared/status';

interface DbPollDef extends NodeDef {
  channel: string;
  /** Environment variable holding the staging database URL (postgres://...). */
  urlEnv: string;
  table: string;
  batchSize: number | string;
  intervalMs: number | string;
  leaseS: number | string;
  maxAttempts: number | string;
  maxInFlight: number | string;
  /** Create the staging table when missing (demo and tests). */
  createTable?: boolean | string;
}

export = function register(RED: NodeAPI): void {
  function DbPollNode(this: Node, config: DbPollDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const runtime = getRuntime(RED);
    const channel = config.channel || node.z || node.id;
    const log = logger({ channel, stage: 'db-poll', nodeId: node.id });
    if (runtime.role === 'worker') {
      setStatus(node, 'idle', RED._('db-poll.status.worker'));
      return;
    }
    const fail = (code: string, message: string): void => {
      runtime.channelHealth.set(channel, { state: 'error', lastError: { code, message, at: new Date().toISOString() } });
      setStatus(node, 'down', code);
      node.error(message);
    };
    const url = process.env[config.urlEnv || 'CLAIMS_STAGING_URL'];
    if (!url) return fail('CLAIMS_STAGING_URL_MISSING', `set ${config.urlEnv || 'CLAIMS_STAGING_URL'} to the staging database URL (postgres://...)`);
    if (!runtime.secretBox) return fail('SECRET_KEY_MISSING', `claims channels seal member ids, names and birth dates: ${SECRET_KEY_HELP}`);

    const table = config.table || DEFAULT_TABLES.staging;
    const pool = acquirePostgres(url);
    const staging = new ClaimsStaging(pool.knex, { table, workerId: workerId(), leaseS: positive(config.leaseS, 300), maxAttempts: positive(config.maxAttempts, 5) });
    const poll = new DbPoll({
      runtime,
      channel,
      staging,
      table,
      sealer: runtime.secretBox,
      batchSize: positive(config.batchSize, 2000),
      intervalMs: positive(config.intervalMs, 1000),
      maxInFlight: positive(config.maxInFlight, 2),
      logger: log,
      submit: (msg) => node.send(msg as never),
      onState: (s) => {
        if (s.ok) {
          runtime.channelHealth.set(channel, { state: 'running' });
          setStatus(node, 'ok', `${s.claims} claims`);
        } else {
          runtime.channelHealth.set(channel, { state: 'error', lastError: { code: s.error.code, message: s.error.message, at: new Date().toISOString() } });
          setStatus(node, 'down', s.error.code);
        }
      },
    });
    // A paused channel claims no staging rows; batches being queued finish first.
    const unregister = runtime.channelControl?.registerSource(channel, {
      pause: async () => {
        await poll.pause();
        setStatus(node, 'idle', RED._('db-poll.status.paused'));
      },
      resume: async () => poll.resume(),
    });
    runtime.channelHealth.set(channel, { state: 'starting' });
    const ready = config.createTable === true || config.createTable === 'true' ? ensureStagingTable(pool.knex, { ...DEFAULT_TABLES, staging: table }) : Promise.resolve();
    ready.then(
      () => {
        runtime.channelHealth.set(channel, { state: 'running' });
        setStatus(node, 'idle', RED._('db-poll.status.idle'));
        poll.start();
      },
      (err: Error) => fail('CLAIMS_STAGING_UNAVAILABLE', `claims staging table not ready: ${err.message}`),
    );

    node.on('input', (_msg, _send, done) => {
      void poll.poll().then(() => done());
    });
    node.on('close', (_removed: boolean, done: () => void) => {
      unregister?.();
      poll
        .close()
        .then(() => pool.release())
        .then(
          () => {
            clearStatus(node);
            done();
          },
          () => done(),
        );
    });
  }
  RED.nodes.registerType('wasl-db-poll', DbPollNode);
};

function positive(v: number | string | undefined, fallback: number): number {
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}
