/**
 * How a node ends a message's part in a stage: complete its receipt, or fail it and hand the
 * error to Node-RED with `done(err)` so Catch nodes on the tab see it (with `code` carrying the
 * error kind, e.g. `VALIDATION_HL7_PARSE`).
 */
import { toWaslError, type WaslError } from '../../common/errors';
import type { WaslRuntime } from '../../engine/runtime/types';
import type { WaslMsg } from '../../engine/runtime/wasl-msg';

export function failMessage(runtime: WaslRuntime, msg: WaslMsg, err: unknown, done: (err?: Error) => void): WaslError {
  const e = toWaslError(err);
  runtime.receipts.fail(msg.wasl?.receipt, e);
  done(e);
  return e;
}
