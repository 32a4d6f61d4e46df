/**
 * wasl-sql-out: writes a finished claim batch to the production database (PostgreSQL: unnest
 * bulk inserts; SQL Server: bulk copy into a temp table, then one set-based insert), failed claims
 * to failed_claims with every reason, and the batch record, in one transaction
 * (connectors/claims/production*.ts); then marks the staging rows done. A redelivered batch
 * writes nothing twice. A database error fails the delivery as transient: the queue retries it.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { logger } from '../../common/logger';
import { SECRET_KEY_HELP } from '../../common/secret-box';
import { acquirePostgres, openProductionWriter } from '../../connectors/claims/connections';
import type { ProductionWriter } from '../../connectors/claims/production';
import { DEFAULT_TABLES } from '../../connectors/claims/schema';
import { ClaimsStaging } from '../../connectors/claims/staging';
import { workerId } from '../../engine/claims/db-poll';
import { writeBatch } from '../../engine/claims/stages';
import { batchOf, settleBadInput } from '../shared/claims-stage';
import { destinationDelivery } from '../shared/destination';
import { getRuntime } from '../shared/runtime';
import { failMessage } from '../shared/settle';
import { setStatus, throttledStatus } from '../shared/status';

interface SqlOutDef extends NodeDef {
  channel: string;
  destination: string;
  /** Environment variable with the production database URL (postgres:// or mssql://). */
  urlEnv: string;
  /** Environment variable with the staging database URL, to mark rows done; '' = leave them. */
  stagingUrlEnv: string;
  stagingTable: string;
  /** Create missing production tables at start. */
  createTables?: boolean | string;
}

export = function register(RED: NodeAPI): void {
  function SqlOutNode(this: Node, config: SqlOutDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const runtime = getRuntime(RED);
    const channel = config.channel || node.z || node.id;
    const destination = config.destination || node.name || 'sql';
    const log = logger({ channel, stage: 'sql-out', destination });
    const url = process.env[config.urlEnv || 'CLAIMS_PRODUCTION_URL'];
    if (!url || !runtime.secretBox) {
      const why = !url ? `set ${config.urlEnv || 'CLAIMS_PRODUCTION_URL'} to the production database URL` : `claims batches are sealed: ${SECRET_KEY_HELP}`;
      setStatus(node, 'down', 'not configured');
      node.error(why);
      node.on('input', (msg, _send, done) => {
        try {
          failMessage(runtime, batchOf(msg, 'wasl-sql-out').m, new Error(why), done);
        } catch (err) {
          settleBadInput(runtime, msg, err, done);
        }
      });
      return;
    }
    const sealer = runtime.secretBox;
    const stagingUrl = config.stagingUrlEnv ? process.env[config.stagingUrlEnv] : undefined;
    const stagingPool = stagingUrl ? acquirePostgres(stagingUrl) : undefined;
    const staging = stagingPool ? new ClaimsStaging(stagingPool.knex, { table: config.stagingTable || DEFAULT_TABLES.staging, workerId: workerId(), leaseS: 300 }) : undefined;
    type Opened = { writer: ProductionWriter; release(): Promise<void> };
    let opened: Promise<Opened> | undefined;
    /** Opens the writer on first use; a failed open (database down) is tried again on the next delivery. */
    const open = (): Promise<Opened> => {
      if (opened) return opened;
      const p = openProductionWriter(url, sealer).then(async (o) => {
        if (config.createTables === true || config.createTables === 'true') await o.writer.ensureSchema();
        return o;
      });
      opened = p;
      p.catch((err: Error) => {
        opened = undefined;
        log.warn('production database not ready; deliveries will retry', { error: err.message });
      });
      return p;
    };
    void open().catch(() => undefined);
    const status = throttledStatus(node);
    const deliver = destinationDelivery({ runtime, channel, destination, status, statusText: (k) => RED._(`sql-out.status.${k}`) });

    node.on('input', (msg, send, done) => {
      let m;
      try {
        m = batchOf(msg, 'wasl-sql-out');
      } catch (err) {
        settleBadInput(runtime, msg, err, done);
        return;
      }
      const { batch } = m;
      void deliver(m.m, send, done, {
        attempt: async () => writeBatch(batch, { writer: (await open()).writer, sealer, staging }),
        record: (r) => ({ sent: `batch ${batch.batchId}: ${batch.claims.length} claims`, response: JSON.stringify({ written: r.written, failed: r.failed, replayed: r.replayed, duplicates: r.duplicates.length }) }),
        respond: (out, r) => {
          runtime.stageStats?.record(channel, 'write', batch.claims.length, r.failed, r.ms);
          // The write's own steps (copy, insert, failed, transaction, markDone), to see where its time goes.
          for (const [k, v] of Object.entries(batch.timings)) if (k.startsWith('write.')) runtime.stageStats?.record(channel, k, batch.claims.length, 0, v);
          runtime.metrics.claimStageSeconds.observe({ channel, stage: 'write' }, r.ms / 1000);
          runtime.metrics.claims.inc({ channel, outcome: 'written' }, r.written);
          runtime.metrics.claims.inc({ channel, outcome: 'failed' }, r.failed);
          runtime.metrics.claims.inc({ channel, outcome: 'replayed' }, r.replayed);
          if (r.duplicates.length) runtime.metrics.claimRuleFailures.inc({ channel, rule: 'DUPLICATE_IN_PRODUCTION' }, r.duplicates.length);
          (out as unknown as Record<string, unknown>).claims = { written: r.written, failed: r.failed, replayed: r.replayed };
        },
      });
    });
    node.on('close', (_removed: boolean, done: () => void) => {
      status.cancel();
      void Promise.resolve(opened)
        .then((p) => p?.release())
        .catch(() => undefined)
        .then(() => stagingPool?.release())
        .then(() => done());
    });
  }
  RED.nodes.registerType('wasl-sql-out', SqlOutNode);
};
