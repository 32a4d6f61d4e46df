/**
 * adapters.yaml and the AdapterRegistry: a valid file, unknown keys, a bad kind, `${VAR}`
 * substitution with coercion, problems at their line and column, duplicate ids, factory
 * problems at the key they name, and events reaching health figures and metrics.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import winston from 'winston';
import { ValidationError } from '../../../common/errors';
import type { Adapter, AdapterKind } from '../../../connectors/adapters/types';
import { formatProblem } from '../../../engine/channels/problems';
import {
  adaptersFilePath, AdaptersFileError, adapterRegistryFromFile, AdapterRegistry, loadAdaptersFile, validateAdaptersText,
  type AdapterFactory, type AdapterSpec,
} from '../../../engine/providers/registry';
import { EngineMetrics } from '../../../engine/runtime/metrics';
import { tempDir } from '../../support/engine-process';

const quiet = winston.createLogger({ silent: true });

const VALID = `# adapters of the test engine
adapters:
  - id: nppes
    kind: nppes
    baseUrl: \${NPPES_URL:-http://127.0.0.1:9/api}
    timeoutMs: \${NPPES_TIMEOUT:-5000}
    retry: { maxAttempts: 2, initialDelayMs: 100 }
    breaker: { threshold: 3, halfOpenAfterMs: 1000 }
    rateLimit: { requests: 200, perMs: 300000 }
    cache: { ttlMs: 604800000 }
    settings:
      version: "2.1"
  - id: payer-acme
    kind: plan-net
    baseUrl: https://fhir.acme.example/r4
`;

function problemsOf(text: string, env: Record<string, string> = {}): string[] {
  const { config, problems } = validateAdaptersText(text, 'adapters.yaml', env);
  assert.equal(config, undefined);
  return problems.map(formatProblem);
}

/** A factory recording its specs, building minimal adapters. */
function fakeFactory(specs: AdapterSpec[]): AdapterFactory {
  return (spec) => {
    specs.push(spec);
    return fakeAdapter(spec.id, spec.kind);
  };
}

function fakeAdapter(id: string, kind: AdapterKind, extra: Partial<Adapter> = {}): Adapter & { closed: number } {
  const adapter = {
    id,
    kind,
    operations: ['lookup'],
    closed: 0,
    healthCheck: async () => ({ status: 'up' as const, latencyMs: 1 }),
    breakerState: () => 'closed' as const,
    rateLimitHeadroom: () => undefined,
    close: async () => {
      adapter.closed++;
    },
    ...extra,
  };
  return adapter;
}

