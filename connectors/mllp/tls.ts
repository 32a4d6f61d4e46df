/**
 * TLS for MLLP (HL7V2.md §1: "MLLP has no security; run it over TLS or a VPN"). Plain TCP stays
 * the default; TLS is node:tls with PEM material read from files.
 *
 * - Sender: `tls.connect`. The peer's certificate is verified against `ca` (or Node's CA store)
 *   unless `rejectUnauthorized` is false; `cert` + `key` present a client certificate (mutual TLS).
 * - Listener: `tls.createServer` with `cert` + `key`. With `ca`, clients must present a
 *   certificate signed by it (mutual TLS); `rejectUnauthorized: false` then only asks for one.
 *
 * Paths come from channels.yaml (usually `${ENV}`) or node config. The private key's path is never
 * put in an error message or a log line: it says where the secret lives.
 */
import { readFileSync } from 'node:fs';
import { ValidationError } from '../../common/errors';

/** TLS settings as configured: file paths. */
export interface MllpTlsFiles {
  /** PEM file of the CA certificate(s) to trust. Sender default: Node's CA store. */
  ca?: string;
  /** PEM certificate (chain): the listener's certificate, or the sender's client certificate. */
  cert?: string;
  /** PEM private key of `cert`. */
  key?: string;
  /** Default true: refuse a peer whose certificate does not verify. */
  rejectUnauthorized?: boolean;
}

/** TLS settings as used: PEM contents. */
export interface MllpTlsOptions {
  ca?: string | Buffer | Array<string | Buffer>;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Default true. */
  rejectUnauthorized?: boolean;
  /** Sender only: name to verify the certificate against; default the host when it is a name. */
  servername?: string;
}

/**
 * Reads the PEM files named in `files`.
 *
 * @throws ValidationError `MLLP_TLS_FILE` naming the option (and the path, except for `key`).
 */
export function readTlsFiles(files: MllpTlsFiles): MllpTlsOptions {
  const read = (which: 'ca' | 'cert' | 'key', path: string | undefined): Buffer | undefined => {
    if (path === undefined || path === '') return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      const where = which === 'key' ? '' : ` (${path})`;
      throw new ValidationError('MLLP_TLS_FILE', `cannot read the tls.${which} file${where}: ${code}`, { details: { option: which, code } });
    }
  };
  const out: MllpTlsOptions = {};
  const ca = read('ca', files.ca);
  const cert = read('cert', files.cert);
  const key = read('key', files.key);
  if (ca) out.ca = ca;
  if (cert) out.cert = cert;
  if (key) out.key = key;
  if ((cert === undefined) !== (key === undefined)) {
    throw new ValidationError('MLLP_TLS_FILE', 'tls.cert and tls.key go together: set both or neither', {
      details: { option: cert ? 'key' : 'cert' },
    });
  }
  if (files.rejectUnauthorized !== undefined) out.rejectUnauthorized = files.rejectUnauthorized;
  return out;
}

/** Certificate verification failures from node:tls / OpenSSL: say so instead of a bare code. */
const CERT_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** True when `code` says the peer's certificate was not trusted. */
export function isCertificateError(code: string | undefined): boolean {
  return code !== undefined && CERT_CODES.has(code);
}
