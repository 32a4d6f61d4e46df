/**
 * Test kit for the Encounter sync: a Medplum loopback server loaded straight through its
 * repository, a fault-injecting proxy in front of it (429/503/bad JSON per page, attachment files
 * on the same origin), a hand-written PDF with a text layer, and stores on SQLite or PostgreSQL.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import iconv from 'iconv-lite';
import type { MemoryRepository } from '@medplum/fhir-router';
import type { Binary, Composition, DocumentReference, Encounter, Patient, Resource } from '@medplum/fhirtypes';
import { createAuthProvider } from '../../../../connectors/fhir/auth';
import type { AuthProvider } from '../../../../connectors/fhir/connection';
import { FhirConnectionClient } from '../../../../connectors/fhir/fhir-client';
import { FhirClientRegistry } from '../../../../connectors/fhir/client-registry';
import { startFhirServer, type RunningFhirServer } from '../../../../engine/fhir-server';
import { KnexFhirSyncStore } from '../../../../engine/store/fhir-sync-store';
import { KnexMessageStore } from '../../../../engine/store/knex-store';
import { freshPostgresSchema } from '../../../support/services';

/** A one-page PDF whose content stream draws `text` in Helvetica: a real text layer. */
export function minimalPdf(text: string): Buffer {
  const stream = `BT /F1 12 Tf 72 720 Td (${text.replace(/[()\\]/g, (c) => `\\${c}`)}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

/** The note forms, one per Encounter in turn (encounter i has form i % FORMS.length). */
export const FORMS = ['latin1-text', 'html', 'xhtml', 'pdf', 'url', 'binary', 'composition', 'narrative'] as const;
export type NoteForm = (typeof FORMS)[number];

/** What the note of Encounter `i` reads after extraction (a substring the test looks for). */
export function expectedText(i: number): string {
  return `visit ${i} stable`;
}

export interface SeedOptions {
  encounters: number;
  /** Encounters per Patient (default 4). */
  perPatient?: number;
  /** Id prefix, so several seeds can share a server. */
  prefix?: string;
  /** Files served by the proxy under /files/ (filled in for the `url` form). */
  files: Map<string, { bytes: Buffer; contentType: string }>;
  /** Base URL of the proxy, for absolute attachment URLs. */
  baseUrl: string;
}

async function create<T extends Resource>(repo: MemoryRepository, r: T): Promise<T> {
  return repo.createResource(r) as Promise<T>;
}

/** Loads Patients, Encounters and their notes straight into the repository (no HTTP: fast). */
export async function seed(repo: MemoryRepository, opts: SeedOptions): Promise<{ encounterIds: string[] }> {
  const per = opts.perPatient ?? 4;
  const prefix = opts.prefix ?? 'e';
  const encounterIds: string[] = [];
  let patient: Patient | undefined;
  for (let i = 0; i < opts.encounters; i++) {
    if (i % per === 0) {
      patient = await create(repo, { resourceType: 'Patient', id: `${prefix}p${i / per}`, name: [{ family: `Test${i}`, given: ['Synthetic'] }], birthDate: '1980-01-01' });
    }
    const start = new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString();
    const enc = await create<Encounter>(repo, {
      resourceType: 'Encounter',
      id: `${prefix}${i}`,
      status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
      subject: { reference: `Patient/${patient?.id}` },
      period: { start, end: start },
    });
    encounterIds.push(enc.id as string);
    await addNote(repo, i, enc.id as string, FORMS[i % FORMS.length], opts);
  }
  return { encounterIds };
}

async function addNote(repo: MemoryRepository, i: number, encId: string, form: NoteForm, opts: SeedOptions): Promise<void> {
  const text = expectedText(i);
  const docRef = (attachment: DocumentReference['content'][number]['attachment'], extra: Partial<DocumentReference> = {}) =>
    create<DocumentReference>(repo, {
      resourceType: 'DocumentReference',
      status: 'current',
      context: { encounter: [{ reference: `Encounter/${encId}` }] },
      content: [{ attachment }],
      ...extra,
    });
  switch (form) {
    case 'latin1-text':
      await docRef({ contentType: 'text/plain; charset=ISO-8859-1', data: iconv.encode(`Température élevée, ${text}.`, 'latin1').toString('base64') });
      return;
    case 'html':
      await docRef({ contentType: 'text/html', data: Buffer.from(`<html><body><p>Progress note</p><p>${text}</p><ul><li>aspirin</li><li>rest</li></ul></body></html>`).toString('base64') });
      return;
    case 'xhtml':
      await docRef({
        contentType: 'application/xhtml+xml',
        data: Buffer.from(`<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body><h1>Discharge</h1><p>${text}</p></body></html>`).toString('base64'),
      });
      return;
    case 'pdf':
      await docRef({ contentType: 'application/pdf', data: minimalPdf(`Summary: ${text}`).toString('base64') });
      return;
    case 'url': {
      const name = `note-${encId}.txt`;
      opts.files.set(name, { bytes: Buffer.from(`Letter: ${text}`, 'utf8'), contentType: 'text/plain; charset=utf-8' });
      await docRef({ contentType: 'text/plain', url: `${opts.baseUrl.replace(/\/fhir\/R4$/, '')}/files/${name}` });
      return;
    }
    case 'binary': {
      const binary = await create<Binary>(repo, { resourceType: 'Binary', contentType: 'text/plain', data: Buffer.from(`Binary note: ${text}`).toString('base64') });
      await docRef({ contentType: 'text/plain', url: `Binary/${binary.id}` });
      return;
    }
    case 'composition':
      await create<Composition>(repo, {
        resourceType: 'Composition',
        status: 'final',
        type: { text: 'Consult note' },
        date: '2026-01-01',
        author: [{ display: 'Dr Test' }],
        title: 'Consult',
        encounter: { reference: `Encounter/${encId}` },
        section: [
          { title: 'History', text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml"><p>${text}</p></div>` } },
          { title: 'Plan', text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><ul><li>follow up</li></ul></div>' } },
        ],
      });
      return;
    case 'narrative':
      // An attachment with neither data nor url: only the narrative carries the note.
      await docRef({ contentType: 'text/plain', title: 'see narrative' }, {
        text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml"><p>Narrative: ${text}</p></div>` },
      });
      return;
  }
}

