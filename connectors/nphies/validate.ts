/**
 * Validates an NPHIES request or response message before it leaves (or when it arrives): the
 * FHIR R4 JSON schema (validateFhir) plus the NPHIES rules the domain notes give
 * (../shared/domain/NPHIES.md). Rules the notes mark inferred [I] or unconfirmed give
 * `warning` issues and say so; they never make a message invalid. Names Wasl merely does not
 * know (a code system outside §10, an identifier system outside §6) give `information`.
 *
 * Every issue carries a FHIRPath-like `expression` (`Bundle.entry[1].resource.identifier`) and a
 * diagnostic that names the rule, never the value: values may be patient data.
 */
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { validateFhir } from '../../transformers/fhir/validate';
import {
  CS_BASE, EVENT_CODES, EVENT_SYSTEM, FOCAL_TYPE, HL7_CODE_VALUES, KNOWN_NPHIES_IDENTIFIER_SYSTEMS, LICENSE, NPHIES_CODE_SYSTEMS,
  NPHIES_SD_BASE, PATIENT_ID, PROFILES, UNCONFIRMED_EVENT_CODES, claimProfileId, extensionUrl, type NphiesClaimType,
} from './bundles/profiles';

export interface NphiesValidationResult {
  /** False when any issue is an error. */
  valid: boolean;
  /** Every issue (errors, warnings, information), or one `information` issue "valid". */
  outcome: OperationOutcome;
}

type Json = Record<string, unknown>;
type Severity = 'error' | 'warning' | 'information';

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const INSTANT_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const LICENSE_SYSTEMS = new Set<string>([LICENSE.provider, LICENSE.payer, LICENSE.nphies]);
const UNCONFIRMED = '(inferred rule, not confirmed by the published IG: warning only)';

class Issues {
  readonly list: OperationOutcomeIssue[] = [];

  add(severity: Severity, code: OperationOutcomeIssue['code'], expression: string, diagnostics: string): void {
    this.list.push({ severity, code, diagnostics, expression: [expression] });
  }

  error(expression: string, diagnostics: string, code: OperationOutcomeIssue['code'] = 'invalid'): void {
    this.add('error', code, expression, diagnostics);
  }

  warning(expression: string, diagnostics: string, code: OperationOutcomeIssue['code'] = 'business-rule'): void {
    this.add('warning', code, expression, diagnostics);
  }

  info(expression: string, diagnostics: string): void {
    this.add('information', 'informational', expression, diagnostics);
  }

  has(expression: string): boolean {
    return this.list.some((i) => i.severity === 'error' && i.expression?.[0] === expression);
  }
}

/**
 * Validates an NPHIES message Bundle; any other resource (a Claim on its own, say) gets the
 * rules that apply to a resource outside a message (profiles, identifiers, codes, required
 * elements) but not the envelope or reference rules.
 */
export function validateNphiesBundle(bundle: unknown): NphiesValidationResult {
  const issues = new Issues();
  if (!isObject(bundle)) {
    issues.error('Resource', 'not a JSON object', 'structure');
    return result(issues);
  }
  const schema = validateFhir(bundle);
  if (!schema.valid) issues.list.push(...schema.outcome.issue);
  const root = typeof bundle.resourceType === 'string' && /^[A-Za-z]+$/.test(bundle.resourceType) ? bundle.resourceType : 'Resource';
  checkEmpty(bundle, root, issues);
  if (bundle.resourceType === 'Bundle') checkBundle(bundle, issues);
  else checkResource(bundle, root, issues, undefined);
  return result(issues);
}

function result(issues: Issues): NphiesValidationResult {
  const valid = !issues.list.some((i) => i.severity === 'error' || i.severity === 'fatal');
  const issue = issues.list.length ? issues.list : [{ severity: 'information' as const, code: 'informational' as const, diagnostics: 'valid' }];
  return { valid, outcome: { resourceType: 'OperationOutcome', issue } };
}

