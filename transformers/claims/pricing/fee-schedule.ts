/**
 * The Medicare PFS reference data a pricer needs, loaded once: RVUs by HCPCS + modifier and GPCIs by
 * MAC + locality, all as scaled integers (see money.ts) so pricing does no parsing per claim.
 */
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../../common/project-root';
import { GpciFile, GpciRow, gpciKey, parseGpciFile } from './gpci';
import { RvuFile, RvuRow, parseRvuFile } from './rvu-file';

export type { GpciRow } from './gpci';
export type { RvuRow } from './rvu-file';

export interface FeeSchedule {
  /** PFS year of the RVU file, from its title line (e.g. "2022"); undefined if the title is missing. */
  year?: string;
  /** GPCI year, from the GPCI column labels. */
  gpciYear?: string;
  /** Rows by code, then modifier ('' = global record). */
  rvu: Map<string, Map<string, RvuRow>>;
  /** GPCI rows by `gpciKey(mac, locality)`. */
  gpci: Map<string, GpciRow>;
  /** Number of RVU records. */
  rvuCount: number;
}

/** File names shipped in transformers/claims/data (byte-identical copies of the shared fixtures). */
export const DEFAULT_RVU_FILE = 'cms_pprrvu_2022_jan_subset.csv';
export const DEFAULT_GPCI_FILE = 'cms_gpci_2022.csv';

function dataFile(name: string): string {
  return path.join(projectRoot(), 'transformers/claims/data', name);
}

/** Builds a schedule from already-read file texts (pure; what `loadFeeSchedule` calls). */
export function parseFeeSchedule(rvuText: string, gpciText: string, sources?: { rvu?: string; gpci?: string }): FeeSchedule {
  const rvu: RvuFile = parseRvuFile(rvuText, sources?.rvu);
  const gpci: GpciFile = parseGpciFile(gpciText, sources?.gpci);
  return { year: rvu.year, gpciYear: gpci.year, rvu: rvu.rows, gpci: gpci.rows, rvuCount: rvu.count };
}

/**
 * Reads the CMS RVU and GPCI CSVs. Defaults: `transformers/claims/data/cms_pprrvu_2022_jan_subset.csv`
 * and `.../cms_gpci_2022.csv` under the project root. Relative paths given in `opts` are taken as
 * they are (from the working directory). Throws a ValidationError `VALIDATION_FEE_SCHEDULE_FILE`
 * naming file and line when a file cannot be understood.
 */
export function loadFeeSchedule(opts: { rvuFile?: string; gpciFile?: string } = {}): FeeSchedule {
  const rvuFile = opts.rvuFile ?? dataFile(DEFAULT_RVU_FILE);
  const gpciFile = opts.gpciFile ?? dataFile(DEFAULT_GPCI_FILE);
  return parseFeeSchedule(fs.readFileSync(rvuFile, 'utf8'), fs.readFileSync(gpciFile, 'utf8'), {
    rvu: path.basename(rvuFile),
    gpci: path.basename(gpciFile),
  });
}

/** The RVU record for a code and payment modifier ('' = global), if the file has one. */
export function findRvu(schedule: FeeSchedule, code: string, modifier = ''): RvuRow | undefined {
  return schedule.rvu.get(code)?.get(modifier);
}

/** The GPCI row of a MAC + locality (leading zeros optional), if the file has one. */
export function findGpci(schedule: FeeSchedule, mac: string, locality: string): GpciRow | undefined {
  const key = gpciKey(mac, locality);
  return key === undefined ? undefined : schedule.gpci.get(key);
}
