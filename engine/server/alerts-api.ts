/**
 * `GET /api/v1/alerts?state=open|all&channel=&limit=` (docs/operations.md): alerts newest first,
 * open ones only unless `state=all`. Read from the store, so every process answers the same,
 * whichever one evaluates. Authentication is applied where the router is mounted.
 */
import express from 'express';
import type { KnexAlertStore } from '../alerts/store';
import type { AlertRecord } from '../alerts/types';

/** `alerts` is undefined when the store is not a knex store (then the API answers 503). */
export function alertsRouter(alerts: Pick<KnexAlertStore, 'list'> | undefined): express.Router {
  const router = express.Router();
  router.get('/', async (req, res, next) => {
    try {
      if (!alerts) {
        res.status(503).json({ error: 'alerts need the SQL message store' });
        return;
      }
      const state = req.query.state ?? 'open';
      if (state !== 'open' && state !== 'all') {
        res.status(400).json({ error: 'state must be open or all' });
        return;
      }
      const channel = typeof req.query.channel === 'string' && req.query.channel !== '' ? req.query.channel : undefined;
      const limit = typeof req.query.limit === 'string' ? Number(req.query.limit) : undefined;
      const list = await alerts.list({ state, channel, limit: Number.isFinite(limit) ? limit : undefined });
      res.json({ alerts: list.map(toApi) });
    } catch (err) {
      next(err);
    }
  });
  return router;
}

function toApi(a: AlertRecord) {
  return {
    id: a.id,
    channel: a.channel,
    rule: a.rule,
    kind: a.kind,
    state: a.state,
    openedAt: a.openedAt.toISOString(),
    closedAt: a.closedAt?.toISOString() ?? null,
    value: a.value,
    threshold: a.threshold,
    message: a.message,
    // Why the on-call may not have heard of it: target and code of the latest failed notice.
    notificationError: a.notifyError,
  };
}
