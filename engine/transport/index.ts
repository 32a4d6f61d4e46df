/**
 * Picks the transport: RabbitMQ when an AMQP URL is configured (production, several processes),
 * otherwise the embedded SQLite queue in the data folder (one process, nothing to install).
 */
import path from 'node:path';
import type { Logger } from '../../common/logger';
import { AmqpTransport } from './amqp';
import { EmbeddedTransport } from './embedded';
import type { Transport } from './types';

export interface CreateTransportOptions {
  /** `AMQP_URL`; when set (non-empty) the AMQP transport is used. */
  amqpUrl?: string;
  /** `WASL_DATA_DIR`; the embedded queue lives in `<dataDir>/queue.db`. */
  dataDir: string;
  logger?: Logger;
}

export function createTransport(opts: CreateTransportOptions): Transport {
  if (opts.amqpUrl) {
    return new AmqpTransport({ url: opts.amqpUrl, logger: opts.logger });
  }
  return new EmbeddedTransport({ file: path.join(opts.dataDir, 'queue.db'), logger: opts.logger });
}

export { AmqpTransport } from './amqp';
export type { AmqpTransportOptions } from './amqp';
export { EmbeddedTransport } from './embedded';
export type { EmbeddedTransportOptions } from './embedded';
export type * from './types';
