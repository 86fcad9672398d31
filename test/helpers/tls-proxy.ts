/**
 * A TLS-terminating proxy in front of the dev server, the way a TLS Temporal cluster (or Temporal Cloud
 * with mTLS) looks to a worker: it negotiates HTTP/2 by ALPN (Temporal's core refuses TLS without `h2`),
 * requires a client certificate signed by the test's CA, and passes the decrypted bytes to the dev server.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { execa } from 'execa';

export interface TestPki {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A CA that signed nothing here: trusting it instead must fail. */
  otherCaCert: string;
}

/** A CA, a server certificate for localhost/127.0.0.1 and a client certificate, made with openssl. */
export async function makeTestPki(): Promise<TestPki> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'archive-tls-'));
  const at = (f: string) => path.join(dir, f);
  const openssl = (...args: string[]) => execa('openssl', args, { cwd: dir });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const ca of ['ca', 'other-ca']) {
    await openssl(
      'req',
      '-x509',
      ...ec,
      '-keyout',
      `${ca}.key`,
      '-out',
      `${ca}.pem`,
      '-days',
      '2',
      '-subj',
      `/CN=archive test ${ca}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    );
  }
  const issue = async (name: string, subject: string, ext: string) => {
    await openssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
    await execa('bash', ['-c', `printf '%s\\n' "${ext}" > ${name}.ext`], { cwd: dir });
    await openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
    );
  };
  await issue('server', '/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth');
  await issue('client', '/CN=archive-worker', 'extendedKeyUsage=clientAuth');
  return {
    dir,
    caCert: at('ca.pem'),
    serverCert: at('server.pem'),
    serverKey: at('server.key'),
    clientCert: at('client.pem'),
    clientKey: at('client.key'),
    otherCaCert: at('other-ca.pem'),
  };
}

export interface TlsProxy {
  port: number;
  /** Client certificates (CN) of the TLS sessions the proxy accepted and relayed. */
  sessions: string[];
  /** Handshakes it refused (no or wrong client certificate, no h2, …). */
  refused: string[];
  close(): Promise<void>;
}

export async function startTlsProxy(pki: TestPki, upstream: { host: string; port: number }): Promise<TlsProxy> {
  const sessions: string[] = [];
  const refused: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({
    key: readFileSync(pki.serverKey),
    cert: readFileSync(pki.serverCert),
    ca: readFileSync(pki.caCert),
    requestCert: true,
    rejectUnauthorized: true,
    ALPNProtocols: ['h2'],
  });
  server.on('secureConnection', (socket) => {
    if (socket.alpnProtocol !== 'h2') {
      refused.push(`no h2 (ALPN ${socket.alpnProtocol})`);
      socket.destroy();
      return;
    }
    sessions.push(String(socket.getPeerCertificate().subject?.CN));
    const backend = net.connect(upstream.port, upstream.host);
    for (const s of [socket, backend]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        sockets.delete(s);
        socket.destroy();
        backend.destroy();
      });
    }
    socket.pipe(backend).pipe(socket);
  });
  server.on('tlsClientError', (err) => refused.push(err.message));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    sessions,
    refused,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
