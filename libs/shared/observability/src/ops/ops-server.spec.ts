import { request as httpRequest } from 'node:http';
import { createCellpayMetrics, createMetricsRegistry } from '../metrics/metrics-registry';
import { type OpsServer, startOpsServer } from './ops-server';
import { ReadinessState } from './readiness';

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One real HTTP request to the server under test (no keep-alive, so close() is immediate). */
function call(
  port: number,
  path: string,
  options: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        agent: false,
        headers: options.headers,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    outgoing.on('error', reject);
    outgoing.end(options.body);
  });
}

describe('startOpsServer', () => {
  let server: OpsServer;
  let readiness: ReadinessState;
  const registry = createMetricsRegistry();
  const metrics = createCellpayMetrics(registry);

  beforeEach(async () => {
    readiness = new ReadinessState(['mysql', 'routing_table']);
    server = await startOpsServer({ port: 0, host: '127.0.0.1', registry, readiness });
  });

  afterEach(async () => {
    await server.close();
  });

  it('answers liveness from memory', async () => {
    const reply = await call(server.port, '/healthz');

    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({ status: 'ok' });
  });

  it('is not ready until every check has reported ready, and says which one is missing', async () => {
    const before = await call(server.port, '/readyz');
    readiness.set('mysql', true, 'pool connected');
    const half = await call(server.port, '/readyz');
    readiness.set('routing_table', true, 'epoch 3');
    const after = await call(server.port, '/readyz');
    readiness.set('mysql', false, 'ping failed: ECONNREFUSED');
    const lost = await call(server.port, '/readyz');

    expect(before.status).toBe(503);
    expect(half.status).toBe(503);
    expect(JSON.parse(half.body)).toMatchObject({
      ready: false,
      checks: {
        mysql: { ready: true, detail: 'pool connected' },
        routing_table: { ready: false, detail: 'not checked yet' },
      },
    });
    expect(after.status).toBe(200);
    expect(JSON.parse(after.body)).toMatchObject({ ready: true });
    expect(lost.status).toBe(503);
    expect(JSON.parse(lost.body)).toMatchObject({
      checks: { mysql: { ready: false, detail: 'ping failed: ECONNREFUSED' } },
    });
  });

  it('serves the registry in the Prometheus text format', async () => {
    metrics.outboxDepth.set({ cell: 'cell-3' }, 12);

    const reply = await call(server.port, '/metrics?name[]=ignored');

    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(reply.body).toContain('cellpay_outbox_depth{cell="cell-3"} 12\n');
    expect(reply.body).toContain('# TYPE process_resident_memory_bytes gauge');
  });

  it('answers 500 without details when the registry cannot be serialized', async () => {
    const serialize = jest
      .spyOn(registry, 'metrics')
      .mockRejectedValueOnce(new Error('collector failed'));

    const reply = await call(server.port, '/metrics');

    expect(reply.status).toBe(500);
    expect(JSON.parse(reply.body)).toEqual({ error: 'metrics_collection_failed' });
    serialize.mockRestore();
  });

  it('refuses unknown paths, other methods and any request body', async () => {
    const unknown = await call(server.port, '/admin');
    const post = await call(server.port, '/metrics', { method: 'POST', body: 'x=1' });
    const getWithBody = await call(server.port, '/healthz', {
      body: 'a'.repeat(1000),
      headers: { 'content-length': '1000' },
    });
    const chunked = await call(server.port, '/healthz', {
      body: 'abc',
      headers: { 'transfer-encoding': 'chunked' },
    });

    expect(unknown.status).toBe(404);
    expect(post.status).toBe(405);
    expect(post.headers['allow']).toBe('GET, HEAD');
    expect(getWithBody.status).toBe(413);
    expect(getWithBody.headers['connection']).toBe('close');
    expect(chunked.status).toBe(413);
  });

  it('serves the routing epoch from memory when the process follows a table', async () => {
    // The server of the other tests was given no epoch: the route does not exist there.
    expect((await call(server.port, '/routing')).status).toBe(404);
    let epoch: bigint | undefined;
    const routed = await startOpsServer({
      port: 0,
      host: '127.0.0.1',
      registry,
      readiness,
      routingEpoch: () => epoch,
    });
    try {
      expect(JSON.parse((await call(routed.port, '/routing')).body)).toEqual({ epoch: null });
      epoch = 9_007_199_254_740_993n;
      const reply = await call(routed.port, '/routing');
      expect(reply.status).toBe(200);
      expect(reply.headers['content-type']).toContain('application/json');
      expect(JSON.parse(reply.body)).toEqual({ epoch: '9007199254740993' });
    } finally {
      await routed.close();
    }
  });

  it('refuses oversized headers before any handler runs', async () => {
    const reply = await call(server.port, '/healthz', {
      headers: { 'x-padding': 'a'.repeat(16 * 1024) },
    });

    expect(reply.status).toBe(431);
  });

  it('answers HEAD with headers only', async () => {
    const reply = await call(server.port, '/healthz', { method: 'HEAD' });

    expect(reply.status).toBe(200);
    expect(reply.body).toBe('');
  });
});

describe('ReadinessState', () => {
  it('refuses undeclared, duplicate and malformed check names, and too many checks', () => {
    const readiness = new ReadinessState(['kafka']);

    expect(() => readiness.set('redis', true)).toThrow('unknown readiness check: redis');
    expect(() => new ReadinessState(['a', 'a'])).toThrow('duplicate readiness check name: a');
    expect(() => new ReadinessState(['Bad Name'])).toThrow('invalid readiness check name');
    expect(() => new ReadinessState(Array.from({ length: 33 }, (_, i) => `c${i}`))).toThrow(
      'at most 32 readiness checks',
    );
  });

  it('keeps the time of the last change of state, and cuts long details', () => {
    let nowMs = 1_000;
    const readiness = new ReadinessState(['kafka'], () => nowMs);
    nowMs = 2_000;
    readiness.set('kafka', true, 'connected');
    nowMs = 3_000;
    readiness.set('kafka', true, 'still connected');
    readiness.set('kafka', true, 'x'.repeat(500));

    const check = readiness.snapshot().checks['kafka'];
    expect(check?.sinceMs).toBe(2_000);
    expect(check?.detail).toHaveLength(200);
  });
});
