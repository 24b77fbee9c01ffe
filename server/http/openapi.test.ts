import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateSessionBodySchema, ResultSchema } from '../../shared/schemas.ts';
import { startTestServer, type TestServer } from '../testing/test-server.ts';
import type { OpenApiDocument } from './openapi.ts';

/** The parts of an Express 5 (router 2.x) layer that the walk reads. */
interface RouterLayer {
  readonly route?: { readonly path: unknown; readonly methods: Readonly<Record<string, boolean>> };
  readonly handle: { readonly stack?: readonly RouterLayer[] };
  readonly rawPath?: unknown;
}

/** Served by the app but deliberately not part of the platform contract. */
const UNDOCUMENTED = new Set(['GET /', 'GET /demo.js']);
/** Documented but served by express.static, not by a route. */
const STATIC_PATHS = new Set(['/widget/srs-widget.js']);

/** Every route of a router, as `METHOD /path/{param}`, descending into mounted routers. */
function routesOf(stack: readonly RouterLayer[], prefix = ''): string[] {
  const found: string[] = [];
  for (const layer of stack) {
    if (layer.route) {
      if (typeof layer.route.path !== 'string') throw new Error('a route with a non-string path: document it and teach this walk');
      const path = `${prefix}${layer.route.path}`.replace(/:(\w+)/g, '{$1}') || '/';
      for (const [method, on] of Object.entries(layer.route.methods)) if (on && method !== '_all') found.push(`${method.toUpperCase()} ${path}`);
    } else if (layer.handle.stack) {
      if (typeof layer.rawPath !== 'string') throw new Error('a mounted router without a string mount path: teach this walk to find it');
      found.push(...routesOf(layer.handle.stack, layer.rawPath === '/' ? prefix : `${prefix}${layer.rawPath}`));
    }
  }
  return found;
}

describe('OpenAPI document', () => {
  let server: TestServer;
  let doc: OpenApiDocument;

  beforeAll(async () => {
    // With the demo on, every page route the app can have is registered.
    server = await startTestServer({ demo: true });
    const response = await fetch(`${server.url}/api/openapi.json`); // no Authorization: public
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    doc = (await response.json()) as OpenApiDocument;
  });

  afterAll(async () => {
    await server.close();
  });

  it('is OpenAPI 3.1 with the platform paths, served for this server', () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.servers[0]?.url).toBe(server.url);
    const operations = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`));
    expect(operations).toEqual(
      expect.arrayContaining([
        'POST /api/sessions',
        'GET /api/sessions/{id}',
        'POST /api/sessions/{id}/close',
        'GET /api/clients/{clientRef}/results',
        'GET /api/openapi.json',
        'GET /healthz',
        'GET /fhir/Questionnaire/srs',
      ]),
    );
    const results = doc.paths['/api/clients/{clientRef}/results']?.get;
    expect(Object.keys(results?.responses['200']?.content ?? {}).sort()).toEqual(['application/fhir+json', 'application/json', 'text/csv']);
    expect(results?.parameters?.find((parameter) => parameter.name === 'format')?.schema).toMatchObject({ enum: ['json', 'csv', 'fhir'] });
    expect(Object.keys(doc.webhooks)).toEqual(['result.stored']);
    expect(doc.webhooks['result.stored']?.post?.parameters?.map((parameter) => parameter.name).sort()).toEqual([
      'webhook-id',
      'webhook-signature',
      'webhook-timestamp',
    ]);
  });

  it('documents every route the app registers (walks app.router.stack, including the /api router)', () => {
    const stack = (server.srs.app as unknown as { router: { stack: readonly RouterLayer[] } }).router.stack;
    const registered = routesOf(stack);
    // Guard against a walk that silently finds nothing (e.g. an Express upgrade renaming internals).
    expect(registered).toEqual(expect.arrayContaining(['POST /api/sessions', 'GET /api/sessions/{id}', 'GET /healthz', 'GET /']));
    const documented = new Set(Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`)));
    const missing = registered.filter((route) => !documented.has(route) && !UNDOCUMENTED.has(route));
    expect(missing, 'routes without an entry in server/http/openapi.ts').toEqual([]);
    const stale = [...documented].filter((operation) => !registered.includes(operation) && !STATIC_PATHS.has(operation.split(' ')[1] ?? ''));
    expect(stale, 'documented operations that no route serves').toEqual([]);
  });

  it('describes authentication, and errors in the shared error shape', () => {
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['apiKey', 'metricsToken', 'therapistToken']);
    const platform = doc.paths['/api/sessions']?.post;
    expect(platform?.security).toEqual([{ apiKey: [] }]);
    expect(Object.keys(platform?.responses ?? {})).toEqual(expect.arrayContaining(['201', '400', '401', '403', '413', '422', '500']));
    expect(doc.paths['/api/sessions/{id}']?.get?.security).toEqual([{ apiKey: [] }, { therapistToken: [] }]);
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const operation of Object.values(item)) {
        for (const [status, response] of Object.entries(operation.responses)) {
          if (Number(status) < 400) continue;
          const media = response.content?.['application/json'];
          expect(media?.schema, `${path} ${status}`).toEqual({ $ref: '#/components/schemas/Error' });
          expect(media?.example, `${path} ${status}`).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
        }
      }
    }
  });

  it('has example bodies that the server accepts, and example results it would produce', async () => {
    const examples = doc.paths['/api/sessions']?.post?.requestBody?.content['application/json']?.examples ?? {};
    expect(Object.keys(examples).length).toBeGreaterThan(0);
    for (const [name, example] of Object.entries(examples)) {
      expect(CreateSessionBodySchema.safeParse(example.value).success, name).toBe(true);
      const response = await server.api('/api/sessions', { method: 'POST', body: JSON.stringify(example.value) });
      expect(response.status, name).toBe(201);
    }
    const listed = doc.paths['/api/clients/{clientRef}/results']?.get?.responses['200']?.content?.['application/json']?.example as { results: unknown[] };
    for (const result of listed.results) expect(ResultSchema.safeParse(result).success).toBe(true);
    const webhook = doc.webhooks['result.stored']?.post?.requestBody?.content['application/json']?.example as { result: unknown };
    expect(ResultSchema.safeParse(webhook.result).success).toBe(true);
  });

  it('describes the session exactly as the server answers it', async () => {
    const created = await server.createSession('openapi-client');
    const answered = (await (await server.api(`/api/sessions/${created.sessionId}`)).json()) as Record<string, unknown>;
    const schema = doc.components.schemas['Session'] as { properties: Record<string, unknown>; required: string[] };
    expect(Object.keys(answered).sort()).toEqual(Object.keys(schema.properties).sort());
    expect([...schema.required].sort()).toEqual(Object.keys(answered).sort());
  });
});
