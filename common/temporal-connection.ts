/**
 * Where worker and client find Temporal: the SDK's own envconfig (`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`,
 * `TEMPORAL_API_KEY`, `TEMPORAL_TLS_*`, `TEMPORAL_PROFILE` and the CLI's TOML profiles), so Temporal Cloud and
 * TLS clusters need no code. Every problem becomes one line naming the variable or profile field to fix.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { Connection } from '@temporalio/client';
import {
  loadClientConfigProfile,
  toClientOptions,
  type ClientConfigProfile,
  type ConfigDataSource,
} from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';

export const DEFAULT_TEMPORAL_ADDRESS = 'localhost:7233';

/** The variables envconfig reads (besides TEMPORAL_GRPC_META_*), as the Temporal CLI does. */
export const TEMPORAL_CONNECTION_VARIABLES = [
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_API_KEY',
  'TEMPORAL_PROFILE',
  'TEMPORAL_CONFIG_FILE',
  'TEMPORAL_TLS',
  'TEMPORAL_TLS_CLIENT_CERT_PATH',
  'TEMPORAL_TLS_CLIENT_CERT_DATA',
  'TEMPORAL_TLS_CLIENT_KEY_PATH',
  'TEMPORAL_TLS_CLIENT_KEY_DATA',
  'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
  'TEMPORAL_TLS_SERVER_CA_CERT_DATA',
  'TEMPORAL_TLS_SERVER_NAME',
] as const;

export class TemporalConnectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemporalConnectionError';
  }
}

export interface TemporalTarget {
  connectionOptions: NativeConnectionOptions & { address: string };
  namespace: string;
  /** e.g. `localhost:7233, namespace default, TLS with client certificate`. */
  description: string;
  /** Names of what set each setting, for error messages: an environment variable or a profile field. */
  names: Record<'address' | 'namespace' | 'apiKey' | 'serverCa' | 'clientCert' | 'clientKey' | 'serverName', string>;
}

type Env = Record<string, string | undefined>;

function configFilePath(env: Env): string {
  if (env.TEMPORAL_CONFIG_FILE) return env.TEMPORAL_CONFIG_FILE;
  const base =
    env.XDG_CONFIG_HOME ||
    (process.platform === 'darwin'
      ? path.join(os.homedir(), 'Library/Application Support')
      : path.join(os.homedir(), '.config'));
  return path.join(base, 'temporalio', 'temporal.toml');
}

/** Reads the connection settings; throws TemporalConnectionError naming the variable or profile field at fault. */
export function loadTemporalTarget(env: Env = process.env): TemporalTarget {
  const vars = Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1] !== ''),
  );
  const profileName = vars.TEMPORAL_PROFILE ?? 'default';
  const file = configFilePath(vars);
  const hasFile = existsSync(file);
  const field = (envVar: string, tomlField: string) =>
    vars[envVar] !== undefined || !hasFile
      ? envVar
      : `${tomlField} of profile "${profileName}" in ${file} (or ${envVar})`;
  const names = {
    address: field('TEMPORAL_ADDRESS', 'address'),
    namespace: field('TEMPORAL_NAMESPACE', 'namespace'),
    apiKey: field('TEMPORAL_API_KEY', 'api_key'),
    serverCa: field(
      vars.TEMPORAL_TLS_SERVER_CA_CERT_DATA ? 'TEMPORAL_TLS_SERVER_CA_CERT_DATA' : 'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
      'tls.server_ca_cert_path',
    ),
    clientCert: field(
      vars.TEMPORAL_TLS_CLIENT_CERT_DATA ? 'TEMPORAL_TLS_CLIENT_CERT_DATA' : 'TEMPORAL_TLS_CLIENT_CERT_PATH',
      'tls.client_cert_path',
    ),
    clientKey: field(
      vars.TEMPORAL_TLS_CLIENT_KEY_DATA ? 'TEMPORAL_TLS_CLIENT_KEY_DATA' : 'TEMPORAL_TLS_CLIENT_KEY_PATH',
      'tls.client_key_path',
    ),
    serverName: field('TEMPORAL_TLS_SERVER_NAME', 'tls.server_name'),
  };

  if (vars.TEMPORAL_TLS !== undefined && !['true', 'false', '1', '0'].includes(vars.TEMPORAL_TLS)) {
    throw new TemporalConnectionError(`TEMPORAL_TLS: "${vars.TEMPORAL_TLS}" is not true or false (or 1/0)`);
  }
  let profile: ClientConfigProfile;
  try {
    profile = loadClientConfigProfile({ overrideEnvVars: vars });
  } catch (err) {
    // The TOML parser's message carries a code frame over several lines: its first line says what is wrong.
    const why = (err as Error).message.split('\n')[0];
    if (/Profile '.*' not found/.test(why))
      throw new TemporalConnectionError(
        `TEMPORAL_PROFILE: there is no profile "${profileName}" in ${file}; name a profile the file has, or unset TEMPORAL_PROFILE`,
      );
    throw new TemporalConnectionError(`${file}: ${why}; fix the file or point TEMPORAL_CONFIG_FILE at another`);
  }

  const tls = profile.tls;
  if (tls && !tls.disabled) {
    const ca = readPem(tls.serverCACert, names.serverCa);
    const cert = readPem(tls.clientCert, names.clientCert);
    const key = readPem(tls.clientKey, names.clientKey);
    if (ca !== undefined) certificate(ca, names.serverCa);
    if (Boolean(cert) !== Boolean(key)) {
      throw new TemporalConnectionError(
        `${cert ? names.clientKey : names.clientCert} is not set: mutual TLS needs both the client certificate and its private key`,
      );
    }
    if (cert !== undefined && key !== undefined) {
      const x509 = certificate(cert, names.clientCert);
      let privateKey;
      try {
        privateKey = createPrivateKey(key);
      } catch {
        throw new TemporalConnectionError(
          `${names.clientKey}: not a PEM private key; give the key that belongs to the client certificate`,
        );
      }
      if (!x509.checkPrivateKey(privateKey)) {
        throw new TemporalConnectionError(
          `${names.clientKey}: this private key does not belong to the certificate in ${names.clientCert}; give the pair that was issued together`,
        );
      }
    }
  }

  const options = toClientOptions(profile);
  const address = options.connectionOptions.address ?? DEFAULT_TEMPORAL_ADDRESS;
  if (!/^[^\s:/]+:\d{1,5}$/.test(address) && !/^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(address)) {
    throw new TemporalConnectionError(
      `${names.address}: "${address}" is not host:port, e.g. localhost:7233 or <namespace>.<account>.tmprl.cloud:7233`,
    );
  }
  const namespace = options.namespace ?? 'default';
  const tlsOn = Boolean(options.connectionOptions.tls);
  const description = [
    address,
    `namespace ${namespace}`,
    tlsOn ? (tls?.clientCert ? 'TLS with client certificate' : 'TLS') : 'plaintext',
    ...(profile.apiKey ? ['API key'] : []),
  ].join(', ');
  return { connectionOptions: { ...options.connectionOptions, address }, namespace, description, names };
}

