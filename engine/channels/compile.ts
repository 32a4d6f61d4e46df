/**
 * Compiles channels into Node-RED flows: one tab per channel, laid out left to right:
 *
 *   wasl-mllp-in -> wasl-queue <id>.in -> [wasl-filter] -> wasl-hl7-to-fhir... -> wasl-router
 *     -> per destination: wasl-queue <id>.dest.<name> -> wasl-fhir-out | wasl-mllp-out
 *
 * No function nodes (everything an analyst sees is a Wasl node with a form) and no fan-out:
 * each output port feeds exactly one node, because Node-RED deep-clones a message sent to two.
 * Key order is fixed by construction, and ids are derived from channel id and role, so the same
 * channels always give the same JSON.
 */
import { DEFAULT_CHARSET } from '../../transformers/hl7v2/charset';
import { compileRule, describeRules } from './compile-rules';
import { DEFAULTS } from './defaults';
import type { NodeRedFlow, NodeRedNode, NodeRedTab } from './flow-types';
import { nodeId } from './node-id';
import type { ChannelConfig, DestinationConfig, FhirSourceConfig, MllpTlsFilesConfig, NphiesDftConfig, NphiesEndpointSettings, RetryConfig, SourceConfig, TransformerConfig } from './types';

export type { NodeRedFlow, NodeRedNode, NodeRedTab } from './flow-types';
export type { CompiledRule } from './compile-rules';

export interface CompileOptions {
  /** Replaces the destination URL `builtin` (the engine's demo FHIR server); kept when absent. */
  builtinFhirUrl?: string;
}

/** Layout: node centres, in editor pixels. */
// Two rows so a whole channel fits an editor at ~1400 px: intake and transformation on the first,
// router and destinations (one row each) below, both read left to right.
const LAYOUT = { x0: 140, dx: 200, y0: 80, dy: 100 };

/** What a stage contributes before ids, positions and wires are known. */
interface Stage {
  role: string;
  type: string;
  name: string;
  props: Record<string, unknown>;
}

/** Compiles every channel; the result is a whole flows file (tabs and their nodes, flat). */
export function compileChannels(channels: ChannelConfig[], opts: CompileOptions = {}): NodeRedFlow[] {
  return channels.flatMap((channel) => compileChannel(channel, opts));
}

/** `compileChannels` as JSON: two-space indent and a final newline, as a flows file on disk. */
export function compileChannelsToJson(channels: ChannelConfig[], opts: CompileOptions = {}): string {
  return `${JSON.stringify(compileChannels(channels, opts), null, 2)}\n`;
}

/** One channel: its tab, then its nodes in flow order. */
export function compileChannel(channel: ChannelConfig, opts: CompileOptions = {}): NodeRedFlow[] {
  const id = (role: string): string => nodeId(channel.id, role);
  const tab: NodeRedTab = {
    id: id('tab'),
    type: 'tab',
    label: channel.name,
    disabled: channel.enabled === false,
    info: `Compiled from channels.yaml channel ${channel.id}. Edit channels.yaml, not this tab.`,
  };
  const place = (stage: Stage, column: number, row: number, wires: string[][]): NodeRedNode => ({
    id: id(stage.role),
    type: stage.type,
    z: tab.id,
    name: stage.name,
    ...stage.props,
    x: LAYOUT.x0 + column * LAYOUT.dx,
    y: LAYOUT.y0 + row * LAYOUT.dy,
    wires,
  });

  const destinationNames = Object.keys(channel.destinations);
  const routes = channel.router ?? destinationNames.map((destination) => ({ destination, when: [] }));
  const destQueueRole = (name: string): string => `destination/${name}/queue`;

  const chain: Stage[] = [
    sourceStage(channel.id, channel.source),
    queueStage(channel.id, 'queue/in', `${channel.id}.in`, channel.queue?.prefetch, channel.queue?.retry),
  ];
  if (channel.filters && channel.filters.length > 0) {
    chain.push({ role: 'filter', type: 'wasl-filter', name: describeRules(channel.filters), props: { channel: channel.id, rules: channel.filters.map(compileRule) } });
  }
  (channel.transformers ?? []).forEach((t, i) => chain.push(transformerStage(channel, t, i)));
  const router: Stage = {
    role: 'router',
    type: 'wasl-router',
    name: 'router',
    props: {
      channel: channel.id,
      routes: routes.map((r) => ({ destination: r.destination, rules: (r.when ?? []).map(compileRule) })),
      outputs: routes.length,
    },
  };

  const nodes: NodeRedNode[] = chain.map((stage, i) => place(stage, i, 0, [[id(chain[i + 1]?.role ?? router.role)]]));
  const routerColumn = 1;
  nodes.push(place(router, routerColumn, 1, routes.map((r) => [id(destQueueRole(r.destination))])));
  destinationNames.forEach((name, row) => {
    const dest = channel.destinations[name];
    const out = destinationStage(channel, name, dest, opts);
    const queue = queueStage(channel.id, destQueueRole(name), `${channel.id}.dest.${name}`, dest.prefetch, dest.retry);
    nodes.push(place(queue, routerColumn + 1, row + 1, [[id(out.role)]]));
    // The result port is left open: the node settles the message itself; flows may tap it later.
    nodes.push(place(out, routerColumn + 2, row + 1, [[]]));
  });
  return [tab, ...nodes];
}