function checkBundle(bundle: Json, issues: Issues): void {
  if (bundle.type !== 'message') issues.error('Bundle.type', "an NPHIES message Bundle has type 'message' (NPHIES.md §1)");
  if (typeof bundle.id !== 'string' || !GUID.test(bundle.id)) issues.error('Bundle.id', 'Bundle.id must be a GUID (NPHIES.md §1)');
  if (typeof bundle.timestamp !== 'string' || !INSTANT_WITH_ZONE.test(bundle.timestamp)) {
    issues.error('Bundle.timestamp', 'Bundle.timestamp is required, to the second, with a time zone (NPHIES.md §1)');
  }
  checkProfile(bundle, 'Bundle', issues);
  const entries = Array.isArray(bundle.entry) ? (bundle.entry as unknown[]) : [];
  if (entries.length === 0) {
    issues.error('Bundle.entry', 'a message Bundle needs entries, the MessageHeader first (NPHIES.md §1)', 'required');
    return;
  }
  const fullUrls = new Map<string, number>();
  entries.forEach((e, i) => {
    const at = `Bundle.entry[${i}]`;
    if (!isObject(e)) return;
    if (typeof e.fullUrl !== 'string' || e.fullUrl === '') issues.error(`${at}.fullUrl`, 'every entry needs a fullUrl (NPHIES.md §9)', 'required');
    else if (fullUrls.has(e.fullUrl)) issues.error(`${at}.fullUrl`, `fullUrl repeats entry[${fullUrls.get(e.fullUrl)}]`, 'duplicate');
    else fullUrls.set(e.fullUrl, i);
    if (!isObject(e.resource)) issues.error(`${at}.resource`, 'every entry needs a resource', 'required');
  });
  const first = entries[0];
  const firstResource = isObject(first) && isObject(first.resource) ? first.resource : undefined;
  if (firstResource?.resourceType !== 'MessageHeader') {
    const at = entries.findIndex((e) => isObject(e) && isObject(e.resource) && e.resource.resourceType === 'MessageHeader');
    issues.error(
      'Bundle.entry[0].resource',
      at < 0 ? 'the MessageHeader is missing: it must be the first entry (NPHIES.md §1)' : `the MessageHeader must be the first entry, found at entry[${at}] (NPHIES.md §1)`,
      'structure',
    );
  }
  const index = new EntryIndex(entries);
  const event = firstResource?.resourceType === 'MessageHeader' ? checkHeader(firstResource, index, issues) : undefined;
  entries.forEach((e, i) => {
    if (!isObject(e) || !isObject(e.resource)) return;
    const at = `Bundle.entry[${i}].resource`;
    if (e.resource.resourceType === 'Bundle') {
      // batch-request and poll-response carry whole messages; each is validated on its own.
      issues.info(at, 'nested Bundle: validate it as a message of its own');
      return;
    }
    checkResource(e.resource, at, issues, i === index.focalIndex ? event : undefined);
    checkReferences(e.resource, at, typeof e.fullUrl === 'string' ? e.fullUrl : '', index, issues, i === 0);
  });
}

/** Looks entries up by fullUrl and by `Type/id`. */
class EntryIndex {
  readonly byUrl = new Map<string, Json>();
  readonly byTypeId = new Set<string>();
  focalIndex = -1;

  constructor(readonly entries: unknown[]) {
    for (const e of entries) {
      if (!isObject(e) || !isObject(e.resource)) continue;
      if (typeof e.fullUrl === 'string') this.byUrl.set(e.fullUrl, e.resource);
      if (typeof e.resource.resourceType === 'string' && typeof e.resource.id === 'string') this.byTypeId.add(`${e.resource.resourceType}/${e.resource.id}`);
    }
  }

  indexOfUrl(url: string): number {
    return this.entries.findIndex((e) => isObject(e) && e.fullUrl === url);
  }

