/**
 * `alerts:` in channels.yaml: every kind parses and resolves to a rule with its name, key, hold and
 * targets; a bad rule is a problem at its line, as every other channels.yaml problem.
 */
import assert from 'node:assert/strict';
import { formatProblem, validateChannelsText } from '../../../engine/channels/load';
import { at } from '../channels/text-position';
import { channelsFrom, channelsYaml, rulesFrom } from './support';
import { alertRulesOf } from '../../../engine/alerts/rules';

const FILE = 'channels.yaml';

function problems(text: string, env: Record<string, string> = {}): string[] {
  const result = validateChannelsText(text, FILE, env);
  assert.equal(result.config, undefined, 'an invalid file must not return a config');
  return result.problems.map(formatProblem);
}

describe('engine/alerts rules from channels.yaml', () => {
  it('parses one rule of each kind and resolves names, keys, holds and targets', () => {
    const rules = rulesFrom(
      `      - kind: error-rate
        thresholdRatio: 0.2
        windowSeconds: 60
        minMessages: 5
        forSeconds: 30
      - kind: queue-depth
        thresholdMessages: 100
      - kind: queue-depth
        destination: fhir
        thresholdMessages: 50
        notify: { email: [lab@hospital.example] }
      - kind: oldest-age
        name: stuck-lab
        destination: lab
        thresholdSeconds: 600
      - kind: silence
        periodSeconds: 3600
        notify: {}
      - kind: destination-down
        destination: fhir
`,
      '    alertNotify: { webhook: https://hooks.example/T0/secret, email: [oncall@hospital.example] }\n',
    );
    assert.deepEqual(
      rules.map((r) => [r.key, r.kind, r.forSeconds]),
      [
        ['alerts-test/error-rate', 'error-rate', 30],
        ['alerts-test/queue-depth', 'queue-depth', 0],
        ['alerts-test/queue-depth-fhir', 'queue-depth', 0],
        ['alerts-test/stuck-lab', 'oldest-age', 0],
        ['alerts-test/silence', 'silence', 0],
        ['alerts-test/destination-down-fhir', 'destination-down', 0],
      ],
    );
    const channelDefault = { webhook: 'https://hooks.example/T0/secret', email: ['oncall@hospital.example'] };
    assert.deepEqual(rules[0].notify, channelDefault);
    // A rule's own notify replaces the channel's default whole; `{}` notifies nobody.
    assert.deepEqual(rules[2].notify, { webhook: undefined, email: ['lab@hospital.example'] });
    assert.deepEqual(rules[4].notify, { webhook: undefined, email: [] });
    assert.deepEqual(rules[0].config, { kind: 'error-rate', thresholdRatio: 0.2, windowSeconds: 60, minMessages: 5, forSeconds: 30 });
    assert.ok(rules.every((r) => r.channelEnabled));
  });

  it('takes the webhook from the environment, and an empty one means none', () => {
    const text = channelsYaml('      - kind: silence\n        periodSeconds: 60\n', '    alertNotify: { webhook: "${WASL_ALERT_WEBHOOK:-}" }\n');
    assert.equal(alertRulesOf(channelsFrom(text, { WASL_ALERT_WEBHOOK: 'https://hooks.example/x' }))[0].notify.webhook, 'https://hooks.example/x');
    assert.equal(alertRulesOf(channelsFrom(text, {}))[0].notify.webhook, undefined);
  });

  it('marks the rules of a disabled channel, so their open alerts close', () => {
    const text = channelsYaml('      - kind: silence\n        periodSeconds: 60\n', '    enabled: false\n');
    assert.equal(alertRulesOf(channelsFrom(text))[0].channelEnabled, false);
  });

  it('reports an unknown kind at the kind, listing the known ones', () => {
    const text = channelsYaml('      - kind: errors\n        thresholdRatio: 0.1\n');
    assert.deepEqual(problems(text), [
      `${FILE}:${at(text, 'errors')} channels[0].alerts[0].kind: unknown alert kind "errors" (known: error-rate, queue-depth, oldest-age, silence, destination-down)`,
    ]);
  });

  it('reports a rule without a kind, and a kind that is not a string', () => {
    const text = channelsYaml('      - thresholdRatio: 0.1\n      - kind: 7\n        periodSeconds: 5\n');
    assert.deepEqual(problems(text), [
      `${FILE}:${at(text, 'thresholdRatio')} channels[0].alerts[0]: missing required key "kind"`,
      `${FILE}:${at(text, '7\n')} channels[0].alerts[1].kind: must be a string`,
    ]);
  });

  it('reports a missing threshold, a ratio over 1 and a key of another kind', () => {
    const text = channelsYaml('      - kind: queue-depth\n        destination: fhir\n      - kind: error-rate\n        thresholdRatio: 1.5\n      - kind: silence\n        periodSeconds: 60\n        thresholdSeconds: 5\n');
    assert.deepEqual(problems(text), [
      `${FILE}:${at(text, 'kind: queue-depth')} channels[0].alerts[0]: missing required key "thresholdMessages"`,
      `${FILE}:${at(text, '1.5')} channels[0].alerts[1].thresholdRatio: must be <= 1`,
      `${FILE}:${at(text, 'thresholdSeconds')} channels[0].alerts[2].thresholdSeconds: unknown key "thresholdSeconds" (allowed: kind, name, forSeconds, notify, periodSeconds)`,
    ]);
  });

  it('reports a bad webhook URL and e-mail address with hints', () => {
    const text = channelsYaml('      - kind: silence\n        periodSeconds: 60\n        notify: { webhook: hooks.example/x, email: [oncall] }\n');
    assert.deepEqual(problems(text), [
      `${FILE}:${at(text, 'hooks.example/x')} channels[0].alerts[0].notify.webhook: must be an http(s) URL (usually from the environment, as it may hold a token), or empty for none`,
      `${FILE}:${at(text, 'oncall]')} channels[0].alerts[0].notify.email[0]: must be an e-mail address such as oncall@hospital.example`,
    ]);
  });

  it('reports destination-down, queue-depth and oldest-age rules naming a destination the channel lacks', () => {
    const text = channelsYaml(
      '      - kind: destination-down\n        destination: fhri\n      - kind: queue-depth\n        destination: labb\n        thresholdMessages: 10\n      - kind: oldest-age\n        destination: nowhere\n        thresholdSeconds: 60\n',
    );
    assert.deepEqual(problems(text), [
      `${FILE}:${at(text, 'fhri')} channels[0].alerts[0].destination: no destination named "fhri" (defined: fhir, lab)`,
      `${FILE}:${at(text, 'labb')} channels[0].alerts[1].destination: no destination named "labb" (defined: fhir, lab)`,
      `${FILE}:${at(text, 'nowhere')} channels[0].alerts[2].destination: no destination named "nowhere" (defined: fhir, lab)`,
    ]);
  });

  it('reports two rules of one channel with the same name', () => {
    const text = channelsYaml(
      '      - kind: silence\n        periodSeconds: 60\n      - kind: silence\n        periodSeconds: 600\n      - kind: queue-depth\n        name: backlog\n        thresholdMessages: 10\n      - kind: oldest-age\n        name: backlog\n        thresholdSeconds: 60\n',
    );
    assert.deepEqual(problems(text), [
      `${FILE}:${at(text, 'kind: silence', 2)} channels[0].alerts[1]: alert rule name "silence" is already used by alerts[0]: give one of them another name`,
      `${FILE}:${at(text, 'backlog', 2)} channels[0].alerts[3].name: alert rule name "backlog" is already used by alerts[2]: give one of them another name`,
    ]);
  });
});
