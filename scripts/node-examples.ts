/** The example channels behind nodes/examples/*.json (see build-node-examples.ts). */
import { compileChannel, type NodeRedFlow } from '../engine/channels/compile';
import type { ChannelConfig } from '../engine/channels/types';

const NPHIES = {
  url: 'http://127.0.0.1:8091/$process-message',
  providerLicense: 'PR-FHIR',
  payerLicense: 'INS-FHIR',
  providerEndpoint: 'http://provider.example',
};

const EXAMPLES: Record<string, ChannelConfig> = {
  'ADT to FHIR': {
    id: 'example-adt',
    name: 'Example: ADT to FHIR',
    source: { type: 'mllp', port: 2576, acceptMessageTypes: ['ADT^A01', 'ADT^A03', 'ADT^A04', 'ADT^A08'] },
    transformers: [{ type: 'hl7-to-fhir', mapping: 'adt' }],
    destinations: { fhir: { type: 'fhir', url: 'http://localhost:1880/fhir/R4' } },
  },
  'NPHIES claim from a FHIR Claim': {
    id: 'example-nphies-fhir',
    name: 'Example: NPHIES claims from FHIR (simulator)',
    source: { type: 'fhir' },
    destinations: { nphies: { type: 'nphies', operation: 'claim', ...NPHIES } },
  },
  'NPHIES claim from HL7 v2 DFT P03': {
    id: 'example-nphies-dft',
    name: 'Example: NPHIES claims from DFT^P03 (simulator)',
    source: { type: 'mllp', port: 2577, acceptMessageTypes: ['DFT^P03'] },
    destinations: {
      nphies: {
        type: 'nphies',
        operation: 'claim',
        ...NPHIES,
        dft: { memberIdSystem: 'http://payer.example/identifiers/memberid', providerName: 'Example Hospital', specialty: '08.00' },
      },
    },
  },
  'NPHIES eligibility': {
    id: 'example-nphies-eligibility',
    name: 'Example: NPHIES eligibility (simulator)',
    source: { type: 'fhir', resourceTypes: ['Bundle', 'CoverageEligibilityRequest'] },
    destinations: { nphies: { type: 'nphies', operation: 'eligibility', ...NPHIES } },
  },
  'NPHIES poll for deferred answers': {
    id: 'example-nphies-poll',
    name: 'Example: NPHIES poll (simulator)',
    source: { type: 'nphies-poll', url: NPHIES.url, providerLicense: NPHIES.providerLicense, providerEndpoint: NPHIES.providerEndpoint, intervalS: 60 },
    destinations: { fhir: { type: 'fhir', url: 'http://localhost:1880/fhir/R4' } },
  },
  'Claims pricing staging to production': {
    id: 'example-claims',
    name: 'Example: claims pricing',
    source: { type: 'db-poll', createTable: true },
    transformers: [{ type: 'claims-validate', duplicatesAgainst: 'production' }, { type: 'claims-predict', action: 'hold' }, { type: 'claims-price', conversionFactor: '36.04' }],
    destinations: { production: { type: 'sql', createTables: true } },
  },
};

/** Example name -> its compiled flow (a tab and its nodes). */
export function exampleFlows(): Record<string, NodeRedFlow[]> {
  return Object.fromEntries(Object.entries(EXAMPLES).map(([name, channel]) => [name, compileChannel(channel)]));
}