describe('adapters.yaml', () => {
  it('reads a valid file, substituting ${VAR} and coercing integers', () => {
    const { config, problems } = validateAdaptersText(VALID, 'adapters.yaml', { NPPES_TIMEOUT: '7000' });
    assert.deepEqual(problems, []);
    assert.deepEqual(config?.entries[0], {
      id: 'nppes',
      kind: 'nppes',
      baseUrl: 'http://127.0.0.1:9/api',
      timeoutMs: 7000,
      retry: { maxAttempts: 2, initialDelayMs: 100 },
      breaker: { threshold: 3, halfOpenAfterMs: 1000 },
      rateLimit: { requests: 200, perMs: 300000 },
      cache: { ttlMs: 604800000 },
      settings: { version: '2.1' },
    });
    assert.equal(config?.entries[1].kind, 'plan-net');
  });

  it('an unset variable without a default is a problem at its line', () => {
    assert.deepEqual(problemsOf('adapters:\n  - id: caqh\n    kind: caqh\n    baseUrl: ${CAQH_URL}\n'), [
      'adapters.yaml:4:14 adapters[0].baseUrl: environment variable CAQH_URL is not set and ${CAQH_URL} has no default (write ${CAQH_URL:-value} to give one)',
    ]);
  });

  it('reports an unknown key at the key, with the allowed keys', () => {
    const text = 'adapters:\n  - id: nppes\n    kind: nppes\n    baseUrl: http://x/api\n    cache: { ttlMs: 1000, ttl: 5 }\n    retries: 3\n';
    assert.deepEqual(problemsOf(text), [
      'adapters.yaml:5:27 adapters[0].cache.ttl: unknown key "ttl" (allowed: ttlMs, maxEntries)',
      'adapters.yaml:6:5 adapters[0].retries: unknown key "retries" (allowed: id, kind, baseUrl, timeoutMs, retry, breaker, rateLimit, cache, settings)',
    ]);
    assert.deepEqual(problemsOf('adapter: []\n'), ['adapters.yaml:1:1 adapter: unknown key "adapter" (allowed: adapters)']);
  });

  it('reports a bad kind, a missing key, a bad id, URL and number at their values', () => {
    const text = [
      'adapters:',
      '  - id: NPPES_main',
      '    kind: nppi',
      '    baseUrl: npiregistry.cms.hhs.gov',
      '    timeoutMs: soon',
      '    rateLimit: { requests: 0 }',
      '  - kind: caqh',
      '    baseUrl: https://proview.caqh.org',
      '',
    ].join('\n');
    assert.deepEqual(problemsOf(text), [
      'adapters.yaml:2:9 adapters[0].id: must be kebab-case (lower-case letters, digits and single dashes, e.g. payer-acme)',
      'adapters.yaml:3:11 adapters[0].kind: must be one of: nppes, caqh, plan-net',
      'adapters.yaml:4:14 adapters[0].baseUrl: must be an absolute http:// or https:// URL',
      'adapters.yaml:5:16 adapters[0].timeoutMs: must be an integer (got string "soon")',
      'adapters.yaml:6:16 adapters[0].rateLimit: missing required key "perMs"',
      'adapters.yaml:6:28 adapters[0].rateLimit.requests: must be >= 1',
      'adapters.yaml:7:5 adapters[1]: missing required key "id"',
    ]);
  });

  it('reports YAML syntax errors and duplicate ids with positions', () => {
    assert.match(problemsOf('adapters:\n  - id: [nppes\n')[0], /^adapters\.yaml:\d+:\d+: /);
    const dup = 'adapters:\n  - id: nppes\n    kind: nppes\n    baseUrl: http://a/api\n  - id: nppes\n    kind: nppes\n    baseUrl: http://b/api\n';
    assert.deepEqual(problemsOf(dup), ['adapters.yaml:5:9 adapters[1].id: duplicate adapter id "nppes" (already used by adapters[0])']);
  });

  it('a missing or empty file configures no adapters; the path comes from WASL_ADAPTERS_FILE', () => {
    const dir = tempDir('adapters-file');
    assert.deepEqual(loadAdaptersFile(path.join(dir, 'none.yaml'), {}).entries, []);
    fs.writeFileSync(path.join(dir, 'empty.yaml'), '# nothing yet\n');
    assert.deepEqual(loadAdaptersFile(path.join(dir, 'empty.yaml'), {}).entries, []);
    assert.equal(adaptersFilePath({ WASL_ADAPTERS_FILE: path.join(dir, 'a.yaml') }), path.join(dir, 'a.yaml'));
    assert.match(adaptersFilePath({}), /adapters\.yaml$/);
    fs.writeFileSync(path.join(dir, 'bad.yaml'), 'adapters: 3\n');
    assert.throws(() => loadAdaptersFile(path.join(dir, 'bad.yaml'), {}), (err: unknown) => {
      assert.ok(err instanceof AdaptersFileError);
      assert.equal(err.code, 'VALIDATION_ADAPTERS_INVALID');
      assert.match(err.message, /bad\.yaml:1:11 adapters: must be a list/);
      return true;
    });
  });
});

