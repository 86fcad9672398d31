/**
 * Joins the shards' outputs into the collection's objects, as streams (no shard is held whole):
 * `manifest.ndjson` (shards are cut in key order, so the join is in key order), and the coverage
 * table as `coverage.json` (JSON array), `coverage.csv` and `coverage.schema.json` (a Frictionless
 * Table Schema, so pandas/DuckDB/Spark users get types).
 */
import { PassThrough } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { coverageCsvHeader, coverageCsvLine, coverageTableSchema } from '../workflows/coverage';
import type { CoverageRow, StateRef } from '../workflows/types';
import { isNotFound } from './errors';
import { STATE_OBJECTS, StateStore } from './state-store';

export interface AssembleInput {
  /** The collection's state folder (the shards' folders are inside it). */
  state: StateRef;
  shards: number;
}

export interface AssembledKeys {
  manifest: string;
  coverage: { json: string; csv: string; schema: string };
}

/** Lines of an object, read as a stream; nothing when it does not exist (a shard that failed before its manifest). */
async function* linesOf(s3: S3Client, bucket: string, key: string): AsyncGenerator<string> {
  let body: AsyncIterable<Buffer>;
  try {
    body = (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body as AsyncIterable<Buffer>;
  } catch (err) {
    if (isNotFound(err)) return;
    throw err;
  }
  let rest = '';
  for await (const chunk of body) {
    const text = rest + chunk.toString('utf8');
    const lines = text.split('\n');
    rest = lines.pop()!;
    for (const line of lines) if (line) yield line;
  }
  if (rest) yield rest;
}

/** Writes an object from an async source of text, in parts, with back-pressure. */
async function streamObject(
  s3: S3Client,
  bucket: string,
  key: string,
  contentType: string,
  write: (out: (text: string) => Promise<void>) => Promise<void>,
) {
  const body = new PassThrough();
  const upload = new Upload({
    client: s3,
    params: { Bucket: bucket, Key: key, Body: body, ContentType: contentType },
    queueSize: 2,
    partSize: 8 * 1024 ** 2,
  });
  const done = upload.done();
  const out = (text: string) =>
    new Promise<void>((resolve) => (body.write(text) ? resolve() : body.once('drain', resolve)));
  try {
    await write(out);
    body.end();
  } catch (err) {
    body.destroy(err as Error);
    await done.catch(() => undefined);
    throw err;
  }
  await done;
}

export async function assembleCollection(
  s3: S3Client,
  input: AssembleInput,
  onProgress: (shard: number) => void,
): Promise<AssembledKeys> {
  const store = new StateStore(s3, input.state);
  const { bucket } = input.state;
  const shardKey = (i: number, name: string) => store.shard(i).key(name);
  const manifest = store.key(STATE_OBJECTS.manifest);
  await streamObject(s3, bucket, manifest, 'application/x-ndjson', async (out) => {
    for (let i = 0; i < input.shards; i++) {
      for await (const line of linesOf(s3, bucket, shardKey(i, STATE_OBJECTS.manifest))) await out(`${line}\n`);
      onProgress(i);
    }
  });
  const json = store.key(STATE_OBJECTS.coverageJson);
  const csv = store.key(STATE_OBJECTS.coverageCsv);
  const rows = async function* () {
    for (let i = 0; i < input.shards; i++) {
      for await (const line of linesOf(s3, bucket, shardKey(i, STATE_OBJECTS.coverageRows)))
        yield JSON.parse(line) as CoverageRow;
      onProgress(i);
    }
  };
  await streamObject(s3, bucket, json, 'application/json', async (out) => {
    await out('[');
    let first = true;
    for await (const row of rows()) {
      await out(`${first ? '' : ','}\n${JSON.stringify(row)}`);
      first = false;
    }
    await out('\n]\n');
  });
  await streamObject(s3, bucket, csv, 'text/csv', async (out) => {
    await out(`${coverageCsvHeader()}\n`);
    for await (const row of rows()) await out(`${coverageCsvLine(row)}\n`);
  });
  const schema = await store.putJson(
    STATE_OBJECTS.coverageSchema,
    coverageTableSchema(csv.slice(csv.lastIndexOf('/') + 1)),
  );
  return { manifest, coverage: { json, csv, schema } };
}
