import { mapEncounter } from './encounter';
import { mapPatient } from './patient';
import { readCx, requiredMissing } from './readers';
import { mapProblem } from './segments';
import type { MapperTable, MappingContext } from './types';

/**
 * PPR^PC1 (add problem), PC2 (update problem), PC3 (delete problem) -> FHIR R4 transaction
 * (v2-to-FHIR IG message map PPR_PC1 and segment map PRB[Condition], see segments.ts):
 * Patient (PID), Encounter (PV1, only when PV1-19 names the visit: a PPR's PV1 is context, and a
 * visit keyed by the message control id would be a new Encounter per message), and one Condition
 * (category problem-list-item) per PRB, upserted by PRB-4 problem instance id (else Patient key +
 * PRB-3 code). PC3 marks the Condition entered-in-error instead of deleting it: a transaction
 * DELETE would need the server id, and the IG keeps the record with its status. NTE, VAR, ROL,
 * PTH, GOL and OBX under PRB are not mapped.
 */
function ppr(deleted: boolean) {
  return (ctx: MappingContext): void => {
    const problems = ctx.msg.segments('PRB');
    if (problems.length === 0) throw requiredMissing('PRB', 3, `${ctx.msg.header.messageType}^${ctx.msg.header.triggerEvent} carries no PRB segment`);
    const patient = mapPatient(ctx);
    const pv1 = ctx.msg.segment('PV1');
    const encounter = pv1 && readCx(ctx, pv1, 19) ? mapEncounter(ctx, pv1, patient) : undefined;
    for (const prb of problems) mapProblem(ctx, prb, patient, encounter, deleted);
  };
}

export const mappers: MapperTable = {
  'PPR^PC1': ppr(false),
  'PPR^PC2': ppr(false),
  'PPR^PC3': ppr(true),
};
