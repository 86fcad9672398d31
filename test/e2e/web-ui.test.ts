import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { webUiUrl } from '../../stack/local-stack';
import type { CollectionReport } from '../../workflows/types';
import { freshBuckets, mirror, stack, startWorker, testClient, uniqueName, type TestWorker } from '../helpers/stack';

const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
export const ARTIFACTS = `${process.cwd()}/artifacts`;

async function workflowExists(workflowId: string): Promise<boolean> {
  return (await testClient()).workflow
    .getHandle(workflowId)
    .describe()
    .then(
      () => true,
      () => false,
    );
}

async function waitForStart(workflowId: string): Promise<void> {
  const client = await testClient();
  for (let i = 0; i < 100; i++) {
    try {
      await client.workflow.getHandle(workflowId).describe();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`the Web UI did not start ${workflowId}`);
}

describe('the Temporal Web UI starts a collection', () => {
  let w: TestWorker;
  let browser: Browser;
  let buckets: { source: string; destination: string };
  const request = { symbols: ['BNBUSDT'], intervals: ['1h'], startDate: '2025-04-01', endDate: '2025-04-05' };

  before(async () => {
    buckets = await freshBuckets('webui');
    await mirror(buckets.source, request);
    w = await startWorker({ SOURCE_BUCKET: buckets.source });
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: CHROMIUM_FLAGS,
    });
    mkdirSync(ARTIFACTS, { recursive: true });
  });
  /** Fills the dev server's start-workflow form the way a person would and clicks Start. */
  async function startFromForm(workflowId: string, input: string) {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    await page.goto(`${webUiUrl(stack)}/namespaces/default/workflows/start-workflow`);
    await page.getByTestId('workflowId').fill(workflowId);
    await page.getByTestId('taskQueue').fill(w.config.temporal.taskQueue);
    await page.getByTestId('workflowType').fill('collectArchive');
    await page.locator('.cm-content').first().click();
    await page.keyboard.insertText(input);
    // The editor reformats the JSON when it loses focus, re-rendering the form, which can swallow a
    // click on Start: blur it, then click until the UI confirms the start.
    await page.getByText('Start a Workflow').click();
    await page.getByText('Task Queue is Active').waitFor({ timeout: 30_000 });
    for (let attempt = 1; ; attempt++) {
      await page.getByTestId('start-workflow-button').click();
      try {
        await page.getByText('Workflow started successfully').waitFor({ timeout: 5_000 });
        break;
      } catch (err) {
        if (attempt >= 3 || (await workflowExists(workflowId))) {
          if (await workflowExists(workflowId)) break;
          throw err;
        }
      }
    }
    return page;
  }

  after(async () => {
    await browser?.close();
    await w?.stop();
  });

  it('from the start form with a JSON input, to its result on the run page, and in a search-attribute filter', async () => {
    const workflowId = uniqueName('webui');
    const page = await startFromForm(
      workflowId,
      JSON.stringify({ ...request, destination: { bucket: buckets.destination, prefix: 'ui/' } }),
    );
    await waitForStart(workflowId).catch(async (e) => {
      await page.screenshot({ path: `${ARTIFACTS}/web-ui-start-failed.png`, fullPage: true });
      throw e;
    });

    const client = await testClient();
    const report = (await client.workflow.getHandle(workflowId).result()) as CollectionReport;
    assert.equal(report.files.copied, 5);

    await page.goto(`${webUiUrl(stack)}/namespaces/default/workflows/${workflowId}`);
    await page.getByText('Completed').first().waitFor({ timeout: 30_000 });
    // The result panel loads after the header; wait for it rather than reading a half-rendered page.
    const resultShown = new RegExp(report.collectionId.slice(0, 20));
    let body = '';
    for (let i = 0; i < 60 && !resultShown.test(body); i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 500));
      body = await page.locator('body').innerText();
    }
    assert.match(body, resultShown, 'the report is shown as the result');
    await page.screenshot({ path: `${ARTIFACTS}/web-ui-collection.png`, fullPage: true });
    writeFileSync(`${ARTIFACTS}/web-ui-collection.txt`, body);
    // The result leads with the outcome and the counts; the echoed request comes last.
    assert.deepEqual(Object.keys(report).slice(0, 4), ['ok', 'verdict', 'action', 'files']);
    assert.equal(Object.keys(report).at(-1), 'request');
    const resultPanel = body.slice(body.indexOf('\nResult\n'), body.indexOf('Event ID'));
    assert.match(
      resultPanel,
      /^\s*Result[\s⌄]*\{\s*"ok": true,\s*"verdict": "OK: all 5 published files/,
      'the run page shows the outcome first',
    );
    assert.match(resultPanel, /"files": \{\s*"total": 5,\s*"copied": 5,/, 'and the counts right after it');
    // A run started from the form has no summary; its details (set by the workflow as it runs) name it and its outcome.
    const metadata = (await client.workflow.getHandle(workflowId).query('__temporal_workflow_metadata')) as {
      currentDetails?: string;
    };
    assert.equal(metadata.currentDetails, `${report.summary} · direct_sync · ${report.verdict}`);

    // Search attributes set by the workflow make runs easy to find in the list's filter.
    const query = `ArchiveMarkets="spot" AND ArchiveDataTypes="klines" AND ArchiveOutcome="succeeded" AND ArchiveMode="direct_sync"`;
    let listed = false;
    for (let i = 0; i < 20 && !listed; i++) {
      for await (const x of client.workflow.list({ query: `${query} AND WorkflowId="${workflowId}"` }))
        listed ||= x.workflowId === workflowId;
      if (!listed) await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(listed, 'found by its search attributes');
    await page.goto(`${webUiUrl(stack)}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
    await page.getByText(workflowId).first().waitFor({ timeout: 30_000 });
    await page.screenshot({ path: `${ARTIFACTS}/web-ui-filter.png`, fullPage: true });
  });

  it('a traditional-mode run from the form, under a long workflow ID with "..", completes with SHA-256 proof', async () => {
    const workflowId = `${uniqueName('webui-trad')}-collect-spot-klines-1h-BNBUSDT-daily-2025-04-01..2025-04-05-to-${buckets.destination}/trad-${'x'.repeat(60)}`;
    await startFromForm(
      workflowId,
      JSON.stringify({
        ...request,
        mode: 'traditional',
        destination: { bucket: buckets.destination, prefix: 'ui-trad/' },
      }),
    );
    const client = await testClient();
    const report = (await client.workflow.getHandle(workflowId).result()) as CollectionReport;
    assert.equal(report.decision.mode, 'traditional');
    assert.equal(report.files.byMode.traditional.copied, 5, JSON.stringify(report.files));
    assert.equal(report.files.byProof.sha256, 5);
  });

  it('every symbol the archive lists ("*"), over the span it has ("dates": "all"), from the form', async () => {
    const workflowId = uniqueName('webui-all');
    await startFromForm(
      workflowId,
      JSON.stringify({
        symbols: '*',
        intervals: ['1h'],
        dates: 'all',
        destination: { bucket: buckets.destination, prefix: 'ui-all/' },
      }),
    );
    const client = await testClient();
    const report = (await client.workflow.getHandle(workflowId).result()) as CollectionReport;
    assert.equal(report.discovery.discovered, true);
    assert.deepEqual(report.discovery.symbolSample, ['BNBUSDT']);
    assert.deepEqual([report.coverage.rows[0].first, report.coverage.rows[0].last], ['2025-04-01', '2025-04-05']);
    assert.equal(report.files.copied, 5, JSON.stringify(report.files));
    assert.equal(report.files.notPublished, 0);
  });

  it('a plan (dry run) of a symbol pattern over all dates, from the form: nothing copied, every file pending', async () => {
    const workflowId = uniqueName('webui-plan');
    await startFromForm(
      workflowId,
      JSON.stringify({
        symbols: ['BNB*'],
        intervals: ['1h'],
        dates: 'all',
        action: 'plan',
        destination: { bucket: buckets.destination, prefix: 'ui-plan/' },
      }),
    );
    const client = await testClient();
    const report = (await client.workflow.getHandle(workflowId).result()) as CollectionReport;
    assert.equal(report.action, 'plan');
    assert.deepEqual(report.discovery.symbolSample, ['BNBUSDT']);
    assert.deepEqual([report.plan?.files, report.plan?.toCopy, report.files.byOutcome.pending], [5, 5, 5]);
    assert.equal(report.files.copied, 0);
  });

  it('a bad JSON input typed into the form fails that run at once with a readable message', async () => {
    const workflowId = uniqueName('webui-bad');
    const page = await startFromForm(workflowId, '{"intervals": ["1M"], "symbols": ["btc/usdt"]}');
    await waitForStart(workflowId);
    const client = await testClient();
    const err = await client.workflow
      .getHandle(workflowId)
      .result()
      .then(
        () => undefined,
        (e) => e,
      );
    assert.match(String(err?.cause?.message), /intervals\[0\]: the monthly interval is "1mo"/);
    await page.goto(`${webUiUrl(stack)}/namespaces/default/workflows/${workflowId}`);
    await page.getByText('Failed').first().waitFor({ timeout: 30_000 });
    await page.screenshot({ path: `${ARTIFACTS}/web-ui-bad-input.png`, fullPage: true });
  });
});
