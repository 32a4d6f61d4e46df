/**
 * wasl-nphies-cancel: sends a cancel-request (Task code=cancel, focus = the claim's identifier) to
 * NPHIES and, once NPHIES accepts it, moves the claim to `cancelled`. The node is
 * nodes/nphies-endpoint/destination.ts; the work is in engine/nphies/submit.ts.
 */
import type { NodeAPI } from 'node-red';
import { registerNphiesDestination } from '../nphies-endpoint/destination';

export = function register(RED: NodeAPI): void {
  registerNphiesDestination(RED, 'wasl-nphies-cancel', 'cancel');
};
