/**
 * Auth modes with nothing to refresh: none, HTTP basic and a static API key header. A 401 with
 * these is final (`invalidate()` answers false).
 */
import { ValidationError } from '../../../common/errors';
import type { AuthProvider } from '../connection';

/** A provider that always sends the same headers. */
export function staticAuthProvider(headers: Record<string, string>): AuthProvider {
  const frozen = Object.freeze({ ...headers });
  return {
    headers: async () => ({ ...frozen }),
    invalidate: async () => false,
  };
}

/** `Authorization: Basic` per RFC 7617 (UTF-8 user-pass). A colon in the username cannot be encoded. */
export function basicAuthorization(username: string, password: string): string {
  if (username.includes(':')) {
    throw new ValidationError('FHIR_AUTH_CONFIG', 'Basic auth username must not contain a colon', { path: 'auth.username' });
  }
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

/** RFC 7230 token characters: what an HTTP header name may contain. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export function apiKeyHeaders(header: string, key: string): Record<string, string> {
  if (!HEADER_NAME.test(header)) {
    throw new ValidationError('FHIR_AUTH_CONFIG', 'API key header name is not a valid HTTP header name', { path: 'auth.header' });
  }
  if (header.toLowerCase() === 'host' || header.toLowerCase() === 'content-length') {
    throw new ValidationError('FHIR_AUTH_CONFIG', `API key header cannot be ${header}`, { path: 'auth.header' });
  }
  return { [header]: key };
}
