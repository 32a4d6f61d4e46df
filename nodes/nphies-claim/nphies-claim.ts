/**
 * wasl-nphies-claim: sends a claim-request (Claim use=claim) to NPHIES and moves the claim through
 * its lifecycle (draft → submitted → queued / approved / partial / rejected). The work is in
 * engine/nphies/submit.ts; the node is nodes/nphies-endpoint/destination.ts.
 */
import type { NodeAPI } from 'node-red';
import { registerNphiesDestination } from '../nphies-endpoint/destination';

export = function register(RED: NodeAPI): void {
  registerNphiesDestination(RED, 'wasl-nphies-claim', 'claim');
};