function readPem(source: ConfigDataSource | undefined, name: string): string | undefined {
  if (!source) return undefined;
  if ('data' in source)
    return typeof source.data === 'string' ? source.data : Buffer.from(source.data).toString('utf8');
  try {
    return readFileSync(source.path, 'utf8');
  } catch (err) {
    throw new TemporalConnectionError(
      `${name}: cannot read ${source.path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give the path of a PEM file`,
    );
  }
}

function certificate(pem: string, name: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    throw new TemporalConnectionError(`${name}: not a PEM certificate ("-----BEGIN CERTIFICATE-----")`);
  }
}

/**
 * Turns a failed connect into one line naming what to fix. gRPC reports a failed TLS handshake only as
 * "failed to connect", so the handshake is tried once more with Node's TLS to learn why.
 */
export async function explainConnectFailure(target: TemporalTarget, err: unknown): Promise<TemporalConnectionError> {
  const why = String((err as Error)?.message ?? err)
    .split('\n')[0]
    .slice(0, 200);
  const { names, connectionOptions } = target;
  const address = connectionOptions.address;
  if (/unauthenticated|permission denied|api key|401|403/i.test(why)) {
    return new TemporalConnectionError(
      `Temporal at ${address} refused the credentials (${why}): check ${names.apiKey} or the client certificate in ${names.clientCert}`,
    );
  }
  const handshake = await tryTlsHandshake(target);
  if (handshake.kind === 'unreachable') {
    return new TemporalConnectionError(
      `cannot reach Temporal at ${address} (${handshake.detail}): check ${names.address}`,
    );
  }
  if (!connectionOptions.tls) {
    return handshake.kind === 'tls'
      ? new TemporalConnectionError(
          `Temporal at ${address} expects TLS (${why}): set TEMPORAL_TLS=true, with TEMPORAL_TLS_SERVER_CA_CERT_PATH if its certificate is not from a public CA (or fix ${names.address})`,
        )
      : new TemporalConnectionError(`cannot reach Temporal at ${address} (${why}): check ${names.address}`);
  }
  if (handshake.kind === 'untrusted') {
    return new TemporalConnectionError(
      `TLS with Temporal at ${address} failed (${handshake.detail}): check ${names.serverCa} (the CA that signed the server's certificate) and ${names.serverName} (the name on it)`,
    );
  }
  if (handshake.kind === 'refused-client') {
    return new TemporalConnectionError(
      `TLS with Temporal at ${address} failed (the server refused the client: ${handshake.detail}): give a client certificate it accepts in ${names.clientCert} and ${names.clientKey}`,
    );
  }
  if (handshake.kind === 'plain') {
    return new TemporalConnectionError(
      `Temporal at ${address} does not speak TLS (${handshake.detail}): unset the TEMPORAL_TLS_* settings or set TEMPORAL_TLS=false (or fix ${names.address})`,
    );
  }
  return new TemporalConnectionError(
    `cannot connect to Temporal at ${address} (${why}): check ${names.address}, ${names.serverCa} and ${names.clientCert}`,
  );
}

