/**
 * Checks the schema cannot express: references between parts of the file and clashes between
 * channels. Runs only on a file that passed the schema, so the shapes here are trusted.
 */
import { alertRuleName } from './alert-names';
import { DEFAULTS } from './defaults';
import { type DataPath, formatPath } from './problems';
import type { ChannelConfig, ChannelsFile, RetryConfig, RuleConfig } from './types';

/** A semantic problem before it is given a position. */
export interface SemanticIssue {
  path: DataPath;
  /** Point at the key rather than the value (e.g. a destination nobody routes to). */
  atKey?: boolean;
  message: string;
}

/** Listen addresses that take the port on every interface. */
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '']);

/** Every semantic issue in the file, in file order. */
export function semanticIssues(file: ChannelsFile): SemanticIssue[] {
  const issues: SemanticIssue[] = [];
  const firstById = new Map<string, number>();
  file.channels.forEach((channel, i) => {
    const first = firstById.get(channel.id);
    if (first === undefined) firstById.set(channel.id, i);
    else issues.push({ path: ['channels', i, 'id'], message: `duplicate channel id "${channel.id}" (already used by channels[${first}])` });
    issues.push(...channelIssues(channel, ['channels', i]));
  });
  issues.push(...portClashes(file.channels));
  return issues;
}

function channelIssues(channel: ChannelConfig, at: DataPath): SemanticIssue[] {
  const issues: SemanticIssue[] = [];
  const destinations = Object.keys(channel.destinations);
  (channel.filters ?? []).forEach((rule, j) => issues.push(...ruleIssues(rule, [...at, 'filters', j])));
  if (channel.router) {
    const routedBy = new Map<string, number>();
    channel.router.forEach((route, j) => {
      const path = [...at, 'router', j];
      (route.when ?? []).forEach((rule, k) => issues.push(...ruleIssues(rule, [...path, 'when', k])));
      if (!destinations.includes(route.destination)) {
        issues.push({ path: [...path, 'destination'], message: `no destination named "${route.destination}" (defined: ${destinations.join(', ')})` });
      } else if (routedBy.has(route.destination)) {
        issues.push({ path: [...path, 'destination'], message: `destination "${route.destination}" is already routed by router[${routedBy.get(route.destination)}]: put both conditions in one route` });
      } else {
        routedBy.set(route.destination, j);
      }
    });
    for (const name of destinations) {
      // An unrouted destination would compile to a queue nothing feeds: almost always a slip.
      if (!routedBy.has(name)) issues.push({ path: [...at, 'destinations', name], atKey: true, message: `destination "${name}" has no route in router: add one or remove the destination` });
    }
  }
  const mapsToFhir = (channel.transformers ?? []).some((t) => t.type === 'hl7-to-fhir');
  for (const [name, dest] of Object.entries(channel.destinations)) {
    // An MLLP destination sends HL7 text; after hl7-to-fhir the payload is a FHIR Bundle, and
    // every message would fail at the destination. Say so now, not one message at a time.
    if (dest.type === 'mllp' && mapsToFhir) {
      issues.push({ path: [...at, 'destinations', name, 'type'], message: `destination "${name}" sends HL7 v2 over MLLP, but this channel turns messages into FHIR (hl7-to-fhir): use a channel without that transformer` });
    }
    // NPHIES takes FHIR: an MLLP channel must map its HL7 v2 first, or every message fails at the
    // destination; a claim destination with `dft` maps DFT^P03 text itself.
    if (dest.type === 'nphies' && channel.source.type === 'mllp' && !mapsToFhir && !(dest.operation === 'claim' && dest.dft)) {
      const fix = dest.operation === 'claim' ? 'add an hl7-to-fhir transformer, or a dft block to map DFT^P03 messages to claims' : 'add an hl7-to-fhir transformer';
      issues.push({ path: [...at, 'destinations', name, 'type'], message: `destination "${name}" sends FHIR to NPHIES, but this channel's messages are HL7 v2: ${fix}` });
    }
  }
  issues.push(...dftIssues(channel, at, mapsToFhir));
  issues.push(...claimsIssues(channel, at));
  // An nphies-poll source emits FHIR too (the deferred responses), so the same checks apply.
  if (channel.source.type === 'fhir' || channel.source.type === 'nphies-poll') issues.push(...fhirSourceIssues(channel, at));
  issues.push(...retryIssues(channel.queue?.retry, [...at, 'queue', 'retry']));
  for (const [name, dest] of Object.entries(channel.destinations)) issues.push(...retryIssues(dest.retry, [...at, 'destinations', name, 'retry']));
  issues.push(...alertIssues(channel, at));
  return issues;
}

