/**
 * Joins the shards' outputs into the collection's objects, as streams (no shard is held whole):
 * `manifest.ndjson` (shards are cut in key order, so the join is in key order), and the coverage
 * table as `coverage.json` (JSON array), `coverage.csv` and `coverage.schema.json` (a Frictionless
 * Table Schema, so pandas/DuckDB/Spark users get types).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { coverageCsvHeader, coverageCsvLine, coverageTableSchema } from '../workflows/coverage';
import type { CoverageRow, StateRef } from '../workflows/types';
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

export async function assembleCollection(
  s3: S3Client,
  input: AssembleInput,
  onProgress: (shard: number) => void,
): Promise<AssembledKeys> {
  const store = new StateStore(s3, input.state);
  const rows = async function* () {
    for (let i = 0; i < input.shards; i++) {
      for await (const line of store.shard(i).lines(STATE_OBJECTS.coverageRows)) yield JSON.parse(line) as CoverageRow;
      onProgress(i);
    }
  };
  // Four objects written side by side, each from its own stream of the shards' parts: on a distant store the
  // round trips overlap instead of adding up.
  const [manifest, json, csv, schema] = await Promise.all([
    store.putStream(STATE_OBJECTS.manifest, 'application/x-ndjson', async (out) => {
      for (let i = 0; i < input.shards; i++) {
        for await (const line of store.shard(i).lines(STATE_OBJECTS.manifest)) await out(`${line}\n`);
        onProgress(i);
      }
    }),
    store.putStream(STATE_OBJECTS.coverageJson, 'application/json', async (out) => {
      await out('[');
      let first = true;
      for await (const row of rows()) {
        await out(`${first ? '' : ','}\n${JSON.stringify(row)}`);
        first = false;
      }
      await out('\n]\n');
    }),
    store.putStream(STATE_OBJECTS.coverageCsv, 'text/csv', async (out) => {
      await out(`${coverageCsvHeader()}\n`);
      for await (const row of rows()) await out(`${coverageCsvLine(row)}\n`);
    }),
    store.putJson(STATE_OBJECTS.coverageSchema, coverageTableSchema(STATE_OBJECTS.coverageCsv.split('/').pop()!)),
  ]);
  return { manifest, coverage: { json, csv, schema } };
}
