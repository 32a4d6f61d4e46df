/**
 * `dft` on an nphies claim destination: an MLLP channel taking HL7 v2 DFT^P03 straight into NPHIES
 * claims. Schema, semantic checks (with file:line:col) and the compiled wasl-nphies-claim fields,
 * read back with the node's own reader so the compiled node is the one the editor would make.
 */
import assert from 'node:assert/strict';
import { compileChannels, type NodeRedNode } from '../../../engine/channels/compile';
import { formatProblem, validateChannelsText } from '../../../engine/channels/load';
import type { ChannelConfig, NphiesDestinationConfig } from '../../../engine/channels/types';
import { dftDefaultsFrom, type NphiesNodeDef } from '../../../nodes/nphies-endpoint/endpoint-config';
import { at } from './text-position';

const FILE = 'channels.yaml';

/** MLLP in, no hl7-to-fhir, straight to an NPHIES claim destination that maps DFT^P03 itself. */
const DFT_YAML = `channels:
  - id: dft-claims
    name: DFT claims
    source:
      type: mllp
      port: 2580
      acceptMessageTypes: [DFT^P03]
    destinations:
      nphies:
        type: nphies
        operation: claim
        url: http://127.0.0.1:8091/$process-message
        providerLicense: PR-FHIR
        payerLicense: INS-FHIR
        providerEndpoint: http://hospital.example.sa
        dft:
          memberIdSystem: http://payer.example/identifiers/memberid
          providerName: Test Hospital
          specialty: '08.00'
`;

function problems(text: string): string[] {
  const result = validateChannelsText(text, FILE, {});
  assert.equal(result.config, undefined, 'an invalid file must not return a config');
  return result.problems.map(formatProblem);
}

function replace(text: string, from: string, to: string): string {
  assert.ok(text.includes(from), `test text lacks "${from}"`);
  return text.replace(from, to);
}

/** `text` without its dft block (the last lines of the file). */
function withoutDft(text: string): string {
  const start = text.indexOf('        dft:\n');
  assert.ok(start > 0, 'test text lacks a dft block');
  return text.slice(0, start);
}

function channelsOf(text: string): ChannelConfig[] {
  const result = validateChannelsText(text, FILE, {});
  assert.deepEqual(result.problems, []);
  return result.config!.channels;
}

const claimNodeOf = (channels: ChannelConfig[]): NodeRedNode => {
  const node = compileChannels(channels).find((n) => n.type === 'wasl-nphies-claim') as NodeRedNode | undefined;
  assert.ok(node, 'a wasl-nphies-claim node');
  return node;
};

