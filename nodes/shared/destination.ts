/**
 * How a destination node (wasl-mllp-out, wasl-fhir-out) settles one delivery: the attempt is
 * timed into destinationLatency; a failure fails the message (transient: the queue retries it);
 * a success records what was sent and the response as SENT, counts it, completes the receipt so
 * the destination queue acks, and passes the message on. A send that cannot be recorded fails the
 * message so the queue redelivers (the receiver must make the resend harmless).
 */
import type { WaslError } from '../../common/errors';
import type { WaslRuntime } from '../../engine/runtime/types';
import type { WaslMsg } from '../../engine/runtime/wasl-msg';
import { failMessage } from './settle';
import type { WaslStatus, throttledStatus } from './status';

export interface DestinationOptions {
  runtime: WaslRuntime;
  channel: string;
  destination: string;
  status: ReturnType<typeof throttledStatus>;
  /** The status text for `sending`, `transient` and `integration` (the node's i18n keys). */
  statusText: (key: string) => string;
}

export interface Delivery<R> {
  /** Sends the message; what it throws fails the message. */
  attempt: () => Promise<R>;
  /** What the message store keeps for a sent message. */
  record: (result: R) => { sent: string; response: string };
  /** Puts the response on the message before it is passed on. */
  respond: (msg: WaslMsg, result: R) => void;
  /** A node's own status for a failure; by default retrying (transient) or rejected. */
  failureStatus?: (e: WaslError) => [WaslStatus, string] | undefined;
}

export type Deliver = <R>(msg: WaslMsg, send: (msg: never) => void, done: (err?: Error) => void, delivery: Delivery<R>) => Promise<void>;

/** A destination node's deliver function, holding its sent count (shown as the node status). */
export function destinationDelivery(options: DestinationOptions): Deliver {
  const { runtime, channel, destination, status } = options;
  // The editor's language is fixed for the runtime's life; translating `sending` on every message
  // was 0.1 ms of the engine's CPU per message in bench:mllp.
  const texts = new Map<string, string>();
  const statusText = (key: string): string => {
    let text = texts.get(key);
    if (text === undefined) texts.set(key, (text = options.statusText(key)));
    return text;
  };
  let sent = 0;
  return async (m, send, done, delivery) => {
    status.set('sending', statusText('sending'));
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    let result;
    try {
      result = await delivery.attempt();
    } catch (err) {
      const e = failMessage(runtime, m, err, done);
      runtime.metrics.destinationLatency.observe({ channel, destination, result: e.kind }, seconds());
      const [s, text] = delivery.failureStatus?.(e) ?? [e.kind === 'transient' ? 'retrying' : 'rejected', statusText(e.kind)];
      status.set(s, text);
      return;
    }
    runtime.metrics.destinationLatency.observe({ channel, destination, result: 'ok' }, seconds());
    try {
      await runtime.store.update(m.wasl.messageId, { status: 'SENT', destination, ...delivery.record(result) });
    } catch (err) {
      // Sent but not recorded: fail so the queue redelivers.
      failMessage(runtime, m, err, done);
      return;
    }
    runtime.metrics.messages.inc({ channel, outcome: 'sent' });
    sent += 1;
    status.set('ok', `${sent}`);
    runtime.receipts.complete(m.wasl.receipt);
    delivery.respond(m, result);
    send(m as never);
    done();
  };
}
