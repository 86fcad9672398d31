import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { SEARCH_ATTRIBUTES, stackConfig } from '../../stack/local-stack';
import { WorkerEnv, loadConfig } from '../../worker/config';
import { WORKER_NODE_ARGS, WORKER_PROCESS_ENV } from '../../stack/worker-process';
import { TEMPORAL_CONNECTION_VARIABLES } from '../../common/temporal-connection';

/** No Docker engine here: the compose file is checked against the worker's configuration schema instead. */
describe('docker-compose.yml', () => {
  const compose = parse(readFileSync('docker-compose.yml', 'utf8'));
  const services = compose.services;
  const defaults = stackConfig({});

  it('has the stack: temporal with UI, versitygw (the embedded default store) at the pinned version, buckets, worker built from the Dockerfile', () => {
    assert.deepEqual(Object.keys(services).sort(), ['buckets', 'grafana', 'prometheus', 's3', 'temporal', 'worker']);
    assert.deepEqual(services.temporal.ports, [`${defaults.temporalPort}:7233`, `${defaults.uiPort}:8233`]);
    assert.deepEqual(services.s3.ports, [`${defaults.minioPort}:9000`]);
    const pinned = /"versitygw github\.com\/versity\/versitygw (v[\d.]+) /.exec(
      readFileSync('scripts/install-tools.sh', 'utf8'),
    )?.[1];
    assert.equal(services.s3.image, `versity/versitygw:${pinned}`, 'the version the embedded stack builds');
    assert.equal(services.s3.environment.VGW_REGION, 'us-east-1');
    assert.deepEqual(services.temporal.command.slice(0, 2), ['server', 'start-dev']);
    assert.equal(services.worker.build, '.');
  });

  it('registers the search attributes the workflow sets', () => {
    const cmd: string[] = services.temporal.command;
    const registered = cmd.filter((_, i) => cmd[i - 1] === '--search-attribute');
    assert.deepEqual(
      registered.sort(),
      Object.entries(SEARCH_ATTRIBUTES)
        .map(([k, t]) => `${k}=${t}`)
        .sort(),
    );
  });

  it('creates the buckets the worker reads and writes, the mirror public like the real archive', () => {
    const script: string = services.buckets.entrypoint.join(' ');
    const env = services.worker.environment;
    assert.match(script, new RegExp(`for b in ${env.SOURCE_BUCKET} ${env.DEST_BUCKET}; do`));
    assert.match(script, /create-bucket --bucket \$\$b/);
    const policy = JSON.parse(/--policy\s+'([^']+)'/.exec(script)![1]);
    assert.match(script, new RegExp(`put-bucket-policy --bucket ${env.SOURCE_BUCKET} `));
    assert.deepEqual(policy.Statement[0].Resource, [
      `arn:aws:s3:::${env.SOURCE_BUCKET}`,
      `arn:aws:s3:::${env.SOURCE_BUCKET}/*`,
    ]);
    assert.ok(
      policy.Statement[0].Action.includes('s3:GetObject') && policy.Statement[0].Action.includes('s3:ListBucket'),
    );
  });

  it('gives the worker only variables its schema knows, and a valid configuration', () => {
    const env: Record<string, string> = services.worker.environment;
    const known = new Set([
      ...Object.keys((WorkerEnv as unknown as { _def: { schema: { shape: object } } })._def.schema.shape),
      ...TEMPORAL_CONNECTION_VARIABLES,
    ]);
    const unknown = Object.keys(env).filter((k) => !known.has(k));
    assert.deepEqual(unknown, []);
    const config = loadConfig(env);
    assert.equal(config.temporal.address, 'temporal:7233');
    assert.equal(config.destination.endpoint, 'http://s3:9000');
    assert.equal(config.source.endpoint, config.destination.endpoint, 'one endpoint: direct sync is possible');
    assert.equal(env.DEST_ACCESS_KEY_ID, services.s3.environment.ROOT_ACCESS_KEY_ID);
    assert.equal(env.DEST_SECRET_ACCESS_KEY, services.s3.environment.ROOT_SECRET_ACCESS_KEY);
    assert.deepEqual(services.worker.ports, [`${env.METRICS_PORT}:${env.METRICS_PORT}`]);
  });

  it("the Dockerfile builds s5cmd v2.3.0 with the project's patch, and the workflow bundle, into the worker image", () => {
    const dockerfile = readFileSync('Dockerfile', 'utf8');
    assert.match(dockerfile, /go mod download -json github\.com\/peak\/s5cmd\/v2@v2\.3\.0/);
    const patch = /COPY (scripts\/patches\/\S+\.patch)/.exec(dockerfile)?.[1];
    assert.ok(patch && existsSync(patch), 'the patch it copies exists');
    assert.match(dockerfile, /git apply -p1 \S+s5cmd-v2\.3\.0-checksum\.patch/);
    assert.match(
      dockerfile,
      /version\.Version=v2\.3\.0-archive-checksum-if-absent"/,
      'the probe recognises the build by its version',
    );
    assert.match(dockerfile, /worker\/build\.ts/, 'the worker compiled, with the workflow bundle');
    assert.match(dockerfile, /^FROM node:(22|24)-bookworm-slim$/m, 'a supported Node (20 is past end of life)');
    for (const folder of ['workflows', 'activities', 'worker', 'common'])
      assert.match(dockerfile, new RegExp(`^COPY ${folder} \\./${folder}$`, 'm'), `the image has ${folder}/`);
    // The image, `npm run worker` and the stack's worker processes start the worker the same way.
    assert.ok(
      dockerfile.includes(
        `CMD ${JSON.stringify(['node', ...WORKER_NODE_ARGS, '.build/worker.mjs'])}`.replaceAll(',', ', '),
      ),
      'the image starts the worker with the same Node flags',
    );
    for (const [name, value] of Object.entries(WORKER_PROCESS_ENV))
      assert.match(dockerfile, new RegExp(`^\\s+${name}=${value} \\\\$`, 'm'), `the image sets ${name}`);
    const workerScript = JSON.parse(readFileSync('package.json', 'utf8')).scripts.worker as string;
    assert.ok(
      workerScript.endsWith(
        `${Object.entries(WORKER_PROCESS_ENV)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')} node ${WORKER_NODE_ARGS.join(' ')} .build/worker.mjs`,
      ),
      `npm run worker starts it the same way: ${workerScript}`,
    );
    assert.match(dockerfile, /WORKFLOW_BUNDLE_PATH=/);
    assert.match(dockerfile, /S5CMD_PATH=\/usr\/local\/bin\/s5cmd/);
  });

  it("Prometheus scrapes the worker's metrics port and loads the alert rules; Grafana is provisioned with it and the dashboard", () => {
    const mounts = (svc: { volumes: string[] }) =>
      new Map(
        svc.volumes
          .filter((v) => v.startsWith('./'))
          .map((v) => {
            const [host, inside] = v.split(':');
            assert.ok(existsSync(host), `${host} exists`);
            return [inside, host] as const;
          }),
      );
    const prom = mounts(services.prometheus);
    const promConfig = parse(readFileSync(prom.get('/etc/prometheus/prometheus.yml')!, 'utf8'));
    assert.ok(services.prometheus.command.includes('--config.file=/etc/prometheus/prometheus.yml'));
    assert.deepEqual(promConfig.scrape_configs[0].static_configs[0].targets, [
      `worker:${services.worker.environment.METRICS_PORT}`,
    ]);
    for (const f of promConfig.rule_files) assert.ok(prom.has(f), `rule file ${f} is mounted`);
    const rules = parse(readFileSync(prom.get('/etc/prometheus/alerts.yml')!, 'utf8'));
    const alerts = rules.groups.flatMap((g: { rules: object[] }) => g.rules) as {
      alert: string;
      expr: string;
      labels: { severity: string };
      annotations: { summary: string };
    }[];
    assert.ok(alerts.length >= 5);
    for (const a of alerts) {
      assert.match(a.alert, /^Archive[A-Za-z]+$/);
      assert.ok(
        a.expr && a.annotations.summary && ['info', 'warning', 'critical'].includes(a.labels.severity),
        a.alert,
      );
      assert.equal(
        (a.expr.match(/\(/g) ?? []).length,
        (a.expr.match(/\)/g) ?? []).length,
        `${a.alert}: balanced parentheses`,
      );
    }

    const grafana = mounts(services.grafana);
    const provisioning = grafana.get('/etc/grafana/provisioning')!;
    const datasource = parse(readFileSync(`${provisioning}/datasources/prometheus.yml`, 'utf8')).datasources[0];
    assert.equal(datasource.url, 'http://prometheus:9090');
    const provider = parse(readFileSync(`${provisioning}/dashboards/dashboards.yml`, 'utf8')).providers[0];
    const dashboards = grafana.get(provider.options.path)!;
    const dashboard = JSON.parse(readFileSync(`${dashboards}/archive-collector.json`, 'utf8'));
    assert.equal(
      dashboard.templating.list[0].current.value,
      datasource.uid,
      "the dashboard's default data source is the provisioned one",
    );
    const panels = dashboard.panels.filter((p: { type: string }) => p.type !== 'row');
    assert.ok(panels.length >= 10);
    assert.equal(
      new Set(dashboard.panels.map((p: { id: number }) => p.id)).size,
      dashboard.panels.length,
      'panel ids are unique',
    );
    for (const p of panels)
      assert.ok(p.targets.length > 0 && p.targets.every((t: { expr: string }) => t.expr), p.title);
  });
});