type Handshake = { kind: 'ok' | 'tls' | 'untrusted' | 'refused-client' | 'plain' | 'unreachable'; detail: string };

/** One TLS handshake as the connection would make it (trusting the server only when TLS is configured). */
function tryTlsHandshake(target: TemporalTarget): Promise<Handshake> {
  const { address, tls: tlsOptions } = target.connectionOptions;
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at).replace(/^\[|\]$/g, '');
  const configured = typeof tlsOptions === 'object' && tlsOptions ? tlsOptions : undefined;
  const pair = configured?.clientCertPair;
  return new Promise((resolve) => {
    let settled = false;
    const done = (h: Handshake) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(h);
    };
    const socket = tls.connect({
      host,
      port: Number(address.slice(at + 1)),
      servername: configured?.serverNameOverride ?? (net.isIP(host) ? undefined : host),
      ca: configured?.serverRootCACertificate ? [Buffer.from(configured.serverRootCACertificate)] : undefined,
      cert: pair ? Buffer.from(pair.crt) : undefined,
      key: pair ? Buffer.from(pair.key) : undefined,
      ALPNProtocols: ['h2'],
      rejectUnauthorized: Boolean(tlsOptions),
      timeout: 5_000,
    });
    let handshakeDone = false;
    socket.once('secureConnect', () => {
      handshakeDone = true;
      if (!tlsOptions) return done({ kind: 'tls', detail: 'it answered a TLS handshake' });
      // With TLS 1.3 a refused client certificate arrives just after the handshake.
      setTimeout(() => done({ kind: 'ok', detail: 'handshake accepted' }), 500);
      socket.once('close', () => done({ kind: 'refused-client', detail: 'connection closed after the handshake' }));
    });
    socket.once('timeout', () => done({ kind: 'unreachable', detail: 'no answer in 5 s' }));
    socket.once('error', (e: NodeJS.ErrnoException) => {
      const code = e.code ?? '';
      // OpenSSL's messages carry file names and line breaks: keep the alert or the reason.
      e.message =
        /alert [a-z ]+/i.exec(e.message)?.[0].trim() ??
        e.message.split('\n')[0].replace(/^[0-9A-F]+:error:[0-9A-F]+:SSL routines:[a-z0-9_]+:/, '');
      if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'].includes(code))
        return done({ kind: 'unreachable', detail: code });
      if (
        handshakeDone ||
        /alert (certificate required|bad certificate|unknown ca|certificate unknown)/i.test(e.message)
      )
        return done({ kind: 'refused-client', detail: e.message });
      if (/CERT|SELF_SIGNED|VERIFY|ISSUER/.test(code)) return done({ kind: 'untrusted', detail: e.message });
      return done({ kind: 'plain', detail: e.message });
    });
  });
}

/** Fails with one line when the namespace does not exist (a connection alone does not check it). */
async function checkNamespace(target: TemporalTarget, service: Connection['workflowService']): Promise<void> {
  try {
    await service.describeNamespace({ namespace: target.namespace });
  } catch (err) {
    const code = (err as { code?: number }).code;
    if (code === 5 /* NOT_FOUND */) {
      throw new TemporalConnectionError(
        `${target.names.namespace}: namespace "${target.namespace}" does not exist at ${target.connectionOptions.address}; name an existing one, or create it (temporal operator namespace create ${target.namespace})`,
      );
    }
    if (code === 7 /* PERMISSION_DENIED */ || code === 16 /* UNAUTHENTICATED */)
      throw await explainConnectFailure(target, err);
    // Other answers (say, a server without DescribeNamespace for this caller) are left to the first real call.
  }
}

/**
 * Connects with `connect` (the client's Connection or the worker's NativeConnection), then checks the
 * namespace; every failure is a TemporalConnectionError, and a connection that fails the check is closed.
 */
export async function connectChecked<
  C extends { workflowService: Connection['workflowService']; close(): Promise<void> },
>(target: TemporalTarget, connect: () => Promise<C>): Promise<C> {
  let connection: C;
  try {
    connection = await connect();
  } catch (err) {
    throw await explainConnectFailure(target, err);
  }
  try {
    await checkNamespace(target, connection.workflowService);
  } catch (err) {
    await connection.close();
    throw err;
  }
  return connection;
}

/** The client's connection, checked against the namespace. */
export function connectTemporalClient(target: TemporalTarget): Promise<Connection> {
  return connectChecked(target, () =>
    Connection.connect({ ...target.connectionOptions, connectTimeout: '10s' } as Parameters<
      typeof Connection.connect
    >[0]),
  );
}
