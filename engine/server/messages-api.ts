/**
 * The message browser's API (docs/operations.md "Messages"): search, one message's metadata with
 * its errors and lineage, its content at every stage, and reprocessing.
 *
 * PHI: patient keys and content are masked (transformers/masking/) unless `canViewBody` allows
 * the signed-in user to see that channel's bodies, and every unmasked content view is written to
 * the audit log before it is served. Which routes a user may call at all is the auth
 * middleware's business (engine/auth/route-permissions.ts); here `req.waslUser` only decides
 * masking and names the actor of audit entries. No user (no auth in front): masked.
 */
import express from 'express';
import { ValidationError } from '../../common/errors';
import { logger as makeLogger } from '../../common/logger';
import { MASK, maskContent } from '../../transformers/masking';
import { canViewBody } from '../auth/roles';
import { remoteOf } from '../auth/types';
import type { ChannelConfig } from '../channels/types';
import { MAX_REPROCESS, reprocessMessages, type ReprocessResult } from '../runtime/reprocess';
import type { WaslRuntime } from '../runtime/types';
import { messageBrowserFor } from '../store/browser';
import { MAX_PAGE_SIZE, type MessageSearch, type MessageSummary } from '../store/search';
import { parseSearchParams } from './search-params';

export interface MessagesApiOptions {
  runtime: WaslRuntime;
  channels: () => ChannelConfig[];
  /** Most messages one reprocess call takes (default MAX_REPROCESS); lower in tests. */
  maxReprocess?: number;
}

/** 10,000 ids of up to 64 characters, quoted, with commas: under 1 MB. */
const REPROCESS_BODY_LIMIT = '1mb';

export function messagesRouter(options: MessagesApiOptions): express.Router {
  const { runtime } = options;
  const maxReprocess = options.maxReprocess ?? MAX_REPROCESS;
  const log = makeLogger({ stage: 'api' });
  const router = express.Router();
  const browser = () => messageBrowserFor(runtime.store);
  const channelsById = () => new Map(options.channels().map((c) => [c.id, c]));
  const actorOf = (req: express.Request) => req.waslUser?.username ?? 'anonymous';

  router.get('/messages', async (req, res, next) => {
    try {
      const page = await browser().search(parseSearchParams(req.query as Record<string, unknown>));
      const channels = channelsById();
      res.set('Cache-Control', 'no-store').json({
        messages: page.messages.map((m) => ({ ...metadataView(m, canViewBody(req.waslUser, channels.get(m.channel))), reprocessOf: m.reprocessOf })),
        nextCursor: page.nextCursor,
      });
    } catch (err) {
      next(err);
    }
  });

  router.post('/messages/reprocess', express.json({ limit: REPROCESS_BODY_LIMIT }), async (req, res, next) => {
    try {
      const ids = await reprocessTargets(req.body as unknown);
      const result = await reprocessMessages(runtime, options.channels(), ids, log);
      // One entry per call, after the fact (it records what was done). Ids only, never the
      // filter: its values may be an MRN. The store's lineage names every copy in any case.
      await runtime.audit
        ?.record({
          actor: actorOf(req),
          action: 'message.reprocess',
          target: ids.length === 1 ? ids[0] : undefined,
          from: remoteOf(req),
          detail: auditDetail(result),
        })
        .catch((err: Error & { code?: string }) => log.error('reprocess not written to the audit log', { count: result.reprocessed.length, error: err.code }));
      res.json(result);
    } catch (err) {
      next(err);
    }
  });

  router.get('/messages/:id', async (req, res, next) => {
    try {
      const m = await runtime.store.get(req.params.id);
      const lineage = m && (await browser().lineage(m.id));
      if (!m || !lineage) {
        res.status(404).json({ error: 'no such message' });
        return;
      }
      res.set('Cache-Control', 'no-store').json({
        ...metadataView(m, canViewBody(req.waslUser, channelsById().get(m.channel))),
        destinations: (m.destinations ?? []).map((d) => ({
          destination: d.destination,
          status: d.status,
          attempts: d.attempts,
          error: errorView(d.error),
          updatedAt: d.updatedAt,
        })),
        lineage,
      });
    } catch (err) {
      next(err);
    }
  });

  router.get('/messages/:id/content', async (req, res, next) => {
    try {
      const m = await runtime.store.get(req.params.id);
      if (!m) {
        res.status(404).json({ error: 'no such message' });
        return;
      }
      // Unmasked only where every view can be recorded: without an audit log, masked.
      const unmasked = canViewBody(req.waslUser, channelsById().get(m.channel)) && runtime.audit !== undefined;
      if (unmasked) {
        try {
          await runtime.audit!.record({ actor: actorOf(req), action: 'message.view-body', target: m.id, from: remoteOf(req), detail: { channel: m.channel } });
        } catch (err) {
          log.error('body view not served: the audit log refused the entry', { messageId: m.id, error: (err as { code?: string }).code });
          res.status(503).json({ error: 'the audit log is unavailable, so the body is not shown' });
          return;
        }
      }
      const show = (text: string | null) => (text === null ? null : unmasked ? text : maskContent(text).text);
      res.set('Cache-Control', 'no-store').json({
        id: m.id,
        masked: !unmasked,
        stages: { raw: show(m.raw), transformed: show(m.transformed), sent: show(m.sent), response: show(m.response) },
        destinations: (m.destinations ?? []).map((d) => ({ destination: d.destination, sent: show(d.sent), response: show(d.response) })),
      });
    } catch (err) {
      next(err);
    }
  });

  /** The ids a reprocess request names: `{ids}` as given, or every message `{filter}` matches. */
  async function reprocessTargets(body: unknown): Promise<string[]> {
    const { ids, filter } = (body ?? {}) as { ids?: unknown; filter?: unknown };
    if ((ids === undefined) === (filter === undefined)) {
      throw new ValidationError('REPROCESS_REQUEST', 'give either ids or filter', { path: 'ids' });
    }
    if (ids !== undefined) {
      if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => typeof id === 'string' && id !== '')) {
        throw new ValidationError('REPROCESS_IDS', 'ids must be a non-empty list of message ids', { path: 'ids' });
      }
      if (ids.length > maxReprocess) throw tooMany(maxReprocess);
      return ids as string[];
    }
    if (filter === null || typeof filter !== 'object' || Array.isArray(filter)) {
      throw new ValidationError('REPROCESS_FILTER', 'filter must be an object of search parameters', { path: 'filter' });
    }
    // Every match, not a page of them: the caller's limit and cursor do not apply.
    const { limit: _limit, cursor: _cursor, ...search } = parseSearchParams(filter as Record<string, unknown>);
    const found: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await browser().search({ ...(search as MessageSearch), limit: MAX_PAGE_SIZE, cursor });
      found.push(...page.messages.map((m) => m.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor && found.length <= maxReprocess);
    if (found.length > maxReprocess) throw tooMany(maxReprocess);
    return found;
  }

  router.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    if (err instanceof ValidationError) {
      res.status(400).json({ error: err.message, code: err.code, path: err.path });
      return;
    }
    // express.json: a body that is not JSON (400) or over the limit (413). Its message can quote the body.
    const status = (err as { type?: string; status?: number }).type?.startsWith('entity.') ? (err as { status?: number }).status : undefined;
    if (status) {
      res.status(status).json({ error: status === 413 ? 'request body too large' : 'request body is not valid JSON' });
      return;
    }
    // A driver's message can quote SQL and its values (a patient key): the code is logged, not the text.
    log.error('message browser request failed', { error: (err as { code?: string }).code });
    res.status(500).json({ error: 'internal error; see the engine log' });
  });

  return router;
}