/**
 * Alert rules name destinations of their own channel, and two rules of one channel may not share a
 * name: the name is what keeps one alert open per rule, so the second would never open its own.
 */
function alertIssues(channel: ChannelConfig, at: DataPath): SemanticIssue[] {
  const issues: SemanticIssue[] = [];
  const destinations = Object.keys(channel.destinations);
  const firstByName = new Map<string, number>();
  (channel.alerts ?? []).forEach((rule, j) => {
    const path = [...at, 'alerts', j];
    if ('destination' in rule && rule.destination !== undefined && !destinations.includes(rule.destination)) {
      issues.push({ path: [...path, 'destination'], message: `no destination named "${rule.destination}" (defined: ${destinations.join(', ')})` });
    }
    const name = alertRuleName(rule);
    const first = firstByName.get(name);
    if (first === undefined) firstByName.set(name, j);
    else issues.push({ path: rule.name ? [...path, 'name'] : path, message: `alert rule name "${name}" is already used by alerts[${first}]: give one of them another name` });
  });
  return issues;
}

/**
 * A FHIR source carries FHIR (a transaction Bundle), not HL7 v2: rules read HL7 fields, the
 * hl7-to-fhir mapping and MLLP destinations take HL7 text, so each would fail every message.
 */
function fhirSourceIssues(channel: ChannelConfig, at: DataPath): SemanticIssue[] {
  const issues: SemanticIssue[] = [];
  const why = `but this channel's source is ${channel.source.type === 'fhir' ? 'FHIR' : 'NPHIES (FHIR)'}`;
  if (channel.filters?.length) issues.push({ path: [...at, 'filters'], message: `filters read HL7 v2 fields, ${why}: remove them` });
  (channel.router ?? []).forEach((route, j) => {
    if (route.when?.length) issues.push({ path: [...at, 'router', j, 'when'], message: `router rules read HL7 v2 fields, ${why}: remove "when"` });
  });
  (channel.transformers ?? []).forEach((t, j) => {
    if (t.type === 'hl7-to-fhir') issues.push({ path: [...at, 'transformers', j, 'type'], message: `hl7-to-fhir maps HL7 v2 messages, ${why}: remove it` });
  });
  for (const [name, dest] of Object.entries(channel.destinations)) {
    if (dest.type === 'mllp') issues.push({ path: [...at, 'destinations', name, 'type'], message: `destination "${name}" sends HL7 v2 over MLLP, ${why}: use a fhir destination` });
  }
  return issues;
}

/**
 * `dft` maps HL7 v2 DFT^P03 text to a claim, so it is used only on a claim destination of an
 * MLLP channel that keeps its messages HL7 (no hl7-to-fhir); anywhere else it would be ignored.
 */
function dftIssues(channel: ChannelConfig, at: DataPath, mapsToFhir: boolean): SemanticIssue[] {
  const issues: SemanticIssue[] = [];
  const source = { mllp: 'MLLP', fhir: 'FHIR', 'nphies-poll': 'NPHIES (FHIR)', 'db-poll': 'db-poll (claim batches)' }[channel.source.type];
  for (const [name, dest] of Object.entries(channel.destinations)) {
    if (dest.type !== 'nphies' || dest.dft === undefined) continue;
    const path = [...at, 'destinations', name, 'dft'];
    if (dest.operation !== 'claim') {
      issues.push({ path, atKey: true, message: `dft applies to operation claim only (destination "${name}" does ${dest.operation}): remove it` });
    } else if (channel.source.type !== 'mllp') {
      issues.push({ path, atKey: true, message: `dft maps HL7 v2 DFT^P03 messages, but this channel's source is ${source}: remove it` });
    } else if (mapsToFhir) {
      issues.push({ path, atKey: true, message: 'dft maps HL7 v2 DFT^P03 messages, but this channel turns them into FHIR first (hl7-to-fhir): remove dft or the transformer' });
    }
  }
  return issues;
}

