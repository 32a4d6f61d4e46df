/**
 * One reading per rule kind: the measured value, the threshold it is compared with, whether it
 * fires, and a sentence for the API and notices (counts, names and codes only).
 * Every threshold is reached, not exceeded: `value >= threshold` fires.
 */
import { DEFAULTS } from '../channels/defaults';
import type { AlertSignals } from './signals';
import type { AlertRule, Reading } from './types';

export interface ReadingContext {
  now: Date;
  /** When this evaluator started: a channel that never received a message has been silent since then. */
  startedAt: Date;
  /** When the rule's alert opened, if it is open (maybe by an earlier process). */
  openedAt?: Date;
}

/** Reads the signals one rule needs. Throws what the signals throw (the evaluator skips the rule). */
export async function readRule(rule: AlertRule, signals: AlertSignals, ctx: ReadingContext): Promise<Reading> {
  const config = rule.config;
  const { channel } = rule;
  switch (config.kind) {
    case 'error-rate': {
      const windowSeconds = config.windowSeconds ?? DEFAULTS.alerts.errorRate.windowSeconds;
      const minMessages = config.minMessages ?? DEFAULTS.alerts.errorRate.minMessages;
      const { finished, errored } = await signals.finishedSince(channel, new Date(ctx.now.getTime() - windowSeconds * 1000));
      const ratio = finished === 0 ? 0 : round(errored / finished, 4);
      const enough = finished >= minMessages;
      const counted = `${errored} of ${finished} messages errored in the last ${windowSeconds} s (ratio ${ratio}, threshold ${config.thresholdRatio})`;
      return {
        firing: enough && ratio >= config.thresholdRatio,
        value: ratio,
        threshold: config.thresholdRatio,
        message: enough ? counted : `${counted}; fewer than ${minMessages} messages, not judged`,
      };
    }
    case 'queue-depth': {
      const queue = config.destination === undefined ? `${channel}.in` : `${channel}.dest.${config.destination}`;
      const depth = await signals.queueDepth(queue);
      const value = depth.ready + depth.delayed;
      return {
        firing: value >= config.thresholdMessages,
        value,
        threshold: config.thresholdMessages,
        message: `queue ${queue} holds ${depth.ready} ready and ${depth.delayed} delayed messages (threshold ${config.thresholdMessages})`,
      };
    }
    case 'oldest-age': {
      const oldest = await signals.oldestWaiting(channel, config.destination);
      const value = oldest ? secondsBetween(oldest, ctx.now) : 0;
      const where = config.destination === undefined ? `in channel ${channel}'s in stage` : `for destination ${config.destination}`;
      return {
        firing: value >= config.thresholdSeconds,
        value,
        threshold: config.thresholdSeconds,
        message: oldest ? `the oldest message waiting ${where} was received ${value} s ago (threshold ${config.thresholdSeconds} s)` : `no message waiting ${where}`,
      };
    }
    case 'silence': {
      const last = await signals.lastReceived(channel);
      // Never received and already open (say, before a restart): it had been silent a full period
      // when it opened, and only a message can end that, so a restart must not count from zero.
      const silentSince = last ?? (ctx.openedAt ? new Date(Math.min(ctx.startedAt.getTime(), ctx.openedAt.getTime() - config.periodSeconds * 1000)) : ctx.startedAt);
      const value = secondsBetween(silentSince, ctx.now);
      const since = last ? `no message received for ${value} s` : `no message received since the engine started ${value} s ago`;
      return { firing: value >= config.periodSeconds, value, threshold: config.periodSeconds, message: `${since} (period ${config.periodSeconds} s)` };
    }
    case 'destination-down': {
      const n = config.consecutiveFailures ?? DEFAULTS.alerts.destinationDown.consecutiveFailures;
      const outcomes = await signals.lastDeliveries(channel, config.destination, n);
      const failedInRow = outcomes.findIndex((o) => o !== 'failed');
      const failed = failedInRow === -1 ? outcomes.length : failedInRow;
      const circuitOpen = signals.circuit(channel, config.destination) === 'open';
      const failures = `${failed} latest deliveries failed in a row (threshold ${n})`;
      return {
        firing: circuitOpen || failed >= n,
        value: failed,
        threshold: n,
        message: `destination ${config.destination}: ${circuitOpen ? `circuit open; ${failures}` : failures}`,
      };
    }
  }
}

function secondsBetween(from: Date, to: Date): number {
  return Math.max(0, Math.floor((to.getTime() - from.getTime()) / 1000));
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
