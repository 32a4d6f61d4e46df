import assert from 'node:assert/strict';
import path from 'node:path';
import { ChannelsFileError, formatProblem, loadChannels, validateChannelsText } from '../../../engine/channels/load';
import { at, VALID } from './text-position';
import type { FhirDestinationConfig, MllpSourceConfig } from '../../../engine/channels/types';

const FILE = 'channels.yaml';

/** The problem lines for `text`, exactly as `wasl validate` prints them. */
function problems(text: string, env: Record<string, string> = {}): string[] {
  const result = validateChannelsText(text, FILE, env);
  assert.equal(result.config, undefined, 'an invalid file must not return a config');
  return result.problems.map(formatProblem);
}

function replace(text: string, from: string, to: string): string {
  assert.ok(text.includes(from), `test text lacks "${from}"`);
  return text.replace(from, to);
}

describe('engine/channels/load', () => {
  it('accepts the example channels.yaml at the project root', () => {
    const { channels } = loadChannels(path.join(__dirname, '../../../channels.yaml'), {});
    assert.deepEqual(channels.map((c) => c.id), ['adt-to-fhir', 'nphies-claims', 'nphies-poll', 'claims']);
    const [c] = channels;
    assert.equal(c.id, 'adt-to-fhir');
    assert.equal((c.source as MllpSourceConfig).port, 2575);
    assert.deepEqual((c.source as MllpSourceConfig).acceptMessageTypes, ['ADT^A01', 'ADT^A03', 'ADT^A04', 'ADT^A08']);
    assert.deepEqual(c.filters, [{ field: 'MSH-9.1', in: ['ADT'] }]);
    assert.deepEqual(c.transformers, [{ type: 'hl7-to-fhir', mapping: 'adt' }]);
    assert.equal((c.destinations.fhir as FhirDestinationConfig).url, 'builtin');
    assert.deepEqual(c.destinations.fhir.retry, { maxAttempts: 8, initialDelayMs: 500, maxDelayMs: 60000 });
  });

  it('accepts the small valid file and returns no problems', () => {
    const result = validateChannelsText(VALID, FILE, {});
    assert.deepEqual(result.problems, []);
    assert.equal((result.config?.channels[0].source as MllpSourceConfig).port, 2575);
  });

  it('reports an unknown key at the key, listing the allowed keys', () => {
    const text = replace(VALID, '      port: 2575\n', '      port: 2575\n      prot: 2576\n');
    assert.deepEqual(problems(text), [
      `${FILE}:${at(text, 'prot')} channels[0].source.prot: unknown key "prot" (allowed: type, port, host, tls, maxMessageBytes, acceptMessageTypes, ackAfter, ackTimeoutMs, charset, batchAck, applicationAck)`,
    ]);
  });

  it('reports a value of the wrong type at the value', () => {
    const text = replace(VALID, 'maxAttempts: 8', 'maxAttempts: many');
    assert.deepEqual(problems(text), [
      `${FILE}:${at(text, 'many')} channels[0].destinations.fhir.retry.maxAttempts: must be an integer (got string "many")`,
    ]);
  });

  it('suggests quotes when a string field is given a number', () => {
    const text = replace(VALID, 'in: [ADT]', 'equals: 2');
    assert.deepEqual(problems(text), [`${FILE}:${at(text, '2\n')} channels[0].filters[0].equals: must be a string (got number 2; quote it: "2")`]);
  });

  it('reports a missing required key at the mapping that lacks it', () => {
    const text = replace(VALID, '        url: builtin\n', '');
    assert.deepEqual(problems(text), [`${FILE}:${at(text, 'type: fhir')} channels[0].destinations.fhir: missing required key "url"`]);
  });

  it('reports a router entry naming an undefined destination', () => {
    const text = replace(VALID, '    destinations:\n', '    router:\n      - destination: fhri\n    destinations:\n');
    assert.deepEqual(problems(text), [
      `${FILE}:${at(text, 'fhri')} channels[0].router[0].destination: no destination named "fhri" (defined: fhir)`,
      `${FILE}:${at(text, 'fhir:')} channels[0].destinations.fhir: destination "fhir" has no route in router: add one or remove the destination`,
    ]);
  });

  it('reports an MLLP destination on a channel that maps to FHIR', () => {
    const text = replace(VALID, '        url: builtin\n', '        url: builtin\n      lab:\n        type: mllp\n        host: lab.example\n        port: 2575\n');
    assert.deepEqual(problems(text), [
      `${FILE}:${at(text, 'mllp', 2)} channels[0].destinations.lab.type: destination "lab" sends HL7 v2 over MLLP, but this channel turns messages into FHIR (hl7-to-fhir): use a channel without that transformer`,
    ]);
  });

  it('reports an NPHIES destination on an MLLP channel that does not map to FHIR', () => {
    const nphies = '      nphies:\n        type: nphies\n        operation: claim\n        url: http://127.0.0.1:8091/$process-message\n        providerLicense: PR\n        payerLicense: INS\n        providerEndpoint: http://provider.example\n';
    const text = replace(replace(VALID, '    transformers:\n      - type: hl7-to-fhir\n        mapping: adt\n', ''), '    destinations:\n', `    destinations:\n${nphies}`);
    assert.deepEqual(problems(text), [
      `${FILE}:${at(text, 'nphies\n        operation')} channels[0].destinations.nphies.type: destination "nphies" sends FHIR to NPHIES, but this channel's messages are HL7 v2: add an hl7-to-fhir transformer, or a dft block to map DFT^P03 messages to claims`,
    ]);
    assert.deepEqual(validateChannelsText(replace(VALID, '    destinations:\n', `    destinations:\n${nphies}`), FILE, {}).problems, [], 'fine after hl7-to-fhir');
  });

  it('reports YAML syntax errors with the parser position and no path', () => {
    const text = replace(VALID, '      acceptMessageTypes: [ADT^A01]\n', '      acceptMessageTypes: [ADT^A01\n');
    const lines = problems(text);
    assert.ok(lines.length >= 1);
    assert.match(lines[0], /^channels\.yaml:\d+:\d+: \S/);
    // The parser notices the unclosed flow sequence where the next key starts.
    assert.equal(lines[0], `${FILE}:${at(text, 'filters')}: Flow sequence in block collection must be sufficiently indented and end with a ]`);
  });

  it('reports a key indented out of line at the key itself, not at its leading spaces', () => {
    // After a comment the parser cannot read the deeper line as part of the id: BAD_INDENT.
    const text = replace(VALID, '  - id: adt-to-fhir\n    name: ADT to FHIR\n', '  - id: adt-to-fhir   # the tab\n     name: ADT to FHIR\n');
    const [first] = problems(text);
    assert.equal(first, `${FILE}:${at(text, 'name: ADT')}: All mapping items must start at the same column`);
  });

  it('reports a duplicate key as a syntax error at the second key', () => {
    const text = replace(VALID, '      port: 2575\n', '      port: 2575\n      port: 2576\n');
    assert.deepEqual(problems(text), [`${FILE}:${at(text, 'port: 2576')}: Map keys must be unique`]);
  });

  it('reports a missing environment variable at the line that uses it', () => {
    const text = replace(VALID, 'port: 2575', 'port: ${MLLP_PORT}');
    assert.deepEqual(problems(text), [
      `${FILE}:${at(text, '${MLLP_PORT}')} channels[0].source.port: environment variable MLLP_PORT is not set and \${MLLP_PORT} has no default (write \${MLLP_PORT:-value} to give one)`,
    ]);
  });

  it('reports a duplicate channel id at the second id', () => {
    const second = VALID.replace('channels:\n', '').replace('port: 2575', 'port: 2576');
    const text = VALID + second;
    assert.deepEqual(problems(text), [`${FILE}:${at(text, 'adt-to-fhir', 2)} channels[1].id: duplicate channel id "adt-to-fhir" (already used by channels[0])`]);
  });

  it('reports two enabled channels on one MLLP port, and ignores a disabled one', () => {
    const second = VALID.replace('channels:\n', '').replace('id: adt-to-fhir', 'id: adt-copy');
    const text = VALID + second;
    assert.deepEqual(problems(text), [
      `${FILE}:${at(text, '2575', 2)} channels[1].source.port: port 2575 is already used by channel "adt-to-fhir" (channels[0].source.port)`,
    ]);
    const disabled = VALID + second.replace('    name: ADT to FHIR\n', '    name: ADT to FHIR\n    enabled: false\n');
    assert.deepEqual(validateChannelsText(disabled, FILE, {}).problems, []);
    const otherHosts = (VALID + second).replace('port: 2575', 'port: 2575\n      host: 10.0.0.1').replace(/(adt-copy[\s\S]*port: 2575)/, '$1\n      host: 10.0.0.2');
    assert.deepEqual(validateChannelsText(otherHosts, FILE, {}).problems, []);
  });

  it('reports an unknown transformer type, naming the known ones', () => {
    const text = replace(VALID, 'type: hl7-to-fhir', 'type: xslt');
    assert.deepEqual(problems(text), [`${FILE}:${at(text, 'xslt')} channels[0].transformers[0].type: unknown transformer type "xslt" (known: hl7-to-fhir, claims-validate, claims-predict, claims-price)`]);
  });

  it('reports an unknown source type without echoing every branch', () => {
    const text = replace(VALID, 'type: mllp', 'type: http');
    assert.deepEqual(problems(text), [`${FILE}:${at(text, 'http')} channels[0].source.type: unknown source type "http" (known: mllp, fhir, nphies-poll, db-poll)`]);
  });

  it('requires exactly one operator per rule', () => {
    const none = replace(VALID, '        in: [ADT]\n', '');
    assert.deepEqual(problems(none), [`${FILE}:${at(none, 'field: MSH-9.1')} channels[0].filters[0]: needs one of equals, in, exists, matches`]);
    const two = replace(VALID, '        in: [ADT]\n', '        in: [ADT]\n        exists: true\n');
    assert.deepEqual(problems(two), [`${FILE}:${at(two, 'field: MSH-9.1')} channels[0].filters[0]: has more than one of in, exists: use exactly one`]);
  });

  it('reports a regular expression that does not compile', () => {
    const text = replace(VALID, 'in: [ADT]', "matches: '^(ADT'");
    const [line] = problems(text);
    assert.ok(line.startsWith(`${FILE}:${at(text, "'^(ADT'")} channels[0].filters[0].matches: not a valid regular expression: `), line);
  });

  it('explains patterns in words: field paths, ids and destination names', () => {
    const text = replace(replace(replace(VALID, 'MSH-9.1', 'MSH.9'), 'id: adt-to-fhir', 'id: ADT_to_FHIR'), '      fhir:\n', '      Fhir:\n');
    assert.deepEqual(problems(text), [
      `${FILE}:${at(text, 'ADT_to_FHIR')} channels[0].id: must be kebab-case (lower-case letters, digits and single dashes, e.g. adt-to-fhir)`,
      `${FILE}:${at(text, 'MSH.9')} channels[0].filters[0].field: must be an HL7 field path such as MSH-9.1, PV1-2 or OBX[2]-5[1].3`,
      `${FILE}:${at(text, 'Fhir')} channels[0].destinations.Fhir: key "Fhir" must be kebab-case (lower-case letters, digits and single dashes, e.g. adt-to-fhir)`,
    ]);
  });

  it('points at the key when a value is left empty', () => {
    const text = replace(VALID, '    name: ADT to FHIR\n', '    name:\n');
    assert.deepEqual(problems(text), [`${FILE}:${at(text, 'name:')} channels[0].name: must be a string (got nothing)`]);
  });

  it('reports every schema problem in one run, in file order', () => {
    const text = replace(replace(VALID, 'port: 2575', 'port: 70000'), 'maxAttempts: 8', 'maxAttempts: 0');
    assert.deepEqual(problems(text), [
      `${FILE}:${at(text, '70000')} channels[0].source.port: must be <= 65535`,
      `${FILE}:${at(text, '0\n', 2)} channels[0].destinations.fhir.retry.maxAttempts: must be >= 1`,
    ]);
  });

  it('reports an empty file and a file without channels', () => {
    assert.deepEqual(problems(''), [`${FILE}:1:1: the file is empty: it needs a top-level "channels:" list`]);
    assert.deepEqual(problems('# nothing yet\n'), [`${FILE}:1:1: the file is empty: it needs a top-level "channels:" list`]);
    assert.deepEqual(problems('chanels: []\n'), [
      `${FILE}:1:1: missing required key "channels"`,
      `${FILE}:1:1 chanels: unknown key "chanels" (allowed: channels, adapters)`,
    ]);
  });

  it('reports a retry whose first delay exceeds its maximum', () => {
    const text = replace(VALID, 'maxAttempts: 8', 'maxAttempts: 8\n          maxDelayMs: 100');
    assert.deepEqual(problems(text), [
      `${FILE}:${at(text, '100')} channels[0].destinations.fhir.retry.maxDelayMs: initialDelayMs (1000) must not be greater than maxDelayMs (100)`,
    ]);
  });

  it('accepts an mllp destination with ${VAR} host, port and TLS paths, and requires TLS cert and key together', () => {
    const dest = '      lab:\n        type: mllp\n        host: ${LAB_HOST:-lab.example.org}\n        port: ${LAB_PORT:-2575}\n        tls:\n          ca: ${LAB_CA}\n';
    // A channel that forwards HL7 (no hl7-to-fhir): an MLLP destination sends HL7 text.
    const ok = replace(replace(VALID, '      fhir:\n', `${dest}      fhir:\n`), '    transformers:\n      - type: hl7-to-fhir\n        mapping: adt\n', '');
    const result = validateChannelsText(ok, FILE, { LAB_PORT: '6661', LAB_CA: '/etc/wasl/lab-ca.pem' });
    assert.deepEqual(result.problems, []);
    assert.deepEqual(result.config?.channels[0].destinations.lab, { type: 'mllp', host: 'lab.example.org', port: 6661, tls: { ca: '/etc/wasl/lab-ca.pem' } });

    const bad = replace(replace(ok, '          ca: ${LAB_CA}\n', '          cert: /c.pem\n'), '      port: 2575\n', '      port: 2575\n      tls:\n        cert: /s.pem\n');
    assert.deepEqual(problems(bad), [
      `${FILE}:${at(bad, 'cert: /s.pem')} channels[0].source.tls: missing required key "key"`,
      `${FILE}:${at(bad, 'cert: /c.pem')} channels[0].destinations.lab.tls: must have property key when property cert is present`,
    ]);
  });

  it('loadChannels throws a ChannelsFileError carrying every problem', () => {
    assert.throws(
      () => loadChannels(path.join(__dirname, 'no-such-channels.yaml'), {}),
      (err: unknown) => err instanceof ChannelsFileError && err.problems.length === 1 && /no-such-channels\.yaml:1:1: file not found$/.test(err.message) && err.code === 'VALIDATION_CHANNELS_INVALID',
    );
  });
});

