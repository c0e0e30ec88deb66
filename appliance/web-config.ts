// The metrics server's web config (`metrics.webConfigFile`): TLS and basic auth in the file format
// that Prometheus and its exporters share (exporter-toolkit's web-config.yml), so that one file and
// one habit serve a fleet's node_exporter and Lifeline alike. Read and checked when the config is
// loaded (`lifeline run` refuses to start, `check-config` exits 2, each with `PATH: PROBLEM`):
// bad YAML, an unknown key, a certificate or key that cannot be read or do not match, a password
// that is not a bcrypt hash. Lifeline serves only what it can honour: a key it would ignore (a
// cipher list, allowed client SANs) is refused rather than silently dropped, since an operator who
// wrote it relies on it. The YAML parser is loaded only here, only when the key is set: the plain
// appliance never pays its start-up time (docs/reference.md, "Start-up").

import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';

import { readRegularFile } from '../hal/node/files';

/** exporter-toolkit's client_auth_type values (Go's tls.ClientAuthType names). */
export const CLIENT_AUTH_TYPES = [
  'NoClientCert',
  'RequestClientCert',
  'RequireAnyClientCert',
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

/** exporter-toolkit's TLS version names, as Node's tls options spell them. */
const TLS_VERSIONS: { readonly [name: string]: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3' } = {
  TLS10: 'TLSv1',
  TLS11: 'TLSv1.1',
  TLS12: 'TLSv1.2',
  TLS13: 'TLSv1.3',
};

export interface TlsSettings {
  /** PEM text of the server's certificate (chain) and key. */
  readonly cert: string;
  readonly key: string;
  /** PEM text of the CAs that sign client certificates, or null. */
  readonly clientCa: string | null;
  readonly clientAuth: ClientAuthType;
  readonly minVersion: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  readonly maxVersion: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
}

export interface WebConfig {
  /** null: plain HTTP. */
  readonly tls: TlsSettings | null;
  /** User name to bcrypt hash; empty: no basic auth. */
  readonly users: ReadonlyMap<string, string>;
}

export const WEB_CONFIG_BYTES_MAX = 64 * 1024;
const PEM_BYTES_MAX = 1024 * 1024;
const USERS_MAX = 64;

/** What Lifeline honours, by section; exporter-toolkit's other keys are refused by name. */
const KEYS: { readonly [section: string]: readonly string[] } = {
  top: ['tls_server_config', 'basic_auth_users'],
  tls_server_config: [
    'cert_file',
    'key_file',
    'cert',
    'key',
    'client_auth_type',
    'client_ca_file',
    'client_ca',
    'min_version',
    'max_version',
  ],
};

/**
 * A bcrypt hash as htpasswd -B, Go's x/crypto/bcrypt and bcryptjs write it: `$2a$`, `$2b$` or
 * `$2y$`, a cost of 04 to 31, then 53 characters of bcrypt's base64 (salt and digest).
 */
export const BCRYPT_HASH = /^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$/;

type Problems = string[];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkKeys(record: Record<string, unknown>, section: string, problems: Problems): void {
  const known = KEYS[section]!;
  const where = section === 'top' ? '' : section + '.';
  for (const key of Object.keys(record)) {
    if (known.indexOf(key) < 0)
      problems.push(
        where + key + ': not supported by Lifeline (it serves ' + known.join(', ') + ')',
      );
  }
}

/** A string setting, or null when absent; a wrong type is a problem. */
function text(record: Record<string, unknown>, key: string, where: string, problems: Problems) {
  const value = record[key];
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' && value !== '') return value;
  problems.push(where + key + ': must be a non-empty string');
  return null;
}

/** PEM text given inline (`cert`) or as a file (`cert_file`), exactly one of them. */
function pem(
  record: Record<string, unknown>,
  names: { inline: string; file: string; required: boolean; directory: string },
  problems: Problems,
): string | null {
  const where = 'tls_server_config.';
  const inline = text(record, names.inline, where, problems);
  const file = text(record, names.file, where, problems);
  if (inline !== null && file !== null) {
    problems.push(
      where + names.file + ': give ' + names.file + ' or ' + names.inline + ', not both',
    );
    return null;
  }
  if (inline !== null) return inline;
  if (file === null) {
    if (names.required) problems.push(where + names.file + ': is required');
    return null;
  }
  // As exporter-toolkit does: a relative path is relative to the web config file's directory.
  const path = resolve(names.directory, file);
  // The private key is a secret as the console's key is: refused when others may read it.
  const read = readRegularFile(path, PEM_BYTES_MAX, { secret: names.file === 'key_file' });
  if (read.text === null) problems.push(where + names.file + ': ' + path + ' ' + read.problem);
  return read.text;
}

/** The certificate and key parse as PEM and belong together (a mismatch fails every handshake). */
function checkPair(cert: string, key: string, problems: Problems): void {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (error) {
    problems.push('tls_server_config.cert_file: not a PEM certificate (' + message(error) + ')');
    return;
  }
  try {
    if (!certificate.checkPrivateKey(createPrivateKey(key)))
      problems.push('tls_server_config.key_file: is not the key of the certificate');
  } catch (error) {
    problems.push('tls_server_config.key_file: not a PEM private key (' + message(error) + ')');
  }
}

function message(error: unknown): string {
  return String((error as Error).message ?? error).split('\n')[0]!;
}

function version(
  record: Record<string, unknown>,
  key: string,
  fallback: string,
  problems: Problems,
) {
  const name = text(record, key, 'tls_server_config.', problems) ?? fallback;
  const found = TLS_VERSIONS[name];
  if (found === undefined)
    problems.push(
      'tls_server_config.' + key + ': ' + name + ' is not one of TLS10 TLS11 TLS12 TLS13',
    );
  return found ?? 'TLSv1.2';
}

function readTls(value: unknown, directory: string, problems: Problems): TlsSettings | null {
  if (!isRecord(value)) {
    problems.push('tls_server_config: must be a mapping');
    return null;
  }
  checkKeys(value, 'tls_server_config', problems);
  const cert = pem(
    value,
    { inline: 'cert', file: 'cert_file', required: true, directory },
    problems,
  );
  const key = pem(value, { inline: 'key', file: 'key_file', required: true, directory }, problems);
  if (cert !== null && key !== null) checkPair(cert, key, problems);
  const clientCa = pem(
    value,
    {
      inline: 'client_ca',
      file: 'client_ca_file',
      required: false,
      directory,
    },
    problems,
  );
  const clientAuth = (text(value, 'client_auth_type', 'tls_server_config.', problems) ??
    'NoClientCert') as ClientAuthType;
  if (CLIENT_AUTH_TYPES.indexOf(clientAuth) < 0) {
    problems.push(
      'tls_server_config.client_auth_type: ' +
        clientAuth +
        ' is not one of ' +
        CLIENT_AUTH_TYPES.join(' '),
    );
  }
  const verifies =
    clientAuth === 'VerifyClientCertIfGiven' || clientAuth === 'RequireAndVerifyClientCert';
  if (verifies && clientCa === null)
    problems.push(
      'tls_server_config.client_ca_file: is required with client_auth_type ' + clientAuth,
    );
  const minVersion = version(value, 'min_version', 'TLS12', problems);
  const maxVersion = version(value, 'max_version', 'TLS13', problems);
  if (cert === null || key === null) return null;
  return { cert, key, clientCa, clientAuth, minVersion, maxVersion };
}

function readUsers(value: unknown, problems: Problems): Map<string, string> {
  const users = new Map<string, string>();
  if (value === undefined || value === null) return users;
  if (!isRecord(value)) {
    problems.push('basic_auth_users: must be a mapping of user names to bcrypt hashes');
    return users;
  }
  const names = Object.keys(value);
  if (names.length > USERS_MAX) problems.push('basic_auth_users: at most ' + USERS_MAX + ' users');
  for (const name of names) {
    const hash = value[name];
    // RFC 7617: the user name cannot hold a colon, nor control characters.
    if (name === '' || /[:\u0000-\u001f\u007f]/.test(name))
      problems.push('basic_auth_users: ' + JSON.stringify(name) + ' cannot be a user name');
    else if (typeof hash !== 'string' || !BCRYPT_HASH.test(hash)) {
      problems.push(
        'basic_auth_users.' +
          name +
          ': not a bcrypt hash ($2y$10$ and 53 more characters, as ' +
          "htpasswd -nBC 10 '' writes it)",
      );
    } else users.set(name, hash);
  }
  return users;
}

/** The YAML library, loaded on first use (it is a dependency kept out of the bundle). */
function yaml(): typeof import('yaml') {
  return createRequire(import.meta.url)('yaml') as typeof import('yaml');
}

/**
 * Parses web config text: the settings, or the problems (each `KEY: PROBLEM`). Relative file names
 * in it are relative to `directory`.
 */
export function parseWebConfig(
  source: string,
  directory: string,
): { config: WebConfig | null; problems: string[] } {
  const problems: Problems = [];
  const document = yaml().parseDocument(source, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    const first = document.errors[0]!;
    const at = first.linePos?.[0];
    const where = at === undefined ? '' : ' at line ' + at.line + ' column ' + at.col;
    const reason = first.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    return { config: null, problems: ['is not valid YAML' + where + ' (' + reason + ')'] };
  }
  const top: unknown = document.toJS({ maxAliasCount: 16 }) ?? {};
  if (!isRecord(top)) return { config: null, problems: ['must be a YAML mapping'] };
  checkKeys(top, 'top', problems);
  const tls =
    top['tls_server_config'] === undefined || top['tls_server_config'] === null
      ? null
      : readTls(top['tls_server_config'], directory, problems);
  const users = readUsers(top['basic_auth_users'], problems);
  return problems.length > 0 ? { config: null, problems } : { config: { tls, users }, problems };
}

/** Reads and parses the web config file at `path` (a regular file of at most 64 KiB). */
export function loadWebConfig(path: string): { config: WebConfig | null; problems: string[] } {
  const read = readRegularFile(path, WEB_CONFIG_BYTES_MAX);
  if (read.text === null) return { config: null, problems: [read.problem] };
  try {
    return parseWebConfig(read.text, dirname(resolve(path)));
  } catch (error) {
    // The parser's own limits (alias expansion) throw rather than report.
    return { config: null, problems: ['cannot be read as a web config (' + message(error) + ')'] };
  }
}
