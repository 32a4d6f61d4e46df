/**
 * The shapes the alert evaluator, its store, its notifiers and the API share. Everything here
 * reaches logs, e-mails and webhooks, so it holds ids, counts and codes only: never message content.
 */
import type { AlertRuleConfig } from '../channels/types';

export type AlertKind = AlertRuleConfig['kind'];

export type AlertState = 'open' | 'closed';

/** Where a rule's notices go, after the channel's `alertNotify` default is applied. */
export interface NotifyTargets {
  webhook?: string;
  email: string[];
}

/** One rule of channels.yaml, resolved: its name, key, hold time and targets. */
export interface AlertRule {
  /** `<channel>/<name>`: one open alert per key, across restarts and processes. */
  key: string;
  channel: string;
  name: string;
  kind: AlertKind;
  /** The condition must hold (or stay cleared) this long before the alert opens (or closes). */
  forSeconds: number;
  notify: NotifyTargets;
  /** False for the rules of a disabled channel: they are read as cleared, so an open alert closes. */
  channelEnabled: boolean;
  config: AlertRuleConfig;
}

/** What one evaluation of a rule found. */
export interface Reading {
  firing: boolean;
  /** The measured value, in the unit of the threshold (ratio, messages, seconds, failures). */
  value: number;
  threshold: number;
  /** One sentence of counts and names, for the API and notices. */
  message: string;
}

/** A row of the `alerts` table (migration 0010). */
export interface AlertRecord {
  id: string;
  ruleKey: string;
  channel: string;
  rule: string;
  kind: AlertKind;
  state: AlertState;
  /** The reading that opened it. */
  value: number;
  threshold: number;
  message: string;
  openedAt: Date;
  closedAt: Date | null;
  /** The latest notification that failed (target and code); null when the latest went out. */
  notifyError: string | null;
  notifiedAt: Date | null;
}

/** The JSON a webhook receives, and what an e-mail says, when an alert opens or closes. */
export interface AlertNotice {
  /** The alert's id (its row in the store). */
  alert: string;
  state: AlertState;
  channel: string;
  rule: string;
  kind: AlertKind;
  /** The value now: the one that opened it, or the one that cleared it. */
  value: number;
  threshold: number;
  /** ISO 8601 time of the state change. */
  at: string;
  message: string;
}
