/**
 * Which acknowledgments a message asks for (HL7V2.md §5): original mode when MSH-15 and MSH-16
 * are both empty (one AA/AE/AR on the connection), enhanced mode otherwise (a commit ACK
 * CA/CE/CR on the connection per MSH-15, and an application ACK AA/AE/AR per MSH-16, sent later
 * as a message of its own).
 */
import type { AckCode } from '../../transformers/hl7v2/ack';
import type { Hl7Header } from '../../transformers/hl7v2/parse';

/** Table 0155. */
export type AckCondition = 'AL' | 'NE' | 'ER' | 'SU';

export interface AckMode {
  enhanced: boolean;
  /** MSH-15: when to send the commit ACK. */
  accept: AckCondition;
  /** MSH-16: when to send the application ACK. */
  application: AckCondition;
}

const CONDITIONS = new Set<AckCondition>(['AL', 'NE', 'ER', 'SU']);

/**
 * The mode a header asks for. In enhanced mode an empty MSH-15 is read as AL (a commit ACK is
 * what keeps a sender from resending; answering is the safe side) and an empty MSH-16 as NE (we do
 * not send messages nobody asked for). The standard leaves a half-filled pair open; this is our
 * choice. An unknown value is read as AL, for the same reason.
 */
export function ackModeOf(header: Pick<Hl7Header, 'acceptAckType' | 'applicationAckType'> | undefined): AckMode {
  const accept = (header?.acceptAckType ?? '').trim().toUpperCase();
  const application = (header?.applicationAckType ?? '').trim().toUpperCase();
  if (accept === '' && application === '') return { enhanced: false, accept: 'AL', application: 'AL' };
  return {
    enhanced: true,
    accept: accept === '' ? 'AL' : CONDITIONS.has(accept as AckCondition) ? (accept as AckCondition) : 'AL',
    application: application === '' ? 'NE' : CONDITIONS.has(application as AckCondition) ? (application as AckCondition) : 'AL',
  };
}

/** Whether an ACK with this code goes out under this condition. */
export function conditionAllows(condition: AckCondition, code: AckCode): boolean {
  const success = code === 'AA' || code === 'CA';
  switch (condition) {
    case 'AL': return true;
    case 'NE': return false;
    case 'ER': return !success;
    case 'SU': return success;
  }
}

/** The commit-ACK code for an application-ACK outcome (enhanced mode answers CA/CE/CR). */
export function commitCode(code: 'AA' | 'AE' | 'AR'): 'CA' | 'CE' | 'CR' {
  return code === 'AA' ? 'CA' : code === 'AE' ? 'CE' : 'CR';
}
