/**
 * The audit log over HTTP: `GET /audit` pages newest first (`before` = the last seq seen),
 * `GET /audit/verify` walks the hash chain. Read-only: the log has no write route.
 */
import express from 'express';
import type { Knex } from 'knex';
import type { AuditLog } from './types';
import { verifyAuditChain } from './audit-log';

export function auditApiRouter(audit: AuditLog, knex: Knex): express.Router {
  const router = express.Router();
  router.get('/audit', async (req, res, next) => {
    try {
      const text = (name: string): string | undefined => (typeof req.query[name] === 'string' && req.query[name] ? (req.query[name] as string) : undefined);
      const limit = Math.min(Math.max(Number(req.query.limit) || 100, 1), 1000);
      const before = Number(req.query.before);
      const entries = await audit.list({ actor: text('actor'), action: text('action'), target: text('target'), beforeSeq: Number.isInteger(before) && before > 0 ? before : undefined, limit });
      res.json({ entries, nextBefore: entries.length === limit ? entries[entries.length - 1].seq : null });
    } catch (err) {
      next(err);
    }
  });
  router.get('/audit/verify', async (_req, res, next) => {
    try {
      res.json(await verifyAuditChain(knex));
    } catch (err) {
      next(err);
    }
  });
  return router;
}
