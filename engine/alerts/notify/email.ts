/**
 * Alert notices by e-mail through nodemailer. SMTP settings come from the environment only (the
 * password is a secret, so never from channels.yaml):
 * - `WASL_SMTP_URL` (e.g. `smtps://user:pass@smtp.example:465`), or
 * - `WASL_SMTP_HOST`, `WASL_SMTP_PORT` (default 587, or 465 when secure), `WASL_SMTP_SECURE`
 *   (`true`: TLS from the first byte; otherwise STARTTLS when the server offers it),
 *   `WASL_SMTP_USER`, `WASL_SMTP_PASSWORD`;
 * - `WASL_ALERT_FROM`, the sender address (default `wasl@localhost`).
 * A send is retried (cockatiel) on connection failures and 4xx SMTP answers; 5xx are final.
 */
import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import { IntegrationError, TransientError, ValidationError, WaslError } from '../../../common/errors';
import type { AlertNotice } from '../types';

export interface SmtpSettings {
  /** A full SMTP URL; wins over the separate settings. */
  url?: string;
  host?: string;
  port?: number;
  secure?: boolean;
  user?: string;
  password?: string;
  from: string;
}

export const DEFAULT_ALERT_FROM = 'wasl@localhost';

/** SMTP settings from the environment, or undefined when neither WASL_SMTP_URL nor WASL_SMTP_HOST is set. */
export function smtpSettingsFromEnv(env: NodeJS.ProcessEnv): SmtpSettings | undefined {
  const from = env.WASL_ALERT_FROM || DEFAULT_ALERT_FROM;
  if (env.WASL_SMTP_URL) return { url: env.WASL_SMTP_URL, from };
  if (!env.WASL_SMTP_HOST) return undefined;
  const secure = env.WASL_SMTP_SECURE === 'true';
  const port = env.WASL_SMTP_PORT ? Number(env.WASL_SMTP_PORT) : secure ? 465 : 587;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ValidationError('SMTP_PORT', `WASL_SMTP_PORT must be a port number, got '${env.WASL_SMTP_PORT}'`);
  return { host: env.WASL_SMTP_HOST, port, secure, user: env.WASL_SMTP_USER || undefined, password: env.WASL_SMTP_PASSWORD || undefined, from };
}

export interface MailerOptions {
  /** Connection, greeting and socket timeouts per attempt (default 10000 ms). */
  timeoutMs?: number;
  /** Attempts, the first included (default 2). */
  maxAttempts?: number;
  initialDelayMs?: number;
}

/** Sends alert notices through one SMTP transport (a connection per mail: alerts are rare); `close()` when done. */
export class AlertMailer {
  private readonly transporter: Transporter<SMTPTransport.SentMessageInfo>;
  private readonly from: string;
  private readonly maxAttempts: number;
  private readonly initialDelayMs: number;

  constructor(settings: SmtpSettings, options: MailerOptions = {}) {
    const timeoutMs = options.timeoutMs ?? 10_000;
    const timeouts = { connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs };
    this.transporter = settings.url
      ? nodemailer.createTransport({ url: settings.url, ...timeouts } as SMTPTransport.Options)
      : nodemailer.createTransport({
          host: settings.host,
          port: settings.port,
          secure: settings.secure ?? false,
          auth: settings.user ? { user: settings.user, pass: settings.password ?? '' } : undefined,
          ...timeouts,
        });
    this.from = settings.from;
    this.maxAttempts = options.maxAttempts ?? 2;
    this.initialDelayMs = options.initialDelayMs ?? 1000;
  }

  /** Mails `notice` to `to`; throws a WaslError when every attempt failed. */
  async send(to: readonly string[], notice: AlertNotice): Promise<void> {
    const policy = retry(handleWhen((err) => err instanceof WaslError && err.retryable), {
      maxAttempts: Math.max(0, this.maxAttempts - 1),
      backoff: new ExponentialBackoff({ initialDelay: this.initialDelayMs }),
    });
    const mail = alertMail(notice);
    await policy.execute(async () => {
      try {
        await this.transporter.sendMail({ from: this.from, to: [...to], subject: mail.subject, text: mail.text });
      } catch (err) {
        throw classifySmtp(err);
      }
    });
  }

  close(): void {
    this.transporter.close();
  }
}

/** Subject and plain-text body of a notice: ids, counts and codes, as the notice itself. */
export function alertMail(notice: AlertNotice): { subject: string; text: string } {
  const state = notice.state === 'open' ? 'OPEN' : 'CLOSED';
  return {
    subject: `[Wasl alert] ${state}: ${notice.channel}/${notice.rule} (${notice.kind})`,
    text: [
      `Alert ${notice.state === 'open' ? 'opened' : 'closed'} at ${notice.at}.`,
      '',
      `Channel:   ${notice.channel}`,
      `Rule:      ${notice.rule} (${notice.kind})`,
      `Value:     ${notice.value}`,
      `Threshold: ${notice.threshold}`,
      `Alert id:  ${notice.alert}`,
      '',
      notice.message,
      '',
    ].join('\n'),
  };
}

/** nodemailer's error codes and SMTP reply codes, as our error kinds; messages drop the server's text. */
function classifySmtp(err: unknown): WaslError {
  const e = err as { code?: unknown; responseCode?: unknown };
  const code = typeof e.code === 'string' ? e.code : 'UNEXPECTED';
  const reply = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  const name = `SMTP_${reply ?? code}`;
  const message = `SMTP send failed (${reply !== undefined ? `reply ${reply}` : code})`;
  if (reply !== undefined) return reply >= 400 && reply < 500 ? new TransientError(name, message) : new IntegrationError(name, message);
  if (['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ECONNREFUSED', 'ECONNRESET'].includes(code)) return new TransientError(name, message);
  return new IntegrationError(name, message);
}