describe('engine/channels/load: a fhir source', () => {
  const FHIR_SOURCE = `channels:
  - id: fhir-relay
    name: FHIR relay
    source:
      type: fhir
      resourceTypes: [Patient, Encounter]
      upstream: https://ehr.example/fhir/R4
    destinations:
      ehr:
        type: fhir
        url: builtin
`;

  it('accepts a fhir source', () => {
    const result = validateChannelsText(FHIR_SOURCE, FILE, {});
    assert.deepEqual(result.problems, []);
    assert.deepEqual(result.config?.channels[0].source, { type: 'fhir', resourceTypes: ['Patient', 'Encounter'], upstream: 'https://ehr.example/fhir/R4' });
  });

  it('reports a bad resource type and upstream URL with hints', () => {
    const text = FHIR_SOURCE.replace('[Patient, Encounter]', '[patient]').replace('https://ehr.example/fhir/R4', 'ftp://x');
    assert.deepEqual(problems(text), [
      `${FILE}:${at(text, 'patient')} channels[0].source.resourceTypes[0]: must be a FHIR resource type such as Patient or Encounter`,
      `${FILE}:${at(text, 'ftp://x')} channels[0].source.upstream: must be an http(s) FHIR base URL`,
    ]);
  });

  it('reports HL7-only parts on a channel whose source is FHIR', () => {
    const text = FHIR_SOURCE.replace(
      '    destinations:\n',
      '    filters:\n      - field: MSH-9.1\n        in: [ADT]\n    transformers:\n      - type: hl7-to-fhir\n        mapping: adt\n    destinations:\n      lab:\n        type: mllp\n        host: lab.example\n        port: 2575\n',
    );
    assert.deepEqual(problems(text), [
      `${FILE}:${at(text, '- field')} channels[0].filters: filters read HL7 v2 fields, but this channel's source is FHIR: remove them`,
      `${FILE}:${at(text, 'hl7-to-fhir')} channels[0].transformers[0].type: hl7-to-fhir maps HL7 v2 messages, but this channel's source is FHIR: remove it`,
      `${FILE}:${at(text, 'mllp')} channels[0].destinations.lab.type: destination "lab" sends HL7 v2 over MLLP, but this channel turns messages into FHIR (hl7-to-fhir): use a channel without that transformer`,
      `${FILE}:${at(text, 'mllp')} channels[0].destinations.lab.type: destination "lab" sends HL7 v2 over MLLP, but this channel's source is FHIR: use a fhir destination`,
    ]);
  });
});
