/** Shared helpers for the NPHIES engine specs. */
import type { NphiesResult } from '../../../connectors/nphies/types';
import { PARTIES, claimInput } from '../../simulators/nphies/requests';

/** A parsed answer with a random request id. */
export function result(outcome: NphiesResult['outcome'], extra: Partial<NphiesResult> = {}): NphiesResult {
  return { requestId: `req-${Math.random().toString(16).slice(2)}`, responseCode: 'ok', event: 'claim-response', outcome, errors: [], ...extra };
}

/** `n` claim lines (`{claim, parties}`) with identifiers `<prefix>-00001`…, one item each. */
export function claimsNdjson(n: number, prefix = 'B'): string {
  return Array.from({ length: n }, (_, i) => JSON.stringify({ claim: claimInput(`${prefix}-${String(i + 1).padStart(5, '0')}`, 1), parties: PARTIES })).join('\n') + '\n';
}
