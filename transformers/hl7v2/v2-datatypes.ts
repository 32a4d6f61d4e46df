import type { Address, ContactPoint, HumanName } from '@medplum/fhirtypes';
import { HL7_NULL, type Hl7Segment } from './segment';

/**
 * Readers for the HL7 v2 composite types ADT mapping needs (XPN, XAD, XTN), one repetition at a
 * time. Values are decoded, trimmed, and an HL7 null (`""`) counts as no value: a FHIR resource
 * cannot carry "clear this", and the conditional PUT replaces the whole resource anyway.
 */

/**
 * Subcomponent `sub` of component `comp` of repetition `rep` of `field` (all default to 1, so the
 * result is always a decoded leaf, never wire text); undefined when empty or HL7 null.
 */
export function leaf(seg: Hl7Segment, field: number, rep = 1, comp = 1, sub = 1): string | undefined {
  const raw = seg.get({ segment: '', occurrence: 1, field, repetition: rep, component: comp, subcomponent: sub });
  if (raw === undefined || raw === HL7_NULL) return undefined;
  const v = raw.trim();
  return v === '' || v === HL7_NULL ? undefined : v;
}

/** How many repetitions field `field` has (0 when empty). */
export function repetitionCount(seg: Hl7Segment, field: number): number {
  return seg.repetitionCount(field);
}

// XPN-7 name type (table 0200) -> HumanName.use; unlisted codes get no use rather than a guess.
const NAME_USE: Record<string, HumanName['use']> = {
  L: 'official', D: 'usual', A: 'usual', M: 'maiden', N: 'nickname', S: 'anonymous', C: 'official',
};

/** XPN: 1 family (FN.1 surname), 2 given, 3 middle, 4 suffix, 5 prefix, 6 degree, 7 name type. */
export function readName(seg: Hl7Segment, field: number, rep: number): HumanName | undefined {
  const family = leaf(seg, field, rep, 1, 1);
  const given = compact([leaf(seg, field, rep, 2, 1), leaf(seg, field, rep, 3, 1)]);
  const suffix = compact([leaf(seg, field, rep, 4, 1), leaf(seg, field, rep, 6, 1)]);
  const prefix = compact([leaf(seg, field, rep, 5, 1)]);
  if (!family && given.length === 0) return undefined;
  const name: HumanName = {};
  const use = NAME_USE[leaf(seg, field, rep, 7) ?? ''];
  if (use) name.use = use;
  if (family) name.family = family;
  if (given.length) name.given = given;
  if (prefix.length) name.prefix = prefix;
  if (suffix.length) name.suffix = suffix;
  return name;
}

const ADDRESS_USE: Record<string, Address['use']> = { H: 'home', B: 'work', O: 'work', C: 'temp', BA: 'old', BDL: 'old' };

/** XAD: 1 street (SAD), 2 other designation, 3 city, 4 state, 5 zip, 6 country, 7 type, 9 county. */
export function readAddress(seg: Hl7Segment, field: number, rep: number): Address | undefined {
  // SAD.1 is the whole street line; some senders split it into SAD.3 number + SAD.2 street name.
  const street = leaf(seg, field, rep, 1, 1) ?? joinWords([leaf(seg, field, rep, 1, 3), leaf(seg, field, rep, 1, 2)]);
  const line = compact([street, leaf(seg, field, rep, 2)]);
  const address: Address = {};
  if (line.length) address.line = line;
  const city = leaf(seg, field, rep, 3);
  const state = leaf(seg, field, rep, 4);
  const postalCode = leaf(seg, field, rep, 5);
  const country = leaf(seg, field, rep, 6);
  const district = leaf(seg, field, rep, 9);
  if (city) address.city = city;
  if (district) address.district = district;
  if (state) address.state = state;
  if (postalCode) address.postalCode = postalCode;
  if (country) address.country = country;
  if (Object.keys(address).length === 0) return undefined;
  const type = leaf(seg, field, rep, 7);
  if (type === 'M') address.type = 'postal';
  else if (type && ADDRESS_USE[type]) address.use = ADDRESS_USE[type];
  return address;
}

const PHONE_USE: Record<string, ContactPoint['use']> = { PRN: 'home', ORN: 'home', VHN: 'home', WPN: 'work' };

/**
 * XTN: 1 formatted number (pre-2.5), 2 use (table 0201), 3 equipment (table 0202), 4 email,
 * 5 country, 6 area, 7 local number, 8 extension, 12 unformatted number.
 * `defaultUse` is `home` for PID-13 and `work` for PID-14.
 */
export function readTelecom(seg: Hl7Segment, field: number, rep: number, defaultUse: 'home' | 'work'): ContactPoint | undefined {
  const useCode = leaf(seg, field, rep, 2);
  const equipment = leaf(seg, field, rep, 3);
  const email = leaf(seg, field, rep, 4);
  if (email && (equipment === 'Internet' || equipment === 'X.400' || useCode === 'NET' || !leaf(seg, field, rep, 1))) {
    return { system: 'email', value: email, use: defaultUse };
  }
  const value = leaf(seg, field, rep, 1) ?? leaf(seg, field, rep, 12) ?? composePhone(seg, field, rep);
  if (!value) return undefined;
  const system: ContactPoint['system'] = equipment === 'FX' ? 'fax' : equipment === 'BP' ? 'pager' : 'phone';
  const use: ContactPoint['use'] = equipment === 'CP' ? 'mobile' : (PHONE_USE[useCode ?? ''] ?? defaultUse);
  return { system, value, use };
}

function composePhone(seg: Hl7Segment, field: number, rep: number): string | undefined {
  const country = leaf(seg, field, rep, 5);
  const area = leaf(seg, field, rep, 6);
  const local = leaf(seg, field, rep, 7);
  const ext = leaf(seg, field, rep, 8);
  if (!local) return undefined;
  const number = joinWords([country && `+${country}`, area && `(${area})`, local]);
  return ext ? `${number} x${ext}` : number;
}

function compact(values: (string | undefined)[]): string[] {
  return values.filter((v): v is string => v !== undefined && v !== '');
}

function joinWords(values: (string | undefined)[]): string | undefined {
  const s = compact(values).join(' ');
  return s === '' ? undefined : s;
}
