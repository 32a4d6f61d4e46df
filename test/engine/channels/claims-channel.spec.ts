import assert from 'node:assert/strict';
import { compileChannels, type NodeRedNode } from '../../../engine/channels/compile';
import { validateChannelsText } from '../../../engine/channels/load';
import type { ChannelConfig } from '../../../engine/channels/types';

const claims: ChannelConfig = {
  id: 'claims',
  name: 'Claims',
  source: { type: 'db-poll', table: 'staged_claims', batchSize: 500 },
  transformers: [{ type: 'claims-validate', duplicatesAgainst: 'production' }, { type: 'claims-predict', action: 'flag' }, { type: 'claims-price', conversionFactor: 'cms', gpci: true }],
  destinations: { production: { type: 'sql', urlEnv: 'PROD_DB', createTables: true } },
};

const CLAIMS_YAML = `channels:
  - id: claims
    name: Claims
    source: { type: db-poll }
    transformers:
      - type: claims-validate
        duplicatesAgainst: production
      - type: claims-price
    destinations:
      production: { type: sql }
`;

function problems(text: string): string[] {
  const r = validateChannelsText(text, 'channels.yaml', {});
  return r.problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`);
}

describe('engine/channels: a claims channel', () => {
  it('compiles db-poll -> queue -> validate -> predict -> price -> router -> queue -> sql-out, URLs only as variable names', () => {
    const flows = compileChannels([claims]);
    const n = flows.filter((f) => f.type !== 'tab') as NodeRedNode[];
    const chain = ['wasl-db-poll', 'wasl-queue', 'wasl-claims-validate', 'wasl-claims-predict', 'wasl-claims-price', 'wasl-router', 'wasl-queue', 'wasl-sql-out'];
    let node = n.find((x) => x.type === 'wasl-db-poll');
    const seen: string[] = [];
    while (node) {
      seen.push(node.type);
      const nextId = node.wires[0]?.[0];
      node = nextId ? n.find((x) => x.id === nextId) : undefined;
    }
    assert.deepEqual(seen, chain);
    const poll = n.find((x) => x.type === 'wasl-db-poll')!;
    assert.equal(poll.urlEnv, 'CLAIMS_STAGING_URL');
    assert.equal(poll.table, 'staged_claims');
    assert.equal(poll.batchSize, 500);
    assert.equal(poll.maxAttempts, 5);
    const validate = n.find((x) => x.type === 'wasl-claims-validate')!;
    assert.equal(validate.productionUrlEnv, 'PROD_DB', 'duplicates are checked against the named destination');
    assert.equal(validate.createTables, true);
    assert.equal(n.find((x) => x.type === 'wasl-claims-predict')!.action, 'flag');
    const price = n.find((x) => x.type === 'wasl-claims-price')!;
    assert.equal(price.conversionFactor, 'cms');
    assert.equal(price.useGpci, true);
    const out = n.find((x) => x.type === 'wasl-sql-out')!;
    assert.equal(out.urlEnv, 'PROD_DB');
    assert.equal(out.stagingUrlEnv, 'CLAIMS_STAGING_URL', 'the destination marks the source rows done');
    assert.equal(out.stagingTable, 'staged_claims');
    assert.ok(!JSON.stringify(flows).includes('postgres://'), 'no URL in the flow');
  });

  it('accepts a minimal claims channel with defaults', () => {
    assert.deepEqual(problems(CLAIMS_YAML), []);
  });

  it('refuses claims parts that do not fit: claims stages without db-poll, db-poll without pricing or with a non-sql destination, duplicates against a missing destination', () => {
    const noPoll = CLAIMS_YAML.replace('source: { type: db-poll }', 'source: { type: mllp, port: 2575 }');
    assert.deepEqual(problems(noPoll), [
      '6:15 channels[0].transformers[0].type: claims-validate works on claim batches, which only a db-poll source produces',
      '8:15 channels[0].transformers[1].type: claims-price works on claim batches, which only a db-poll source produces',
      '10:27 channels[0].destinations.production.type: destination "production" writes claim batches, which only a db-poll source produces',
    ]);
    const noPrice = CLAIMS_YAML.replace('      - type: claims-price\n', '');
    assert.deepEqual(problems(noPrice), ['4:21 channels[0].source.type: a db-poll claims channel needs a claims-price transformer: production takes priced claims only']);
    const fhirDest = CLAIMS_YAML.replace('production: { type: sql }', 'production: { type: fhir, url: builtin }');
    assert.ok(problems(fhirDest).some((p) => p.includes('cannot take claim batches from a db-poll source: use type sql')), problems(fhirDest).join('\n'));
    const wrongRef = CLAIMS_YAML.replace('duplicatesAgainst: production', 'duplicatesAgainst: prod');
    assert.deepEqual(problems(wrongRef), ['7:28 channels[0].transformers[0].duplicatesAgainst: no sql destination named "prod" in this channel']);
  });

  it('names a bad conversion factor, a URL where a variable name belongs, and an unknown key', () => {
    const cf = problems(CLAIMS_YAML.replace('      - type: claims-price\n', '      - type: claims-price\n        conversionFactor: "36.04567"\n'));
    assert.equal(cf.length, 1, cf.join('\n'));
    assert.match(cf[0], /transformers\[1\]\.conversionFactor: must be dollars per RVU with up to 4 decimals \(e\.g\. "36\.04"\) or cms/);
    const url = problems(CLAIMS_YAML.replace('source: { type: db-poll }', 'source: { type: db-poll, urlEnv: "postgres://x" }'));
    assert.deepEqual(url, ['4:38 channels[0].source.urlEnv: must name an environment variable (upper-case letters, digits and _), e.g. CLAIMS_STAGING_URL']);
    const key = problems(CLAIMS_YAML.replace('source: { type: db-poll }', 'source: { type: db-poll, leese: 3 }'));
    assert.equal(key.length, 1, key.join('\n'));
    assert.match(key[0], /source\.leese: unknown key "leese" \(allowed: type, urlEnv, table, batchSize/);
  });
});
