/**
 * wasl-nphies-preauth: sends a priorauth-request (Claim use=preauthorization) to NPHIES and records
 * the pre-authorisation (outcome, preAuthRef) in the lifecycle. The node is
 * nodes/nphies-endpoint/destination.ts; the work is in engine/nphies/submit.ts.
 */
import type { NodeAPI } from 'node-red';
import { registerNphiesDestination } from '../nphies-endpoint/destination';

export = function register(RED: NodeAPI): void {
  registerNphiesDestination(RED, 'wasl-nphies-preauth', 'preauth');
};