export type Fault = { status: number; headers?: Record<string, string>; body?: string };

export interface FaultProxy {
  /** FHIR base through the proxy. */
  url: string;
  files: Map<string, { bytes: Buffer; contentType: string }>;
  /** Decides, per request, whether to answer a fault instead of forwarding. */
  fault?: (req: { method: string; path: string; query: URLSearchParams }) => Fault | undefined;
  /**
   * Act as a server with `_include=Encounter:patient` and `_revinclude=DocumentReference:encounter`
   * / `Composition:encounter` (Medplum 4.5.2 ignores both): advertised in /metadata and answered
   * from the repository. Its OR-searches scan every resource per value, too slow at 2,000.
   */
  includes?: boolean;
  /** When set, requests need `Authorization` accepted by this check (else 401). */
  authorise?: (authorization: string | undefined) => boolean;
  requests: { path: string; query: URLSearchParams; status: number }[];
  close(): Promise<void>;
}

/** An HTTP proxy in front of the FHIR server that can inject faults and serves /files/<name>. */
export async function startFaultProxy(upstreamUrl: string, repo?: MemoryRepository): Promise<FaultProxy> {
  const upstream = new URL(upstreamUrl);
  const proxy: FaultProxy = { url: '', files: new Map(), requests: [], close: async () => undefined };
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const record = (status: number) => proxy.requests.push({ path: u.pathname, query: u.searchParams, status });
    if (proxy.authorise && !proxy.authorise(req.headers.authorization)) {
      req.resume();
      record(401);
      res.writeHead(401, { 'content-type': 'application/fhir+json', 'www-authenticate': 'Bearer error="invalid_token"' });
      res.end(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login' }] }));
      return;
    }
    if (u.pathname.startsWith('/files/')) {
      req.resume();
      const file = proxy.files.get(decodeURIComponent(u.pathname.slice('/files/'.length)));
      record(file ? 200 : 404);
      if (!file) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      res.writeHead(200, { 'content-type': file.contentType }).end(file.bytes);
      return;
    }
    const fault = proxy.fault?.({ method: req.method ?? 'GET', path: u.pathname, query: u.searchParams });
    if (fault) {
      req.resume();
      record(fault.status);
      res.writeHead(fault.status, { 'content-type': 'application/fhir+json', ...fault.headers }).end(fault.body ?? '');
      return;
    }
    if (proxy.includes && repo && req.method === 'GET' && (u.pathname.endsWith('/metadata') || u.pathname.endsWith('/Encounter'))) {
      req.resume();
      answerWithIncludes(repo, upstream, `http://${req.headers.host}`, u).then(
        ({ status, body }) => {
          record(status);
          res.writeHead(status, { 'content-type': 'application/fhir+json' }).end(JSON.stringify(body));
        },
        () => res.writeHead(500).end(),
      );
      return;
    }
    const headers = { ...req.headers };
    delete headers.authorization;
    const forward = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (up) => {
      record(up.statusCode ?? 502);
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    forward.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  proxy.url = `http://127.0.0.1:${port}${upstream.pathname}`;
  let closing: Promise<void> | undefined;
  proxy.close = () => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closing;
  };
  return proxy;
}

type ResourceMaps = Map<string, Map<string, Resource>>;

/** A CapabilityStatement or a searchset, as far as the proxy touches them. */
interface LooseBody {
  rest?: { resource?: { type: string; searchInclude?: string[]; searchRevInclude?: string[] }[] }[];
  entry?: { fullUrl?: string; resource: Resource; search?: { mode: string } }[];
  link?: { relation: string; url: string }[];
}

/** /metadata with include support declared, or an Encounter search with its includes added. */
async function answerWithIncludes(repo: MemoryRepository, upstream: URL, proxyOrigin: string, u: URL): Promise<{ status: number; body: LooseBody }> {
  const query = new URLSearchParams(u.searchParams);
  const include = query.getAll('_include');
  const revinclude = query.getAll('_revinclude');
  query.delete('_include');
  query.delete('_revinclude');
  const res = await fetch(`${upstream.origin}${u.pathname}?${query}`, { headers: { accept: 'application/fhir+json' } });
  const body = (await res.json()) as LooseBody;
  if (u.pathname.endsWith('/metadata')) {
    const enc = body.rest?.[0]?.resource?.find((r) => r.type === 'Encounter');
    if (enc) {
      enc.searchInclude = ['Encounter:patient'];
      enc.searchRevInclude = ['DocumentReference:encounter', 'Composition:encounter'];
    }
    return { status: res.status, body };
  }
  if (res.status !== 200) return { status: res.status, body };
  const maps = (repo as unknown as { resources: ResourceMaps }).resources;
  const byEncounter = new Map<string, Resource[]>();
  const add = (ref: string | undefined, r: Resource) => {
    if (!ref) return;
    const list = byEncounter.get(ref) ?? [];
    list.push(r);
    byEncounter.set(ref, list);
  };
  if (revinclude.includes('DocumentReference:encounter')) {
    for (const d of maps.get('DocumentReference')?.values() ?? []) for (const e of (d as DocumentReference).context?.encounter ?? []) add(e.reference, d);
  }
  if (revinclude.includes('Composition:encounter')) {
    for (const c of maps.get('Composition')?.values() ?? []) add((c as Composition).encounter?.reference, c);
  }
  const included: Resource[] = [];
  const seen = new Set<string>();
  for (const entry of body.entry ?? []) {
    const enc = entry.resource as Encounter;
    const patientId = enc.subject?.reference?.split('/')[1];
    const patient = include.includes('Encounter:patient') && patientId ? maps.get('Patient')?.get(patientId) : undefined;
    for (const r of [...(patient ? [patient] : []), ...(byEncounter.get(`Encounter/${enc.id}`) ?? [])]) {
      const key = `${r.resourceType}/${r.id}`;
      if (!seen.has(key)) included.push(r);
      seen.add(key);
    }
  }
  body.entry = [...(body.entry ?? []), ...included.map((r) => ({ fullUrl: `${proxyOrigin}${upstream.pathname}/${r.resourceType}/${r.id}`, resource: r, search: { mode: 'include' } }))];
  for (const link of body.link ?? []) {
    const next = new URL(link.url);
    for (const v of include) next.searchParams.append('_include', v);
    for (const v of revinclude) next.searchParams.append('_revinclude', v);
    link.url = `${proxyOrigin}${next.pathname}?${next.searchParams}`;
  }
  return { status: 200, body };
}

/** Medplum without validation (seeding speed) plus the proxy; `close` stops both. */
export async function startSyncServer(opts: { includes?: boolean } = {}): Promise<{ fhir: RunningFhirServer; proxy: FaultProxy; close(): Promise<void> }> {
  const fhir = await startFhirServer(0, '127.0.0.1', { validate: false });
  const proxy = await startFaultProxy(fhir.url, fhir.repo);
  proxy.includes = opts.includes;
  return { fhir, proxy, close: async () => { await proxy.close(); await fhir.close(); } };
}

/** The connection client the sync reads through, with fast retries for tests. */
export function readerFor(baseUrl: string, auth: AuthProvider = createAuthProvider({ type: 'none' })): FhirConnectionClient {
  return new FhirConnectionClient({
    connection: { id: 'sync-test', baseUrl },
    auth,
    retry: { maxAttempts: 4, initialDelayMs: 20, maxDelayMs: 200, maxRetryAfterMs: 2000 },
    breaker: { consecutiveFailures: 20, halfOpenAfterMs: 1000 },
    registry: new FhirClientRegistry(),
  });
}

export interface SyncStoreTarget {
  store: KnexFhirSyncStore;
  messageStore: KnexMessageStore;
  close(): Promise<void>;
}

/** A migrated store on a fresh SQLite file or PostgreSQL schema. */
export async function openSyncStore(dialect: 'sqlite' | 'postgres'): Promise<SyncStoreTarget> {
  if (dialect === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wasl-sync-'));
    const messageStore = await KnexMessageStore.open({ sqliteFile: path.join(dir, 'wasl.db') });
    await messageStore.migrate();
    return {
      store: new KnexFhirSyncStore(messageStore.knex, 'sqlite'),
      messageStore,
      close: async () => {
        await messageStore.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const pg = await freshPostgresSchema();
  const messageStore = await KnexMessageStore.open({ databaseUrl: pg.url });
  await messageStore.migrate();
  return {
    store: new KnexFhirSyncStore(messageStore.knex, 'postgres'),
    messageStore,
    close: async () => {
      await messageStore.close();
      await pg.drop();
    },
  };
}