describe('engine/channels: dft on an nphies claim destination', () => {
  it('accepts an MLLP channel sending DFT^P03 to a claim destination with dft, without hl7-to-fhir', () => {
    const [channel] = channelsOf(DFT_YAML);
    assert.deepEqual((channel.destinations.nphies as NphiesDestinationConfig).dft, {
      memberIdSystem: 'http://payer.example/identifiers/memberid',
      providerName: 'Test Hospital',
      specialty: '08.00',
    });
    const every = replace(DFT_YAML, "          specialty: '08.00'\n", "          specialty: '08.00'\n          claimType: professional\n          subType: emr\n          currency: SAR\n");
    assert.equal((channelsOf(every)[0].destinations.nphies as NphiesDestinationConfig).dft?.subType, 'emr');
  });

  it('reports an unknown key in dft at the key, listing the allowed keys', () => {
    const text = replace(DFT_YAML, '          providerName: Test Hospital\n', '          providerName: Test Hospital\n          payerName: Test Insurer\n');
    assert.deepEqual(problems(text), [
      `${FILE}:${at(text, 'payerName')} channels[0].destinations.nphies.dft.payerName: unknown key "payerName" (allowed: memberIdSystem, providerName, specialty, claimType, subType, currency)`,
    ]);
  });

  it('reports wrong types and values in dft at the value, with hints', () => {
    const text = replace(
      replace(replace(DFT_YAML, 'providerName: Test Hospital', 'providerName: [Test Hospital]'), 'memberIdSystem: http://payer.example/identifiers/memberid', 'memberIdSystem: memberid'),
      "          specialty: '08.00'\n",
      "          specialty: '08.00'\n          subType: outpatient\n          currency: sar\n",
    );
    assert.deepEqual(problems(text), [
      `${FILE}:${at(text, 'memberid\n')} channels[0].destinations.nphies.dft.memberIdSystem: must be the payer's member-id system, an http(s) URI such as http://payer.example/identifiers/memberid`,
      `${FILE}:${at(text, '[Test Hospital]')} channels[0].destinations.nphies.dft.providerName: must be a string (got a list)`,
      `${FILE}:${at(text, 'outpatient')} channels[0].destinations.nphies.dft.subType: must be one of: ip, op, emr`,
      `${FILE}:${at(text, 'sar')} channels[0].destinations.nphies.dft.currency: must be an ISO 4217 currency code such as SAR`,
    ]);
  });

  it('reports dft that is not a mapping, and a dft missing a required field at the mapping', () => {
    const notMap = `${withoutDft(DFT_YAML)}        dft: true\n`;
    assert.deepEqual(problems(notMap), [`${FILE}:${at(notMap, 'true')} channels[0].destinations.nphies.dft: must be a mapping (got boolean true)`]);
    const noSpecialty = replace(DFT_YAML, "          specialty: '08.00'\n", '');
    assert.deepEqual(problems(noSpecialty), [`${FILE}:${at(noSpecialty, 'memberIdSystem')} channels[0].destinations.nphies.dft: missing required key "specialty"`]);
  });

  it('refuses dft on an operation other than claim, at the dft key', () => {
    const text = replace(DFT_YAML, 'operation: claim', 'operation: eligibility');
    assert.deepEqual(problems(text), [
      `${FILE}:${at(text, 'nphies\n        operation')} channels[0].destinations.nphies.type: destination "nphies" sends FHIR to NPHIES, but this channel's messages are HL7 v2: add an hl7-to-fhir transformer`,
      `${FILE}:${at(text, 'dft:')} channels[0].destinations.nphies.dft: dft applies to operation claim only (destination "nphies" does eligibility): remove it`,
    ]);
  });

  it('still refuses an MLLP channel sending HL7 to a claim destination without dft or hl7-to-fhir, naming both fixes', () => {
    const text = withoutDft(DFT_YAML);
    assert.deepEqual(problems(text), [
      `${FILE}:${at(text, 'nphies\n        operation')} channels[0].destinations.nphies.type: destination "nphies" sends FHIR to NPHIES, but this channel's messages are HL7 v2: add an hl7-to-fhir transformer, or a dft block to map DFT^P03 messages to claims`,
    ]);
  });

  it('refuses dft where messages are not HL7 v2 text: after hl7-to-fhir, or from a FHIR source', () => {
    const mapped = replace(DFT_YAML, '    destinations:\n', '    transformers:\n      - type: hl7-to-fhir\n        mapping: auto\n    destinations:\n');
    assert.deepEqual(problems(mapped), [
      `${FILE}:${at(mapped, 'dft:')} channels[0].destinations.nphies.dft: dft maps HL7 v2 DFT^P03 messages, but this channel turns them into FHIR first (hl7-to-fhir): remove dft or the transformer`,
    ]);
    const fhir = replace(DFT_YAML, '      type: mllp\n      port: 2580\n      acceptMessageTypes: [DFT^P03]\n', '      type: fhir\n');
    assert.deepEqual(problems(fhir), [`${FILE}:${at(fhir, 'dft:')} channels[0].destinations.nphies.dft: dft maps HL7 v2 DFT^P03 messages, but this channel's source is FHIR: remove it`]);
  });

  it('compiles dft to the flat dft* fields of wasl-nphies-claim, defaults written out', () => {
    const node = claimNodeOf(channelsOf(DFT_YAML));
    const dftFields = Object.fromEntries(Object.entries(node).filter(([k]) => k.startsWith('dft')));
    assert.deepEqual(dftFields, {
      dftMemberIdSystem: 'http://payer.example/identifiers/memberid',
      dftClaimType: 'institutional',
      dftSubType: 'op',
      dftProviderName: 'Test Hospital',
      dftSpecialty: '08.00',
      dftCurrency: 'SAR',
    });
    // Endpoint fields unchanged; dft* after them, as the editor's form lists them.
    const keys = Object.keys(node);
    assert.ok(keys.indexOf('tlsPassphraseEnv') < keys.indexOf('dftMemberIdSystem'));
  });

  it('the compiled node reads as the DFT defaults an editor-configured node has', () => {
    const every = replace(DFT_YAML, "          specialty: '08.00'\n", "          specialty: '08.00'\n          claimType: professional\n          subType: ip\n          currency: SAR\n");
    assert.deepEqual(dftDefaultsFrom(claimNodeOf(channelsOf(every)) as unknown as NphiesNodeDef), {
      claimType: 'professional',
      subType: 'ip',
      provider: { name: 'Test Hospital' },
      memberIdSystem: 'http://payer.example/identifiers/memberid',
      specialty: '08.00',
      currency: 'SAR',
    });
    // Without dft the node keeps refusing HL7 text, exactly as before.
    const without = channelsOf(DFT_YAML).map((c) => ({ ...c, source: { type: 'fhir' as const }, destinations: { nphies: { ...(c.destinations.nphies as NphiesDestinationConfig), dft: undefined } } }));
    const plain = claimNodeOf(without);
    assert.ok(!Object.keys(plain).some((k) => k.startsWith('dft')), 'no dft* fields without dft');
    assert.equal(dftDefaultsFrom(plain as unknown as NphiesNodeDef), undefined);
  });
});
