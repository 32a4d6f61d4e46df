/**
 * HTTP for a FHIR source: reads the request (content type, size, JSON), hands it to
 * {@link FhirIntake} and writes its answer. Mounted per channel by engine/runtime/channel-endpoints.ts
 * under `/channels/<id>/fhir`. No Node-RED here.
 *
 * - Bodies must be `application/fhir+json` or `application/json` (any charset parameter; the
 *   body is read as UTF-8): anything else is 415. A subscription hook may also come without a body.
 * - A body over `maxBodyBytes` is 413 and is not read further (so it is not stored).
 * - Unparseable JSON is 400 with an OperationOutcome; the text is stored as ERROR like any rejection.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { FhirIntake, FhirIntakeResponse } from './fhir-intake';
import { issue, outcomeResponse } from './fhir-intake-outcomes';

export interface FhirIntakeHttpOptions {
  /** Default 16 MiB. */
  maxBodyBytes?: number;
  /** Called after each answer (status only), e.g. for the node's status dot. */
  onAnswer?: (status: number) => void;
}

const JSON_TYPES = /^application\/(fhir\+)?json$/i;

export function fhirIntakeRouter(intake: FhirIntake, options: FhirIntakeHttpOptions = {}): express.Router {
  const router = express.Router();
  const limit = options.maxBodyBytes ?? 16 * 1024 * 1024;
  const send = (res: Response, answer: FhirIntakeResponse) => {
    res.status(answer.status).set(answer.headers);
    if (answer.body === undefined) res.end();
    else res.send(JSON.stringify(answer.body));
    options.onAnswer?.(answer.status);
  };
  const outcome = (res: Response, status: number, code: OperationOutcomeIssue['code'], diagnostics: string) =>
    send(res, outcomeResponse(status, [issue(code, diagnostics)]));

  router.use((req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'POST' && req.method !== 'PUT') return next();
    const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim();
    if (!hasBody && req.path === '/subscription-hook') return next();
    if (!JSON_TYPES.test(type)) {
      outcome(res, 415, 'not-supported', `Content-Type must be application/fhir+json or application/json, not '${type.slice(0, 64)}'`);
      return;
    }
    next();
  });
  router.use(express.raw({ type: () => true, limit }));
  router.use((err: Error & { type?: string; status?: number }, _req: Request, res: Response, next: NextFunction) => {
    if (err.type === 'entity.too.large') return outcome(res, 413, 'too-costly', `The body exceeds this endpoint's limit of ${limit} bytes`);
    if (err.status && err.status < 500) return outcome(res, err.status, 'invalid', 'The request body could not be read');
    next(err);
  });
  router.all('*', (req: Request, res: Response, next: NextFunction) => {
    void (async () => {
      let body: unknown;
      const raw = Buffer.isBuffer(req.body) ? req.body.toString('utf8').replace(/^\ufeff/, '') : '';
      if (raw.trim() !== '') {
        try {
          body = JSON.parse(raw);
        } catch (err) {
          send(res, await intake.rejectUnreadable(raw, (err as Error).message));
          return;
        }
      }
      const headers: Record<string, string | undefined> = {};
      for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      const path = req.path.split('/').filter(Boolean).map(decodeURIComponent);
      const baseUrl = `${req.protocol}://${req.get('host') ?? 'localhost'}${req.baseUrl}`;
      send(res, await intake.handle({ method: req.method, path, headers, body, baseUrl }));
    })().catch(next);
  });
  return router;
}
