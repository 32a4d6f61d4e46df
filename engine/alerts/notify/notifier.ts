/**
 * Sends one alert notice to a rule's targets (webhook, e-mail) and says what failed, as
 * `<target>: <code>` joined by `; `. It never throws: a notification that fails is recorded on the
 * alert and logged, and must neither stop the evaluator nor change the alert's state.
 */
import { WaslError, toWaslError } from '../../../common/errors';
import type { AlertNotice, NotifyTargets } from '../types';
import type { AlertMailer } from './email';
import { postWebhook, type WebhookOptions } from './webhook';

/** What the evaluator needs of a notifier. */
export interface Notifier {
  /** Resolves to null when every target took the notice (or there were none), else the failures. */
  send(notice: AlertNotice, targets: NotifyTargets): Promise<string | null>;
}

export interface AlertNotifierOptions {
  /** Absent: e-mail targets fail with SMTP_NOT_CONFIGURED (set WASL_SMTP_URL or WASL_SMTP_HOST). */
  mailer?: Pick<AlertMailer, 'send'>;
  webhook?: WebhookOptions;
}

export class AlertNotifier implements Notifier {
  constructor(private readonly options: AlertNotifierOptions = {}) {}

  async send(notice: AlertNotice, targets: NotifyTargets): Promise<string | null> {
    const failures: string[] = [];
    const jobs: Array<Promise<void>> = [];
    if (targets.webhook) {
      const url = targets.webhook;
      jobs.push(postWebhook(url, notice, this.options.webhook).catch((err) => void failures.push(`webhook: ${codeOf(err)}`)));
    }
    if (targets.email.length > 0) {
      const mailer = this.options.mailer;
      if (!mailer) failures.push('email: SMTP_NOT_CONFIGURED');
      else jobs.push(mailer.send(targets.email, notice).catch((err) => void failures.push(`email: ${codeOf(err)}`)));
    }
    await Promise.all(jobs);
    return failures.length ? failures.sort().join('; ') : null;
  }
}

function codeOf(err: unknown): string {
  return err instanceof WaslError ? err.code : toWaslError(err).code;
}