function sourceStage(channel: string, source: SourceConfig): Stage {
  switch (source.type) {
    case 'mllp':
      return {
        role: 'source',
        type: 'wasl-mllp-in',
        name: `MLLP :${source.port}`,
        props: {
          channel,
          port: source.port,
          host: source.host ?? DEFAULTS.mllp.host,
          maxMessageBytes: source.maxMessageBytes ?? DEFAULTS.mllp.maxMessageBytes,
          acceptMessageTypes: [...(source.acceptMessageTypes ?? [])],
          ackAfter: source.ackAfter ?? DEFAULTS.mllp.ackAfter,
          ackTimeoutMs: source.ackTimeoutMs ?? DEFAULTS.mllp.ackTimeoutMs,
          charset: source.charset ?? DEFAULT_CHARSET,
          batchAck: source.batchAck ?? DEFAULTS.mllp.batchAck,
          ...(source.applicationAck
            ? {
                appAckHost: source.applicationAck.host,
                appAckPort: source.applicationAck.port,
                appAckTimeoutMs: source.applicationAck.timeoutMs ?? DEFAULTS.mllp.applicationAckTimeoutMs,
              }
            : {}),
          // Only when set: plain-TCP channels compile exactly as before.
          ...(source.tls ? tlsProps(source.tls) : {}),
        },
      };
    case 'fhir':
      return fhirSourceStage(channel, source);
    case 'db-poll':
      return {
        role: 'source',
        type: 'wasl-db-poll',
        name: `claims from ${source.table ?? DEFAULTS.claims.stagingTable}`,
        props: {
          channel,
          urlEnv: source.urlEnv ?? DEFAULTS.claims.stagingUrlEnv,
          table: source.table ?? DEFAULTS.claims.stagingTable,
          batchSize: source.batchSize ?? DEFAULTS.claims.batchSize,
          intervalMs: source.intervalMs ?? DEFAULTS.claims.intervalMs,
          leaseS: source.leaseS ?? DEFAULTS.claims.leaseS,
          maxAttempts: source.maxAttempts ?? DEFAULTS.claims.maxAttempts,
          maxInFlight: source.maxInFlight ?? DEFAULTS.claims.maxInFlight,
          createTable: source.createTable ?? false,
        },
      };
    case 'nphies-poll':
      return {
        role: 'source',
        type: 'wasl-nphies-poll',
        name: `NPHIES poll ${source.providerLicense}`,
        props: {
          channel,
          ...nphiesProps(source),
          intervalS: source.intervalS ?? DEFAULTS.nphies.pollIntervalS,
          count: source.count ?? DEFAULTS.nphies.pollCount,
        },
      };
  }
}

