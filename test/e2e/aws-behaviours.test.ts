/**
 * AWS S3's own behaviours, injected by an S3-aware proxy in front of the test store (test/helpers/s3-fault-proxy.ts)
 * where no local store shows them. The source is shaped like the real archive: the dotted bucket
 * `data.binance.vision`, public (read unsigned), in ap-northeast-1, addressed path-style; the destination is in
 * the store's region. Every outcome is checked by an independent reader that hashes the destination.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { execa } from 'execa';
import { buildCommandsFile, matchOutcomes, parseS5cmdLine } from '../../activities/s5cmd-commands';
import { ensureBucket } from '../../stack/buckets';
import { assertTrustInvariant, listAll } from '../helpers/independent-check';
import { startFaultProxy, type FaultProxy, type ProxyOptions } from '../helpers/s3-fault-proxy';
import { STORE_FEATURES } from '../helpers/store';
import {
  collect,
  freshBuckets,
  minioEndpoint,
  mirror,
  readManifest,
  s3,
  sha256Of,
  stack,
  startWorker,
  type TestWorker,
} from '../helpers/stack';

const SOURCE = 'data.binance.vision';
const SOURCE_REGION = 'ap-northeast-1';
const request = {
  symbols: ['BTCUSDT', 'ETHUSDT'],
  intervals: ['1d'],
  startDate: '2025-03-01',
  endDate: '2025-03-06',
  batchSize: 4,
  parallelBatches: 2,
};

describe("AWS S3's behaviours, injected by an S3-aware proxy", () => {
  let written: Awaited<ReturnType<typeof mirror>>;
  const open: { proxy?: FaultProxy; w?: TestWorker }[] = [];

  before(async () => {
    await ensureBucket(s3, SOURCE, true);
    written = await mirror(SOURCE, request);
  });
  after(async () => {
    for (const o of open) {
      await o.w?.stop();
      await o.proxy?.close();
    }
  });

  /** A proxy with these behaviours in front of the store, and a worker that reaches source and destination through it. */
  async function throughProxy(options: Partial<ProxyOptions> = {}) {
    const proxy = await startFaultProxy({
      upstream: minioEndpoint(stack),
      sourceBucket: SOURCE,
      sourceRegion: SOURCE_REGION,
      ...options,
    });
    const w = await startWorker({
      SOURCE_BUCKET: SOURCE,
      SOURCE_ENDPOINT: proxy.url,
      SOURCE_REGION,
      DEST_ENDPOINT: proxy.url,
      DEST_REGION: 'us-east-1',
    });
    open.push({ proxy, w });
    return { proxy, w };
  }

  /** Every published file is in the destination with the bytes Binance published, as an outside reader finds them. */
  async function assertWholeCopy(destination: string, prefix: string) {
    for (const f of written)
      assert.equal(await sha256Of(destination, `${prefix}${f.key}`), f.sha256, `${f.key} holds the published bytes`);
    const { proven } = await assertTrustInvariant(s3, destination, prefix, SOURCE);
    assert.equal(proven.size, written.length, 'every file has a sha256 proof bound to its bytes');
  }

  it('a source bucket in another region: source-side requests go to its region, the fast path is kept and the report says so', async () => {
    const { proxy, w } = await throughProxy();
    // The proxy answers as AWS does to a request signed for the wrong region.
    const wrongRegion = new S3Client({
      region: 'us-east-1',
      endpoint: proxy.url,
      forcePathStyle: true,
      credentials: w.config.destination.credentials!,
      maxAttempts: 1,
    });
    const redirected = await wrongRegion
      .send(new GetObjectCommand({ Bucket: SOURCE, Key: `${written[0].key}.CHECKSUM` }))
      .then(
        () => undefined,
        (e) => e as { $metadata: { httpStatusCode: number }; $response?: { headers: Record<string, string> } },
      );
    assert.equal(redirected?.$metadata.httpStatusCode, 301);
    assert.equal(redirected?.$response?.headers['x-amz-bucket-region'], SOURCE_REGION);

    const { destination } = await freshBuckets('aws-region');
    const seenBefore = proxy.seen.length;
    const { report } = await collect(w, { ...request, destination: { bucket: destination, prefix: 'bronze/' } });
    assert.equal(report.decision.mode, 'direct_sync');
    assert.match(
      report.probe.sharedEndpoint.detail,
      /source bucket is in ap-northeast-1, the destination in us-east-1: s5cmd sends each source-side request to ap-northeast-1/,
    );
    assert.equal(report.files.byMode.direct_sync.copied, written.length, 'every file went the fast path');
    assert.equal(report.fallbacks.files, 0, 'no file fell back to the traditional path');
    assert.equal(report.ok, true);

    const run = proxy.seen.slice(seenBefore);
    const sidecarReads = run.filter((r) => r.bucket === SOURCE && r.kind === 'get' && r.key.endsWith('.CHECKSUM'));
    assert.ok(sidecarReads.length >= written.length, 'each .CHECKSUM was read from the source');
    const signedToSource = run.filter((r) => r.bucket === SOURCE && r.region !== null);
    assert.deepEqual(
      [...new Set(signedToSource.map((r) => r.region))].filter((r) => r !== SOURCE_REGION),
      [],
      'every signed request to the source is signed for its region',
    );
    assert.deepEqual(
      run.filter((r) => r.injected === 'PermanentRedirect'),
      [],
      'no request was sent to the wrong region',
    );
    assert.ok(
      run.some((r) => r.bucket === SOURCE && r.region === null && r.kind === 'list'),
      'the archive is listed unsigned, as a public bucket',
    );
    await assertWholeCopy(destination, 'bronze/');
  });

  it('SlowDown and InternalError bursts on copies, listings and proof writes: retried, nothing lost, nothing wrongly verified', async () => {
    const { destination } = await freshBuckets('aws-faults');
    // Aimed at the collection's own requests (not the probe's): the archive's listings, s5cmd's copies, the proofs.
    const listing = /^data\.binance\.vision\/\?.*prefix=data%2Fspot%2Fdaily%2Fklines%2F/;
    const collectionCopies = new RegExp(`^${destination}/bronze/data/`);
    const { proxy, w } = await throughProxy({
      faults: [
        { kind: 'list', status: 503, times: 3, match: listing },
        { kind: 'copy', status: 503, times: 4, match: collectionCopies },
        { kind: 'copy', status: 500, times: 2, match: collectionCopies },
        { kind: 'proof-write', status: 503, times: 2 },
        { kind: 'proof-write', status: 500, times: 3 },
      ],
    });
    const { report } = await collect(w, { ...request, destination: { bucket: destination, prefix: 'bronze/' } });
    const copies = proxy.seen.filter((r) => r.kind === 'copy').map((r) => `${r.status} ${r.key}`);
    assert.deepEqual(
      proxy.pending(),
      [],
      `every fault was injected; ${report.decision.mode}: ${report.decision.reason}; copies: ${copies.join(', ')}`,
    );
    const injected = proxy.seen.filter((r) => r.injected);
    for (const code of ['SlowDown', 'InternalError'])
      assert.ok(
        injected.some((r) => r.injected === code),
        `${code} answered`,
      );
    assert.equal(report.ok, true, report.summary);
    assert.equal(report.decision.mode, 'direct_sync', `the fast path is kept: ${report.decision.reason}`);
    assert.equal(report.files.copied, written.length);
    assert.equal(report.files.failed, 0);
    await assertWholeCopy(destination, 'bronze/');
  });

  it('a .CHECKSUM copy that fails past s5cmd\'s retries (verification "none", proven in direct sync): the proof step puts it, and no file is left without its .CHECKSUM', async () => {
    const { destination } = await freshBuckets('aws-sidecar');
    const victim = written.find((f) => f.key.endsWith('BTCUSDT-1d-2025-03-02.zip'))!;
    const sidecarCopy = new RegExp(`^${destination}/bronze/${victim.key.replace(/\./g, '\\.')}\\.CHECKSUM$`);
    const { proxy, w } = await throughProxy({ faults: [{ kind: 'copy', status: 500, times: 20, match: sidecarCopy }] });
    const { report } = await collect(w, {
      ...request,
      verification: 'none',
      destination: { bucket: destination, prefix: 'bronze/' },
    });
    const tries = proxy.seen.filter((r) => r.kind === 'copy' && sidecarCopy.test(`${r.bucket}/${r.key}`));
    assert.ok(
      tries.length >= 2 && tries.every((r) => r.injected),
      `s5cmd tried the .CHECKSUM copy and gave up: ${tries.map((r) => r.status).join(', ')}`,
    );
    assert.equal(report.ok, true, report.verdict);
    assert.equal(report.decision.mode, 'direct_sync');
    assert.equal(report.files.byProof.none, written.length, JSON.stringify(report.files.byProof));
    for (const f of written) {
      assert.equal(await sha256Of(destination, `bronze/${f.key}`), f.sha256, f.key);
      assert.equal(
        await sha256Of(destination, `bronze/${f.key}.CHECKSUM`),
        await sha256Of(SOURCE, `${f.key}.CHECKSUM`),
        `${f.key}.CHECKSUM is beside it`,
      );
    }
  });

  it("a copy result without the store's checksum (as MinIO answers) is proven all the same", async () => {
    const { proxy, w } = await throughProxy({ stripCopyChecksum: true });
    const { destination } = await freshBuckets('aws-nochecksum');
    const { report } = await collect(w, { ...request, destination: { bucket: destination, prefix: 'bronze/' } });
    assert.equal(report.ok, true, report.summary);
    assert.equal(report.files.byMode.direct_sync.copied, written.length);
    assert.ok(proxy.seen.some((r) => r.kind === 'copy'));
    await assertWholeCopy(destination, 'bronze/');
  });

  it('a store that refuses a copy onto a taken key (If-None-Match: *, as AWS): new files cost no HEAD first, and a taken key keeps its bytes', async () => {
    const credentials = { accessKeyId: stack.minioUser, secretAccessKey: stack.minioPassword };
    const { proxy, w } = await throughProxy({ copyIfAbsent: credentials });
    const { destination } = await freshBuckets('aws-ifabsent');
    const { report } = await collect(w, { ...request, destination: { bucket: destination, prefix: 'bronze/' } });
    assert.equal(report.ok, true, report.summary);
    assert.equal(report.probe.guards?.conditionalCopyIfAbsent?.honoured, true, 'the probe found the store refuses it');
    assert.equal(report.files.byMode.direct_sync.copied, written.length);
    const zips = (r: { bucket: string; key: string }) =>
      r.bucket === destination && r.key.startsWith('bronze/data/') && r.key.endsWith('.zip');
    const copies = proxy.seen.filter((r) => r.kind === 'copy' && zips(r));
    assert.equal(copies.length, written.length, 'one copy per new file');
    assert.ok(
      copies.every((r) => r.ifNoneMatch),
      'each carried If-None-Match: *',
    );
    // (A store that gives no checksum in the copy result, MinIO, is asked for it by a HEAD after the copy.)
    const seen = proxy.seen.map((r, at) => ({ r, at }));
    const copiedAt = new Map(seen.filter(({ r }) => r.kind === 'copy' && zips(r)).map(({ r, at }) => [r.key, at]));
    assert.deepEqual(
      seen
        .filter(({ r, at }) => r.kind === 'head' && zips(r) && !(at > (copiedAt.get(r.key) ?? Infinity)))
        .map(({ r }) => r.key),
      [],
      'no HEAD of a destination file before its copy',
    );
    await assertWholeCopy(destination, 'bronze/');

    // A key taken after the plan (written here, between plan and copy in effect): the real s5cmd build, through the
    // same AWS-like answers, leaves it as it was and says so as cp -n does; the store alone would overwrite it.
    const occupied = `bronze/${written[0].key}`;
    const theirs = 'bytes someone else wrote';
    await s3.send(new PutObjectCommand({ Bucket: destination, Key: occupied, Body: theirs }));
    const work = await mkdtemp(path.join(tmpdir(), 'ifabsent-'));
    const copyOnce = async (endpoint: string) => {
      const file = buildCommandsFile([
        {
          index: 0,
          from: `s3://${SOURCE}/${written[0].key}`,
          to: `s3://${destination}/${occupied}`,
          noClobber: 'conditional',
          checksum: true,
        },
      ]);
      await writeFile(path.join(work, 'run'), file.text);
      const run = await execa(
        w.config.s5cmd.path,
        ['--endpoint-url', endpoint, '--json', '--log', 'debug', 'run', path.join(work, 'run')],
        {
          reject: false,
          extendEnv: false,
          env: {
            AWS_ACCESS_KEY_ID: credentials.accessKeyId,
            AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
            AWS_REGION: 'us-east-1',
          },
        },
      );
      const lines = run.stdout
        .split('\n')
        .map(parseS5cmdLine)
        .filter((l) => l !== undefined);
      return matchOutcomes(file.commands, lines).byCommand.get(0)?.status;
    };
    try {
      assert.equal(await copyOnce(proxy.url), 'exists');
      assert.equal(
        await s3
          .send(new GetObjectCommand({ Bucket: destination, Key: occupied }))
          .then((o) => o.Body!.transformToString()),
        theirs,
        'the taken key was not overwritten',
      );
      // Why the worker asks the store first: the stores here, reached directly, ignore the condition (test/helpers/store.ts).
      const ignores = !STORE_FEATURES[stack.store].copyIfAbsent;
      assert.equal(await copyOnce(minioEndpoint(stack)), ignores ? 'ok' : 'exists', `${stack.store} as found by hand`);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  for (const form of ['missing', 'weak'] as const) {
    it(`an answer with ${form === 'missing' ? 'no ETag' : 'a weak ETag'} is refused as evidence: no proof is bound to it`, async () => {
      const { destination } = await freshBuckets(`aws-etag-${form}`);
      const { w } = await throughProxy({ etags: { bucket: destination, form } });
      const { report } = await collect(w, { ...request, destination: { bucket: destination, prefix: 'bronze/' } });
      assert.equal(report.ok, false, `${report.summary}: a run that could bind no proof does not say all is well`);
      assert.equal(report.files.copied, 0, JSON.stringify(report.files.byOutcome));
      const manifest = await readManifest(report.manifest.bucket, report.manifest.key);
      assert.ok(manifest.length > 0 && manifest.every((e) => e.proof === null));
      const named = form === 'missing' ? /answered no ETag, so no proof can be bound/ : /answered a weak ETag \(W\//;
      assert.ok(
        manifest.every((e) => named.test(e.error ?? '')),
        `the reason is named: ${manifest[0]?.error}`,
      );
      const proofs = await listAll(s3, destination, 'bronze/_verified/');
      assert.deepEqual(proofs, [], 'no proof record was written');
      const { proven } = await assertTrustInvariant(s3, destination, 'bronze/', SOURCE);
      assert.equal(proven.size, 0);
    });
  }
});