/** Original and new id of each copy (the first AUDIT_PAIRS: an entry stays small), and the counts. */
const AUDIT_PAIRS = 1000;
function auditDetail(result: ReprocessResult): Record<string, unknown> {
  return {
    reprocessed: result.reprocessed.length,
    skipped: result.skipped.length,
    copies: result.reprocessed.slice(0, AUDIT_PAIRS).map((r) => [r.original, r.id]),
    ...(result.reprocessed.length > AUDIT_PAIRS ? { copiesTruncated: true } : {}),
  };
}

function tooMany(max: number): ValidationError {
  return new ValidationError('REPROCESS_TOO_MANY', `at most ${max} messages per call: narrow the search or split the ids`, { path: 'ids' });
}

/** What the list and the detail show of a message besides its content; the patient key masked unless `keyVisible`. */
function metadataView(m: Omit<MessageSummary, 'reprocessOf'>, keyVisible: boolean): Record<string, unknown> {
  return {
    id: m.id,
    channel: m.channel,
    correlationId: m.correlationId,
    controlId: m.controlId,
    messageType: m.messageType,
    sender: m.sender,
    patientKey: maskKey(m.patientKey, keyVisible),
    status: m.status,
    accepted: m.accepted,
    attempts: m.attempts,
    error: errorView(m.error),
    receivedAt: m.receivedAt,
    updatedAt: m.updatedAt,
  };
}

function maskKey(key: string | null, visible: boolean): string | null {
  return key === null || visible ? key : MASK;
}

/** Kind, code, message and field path of a stored error; its details may quote content, so they stay in the store. */
function errorView(error: Record<string, unknown> | null): { kind: unknown; code: unknown; message: unknown; path?: unknown } | null {
  if (!error) return null;
  return { kind: error.kind ?? null, code: error.code ?? null, message: error.message ?? null, ...(error.path !== undefined ? { path: error.path } : {}) };
}
