import assert from 'node:assert/strict';
import { substituteString } from '../../../engine/channels/env-substitution';
import { formatProblem, validateChannelsText } from '../../../engine/channels/load';
import { at, VALID } from './text-position';
import type { FhirDestinationConfig, MllpSourceConfig } from '../../../engine/channels/types';

describe('engine/channels/env-substitution', () => {
  it('substitutes set variables and defaults, shell style', () => {
    assert.equal(substituteString('${A}', { A: 'x' }), 'x');
    assert.equal(substituteString('http://${HOST}:${PORT:-80}/fhir', { HOST: 'h' }), 'http://h:80/fhir');
    assert.equal(substituteString('${A:-d}', { A: '' }), 'd', 'an empty variable takes the default, as :- does in the shell');
    assert.equal(substituteString('${A:-}', {}), '');
    assert.equal(substituteString('${A}', { A: '' }), '', 'an empty variable without default is still set');
    assert.equal(substituteString('${A:-a:-b}', {}), 'a:-b');
    assert.equal(substituteString('cost $5, $${LITERAL}', {}), 'cost $5, ${LITERAL}');
  });

  it('returns an error for an unset variable without default and for malformed references', () => {
    assert.deepEqual(substituteString('${NOPE}', {}), { error: 'environment variable NOPE is not set and ${NOPE} has no default (write ${NOPE:-value} to give one)' });
    assert.deepEqual(substituteString('${1A}', {}), { error: 'bad variable reference "${1A}": write ${NAME} or ${NAME:-default}' });
  });

  it('turns a substituted port into a number and uses defaults when the variable is unset', () => {
    const text = VALID.replace('port: 2575', 'port: ${MLLP_PORT:-2575}').replace('url: builtin', 'url: ${FHIR_BASE_URL:-builtin}');
    const unset = validateChannelsText(text, 'c.yaml', {});
    assert.equal((unset.config?.channels[0].source as MllpSourceConfig).port, 2575);
    assert.equal((unset.config?.channels[0].destinations.fhir as FhirDestinationConfig).url, 'builtin');
    const set = validateChannelsText(text, 'c.yaml', { MLLP_PORT: '3000', FHIR_BASE_URL: 'http://fhir.example:8080/fhir' });
    assert.equal((set.config?.channels[0].source as MllpSourceConfig).port, 3000);
    assert.equal((set.config?.channels[0].destinations.fhir as FhirDestinationConfig).url, 'http://fhir.example:8080/fhir');
  });

  it('coerces integers and booleans only where the schema asks for them', () => {
    const text = VALID.replace('    name: ADT to FHIR\n', '    name: ${NAME}\n    enabled: ${ADT_ENABLED:-false}\n').replace('port: 2575', "port: '2575'");
    const result = validateChannelsText(text, 'c.yaml', { NAME: '1234' });
    assert.deepEqual(result.problems, []);
    const channel = result.config?.channels[0];
    assert.equal(channel?.name, '1234', 'a string field keeps a numeric-looking value as a string');
    assert.equal(channel?.enabled, false);
    assert.equal((channel?.source as MllpSourceConfig).port, 2575);
  });

  it('reports a substituted value that is not an integer at the line that uses it', () => {
    const text = VALID.replace('port: 2575', 'port: ${MLLP_PORT}');
    const lines = validateChannelsText(text, 'c.yaml', { MLLP_PORT: '25x' }).problems.map(formatProblem);
    assert.deepEqual(lines, [`c.yaml:${at(text, '${MLLP_PORT}')} channels[0].source.port: must be an integer (got string "25x")`]);
  });

  it('leaves keys and comments alone', () => {
    const text = VALID.replace('channels:\n', '# ${NOT_A_VAR}\nchannels:\n');
    assert.deepEqual(validateChannelsText(text, 'c.yaml', {}).problems, []);
  });
});
