/**
 * Alerts: rules from channels.yaml, evaluated on a timer against the store, the transport and the
 * circuit breakers, with state in the store (migration 0010) and notices by webhook and e-mail.
 * The engine builds the store for the API in every process, and starts the evaluator only where
 * sources run (roles `all` and `intake`), as the provider jobs.
 */
import type { Knex } from 'knex';
import type { Registry } from 'prom-client';
import { intervalMsFromEnv } from '../../common/env';
import { logger } from '../../common/logger';
import { fhirClients } from '../../connectors/fhir/client-registry';
import type { ChannelConfig } from '../channels/types';
import type { Dialect } from '../store/rows';
import type { Transport } from '../transport/types';
import { AlertEvaluator } from './evaluator';
import { registerAlertsGauge } from './metrics';
import { AlertMailer, smtpSettingsFromEnv } from './notify/email';
import { AlertNotifier } from './notify/notifier';
import { alertRulesOf } from './rules';
import { StoreSignals, type CircuitSource } from './signals';
import { KnexAlertStore } from './store';

export { AlertEvaluator } from './evaluator';
export { KnexAlertStore } from './store';
export { alertRulesOf } from './rules';
export type * from './types';

export const DEFAULT_ALERT_INTERVAL_MS = 10_000;

/** WASL_ALERT_INTERVAL_MS, default 10000; at least 100 so a typo cannot spin the database. */
export function alertIntervalFromEnv(env: NodeJS.ProcessEnv): number {
  return intervalMsFromEnv(env, 'WASL_ALERT_INTERVAL_MS', DEFAULT_ALERT_INTERVAL_MS);
}

export interface StartAlertingOptions {
  knex: Knex;
  dialect: Dialect;
  transport: Pick<Transport, 'depth'>;
  channels: readonly ChannelConfig[];
  /** The engine's metrics registry, for `wasl_alerts_open`. */
  registry: Registry;
  env?: NodeJS.ProcessEnv;
  /** Default: the process-wide FHIR client registry. */
  circuits?: CircuitSource;
}

export interface RunningAlerting {
  evaluator: AlertEvaluator;
  stop(): Promise<void>;
}

/** Builds the evaluator from the channels and the environment, registers its gauge and starts it. */
export function startAlerting(opts: StartAlertingOptions): RunningAlerting {
  const env = opts.env ?? process.env;
  const log = logger({ stage: 'alerts' });
  const rules = alertRulesOf(opts.channels);
  const smtp = smtpSettingsFromEnv(env);
  const mailer = smtp ? new AlertMailer(smtp) : undefined;
  if (!mailer && rules.some((r) => r.notify.email.length > 0)) {
    log.warn('alert rules send e-mail, but no SMTP server is set (WASL_SMTP_URL or WASL_SMTP_HOST): those notifications will fail', { rules: rules.filter((r) => r.notify.email.length > 0).length });
  }
  const evaluator = new AlertEvaluator({
    rules,
    store: new KnexAlertStore(opts.knex, opts.dialect),
    signals: new StoreSignals({ knex: opts.knex, dialect: opts.dialect, transport: opts.transport, circuits: opts.circuits ?? fhirClients }),
    notifier: new AlertNotifier({ mailer }),
    intervalMs: alertIntervalFromEnv(env),
  });
  registerAlertsGauge(opts.registry, evaluator);
  evaluator.start();
  if (rules.length) log.info('alert evaluation started', { rules: rules.length });
  return {
    evaluator,
    stop: async () => {
      await evaluator.stop();
      mailer?.close();
    },
  };
}
