/**
 * wasl-nphies-eligibility: sends an eligibility-request (CoverageEligibilityRequest) to NPHIES and
 * records the answer (in force, outcome) in the lifecycle. The node is
 * nodes/nphies-endpoint/destination.ts; the work is in engine/nphies/submit.ts.
 */
import type { NodeAPI } from 'node-red';
import { registerNphiesDestination } from '../nphies-endpoint/destination';

export = function register(RED: NodeAPI): void {
  registerNphiesDestination(RED, 'wasl-nphies-eligibility', 'eligibility');
};
