/**
 * wasl-nppes-lookup: looks providers up in the NPPES NPI Registry and sends them on as FHIR R4.
 * `msg.payload` an NPI (string or number, or `{npi}`) → lookup; an object of search criteria →
 * search. Out: `msg.payload` the transaction Bundle (transformers/nppes/to-fhir.ts), `msg.nppes`
 * the parsed record (an array of them for a search).
 *
 * The adapter comes from the engine's adapter registry (`runtime.adapters`, adapters.yaml) when
 * the node names one: its cache, rate limit and breaker are then shared with every other user of
 * that adapter. Without one, the node builds its own from the base URL (NPPES defaults: 7-day
 * cache, 200 requests per 5 minutes) and closes it on redeploy.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { IntegrationError, ValidationError, toWaslError } from '../../common/errors';
import { logger } from '../../common/logger';
import { createNppesAdapter, nppesRequest, type NppesSearchCriteria, type NppesSearchOptions, type NppesSearchResult } from '../../connectors/nppes/client';
import type { NppesRecord } from '../../connectors/nppes/parse';
import { nppesToFhirBundle } from '../../transformers/nppes/to-fhir';
import { getRuntime } from '../shared/runtime';
import { clearStatus, setStatus } from '../shared/status';

interface NppesLookupDef extends NodeDef {
  /** Adapter id in the engine's registry (preferred). */
  adapter?: string;
  /** Base URL when no adapter is named (default: the public NPI Registry). */
  url?: string;
  /** Searches follow pages (up to `maxRecords`, API ceiling 1,200). */
  allPages?: boolean | string;
  maxRecords?: number | string;
}

/** What the node needs of an NPPES adapter (connectors/nppes/client.ts NppesAdapter). */
interface NppesLookupAdapter {
  readonly kind: string;
  lookup(npi: string): Promise<NppesRecord | undefined>;
  search(criteria: NppesSearchCriteria, opts?: NppesSearchOptions): Promise<NppesSearchResult>;
  close?(): Promise<void>;
}

interface NppesMessage extends NodeMessage {
  nppes?: NppesRecord | NppesRecord[];
  nppesSearch?: { pages: number; truncated: boolean };
}

/** The registry's adapter `id`, whatever shape the registry takes (a Map or an object with `get`). */
function fromRegistry(runtime: unknown, id: string): NppesLookupAdapter | undefined {
  const registry = (runtime as { adapters?: { get?(id: string): unknown } } | undefined)?.adapters;
  const adapter = typeof registry?.get === 'function' ? registry.get(id) : undefined;
  if (!adapter) return undefined;
  const a = adapter as Partial<NppesLookupAdapter>;
  if (a.kind !== 'nppes' || typeof a.lookup !== 'function' || typeof a.search !== 'function') {
    throw new ValidationError('NPPES_ADAPTER_KIND', `adapter ${id} is not an NPPES adapter`, { path: 'adapter' });
  }
  return adapter as NppesLookupAdapter;
}

export = function register(RED: NodeAPI): void {
  function NppesLookupNode(this: Node, config: NppesLookupDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const runtime = getRuntime(RED);
    const log = logger({ channel: node.z || node.id, stage: 'nppes-lookup', nodeId: node.id });
    const allPages = config.allPages === true || config.allPages === 'true';
    const maxRecords = Number(config.maxRecords) > 0 ? Math.min(1200, Number(config.maxRecords)) : undefined;

    let adapter: NppesLookupAdapter | undefined;
    let owned = false;
    let setupError: Error | undefined;
    try {
      if (config.adapter) {
        adapter = fromRegistry(runtime, config.adapter);
        if (!adapter) throw new ValidationError('NPPES_ADAPTER_MISSING', `no adapter ${config.adapter} in the engine's registry`, { path: 'adapter' });
      } else {
        adapter = createNppesAdapter({ id: `node-${node.id}`, ...(config.url ? { baseUrl: config.url } : {}) });
        owned = true;
      }
      setStatus(node, 'idle', RED._('nppes-lookup.status.idle'));
    } catch (err) {
      setupError = toWaslError(err);
      setStatus(node, 'down', RED._('nppes-lookup.status.misconfigured'));
      node.error(`NPPES adapter not usable: ${setupError.message}`);
    }

    node.on('input', (msg: NppesMessage, send, done) => {
      void (async () => {
        if (!adapter) throw setupError ?? new ValidationError('NPPES_ADAPTER_MISSING', 'no NPPES adapter');
        const request = nppesRequest(msg.payload);
        setStatus(node, 'sending', RED._('nppes-lookup.status.looking'));
        if ('npi' in request) {
          const record = await adapter.lookup(request.npi);
          // Not listed: NPPES lists active NPIs only, so this may be a deactivated NPI (its check digit was fine).
          if (!record) throw new IntegrationError('NPPES_NOT_FOUND', `NPI ${request.npi} is not listed by NPPES (unknown or deactivated)`, { path: 'payload' });
          msg.nppes = record;
          msg.payload = nppesToFhirBundle(record);
          setStatus(node, 'ok', RED._('nppes-lookup.status.found'));
        } else {
          const result = await adapter.search(request.criteria, { allPages, ...(maxRecords ? { maxRecords } : {}) });
          msg.nppes = result.records;
          msg.nppesSearch = { pages: result.pages, truncated: result.truncated };
          msg.payload = nppesToFhirBundle(result.records);
          setStatus(node, 'ok', `${result.records.length}`);
        }
        send(msg);
      })().then(
        () => done(),
        (err) => {
          const e = toWaslError(err);
          const key = e.code === 'TRANSIENT_ADAPTER_BREAKER_OPEN' ? 'circuitOpen' : e.code === 'INTEGRATION_NPPES_NOT_FOUND' ? 'notFound' : e.kind;
          setStatus(node, e.kind === 'transient' ? 'down' : 'rejected', RED._(`nppes-lookup.status.${key}`));
          log.warn('NPPES lookup failed', { code: e.code });
          done(e);
        },
      );
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      Promise.resolve(owned ? adapter?.close?.() : undefined).then(
        () => {
          clearStatus(node);
          done();
        },
        () => done(),
      );
    });
  }
  RED.nodes.registerType('wasl-nppes-lookup', NppesLookupNode);
};
