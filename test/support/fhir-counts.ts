/** Reads what a FHIR server holds, over HTTP, following paging links. */
export async function fhirSearchAll(baseUrl: string, query: string): Promise<Array<Record<string, unknown>>> {
  const resources: Array<Record<string, unknown>> = [];
  let url: string | undefined = `${baseUrl}/${query}${query.includes('?') ? '&' : '?'}_count=1000`;
  while (url) {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
    const bundle = (await res.json()) as { entry?: Array<{ resource: Record<string, unknown> }>; link?: Array<{ relation: string; url: string }> };
    for (const e of bundle.entry ?? []) resources.push(e.resource);
    url = bundle.link?.find((l) => l.relation === 'next')?.url;
  }
  return resources;
}

/** The identifier values of the given resources (first identifier each). */
export function identifierValues(resources: Array<Record<string, unknown>>): string[] {
  return resources.map((r) => ((r.identifier as Array<{ value?: string }> | undefined)?.[0]?.value ?? ''));
}

export async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
