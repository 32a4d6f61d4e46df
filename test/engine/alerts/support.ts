/**
 * Alert test helpers: channels (and so alert rules) from YAML text through the real loader, a local
 * HTTP server that collects webhook notices, and a wait on a condition.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { validateChannelsText } from '../../../engine/channels/load';
import type { ChannelConfig } from '../../../engine/channels/types';
import { alertRulesOf } from '../../../engine/alerts/rules';
import type { AlertNotice, AlertRule } from '../../../engine/alerts/types';

/** A valid channels file around `alerts` (YAML lines at the alerts list's indentation: 6 spaces). */
export function channelsYaml(alerts: string, extra = ''): string {
  return `channels:
  - id: alerts-test
    name: Alerts test
    source:
      type: mllp
      port: 2575
    destinations:
      fhir:
        type: fhir
        url: builtin
      lab:
        type: fhir
        url: builtin
${extra}    alerts:
${alerts}`;
}

export function channelsFrom(text: string, env: Record<string, string> = {}): ChannelConfig[] {
  const result = validateChannelsText(text, 'channels.yaml', env);
  assert.deepEqual(result.problems, [], 'test channels file must be valid');
  return result.config!.channels;
}

/** The rules of a channels file made by {@link channelsYaml}. */
export function rulesFrom(alerts: string, extra = ''): AlertRule[] {
  return alertRulesOf(channelsFrom(channelsYaml(alerts, extra)));
}

export interface WebhookServer {
  url: string;
  /** Every request body received, parsed. */
  received: AlertNotice[];
  close(): Promise<void>;
}

/**
 * A local webhook receiver. `answer` picks the status of each request (default 204); `hang` makes
 * it never answer (the client's timeout must fire).
 */
export async function startWebhookServer(answer: (n: number) => number | 'hang' = () => 204): Promise<WebhookServer> {
  const received: AlertNotice[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as AlertNotice);
      const status = answer(received.length);
      if (status === 'hang') return;
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook/secret-token`,
    received,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