/** A FHIR source: the node serves /channels/<channel>/fhir on the engine's port. */
function fhirSourceStage(channel: string, source: FhirSourceConfig): Stage {
  return {
    role: 'source',
    type: 'wasl-fhir-in',
    name: `FHIR /channels/${channel}/fhir`,
    props: {
      channel,
      resourceTypes: [...(source.resourceTypes ?? [])],
      maxBodyBytes: source.maxBodyBytes ?? DEFAULTS.fhirIn.maxBodyBytes,
      upstream: source.upstream ?? '',
      upstreamTimeoutMs: source.upstreamTimeoutMs ?? DEFAULTS.fhirIn.upstreamTimeoutMs,
      fetchAttempts: source.fetchRetry?.maxAttempts ?? DEFAULTS.fhirIn.fetch.maxAttempts,
      fetchInitialDelayMs: source.fetchRetry?.initialDelayMs ?? DEFAULTS.fhirIn.fetch.initialDelayMs,
      fetchMaxDelayMs: source.fetchRetry?.maxDelayMs ?? DEFAULTS.fhirIn.fetch.maxDelayMs,
    },
  };
}

function queueStage(channel: string, role: string, queue: string, prefetch: number | undefined, retry: RetryConfig | undefined): Stage {
  return {
    role,
    type: 'wasl-queue',
    name: queue,
    props: {
      channel,
      queue,
      prefetch: prefetch ?? DEFAULTS.queue.prefetch,
      maxAttempts: retry?.maxAttempts ?? DEFAULTS.retry.maxAttempts,
      initialDelayMs: retry?.initialDelayMs ?? DEFAULTS.retry.initialDelayMs,
      maxDelayMs: retry?.maxDelayMs ?? DEFAULTS.retry.maxDelayMs,
    },
  };
}

function transformerStage(ch: ChannelConfig, t: TransformerConfig, index: number): Stage {
  const channel = ch.id;
  const role = `transformer/${index}`;
  switch (t.type) {
    case 'hl7-to-fhir':
      return { role, type: 'wasl-hl7-to-fhir', name: `HL7 to FHIR (${t.mapping})`, props: { channel, mapping: t.mapping } };
    case 'claims-validate': {
      const against = t.duplicatesAgainst ? ch.destinations[t.duplicatesAgainst] : undefined;
      return {
        role,
        type: 'wasl-claims-validate',
        name: 'validate claims',
        props: {
          channel,
          rulesFile: t.rulesFile ?? '',
          productionUrlEnv: against?.type === 'sql' ? against.urlEnv ?? DEFAULTS.claims.productionUrlEnv : '',
          createTables: against?.type === 'sql' ? against.createTables ?? false : false,
        },
      };
    }
    case 'claims-predict':
      return {
        role,
        type: 'wasl-claims-predict',
        name: 'predict denials',
        props: { channel, modelFile: t.modelFile ?? '', threshold: t.threshold ?? '', action: t.action ?? DEFAULTS.claims.predictAction },
      };
    case 'claims-price':
      return {
        role,
        type: 'wasl-claims-price',
        name: `price (CF ${t.conversionFactor ?? DEFAULTS.claims.conversionFactor})`,
        props: { channel, conversionFactor: t.conversionFactor ?? DEFAULTS.claims.conversionFactor, useGpci: t.gpci ?? false },
      };
  }
}

