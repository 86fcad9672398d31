/**
 * A Toxiproxy in front of MinIO with a latency toxic, so that a local run behaves like a remote S3
 * (tens of milliseconds per response) and measurements show the network-bound picture. The server
 * is built from the Go module proxy on first use (scripts/install-tools.sh toxiproxy).
 */
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TOOLS_BIN } from '../stack/local-stack';
import { PROJECT_ROOT } from '../worker/config';

export interface LatencyProxy {
  /** The endpoint to use instead of MinIO's. */
  endpoint: string;
  /** Change the latency of every response from now on. */
  setLatency(ms: number): Promise<void>;
  stop(): Promise<void>;
}

const API_PORT = 28474;
const LISTEN_PORT = 29100;

export async function startLatencyProxy(upstream: string, latencyMs: number): Promise<LatencyProxy> {
  const built = spawnSync('bash', [path.join(PROJECT_ROOT, 'scripts/install-tools.sh'), 'toxiproxy'], {
    stdio: 'inherit',
  });
  if (built.status !== 0) throw new Error('could not build toxiproxy-server');
  const server = spawn(path.join(TOOLS_BIN, 'toxiproxy-server'), ['-host', '127.0.0.1', '-port', String(API_PORT)], {
    stdio: 'ignore',
  });
  const api = `http://127.0.0.1:${API_PORT}`;
  for (let i = 0; ; i++) {
    if (
      await fetch(`${api}/version`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (i > 100) throw new Error('toxiproxy-server did not start');
    await sleep(100);
  }
  const up = new URL(upstream);
  const post = async (url: string, body: object) => {
    const r = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!r.ok) throw new Error(`toxiproxy ${url}: ${r.status} ${await r.text()}`);
  };
  await post(`${api}/proxies`, {
    name: 'minio',
    listen: `127.0.0.1:${LISTEN_PORT}`,
    upstream: `${up.hostname}:${up.port}`,
    enabled: true,
  });
  await post(`${api}/proxies/minio/toxics`, {
    name: 'latency',
    type: 'latency',
    stream: 'downstream',
    toxicity: 1,
    attributes: { latency: latencyMs, jitter: 0 },
  });
  return {
    endpoint: `http://127.0.0.1:${LISTEN_PORT}`,
    setLatency: (ms) => post(`${api}/proxies/minio/toxics/latency`, { attributes: { latency: ms, jitter: 0 } }),
    async stop() {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    },
  };
}