describe('AdapterRegistry', () => {
  it('builds adapters through the kind factories with ready HTTP options', async () => {
    const specs: AdapterSpec[] = [];
    const file = validateAdaptersText(VALID, 'adapters.yaml', {}).config!;
    const registry = new AdapterRegistry({ logger: quiet });
    await registry.build(file, { X: '1' }, new Map([['nppes', fakeFactory(specs)], ['plan-net', fakeFactory(specs)]]));
    assert.deepEqual(registry.list().map((a) => a.id), ['nppes', 'payer-acme']);
    assert.equal(registry.get('nppes')?.kind, 'nppes');
    assert.equal(registry.get('nope'), undefined);
    const { onEvent, ...http } = specs[0].http;
    assert.equal(onEvent, registry.onEvent);
    assert.deepEqual(http, {
      adapterId: 'nppes',
      baseUrl: 'http://127.0.0.1:9/api',
      timeoutMs: 5000,
      retry: { maxAttempts: 2, initialDelayMs: 100 },
      breaker: { threshold: 3, halfOpenAfterMs: 1000 },
      rateLimit: { requests: 200, perMs: 300000 },
      cache: { ttlMs: 604800000 },
    });
    assert.deepEqual(specs[0].settings, { version: '2.1' });
    assert.deepEqual(specs[1].settings, {});
    assert.equal(specs[0].env.X, '1');
    const built = registry.list() as Array<Adapter & { closed: number }>;
    await registry.closeAll();
    await registry.closeAll();
    assert.deepEqual(built.map((a) => a.closed), [1, 1]);
    assert.deepEqual(registry.list(), []);
  });

  it('an uninstalled kind and a refused setting are problems at their lines; nothing stays open', async () => {
    const text = VALID.replace('      version: "2.1"', '      version: "9"');
    const file = validateAdaptersText(text, 'adapters.yaml', {}).config!;
    const refusing: AdapterFactory = (spec) => {
      throw new ValidationError('NPPES_SETTINGS', `adapter ${spec.id}: settings.version must be 2.1`, { path: 'settings.version' });
    };
    await assert.rejects(new AdapterRegistry({ logger: quiet }).build(file, {}, new Map([['nppes', refusing]])), (err: unknown) => {
      assert.ok(err instanceof AdaptersFileError);
      assert.deepEqual(err.problems.map(formatProblem), [
        'adapters.yaml:12:16 adapters[0].settings.version: adapter nppes: settings.version must be 2.1',
        'adapters.yaml:14:11 adapters[1].kind: adapter kind "plan-net" is not installed in this build (engine/providers/kinds.ts)',
      ]);
      return true;
    });
    const built: Array<Adapter & { closed: number }> = [];
    const ok: AdapterFactory = (spec) => {
      const a = fakeAdapter(spec.id, spec.kind);
      built.push(a);
      return a;
    };
    await assert.rejects(new AdapterRegistry({ logger: quiet }).build(file, {}, new Map([['nppes', ok]])), AdaptersFileError);
    assert.deepEqual(built.map((a) => a.closed), [1], 'the adapter built before the problem is closed');
  });

  it('refuses a duplicate id on register', () => {
    const registry = new AdapterRegistry({ logger: quiet });
    registry.register(fakeAdapter('a', 'nppes'));
    assert.throws(() => registry.register(fakeAdapter('a', 'caqh')), /VALIDATION_ADAPTER_DUPLICATE_ID|already registered/);
  });

  it('events reach the health window and the metrics; gauges are read at scrape', async () => {
    const metrics = new EngineMetrics({ defaultMetrics: false });
    const registry = new AdapterRegistry({ metrics, logger: quiet });
    let breaker: 'closed' | 'open' | 'half-open' = 'open';
    registry.register(fakeAdapter('nppes', 'nppes', { breakerState: () => breaker, rateLimitHeadroom: () => 150 }));
    registry.onEvent({ adapter: 'nppes', operation: 'lookup', outcome: 'ok', latencyMs: 20, at: Date.now() });
    registry.onEvent({ adapter: 'nppes', operation: 'lookup', outcome: 'cached', latencyMs: 0, at: Date.now() });
    assert.equal(registry.figures('nppes').calls.hour.ok, 1);
    assert.equal(registry.figures('nppes').status, 'down', 'breaker open');
    let text = await metrics.registry.metrics();
    assert.match(text, /wasl_adapter_calls_total\{adapter="nppes",operation="lookup",outcome="ok"\} 1/);
    assert.match(text, /wasl_adapter_calls_total\{adapter="nppes",operation="lookup",outcome="cached"\} 1/);
    assert.match(text, /wasl_adapter_call_duration_seconds_count\{adapter="nppes",operation="lookup"\} 1/);
    assert.match(text, /wasl_adapter_circuit_state\{adapter="nppes"\} 2/);
    assert.match(text, /wasl_adapter_rate_limit_headroom\{adapter="nppes"\} 150/);
    breaker = 'half-open';
    assert.match(await metrics.registry.metrics(), /wasl_adapter_circuit_state\{adapter="nppes"\} 1/);
    await registry.closeAll();
    text = await metrics.registry.metrics();
    assert.doesNotMatch(text, /wasl_adapter_circuit_state\{/);
  });

  it('adapterRegistryFromFile: a missing file is an empty registry', async () => {
    const registry = await adapterRegistryFromFile(path.join(tempDir('adapters-none'), 'adapters.yaml'), { env: {}, logger: quiet });
    assert.deepEqual(registry.list(), []);
  });
});

describe('engine/providers: adapters listed in channels.yaml', () => {
  const { mkdtempSync, writeFileSync } = require('node:fs') as typeof import('node:fs');
  const os = require('node:os') as typeof import('node:os');
  const pathMod = require('node:path') as typeof import('node:path');
  const { adapterRegistryFromFiles } = require('../../../engine/providers/registry') as typeof import('../../../engine/providers/registry');
  const { runValidate } = require('../../../engine/channels/validate-command') as typeof import('../../../engine/channels/validate-command');
  const { registerBuiltinAdapterKinds } = require('../../../engine/providers/kinds') as typeof import('../../../engine/providers/kinds');

  const CHANNELS = `channels:
  - id: adt
    name: ADT
    source: { type: mllp, port: 2575 }
    destinations:
      fhir: { type: fhir, url: builtin }
adapters:
  - id: nppes
    kind: nppes
    baseUrl: \${NPPES_URL:-http://127.0.0.1:9/api}
`;

  function files(channels: string, adapters?: string): { channelsFile: string; adaptersFile: string } {
    const dir = mkdtempSync(pathMod.join(os.tmpdir(), 'wasl-adapters-in-channels-'));
    const channelsFile = pathMod.join(dir, 'channels.yaml');
    const adaptersFile = pathMod.join(dir, 'adapters.yaml');
    writeFileSync(channelsFile, channels);
    if (adapters !== undefined) writeFileSync(adaptersFile, adapters);
    return { channelsFile, adaptersFile };
  }

  before(() => registerBuiltinAdapterKinds());

  it('builds the adapters listed beside the channels, and those of adapters.yaml', async () => {
    const f = files(CHANNELS, 'adapters:\n  - id: payer-directory\n    kind: plan-net\n    baseUrl: http://127.0.0.1:9/fhir\n');
    const registry = await adapterRegistryFromFiles([{ file: f.channelsFile, alongside: ['channels'] }, { file: f.adaptersFile }], { env: {} });
    try {
      assert.deepEqual(registry.list().map((a) => `${a.id}:${a.kind}`).sort(), ['nppes:nppes', 'payer-directory:plan-net']);
    } finally {
      await registry.closeAll();
    }
  });

  it('refuses an id configured in both files, naming the second place', async () => {
    const f = files(CHANNELS, 'adapters:\n  - id: nppes\n    kind: nppes\n    baseUrl: http://127.0.0.1:9/api\n');
    await assert.rejects(
      adapterRegistryFromFiles([{ file: f.channelsFile, alongside: ['channels'] }, { file: f.adaptersFile }], { env: {} }),
      (err: Error & { problems?: Array<{ file: string; line: number; message: string }> }) => {
        const p = err.problems?.[0];
        return !!p && p.file === f.adaptersFile && p.line === 2 && /duplicate adapter id "nppes" \(already configured in .*channels\.yaml\)/.test(p.message);
      },
    );
  });

  it('wasl validate checks the adapters of channels.yaml with positions', () => {
    const ok = files(CHANNELS);
    const out: string[] = [];
    const err: string[] = [];
    assert.equal(runValidate(ok.channelsFile, { stdout: (s) => out.push(s), stderr: (s) => err.push(s) }, {}), 0, err.join(''));
    assert.deepEqual(out, [`${ok.channelsFile}: 1 channel(s) and 1 adapter(s) valid\n`]);
    const bad = files(CHANNELS.replace('kind: nppes', 'kind: nppess'));
    const errs: string[] = [];
    assert.equal(runValidate(bad.channelsFile, { stdout: () => undefined, stderr: (s) => errs.push(s) }, {}), 1);
    assert.equal(errs.length, 1, errs.join(''));
    assert.match(errs[0], /channels\.yaml:9:11 adapters\[0\]\.kind: /);
  });
});