function destinationStage(ch: ChannelConfig, name: string, dest: DestinationConfig, opts: CompileOptions): Stage {
  const channel = ch.id;
  switch (dest.type) {
    case 'fhir':
      return {
        role: `destination/${name}/out`,
        type: 'wasl-fhir-out',
        name,
        props: {
          channel,
          destination: name,
          url: dest.url === 'builtin' && opts.builtinFhirUrl ? opts.builtinFhirUrl : dest.url,
          timeoutMs: dest.timeoutMs ?? DEFAULTS.fhir.timeoutMs,
          // 0 = no limit. The built-in server is Medplum, which refuses conditional transactions over 8 entries.
          maxTransactionEntries: dest.maxTransactionEntries ?? (dest.url === 'builtin' ? DEFAULTS.fhir.builtinMaxTransactionEntries : 0),
          ...(dest.writeBack ? { writeBack: true } : {}),
        },
      };
    case 'mllp':
      return {
        role: `destination/${name}/out`,
        type: 'wasl-mllp-out',
        name,
        props: {
          channel,
          destination: name,
          host: dest.host,
          port: dest.port,
          timeoutMs: dest.timeoutMs ?? DEFAULTS.mllpOut.timeoutMs,
          maxInFlight: dest.maxInFlight ?? DEFAULTS.mllpOut.maxInFlight,
          ...tlsProps(dest.tls),
        },
      };
    case 'nphies':
      return {
        role: `destination/${name}/out`,
        type: `wasl-nphies-${dest.operation}`,
        name,
        props: {
          channel,
          destination: name,
          ...nphiesProps(dest),
          // Only when set: claim destinations without `dft` compile exactly as before.
          ...(dest.operation === 'claim' && dest.dft ? dftProps(dest.dft) : {}),
        },
      };
    case 'sql':
      return {
        role: `destination/${name}/out`,
        type: 'wasl-sql-out',
        name,
        props: {
          channel,
          destination: name,
          urlEnv: dest.urlEnv ?? DEFAULTS.claims.productionUrlEnv,
          // Rows read by this channel's db-poll source are marked done once written.
          stagingUrlEnv: ch.source.type === 'db-poll' ? ch.source.urlEnv ?? DEFAULTS.claims.stagingUrlEnv : '',
          stagingTable: ch.source.type === 'db-poll' ? ch.source.table ?? DEFAULTS.claims.stagingTable : '',
          createTables: dest.createTables ?? false,
        },
      };
  }
}

/**
 * NPHIES endpoint settings as flat node properties (one editor field each), '' when not set.
 * Secrets are not here: only the names of the environment variables that hold them.
 */
function nphiesProps(e: NphiesEndpointSettings): Record<string, unknown> {
  return {
    url: e.url,
    providerLicense: e.providerLicense,
    payerLicense: e.payerLicense ?? '',
    providerEndpoint: e.providerEndpoint,
    timeoutMs: e.timeoutMs ?? DEFAULTS.nphies.timeoutMs,
    oauthTokenUrl: e.oauth?.tokenUrl ?? '',
    oauthClientId: e.oauth?.clientId ?? '',
    oauthClientSecretEnv: e.oauth?.clientSecretEnv ?? '',
    oauthScope: e.oauth?.scope ?? '',
    tlsCa: e.tls?.ca ?? '',
    tlsCert: e.tls?.cert ?? '',
    tlsKey: e.tls?.key ?? '',
    tlsPfx: e.tls?.pfx ?? '',
    tlsPassphraseEnv: e.tls?.passphraseEnv ?? '',
  };
}

/**
 * `dft` as wasl-nphies-claim's flat dft* fields, read by nodes/nphies-endpoint/endpoint-config.ts
 * `dftDefaultsFrom`: a set dftMemberIdSystem is what turns the DFT^P03 mapping on.
 */
function dftProps(dft: NphiesDftConfig): Record<string, unknown> {
  return {
    dftMemberIdSystem: dft.memberIdSystem,
    dftClaimType: dft.claimType ?? DEFAULTS.nphies.dft.claimType,
    dftSubType: dft.subType ?? DEFAULTS.nphies.dft.subType,
    dftProviderName: dft.providerName,
    dftSpecialty: dft.specialty,
    dftCurrency: dft.currency ?? DEFAULTS.nphies.dft.currency,
  };
}

/**
 * `tls` as flat node properties (the editor form has one field each): `tls` on or off, then PEM
 * file paths, '' when not set. The paths are kept as written; the node reads the files.
 */
function tlsProps(tls: MllpTlsFilesConfig | undefined): Record<string, unknown> {
  return {
    tls: tls !== undefined,
    tlsCa: tls?.ca ?? '',
    tlsCert: tls?.cert ?? '',
    tlsKey: tls?.key ?? '',
    tlsRejectUnauthorized: tls?.rejectUnauthorized ?? DEFAULTS.tls.rejectUnauthorized,
  };
}