  /** FHIR bundle resolution: exact fullUrl; `Type/id` against the referring entry's base, then any entry with that type and id. */
  resolves(reference: string, fromFullUrl: string): boolean {
    if (this.byUrl.has(reference)) return true;
    const relative = /^([A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/.+)?$/.exec(reference);
    if (!relative) return false;
    const base = /^(https?:\/\/.+)\/[A-Za-z]+\/[^/]+$/.exec(fromFullUrl)?.[1];
    if (base && this.byUrl.has(`${base}/${relative[1]}/${relative[2]}`)) return true;
    return this.byTypeId.has(`${relative[1]}/${relative[2]}`);
  }
}

/** MessageHeader rules (NPHIES.md §3, §4); returns the event code. */
function checkHeader(header: Json, index: EntryIndex, issues: Issues): string | undefined {
  const at = 'Bundle.entry[0].resource';
  if (typeof header.id !== 'string' || !GUID.test(header.id)) issues.error(`${at}.id`, 'MessageHeader.id must be a GUID (NPHIES.md §1)');
  const coding = isObject(header.eventCoding) ? header.eventCoding : undefined;
  const event = typeof coding?.code === 'string' ? coding.code : undefined;
  if (!coding) {
    issues.error(`${at}.eventCoding`, 'MessageHeader.eventCoding is required (ksa-message-events)', 'required');
  } else {
    if (coding.system !== EVENT_SYSTEM) issues.error(`${at}.eventCoding.system`, `eventCoding.system must be ${EVENT_SYSTEM} (NPHIES.md §3)`, 'code-invalid');
    if (event === undefined) issues.error(`${at}.eventCoding.code`, 'eventCoding.code is required', 'required');
    else if (UNCONFIRMED_EVENT_CODES.includes(event)) {
      issues.warning(`${at}.eventCoding.code`, `event '${event}' is named in the v2.7 PDF but not in the ksa-message-events export ${UNCONFIRMED}`, 'code-invalid');
    } else if (!EVENT_CODES.includes(event)) issues.error(`${at}.eventCoding.code`, `unknown event code '${event}' (ksa-message-events, NPHIES.md §4)`, 'code-invalid');
  }

  checkLicenseRef(header.sender, `${at}.sender`, 'sender', issues);
  const destinations = Array.isArray(header.destination) ? header.destination : [];
  destinations.forEach((d, i) => {
    if (isObject(d)) checkLicenseRef(d.receiver, `${at}.destination[${i}].receiver`, 'destination.receiver', issues);
  });

  const focus = Array.isArray(header.focus) ? header.focus : [];
  if (focus.length === 0) {
    if (event !== 'acknowledgement') issues.error(`${at}.focus`, 'MessageHeader.focus is required: the focal resource of the message (NPHIES.md §3)', 'required');
    return event;
  }
  if (focus.length > 1) issues.warning(`${at}.focus`, `exactly one focal resource per message (BV-00221) ${UNCONFIRMED}`);
  const ref = isObject(focus[0]) ? focus[0].reference : undefined;
  if (typeof ref !== 'string') {
    issues.error(`${at}.focus[0].reference`, 'focus.reference is required', 'required');
    return event;
  }
  const i = index.indexOfUrl(ref);
  if (i < 0) {
    issues.error(
      `${at}.focus[0].reference`,
      'focus.reference must equal the fullUrl of the focal entry character for character (NPHIES.md §3; OBA answers RE-00169)',
      'not-found',
    );
    return event;
  }
  index.focalIndex = i;
  const focal = index.byUrl.get(ref) as Json;
  const expected = event ? FOCAL_TYPE[event] : undefined;
  if (expected && focal.resourceType !== expected) {
    issues.error(`${at}.focus[0].reference`, `event '${event}' needs a ${expected} as focal resource, found ${String(focal.resourceType)} (NPHIES.md §4)`, 'business-rule');
  }
  return event;
}

/** sender / destination.receiver: a logical Organization reference by license identifier (NPHIES.md §3) [C]. */
function checkLicenseRef(ref: unknown, at: string, what: string, issues: Issues): void {
  if (!isObject(ref)) {
    issues.error(at, `MessageHeader.${what} is required, by license identifier (NPHIES.md §3)`, 'required');
    return;
  }
  if (ref.type !== 'Organization') issues.error(`${at}.type`, `MessageHeader.${what}.type must be 'Organization' (NPHIES.md §3)`, 'value');
  const id = isObject(ref.identifier) ? ref.identifier : undefined;
  if (!id || typeof id.value !== 'string') {
    issues.error(`${at}.identifier`, `MessageHeader.${what} needs a license identifier (provider-license, payer-license or nphies) (NPHIES.md §3)`, 'required');
  } else if (typeof id.system !== 'string' || !LICENSE_SYSTEMS.has(id.system)) {
    issues.error(`${at}.identifier.system`, `MessageHeader.${what}.identifier.system must be a license system: ${[...LICENSE_SYSTEMS].join(', ')} (NPHIES.md §3)`, 'value');
  }
}

/** Every `reference` inside the resource resolves inside the Bundle (NPHIES.md §1) [C]. */
function checkReferences(resource: Json, at: string, fullUrl: string, index: EntryIndex, issues: Issues, isHeader: boolean): void {
  const contained = new Set(
    (Array.isArray(resource.contained) ? resource.contained : []).filter(isObject).map((c) => `#${String(c.id)}`),
  );
  walk(resource, at, (value, path) => {
    if (!isObject(value) || typeof value.reference !== 'string') return;
    if (isHeader && /\.focus\[\d+\]$/.test(path)) return; // checked with the header rules
    const ref = value.reference;
    if (ref.startsWith('#')) {
      if (!contained.has(ref)) issues.error(`${path}.reference`, 'reference to a contained resource that is not there', 'not-found');
      return;
    }
    if (!index.resolves(ref, fullUrl)) {
      issues.error(`${path}.reference`, 'reference does not resolve to an entry of the Bundle: all referenced resources must be inside the message (NPHIES.md §1)', 'not-found');
    }
  });
}

/** Rules for one resource: profile, identifiers, codes, required elements; `event` when it is the focal resource. */
function checkResource(resource: Json, at: string, issues: Issues, event: string | undefined): void {
  const type = resource.resourceType;
  if (type !== 'Bundle') checkProfile(resource, at, issues);
  checkIdentifiers(resource, at, issues);
  checkCodes(resource, at, issues);
  switch (type) {
    case 'Patient':
      return checkPatient(resource, at, issues);
    case 'Organization':
      return checkOrganization(resource, at, issues);
    case 'Practitioner':
      return requireLicense(resource, at, LICENSE.practitioner, 'Practitioner', issues, false);
    case 'Location':
      return requireLicense(resource, at, LICENSE.location, 'Location', issues, false);
    case 'Claim':
      return checkClaim(resource, at, issues, event);
    case 'CoverageEligibilityRequest':
      return checkEligibility(resource, at, issues);
    case 'Task':
      return checkTask(resource, at, issues, event);
    case 'Communication':
      return checkCommunication(resource, at, issues);
    case 'PaymentNotice':
      requireElements(resource, at, ['identifier'], issues, 'PaymentNotice');
      return;
    default:
      return;
  }
}

/** meta.profile carries the NPHIES profile with its version (NPHIES.md §3, §5) [C]. */
function checkProfile(resource: Json, at: string, issues: Issues): void {
  const type = String(resource.resourceType);
  const profiles = isObject(resource.meta) && Array.isArray(resource.meta.profile) ? resource.meta.profile.filter((p): p is string => typeof p === 'string') : [];
  const nphies = profiles.map((p, i) => ({ p, i })).filter(({ p }) => p.startsWith(NPHIES_SD_BASE));
  const typeHasProfile = Object.values(PROFILES).some((d) => d.resourceType === type);
  if (nphies.length === 0) {
    if (typeHasProfile) issues.error(`${at}.meta.profile`, `${type} needs its NPHIES profile in meta.profile, with version (NPHIES.md §3, §5)`, 'required');
    else issues.warning(`${at}.meta.profile`, `no NPHIES profile in meta.profile; Wasl knows none for ${type} (NPHIES.md §5)`);
    return;
  }
  for (const { p, i } of nphies) {
    const [id, version] = p.slice(NPHIES_SD_BASE.length).split('|');
    const path = `${at}.meta.profile[${i}]`;
    if (!version) issues.error(path, 'NPHIES profiles are referenced with a version, e.g. |1.0.0 (NPHIES.md §3)', 'value');
    const known = PROFILES[id];
    if (!known) issues.info(path, `profile '${id}' is not in the list Wasl knows (NPHIES.md §5)`);
    else if (known.resourceType !== type) issues.error(path, `profile '${id}' is for ${known.resourceType}, not ${type} (NPHIES.md §5)`, 'value');
  }
  if (type === 'Claim') {
    const claimType = codeOf(resource.type);
    const use = resource.use;
    if (isClaimType(claimType) && (use === 'claim' || use === 'preauthorization')) {
      const expected = claimProfileId(claimType, use);
      if (!nphies.some(({ p }) => p.slice(NPHIES_SD_BASE.length).split('|')[0] === expected)) {
        issues.error(`${at}.meta.profile`, `a ${claimType} Claim with use=${use} carries the '${expected}' profile (NPHIES.md §5)`, 'value');
      }
    }
  }
}

function checkIdentifiers(resource: Json, at: string, issues: Issues): void {
  walk(resource, at, (value, path) => {
    if (!/\.identifier(\[\d+\])?$/.test(path) || !isObject(value) || typeof value.system !== 'string') return;
    if (value.system.startsWith('http://nphies.sa/') && !KNOWN_NPHIES_IDENTIFIER_SYSTEMS.has(value.system)) {
      issues.info(`${path}.system`, 'identifier system under nphies.sa that Wasl does not know (NPHIES.md §6 is not exhaustive)');
    }
  });
}

/** Codes from code systems with a known value list (NPHIES.md §10). */
function checkCodes(resource: Json, at: string, issues: Issues): void {
  walk(resource, at, (value, path) => {
    if (!isObject(value) || typeof value.system !== 'string' || typeof value.code !== 'string' || /\.identifier(\[\d+\])?$/.test(path)) return;
    const { system, code } = value;
    if (system.startsWith(CS_BASE)) {
      const id = system.slice(CS_BASE.length);
      if (!(id in NPHIES_CODE_SYSTEMS)) {
        issues.info(`${path}.system`, `code system '${id}' is not in the list Wasl knows (NPHIES.md §10 is not exhaustive)`);
        return;
      }
      const values = NPHIES_CODE_SYSTEMS[id];
      if (values && !values.includes(code)) issues.error(`${path}.code`, `code is not in ${id}: ${values.join(', ')} (NPHIES.md §10)`, 'code-invalid');
    } else if (HL7_CODE_VALUES[system] && !HL7_CODE_VALUES[system].includes(code)) {
      issues.error(`${path}.code`, `code is not in ${system}: ${HL7_CODE_VALUES[system].join(', ')}`, 'code-invalid');
    }
  });
}

function checkPatient(patient: Json, at: string, issues: Issues): void {
  const ids = arrayOf(patient.identifier);
  const known = Object.values(PATIENT_ID);
  const matched = ids.map((id, i) => ({ id, i, def: known.find((k) => k.system === id.system) })).filter((m) => m.def);
  if (matched.length === 0) {
    issues.error(`${at}.identifier`, 'Patient needs a national id, iqama, passport, border number or displaced-person identifier (NPHIES.md §6)', 'required');
    return;
  }
  for (const { id, i, def } of matched) {
    const path = `${at}.identifier[${i}]`;
    const value = typeof id.value === 'string' ? id.value : '';
    if (def?.system === PATIENT_ID.iqama.system && !/^2\d{9}$/.test(value)) {
      issues.error(`${path}.value`, 'an iqama number is 10 digits starting with 2 (BV-00798, NPHIES.md §6)', 'value');
    }
    if (def?.system === PATIENT_ID.nationalid.system && !/^1\d{9}$/.test(value)) {
      issues.warning(`${path}.value`, `a national id is 10 digits starting with 1 ${UNCONFIRMED}`, 'value');
    }
    const typeCode = codeOf(id.type);
    if (def && typeCode !== def.type) issues.warning(`${path}.type`, `identifier type for this system is ${def.type} (NPHIES.md §6) ${UNCONFIRMED}`, 'value');
  }
}

function checkOrganization(org: Json, at: string, issues: Issues): void {
  const profiles = isObject(org.meta) && Array.isArray(org.meta.profile) ? org.meta.profile.map(String) : [];
  const has = (id: string) => profiles.some((p) => p.startsWith(`${NPHIES_SD_BASE}${id}|`) || p === `${NPHIES_SD_BASE}${id}`);
  if (has('provider-organization')) requireLicense(org, at, LICENSE.provider, 'provider Organization', issues, true);
  if (has('insurer-organization')) requireLicense(org, at, LICENSE.payer, 'insurer Organization', issues, true);
}

/** An identifier in `system` (error when the notes confirm the system, warning when inferred). */
function requireLicense(resource: Json, at: string, system: string, what: string, issues: Issues, confirmed: boolean): void {
  if (arrayOf(resource.identifier).some((id) => id.system === system && typeof id.value === 'string')) return;
  const text = `${what} needs a license identifier with system ${system} (NPHIES.md §6)`;
  if (confirmed) issues.error(`${at}.identifier`, text, 'required');
  else issues.warning(`${at}.identifier`, `${text} ${UNCONFIRMED}`, 'required');
}

function requireElements(resource: Json, at: string, names: string[], issues: Issues, what: string): void {
  for (const name of names) {
    const v = resource[name];
    if (v === undefined || (Array.isArray(v) && v.length === 0)) {
      if (!issues.has(`${at}.${name}`)) issues.error(`${at}.${name}`, `${what}.${name} is required by NPHIES (NPHIES.md §4, §9)`, 'required');
    }
  }
}

function checkClaim(claim: Json, at: string, issues: Issues, event: string | undefined): void {
  requireElements(
    claim,
    at,
    ['identifier', 'type', 'subType', 'use', 'patient', 'created', 'insurer', 'provider', 'priority', 'payee', 'careTeam', 'diagnosis', 'insurance', 'item', 'total'],
    issues,
    'Claim',
  );
  const use = claim.use;
  if (event === 'priorauth-request' && use !== 'preauthorization') issues.error(`${at}.use`, "priorauth-request carries a Claim with use 'preauthorization' (NPHIES.md §4)", 'business-rule');
  if (event === 'claim-request' && use !== 'claim') issues.error(`${at}.use`, "claim-request carries a Claim with use 'claim' (NPHIES.md §4)", 'business-rule');
  const insurance = arrayOf(claim.insurance);
  if (insurance.length && insurance.filter((i) => i.focal === true).length !== 1) {
    issues.error(`${at}.insurance`, 'exactly one Claim.insurance has focal=true', 'business-rule');
  }
  const extensions = arrayOf(claim.extension);
  if (use === 'claim' && !extensions.some((e) => e.url === extensionUrl('extension-episode'))) {
    // NPHIES.md §5 says "mandatory on every Claim" ([C/I]); the IG's prior-auth example has none.
    issues.warning(`${at}.extension`, `extension-episode is expected on every claim ${UNCONFIRMED}`, 'required');
  }
  arrayOf(claim.item).forEach((item, i) => {
    const path = `${at}.item[${i}]`;
    requireElements(item, path, ['productOrService', 'net'], issues, 'Claim.item');
    if (item.servicedDate === undefined && item.servicedPeriod === undefined) {
      issues.error(`${path}.servicedDate`, 'Claim.item needs servicedDate or servicedPeriod (NPHIES.md §9)', 'required');
    }
    const itemExt = arrayOf(item.extension);
    if (use === 'claim' && !itemExt.some((e) => e.url === extensionUrl('extension-patientInvoice'))) {
      issues.warning(`${path}.extension`, `extension-patientInvoice is expected on every claim item ${UNCONFIRMED}`, 'required');
    }
    checkNet(item, itemExt, path, issues);
  });
}

/** Line net = quantity × unitPrice × factor + tax (NPHIES.md §9) [C rule]. */
function checkNet(item: Json, ext: Json[], path: string, issues: Issues): void {
  const num = (v: unknown) => (isObject(v) && typeof v.value === 'number' ? v.value : undefined);
  const net = num(item.net);
  const unit = num(item.unitPrice);
  if (net === undefined || unit === undefined) return;
  const qty = num(item.quantity) ?? 1;
  const factor = typeof item.factor === 'number' ? item.factor : 1;
  const taxExt = ext.find((e) => e.url === extensionUrl('extension-tax'));
  const tax = taxExt ? num(taxExt.valueMoney) ?? 0 : 0;
  if (Math.abs(qty * unit * factor + tax - net) > 0.005) {
    issues.error(`${path}.net`, 'net must equal quantity × unitPrice × factor + tax (NPHIES.md §9)', 'business-rule');
  }
}

function checkEligibility(req: Json, at: string, issues: Issues): void {
  requireElements(req, at, ['identifier', 'priority', 'provider', 'insurer'], issues, 'CoverageEligibilityRequest');
  const purposes = Array.isArray(req.purpose) ? req.purpose : [];
  if (arrayOf(req.insurance).length === 0 && !(purposes.length === 1 && purposes[0] === 'discovery')) {
    issues.warning(`${at}.insurance`, `an eligibility request other than discovery names the Coverage ${UNCONFIRMED}`, 'required');
  }
}

const TASK_CODES: Record<string, string[]> = { 'poll-request': ['poll'], 'cancel-request': ['cancel', 'nullify'], 'status-check': ['status'] };

function checkTask(task: Json, at: string, issues: Issues, event: string | undefined): void {
  requireElements(task, at, ['identifier', 'code', 'requester', 'owner', 'authoredOn'], issues, 'Task');
  const code = codeOf(task.code);
  const system = isObject(task.code) ? arrayOf(task.code.coding)[0]?.system : undefined;
  if (task.code !== undefined && system !== `${CS_BASE}task-code`) issues.error(`${at}.code`, `Task.code comes from ${CS_BASE}task-code (NPHIES.md §8)`, 'code-invalid');
  const expected = event ? TASK_CODES[event] : undefined;
  if (expected && code !== undefined && !expected.includes(code)) issues.error(`${at}.code`, `event '${event}' needs Task.code ${expected.join(' or ')} (NPHIES.md §4)`, 'business-rule');
  if (event === 'cancel-request' || event === 'status-check') {
    if (!isObject(task.focus) || !isObject(task.focus.identifier)) {
      issues.error(`${at}.focus.identifier`, `${event} names the request by Task.focus.identifier (NPHIES.md §4)`, 'required');
    }
  }
  if (event === 'cancel-request' && codeOf(task.reasonCode) === undefined) {
    issues.error(`${at}.reasonCode`, 'cancel-request needs a reasonCode from task-reason-code (NPHIES.md §4)', 'required');
  }
  if (code === 'poll' || event === 'poll-request') {
    const inputs = arrayOf(task.input);
    const kinds = inputs.map((i) => codeOf(i.type));
    if (kinds.includes('include-message-type') && kinds.includes('exclude-message-type')) {
      issues.error(`${at}.input`, 'include-message-type and exclude-message-type are mutually exclusive (NPHIES.md §8)', 'business-rule');
    }
    inputs.forEach((input, i) => {
      const n = input.valuePositiveInt;
      if (codeOf(input.type) === 'count' && (typeof n !== 'number' || n < 1 || n > 100)) {
        issues.error(`${at}.input[${i}].valuePositiveInt`, 'poll count is 1 to 100 (NPHIES.md §8)', 'value');
      }
    });
  }
}

function checkCommunication(comm: Json, at: string, issues: Issues): void {
  requireElements(comm, at, ['identifier', 'about'], issues, 'Communication');
  if (arrayOf(comm.payload).length === 0) issues.warning(`${at}.payload`, `a communication carries at least one payload ${UNCONFIRMED}`, 'required');
}

/** No nulls, empty strings, empty arrays or empty objects anywhere (NPHIES.md §1) [C]. */
function checkEmpty(value: unknown, at: string, issues: Issues): void {
  walk(value, at, (v, path) => {
    const empty = v === null || v === '' || (Array.isArray(v) && v.length === 0) || (isObject(v) && Object.keys(v).length === 0);
    if (empty && !issues.has(path)) issues.error(path, 'empty elements and nulls are not allowed (NPHIES.md §1)', 'structure');
  });
}

/** Calls `visit` on every value below `value` (not on `value` itself), with its path. Skips narrative. */
function walk(value: unknown, at: string, visit: (v: unknown, path: string) => void): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      const path = `${at}[${i}]`;
      visit(v, path);
      walk(v, path, visit);
    });
  } else if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'text' && isObject(v) && 'div' in v) continue;
      const path = `${at}.${k}`;
      visit(v, path);
      walk(v, path, visit);
    }
  }
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function arrayOf(v: unknown): Json[] {
  return Array.isArray(v) ? v.filter(isObject) : [];
}

/** First coding's code of a CodeableConcept. */
function codeOf(cc: unknown): string | undefined {
  if (!isObject(cc)) return undefined;
  const code = arrayOf(cc.coding)[0]?.code;
  return typeof code === 'string' ? code : undefined;
}

function isClaimType(v: string | undefined): v is NphiesClaimType {
  return v === 'institutional' || v === 'professional' || v === 'pharmacy' || v === 'oral' || v === 'vision';
}