function ruleIssues(rule: RuleConfig, at: DataPath): SemanticIssue[] {
  if (rule.matches === undefined) return [];
  try {
    new RegExp(rule.matches);
    return [];
  } catch (err) {
    return [{ path: [...at, 'matches'], message: `not a valid regular expression: ${(err as Error).message}` }];
  }
}

function retryIssues(retry: RetryConfig | undefined, at: DataPath): SemanticIssue[] {
  if (!retry) return [];
  const initial = retry.initialDelayMs ?? DEFAULTS.retry.initialDelayMs;
  const max = retry.maxDelayMs ?? DEFAULTS.retry.maxDelayMs;
  if (initial <= max) return [];
  const which = retry.initialDelayMs !== undefined ? 'initialDelayMs' : 'maxDelayMs';
  return [{ path: [...at, which], message: `initialDelayMs (${initial}) must not be greater than maxDelayMs (${max})` }];
}

/** Two enabled MLLP sources cannot listen on the same port (unless on two distinct addresses). */
function portClashes(channels: ChannelConfig[]): SemanticIssue[] {
  const issues: SemanticIssue[] = [];
  const taken: Array<{ port: number; host: string; index: number; id: string }> = [];
  channels.forEach((channel, i) => {
    const source = channel.source;
    if (channel.enabled === false || source.type !== 'mllp') return;
    const host = source.host ?? DEFAULTS.mllp.host;
    const clash = taken.find((t) => t.port === source.port && (t.host === host || WILDCARD_HOSTS.has(t.host) || WILDCARD_HOSTS.has(host)));
    if (clash) {
      issues.push({
        path: ['channels', i, 'source', 'port'],
        message: `port ${source.port} is already used by channel "${clash.id}" (${formatPath(['channels', clash.index, 'source', 'port'])})`,
      });
    } else {
      taken.push({ port: source.port, host, index: i, id: channel.id });
    }
  });
  return issues;
}

/**
 * A claims channel's parts only fit each other: claim batches come only from db-poll, and only
 * sql destinations take them. Say so at load time instead of failing every batch.
 */
function claimsIssues(channel: ChannelConfig, at: DataPath): SemanticIssue[] {
  const issues: SemanticIssue[] = [];
  const claimStages = (channel.transformers ?? []).map((t, i) => [t, i] as const).filter(([t]) => t.type.startsWith('claims-'));
  const batches = channel.source.type === 'db-poll';
  for (const [t, i] of claimStages) {
    if (!batches) issues.push({ path: [...at, 'transformers', i, 'type'], message: `${t.type} works on claim batches, which only a db-poll source produces` });
    if (t.type === 'claims-validate' && t.duplicatesAgainst !== undefined) {
      const d = channel.destinations[t.duplicatesAgainst];
      if (!d || d.type !== 'sql') issues.push({ path: [...at, 'transformers', i, 'duplicatesAgainst'], message: `no sql destination named "${t.duplicatesAgainst}" in this channel` });
    }
  }
  for (const [name, dest] of Object.entries(channel.destinations)) {
    if (dest.type === 'sql' && !batches) issues.push({ path: [...at, 'destinations', name, 'type'], message: `destination "${name}" writes claim batches, which only a db-poll source produces` });
    if (dest.type !== 'sql' && batches) issues.push({ path: [...at, 'destinations', name, 'type'], message: `destination "${name}" cannot take claim batches from a db-poll source: use type sql` });
  }
  if (batches && !claimStages.some(([t]) => t.type === 'claims-price')) {
    issues.push({ path: [...at, 'source', 'type'], message: 'a db-poll claims channel needs a claims-price transformer: production takes priced claims only' });
  }
  return issues;
}
