/**
 * A tiny HTTP peer that answers with whatever fault a test asks for (status, headers, body, a
 * reset, or silence), like Camel's MllpServerResource for MLLP. Records what it received.
 */
import { EventEmitter, once } from 'node:events';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export type FaultHandler = (req: ReceivedRequest, res: ServerResponse, raw: IncomingMessage) => void;

export interface FaultServer {
  url: string;
  received: ReceivedRequest[];
  /** Emits `request` once a request body has been read, before the handler runs. */
  events: EventEmitter;
  close(): Promise<void>;
}

export async function startFaultServer(handler: FaultHandler): Promise<FaultServer> {
  const received: ReceivedRequest[] = [];
  const events = new EventEmitter();
  const server = http.createServer((raw, res) => {
    const chunks: Buffer[] = [];
    raw.on('data', (c: Buffer) => chunks.push(c));
    raw.on('end', () => {
      const req = { method: raw.method ?? '', url: raw.url ?? '', headers: raw.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(req);
      events.emit('request', req);
      handler(req, res, raw);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}/fhir/R4`,
    received,
    events,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** Answers with a status, a FHIR JSON (or raw string) body and optional headers. */
export function answer(status: number, body?: unknown, headers: Record<string, string> = {}): FaultHandler {
  return (_req, res) => {
    const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/fhir+json', ...headers });
    res.end(text);
  };
}

/** Answers the n-th request with the n-th handler; requests after the last get the last one. */
export function sequence(...handlers: FaultHandler[]): FaultHandler {
  let n = 0;
  return (req, res, raw) => handlers[Math.min(n++, handlers.length - 1)](req, res, raw);
}

/** Runs `handler` after `ms` (a slow server); gives up quietly if the client went away first. */
export function slow(ms: number, handler: FaultHandler): FaultHandler {
  return (req, res, raw) => {
    const timer = setTimeout(() => {
      if (!res.destroyed) handler(req, res, raw);
    }, ms);
    res.on('close', () => clearTimeout(timer));
  };
}
