/**
 * The platform API as an OpenAPI 3.1 document, served at `GET /api/openapi.json`. Request and
 * result schemas are generated from the same zod schemas the server parses with, and the CSV and
 * FHIR examples are rendered by the real exporters, so the document cannot drift from the code.
 * openapi.test.ts walks the app's router and fails when a route is missing here.
 */
import { z } from 'zod';
import { SRS_ITEM_IDS } from '../../shared/instruments.ts';
import { CreateSessionBodySchema, ResultSchema } from '../../shared/schemas.ts';
import { ROLES, SESSION_STATUSES, VISIBILITY_MODES, type CreateSessionBody, type Result } from '../../shared/protocol.ts';
import { scoreRating } from '../../shared/scoring.ts';
import { resultsToCsv } from '../exports/csv.ts';
import { resultsToFhirBundle, srsQuestionnaire } from '../exports/fhir.ts';
import { WEBHOOK_HEADERS, type WebhookBody } from '../webhooks/webhook-dispatcher.ts';
import { HTTP_ERRORS, type HttpErrorKind } from './errors.ts';
import type {
  SchemaObject,
  RefObject,
  MediaTypeObject,
  ResponseObject,
  ParameterObject,
  SecurityRequirement,
  OperationObject,
  OpenApiDocument,
} from './openapi-types.ts';

export type { OpenApiDocument } from './openapi-types.ts';

/** JSON Schema of a zod schema, without `$schema` and without zod's long regex for date-times. */
function fromZod(schema: z.ZodType, io: 'input' | 'output'): SchemaObject {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, {
    io,
    target: 'draft-2020-12',
    override: ({ jsonSchema }) => {
      if (jsonSchema.format === 'date-time') delete jsonSchema.pattern;
    },
  });
  return json;
}

const ref = (name: string): RefObject => ({ $ref: `#/components/schemas/${name}` });
const nullable = (schema: SchemaObject | RefObject): SchemaObject => ({ oneOf: [schema, { type: 'null' }] });
const isoDateTime: SchemaObject = { type: 'string', format: 'date-time' };
const PUBLIC: readonly SecurityRequirement[] = [];
const PLATFORM_ONLY: readonly SecurityRequirement[] = [{ apiKey: [] }];
const PLATFORM_OR_THERAPIST: readonly SecurityRequirement[] = [{ apiKey: [] }, { therapistToken: [] }];

/** Example request bodies of POST /api/sessions; each one passes CreateSessionBodySchema. */
export const CREATE_SESSION_EXAMPLES = {
  minimal: { summary: 'Only the client', value: { clientRef: 'client-8f14e45f' } },
  full: {
    summary: 'With the therapist and a token lifetime of 2 hours',
    value: { clientRef: 'client-8f14e45f', therapistRef: 'th-17', instrument: 'srs', tokenTtlSeconds: 7200 },
  },
} as const satisfies Record<string, { summary: string; value: CreateSessionBody }>;

const EXAMPLE_SESSION_ID = '3b0c1a7e-5d2f-4c8e-9a61-2f7d0e4b9c15';
const EXAMPLE_CLIENT_REF = CREATE_SESSION_EXAMPLES.full.value.clientRef;
const EXAMPLE_TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzaWQiOiIzYjBjMWE3ZSIsInJvbGUiOiJjbGllbnQiLCJleHAiOjE3NjAwMDAwMDB9.c2lnbmF0dXJl';
const EXAMPLE_SCORE = scoreRating({ relationship: 92, goals: 85, approach: 95, overall: 90 });
const EXAMPLE_RESULT: Result = {
  sessionId: EXAMPLE_SESSION_ID,
  submissionId: 'sub-9d4c2e71',
  instrument: 'srs',
  items: [...EXAMPLE_SCORE.items],
  totalMm: EXAMPLE_SCORE.totalMm,
  band: EXAMPLE_SCORE.band,
  flagged: [...EXAMPLE_SCORE.flagged],
  enteredBy: 'client',
  submittedAt: '2025-03-04T15:52:10.123Z',
};
const EXAMPLE_SESSION = {
  id: EXAMPLE_SESSION_ID,
  clientRef: EXAMPLE_CLIENT_REF,
  therapistRef: 'th-17',
  instrument: 'srs',
  status: 'submitted',
  visibility: 'live',
  createdAt: '2025-03-04T15:01:00.000Z',
  closedAt: null,
  result: EXAMPLE_RESULT,
};

function error(kind: HttpErrorKind, description: string, message: string): ResponseObject {
  return {
    description,
    content: { 'application/json': { schema: ref('Error'), example: { error: { code: HTTP_ERRORS[kind].code, message } } } },
  };
}
const unauthorized = error(
  'unauthorized',
  'No `Authorization: Bearer …` header, or an unknown key or invalid/expired token.',
  'the API key or token is not valid',
);
const internal = error('internal', 'The server failed; the message never carries details.', 'the server could not complete this request');
const malformedJson = error('badRequest', 'The body is not valid JSON (only when sent as `application/json`).', 'the body is not valid JSON');
const tooLarge = error('payloadTooLarge', 'The body is larger than 16 kB.', 'the body is too large');
const json = (schema: SchemaObject | RefObject, example: unknown): Readonly<Record<string, MediaTypeObject>> => ({ 'application/json': { schema, example } });
const EXAMPLE_WIDGET_VERSION = '1.4.2';
const EXAMPLE_WIDGET_RELEASE = {
  version: EXAMPLE_WIDGET_VERSION,
  script: { url: `/widget/v/${EXAMPLE_WIDGET_VERSION}/srs-widget.js`, integrity: 'sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC' },
  chunks: {
    'srs-therapist-view-D0gDSQli.js': {
      url: `/widget/v/${EXAMPLE_WIDGET_VERSION}/srs-therapist-view-D0gDSQli.js`,
      integrity: 'sha384-H8BRh8j48O9oYatfu5AZzq6A9RINhZO5H16dQZngK7T62em8MUt1FLm52t+eX6xO',
    },
  },
};
const sessionIdParameter: ParameterObject = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'The `sessionId` returned by POST /api/sessions.',
  schema: { type: 'string' },
  example: EXAMPLE_SESSION_ID,
};
const htmlPage = (role: string, element: string): OperationObject => ({
  operationId: `${role}Page`,
  summary: `The ${role}'s ready-made page`,
  description: `A plain page with the script tag and \`<${element}>\`. Open the \`${role}.url\` returned by POST /api/sessions: the join token travels in the fragment (\`#token=…\`), so it never reaches a server log or a referrer.`,
  tags: ['pages'],
  security: PUBLIC,
  responses: { '200': { description: 'The page.', content: { 'text/html': { schema: { type: 'string' } } } } },
});

export function openApiDocument(baseUrl: string): OpenApiDocument {
  const base = baseUrl.replace(/\/+$/, '');
  const exampleContext = { baseUrl: base, clientRef: EXAMPLE_CLIENT_REF, timestamp: '2025-03-05T09:00:00.000Z' };
  return {
    openapi: '3.1.0',
    info: {
      title: 'srs-live platform API',
      version: '1',
      description:
        "Create live Session Rating Scale sessions, read their scored results and export a client's history as JSON, CSV or FHIR R4. " +
        'Errors are always JSON: `{"error": {"code", "message"}}`. Marks are integer millimetres (0–100 per item, 0–400 total). ' +
        "`clientRef` is the platform's pseudonymous id: no names, no e-mail, no PHI. Unknown paths under /api answer 404 NOT_FOUND. " +
        "Each API key's label is a tenant: a key reaches only the sessions and clients of its own tenant, and another tenant's answer 404 as if they did not exist. " +
        'Every /api response carries `Cache-Control: no-store`.',
    },
    servers: [{ url: base }],
    tags: [
      { name: 'sessions', description: 'Rating sessions and their join tokens.' },
      { name: 'results', description: "A client's stored results and exports." },
      { name: 'meta', description: 'Health, this document and the FHIR Questionnaire.' },
      { name: 'pages', description: 'The widget bundle and the ready-made pages that embed it.' },
    ],
    paths: {
      '/api/openapi.json': {
        get: {
          operationId: 'getOpenApi',
          summary: 'This document',
          tags: ['meta'],
          security: PUBLIC,
          responses: { '200': { description: 'The OpenAPI 3.1 document.', content: { 'application/json': { schema: { type: 'object' } } } } },
        },
      },
      '/api/sessions': {
        post: {
          operationId: 'createSession',
          summary: 'Create a session',
          description:
            "Creates a session in the tenant of the key (its label) and signs one join token per role. Each `url` opens a ready page; its token travels in the fragment. Embed the widget with the `token` instead if you render your own page. The demo page's own key may call this endpoint only.",
          tags: ['sessions'],
          security: PLATFORM_ONLY,
          requestBody: { required: true, content: { 'application/json': { schema: ref('CreateSessionBody'), examples: CREATE_SESSION_EXAMPLES } } },
          responses: {
            '201': {
              description: 'Created.',
              content: json(ref('CreateSessionResponse'), {
                sessionId: EXAMPLE_SESSION_ID,
                client: { token: EXAMPLE_TOKEN, url: `${base}/client#token=${EXAMPLE_TOKEN}` },
                therapist: { token: EXAMPLE_TOKEN, url: `${base}/therapist#token=${EXAMPLE_TOKEN}` },
              }),
            },
            '400': malformedJson,
            '401': unauthorized,
            '403': error('forbidden', 'Called with a join token: only a platform API key may create sessions.', 'this endpoint needs a platform API key'),
            '413': tooLarge,
            '422': error(
              'invalidBody',
              'The body does not match CreateSessionBody (e.g. an e-mail address as clientRef, an unknown field, a token lifetime out of range).',
              "clientRef: looks like an e-mail address; send the platform's pseudonymous id instead",
            ),
            '500': internal,
          },
        },
      },
      '/api/sessions/{id}': {
        get: {
          operationId: 'getSession',
          summary: 'Read a session and, once submitted, its result',
          description:
            "A platform API key reads the sessions of its tenant; a therapist join token reads only its own session. Another tenant's session answers 404, as one that does not exist. Every read is audited.",
          tags: ['sessions'],
          security: PLATFORM_OR_THERAPIST,
          parameters: [sessionIdParameter],
          responses: {
            '200': { description: 'The session.', content: json(ref('Session'), EXAMPLE_SESSION) },
            '401': unauthorized,
            '403': error('forbidden', "A client token, a therapist token of another session, or the demo page's key.", 'this token may not read this session'),
            '404': error('notFound', "No such session in the key's tenant.", 'no such session'),
            '500': internal,
          },
        },
      },
      '/api/sessions/{id}/close': {
        post: {
          operationId: 'closeSession',
          summary: 'Close a session',
          description:
            "Sets the status to `closed`, disconnects the session's live sockets and makes its join tokens unusable for joining. No body is needed. A stored result is kept and returned. Another tenant's session answers 404.",
          tags: ['sessions'],
          security: PLATFORM_ONLY,
          parameters: [sessionIdParameter],
          responses: {
            '200': {
              description: 'The closed session.',
              content: json(ref('Session'), { ...EXAMPLE_SESSION, status: 'closed', closedAt: '2025-03-04T16:00:00.000Z' }),
            },
            '400': malformedJson,
            '401': unauthorized,
            '403': error('forbidden', "Called with a join token or the demo page's key.", 'this endpoint needs a platform API key'),
            '404': error('notFound', "No such session in the key's tenant.", 'no such session'),
            '413': tooLarge,
            '500': internal,
          },
        },
      },
      '/api/clients/{clientRef}/results': {
        get: {
          operationId: 'listClientResults',
          summary: "A client's results, oldest first (JSON, CSV or FHIR)",
          description:
            'A platform API key reads the clients of its tenant: a clientRef is a client of the tenant once the tenant created a session for it, and the same clientRef under two tenants is two clients. ' +
            "A therapist join token reads the client of its own session, within that session's tenant (for the trend). A client of the tenant without results answers 200 with none; a clientRef the tenant never had answers 404, whoever else has it. " +
            'Every read and export is audited. Responses carry `cache-control: no-store`.',
          tags: ['results'],
          security: PLATFORM_OR_THERAPIST,
          parameters: [
            {
              name: 'clientRef',
              in: 'path',
              required: true,
              description: "The platform's pseudonymous client id.",
              schema: fromZod(CreateSessionBodySchema.shape.clientRef, 'input'),
              example: EXAMPLE_CLIENT_REF,
            },
            {
              name: 'format',
              in: 'query',
              required: false,
              description: '`json` (default), `csv` (RFC 4180, cm with one decimal) or `fhir` (an R4 Bundle of QuestionnaireResponses).',
              schema: { type: 'string', enum: ['json', 'csv', 'fhir'], default: 'json' },
            },
          ],
          responses: {
            '200': {
              description: 'The results; the media type follows `format`.',
              headers: {
                'cache-control': { description: 'Always `no-store`.', schema: { type: 'string', const: 'no-store' } },
                'content-disposition': { description: 'CSV only: `attachment; filename="srs-<clientRef>.csv"`.', schema: { type: 'string' } },
              },
              content: {
                'application/json': { schema: ref('ClientResults'), example: { clientRef: EXAMPLE_CLIENT_REF, results: [EXAMPLE_RESULT] } },
                'text/csv': {
                  schema: { type: 'string', description: `Header \`date,session,${SRS_ITEM_IDS.join(',')},total,band,entered_by\`, CRLF line ends.` },
                  example: resultsToCsv([EXAMPLE_RESULT]),
                },
                'application/fhir+json': { schema: ref('FhirBundle'), example: resultsToFhirBundle([EXAMPLE_RESULT], exampleContext) },
              },
            },
            '400': error('badRequest', '`format` is not json, csv or fhir.', 'format must be one of json, csv, fhir'),
            '401': unauthorized,
            '403': error(
              'forbidden',
              "A client token, a therapist token of another client's session, or the demo page's key.",
              'this token may not read these results',
            ),
            '404': error('notFound', "`clientRef` is not a valid pseudonymous id, or not a client of the key's tenant.", 'no such client'),
            '500': internal,
          },
        },
      },
      '/healthz': {
        get: {
          operationId: 'health',
          summary: 'Health check',
          description:
            '200 when the server can serve and its store has just committed a write (a row of its own); 503 when the write fails (a full disk, a read-only database), even if the store can still be read.',
          tags: ['meta'],
          security: PUBLIC,
          responses: {
            '200': { description: 'Healthy.', content: json({ type: 'object', properties: { ok: { const: true } }, required: ['ok'] }, { ok: true }) },
            '503': error('unavailable', 'The store cannot write.', 'the store cannot write'),
          },
        },
      },
      '/metrics': {
        get: {
          operationId: 'metrics',
          summary: 'Prometheus metrics',
          description:
            "This node's metrics in the Prometheus text exposition format (sockets by role, live sessions, marks relayed, submissions stored, submit and store latency, webhook deliveries, rate-limit refusals, event-loop lag and the process's own). Off unless SRS_METRICS_TOKEN is set; like /healthz it answers whatever host is named, so Prometheus can scrape each node by its address. See docs/deploy.md.",
          tags: ['meta'],
          security: [{ metricsToken: [] }],
          responses: {
            '200': {
              description: 'The metrics.',
              content: {
                'text/plain; version=0.0.4': {
                  schema: { type: 'string' },
                  example: '# TYPE srs_submissions_stored_total counter\nsrs_submissions_stored_total 42\n',
                },
              },
            },
            '401': error('unauthorized', 'No bearer token, or not the metrics token.', 'send the metrics token as "Authorization: Bearer <token>"'),
            '404': error('notFound', 'Metrics are off (no SRS_METRICS_TOKEN).', 'no such page'),
          },
        },
      },
      '/fhir/Questionnaire/srs': {
        get: {
          operationId: 'getQuestionnaire',
          summary: 'The SRS as a FHIR R4 Questionnaire',
          description: 'The canonical `questionnaire` of every exported QuestionnaireResponse.',
          tags: ['meta'],
          security: PUBLIC,
          responses: {
            '200': {
              description: 'The Questionnaire.',
              content: { 'application/fhir+json': { schema: ref('FhirQuestionnaire'), example: srsQuestionnaire(base) } },
            },
          },
        },
      },
      '/widget/srs-widget.js': {
        get: {
          operationId: 'getWidget',
          summary: 'The widget bundle',
          description:
            'Load with `<script type="module" src="…/widget/srs-widget.js">`; it defines `<srs-rating>` and `<srs-therapist>`. Served with CORS (`access-control-allow-origin: *`).',
          tags: ['pages'],
          security: PUBLIC,
          responses: {
            '200': { description: 'An ES module.', content: { 'text/javascript': { schema: { type: 'string' } } } },
            '404': error('notFound', 'The bundle has not been built (`npm run build`).', 'no such page'),
          },
        },
      },
      '/widget/release.json': {
        get: {
          operationId: 'getWidgetRelease',
          summary: 'The current widget release and its Subresource Integrity hashes',
          description:
            'The version this server serves, the versioned URL of the bundle and its `integrity` (`sha384-…`, computed at start-up over the exact bytes served), and the same for each chunk the bundle imports lazily. ' +
            'Embed with `<script type="module" src="…/widget/v/<version>/srs-widget.js" integrity="sha384-…" crossorigin="anonymous">`. Served with CORS and `cache-control: no-cache`.',
          tags: ['pages'],
          security: PUBLIC,
          responses: {
            '200': { description: 'The release.', content: json(ref('WidgetRelease'), EXAMPLE_WIDGET_RELEASE) },
            '404': error('notFound', 'The bundle has not been built (`npm run build`).', 'the widget has not been built (npm run build)'),
          },
        },
      },
      '/widget/v/{version}/{file}': {
        get: {
          operationId: 'getVersionedWidget',
          summary: 'The widget bundle, or one of its chunks, under its version',
          description:
            'The bytes whose hash GET /widget/release.json publishes, with `cache-control: public, max-age=31536000, immutable` and CORS (`access-control-allow-origin: *`). The bundle imports its chunks by relative URL, so they load from the same versioned path. Only the version this server runs is served.',
          tags: ['pages'],
          security: PUBLIC,
          parameters: [
            {
              name: 'version',
              in: 'path',
              required: true,
              description: 'The `version` of GET /widget/release.json.',
              schema: { type: 'string' },
              example: EXAMPLE_WIDGET_VERSION,
            },
            {
              name: 'file',
              in: 'path',
              required: true,
              description: '`srs-widget.js`, or a chunk named in `chunks`.',
              schema: { type: 'string' },
              example: 'srs-widget.js',
            },
          ],
          responses: {
            '200': { description: 'An ES module.', content: { 'text/javascript': { schema: { type: 'string' } } } },
            '404': error('notFound', 'Another version than the one this server runs, or no such file.', 'no such widget version or file'),
          },
        },
      },
      '/client': { get: htmlPage('client', 'srs-rating') },
      '/therapist': { get: htmlPage('therapist', 'srs-therapist') },
    },
    webhooks: {
      'result.stored': {
        post: {
          operationId: 'resultStored',
          summary: 'A result was stored (sent to SRS_WEBHOOK_URL)',
          description:
            `Sent once per stored result, at least once: retried with exponential back-off (1 s doubling up to 10 min) until your endpoint answers 2xx within 5 s. Redirects are not followed. ` +
            `Signed per Standard Webhooks (https://www.standardwebhooks.com/): verify with a Standard Webhooks library and SRS_WEBHOOK_SECRET (a \`whsec_\` secret as is; any other string as raw key bytes), which also refuses timestamps more than 5 min off. ` +
            `Drop repeats of \`${WEBHOOK_HEADERS.id}\`.`,
          tags: ['results'],
          security: PUBLIC,
          parameters: [
            {
              name: WEBHOOK_HEADERS.id,
              in: 'header',
              required: true,
              description: "The result's submissionId: the same on every retry, so a receiver can drop repeats.",
              schema: { type: 'string' },
            },
            {
              name: WEBHOOK_HEADERS.timestamp,
              in: 'header',
              required: true,
              description: 'Seconds since the epoch when this attempt was signed.',
              schema: { type: 'string', pattern: '^[0-9]{1,12}$' },
            },
            {
              name: WEBHOOK_HEADERS.signature,
              in: 'header',
              required: true,
              description: '`v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<raw body>">`.',
              schema: { type: 'string', pattern: '^v1,[A-Za-z0-9+/]{43}=$' },
            },
          ],
          requestBody: { required: true, content: json(ref('WebhookBody'), { event: 'result.stored', result: EXAMPLE_RESULT } satisfies WebhookBody) },
          responses: { '2XX': { description: 'Accepted; anything else (or no answer) is retried.' } },
        },
      },
    },
    components: {
      securitySchemes: {
        apiKey: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'API key',
          description:
            "A platform API key (SRS_API_KEY / SRS_API_KEYS, or the development key printed at start-up). Its label is its tenant: it reaches that tenant's sessions and clients only. The demo page's own key only creates sessions, in the tenant `demo`.",
        },
        therapistToken: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            "The therapist join token of a session (from POST /api/sessions). Reads only that session and that client's results. Client tokens cannot read the API.",
        },
        metricsToken: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'SRS_METRICS_TOKEN',
          description: 'The scrape token of GET /metrics (SRS_METRICS_TOKEN); it opens nothing else.',
        },
      },
      schemas: {
        Error: {
          type: 'object',
          properties: {
            error: {
              type: 'object',
              properties: { code: { type: 'string', enum: Object.values(HTTP_ERRORS).map((entry) => entry.code) }, message: { type: 'string' } },
              required: ['code', 'message'],
            },
          },
          required: ['error'],
        },
        WidgetRelease: {
          type: 'object',
          properties: {
            version: { type: 'string', description: "The server's package version." },
            script: ref('WidgetReleaseFile'),
            chunks: { type: 'object', additionalProperties: ref('WidgetReleaseFile'), description: 'The chunks the bundle imports lazily, by file name.' },
          },
          required: ['version', 'script', 'chunks'],
        },
        WidgetReleaseFile: {
          type: 'object',
          properties: {
            url: { type: 'string', description: 'Path of the versioned file on this server.' },
            integrity: { type: 'string', pattern: '^sha384-[A-Za-z0-9+/]+={0,2}$', description: 'The value of an `integrity` attribute.' },
          },
          required: ['url', 'integrity'],
        },
        CreateSessionBody: fromZod(CreateSessionBodySchema, 'input'),
        CreateSessionResponse: {
          type: 'object',
          properties: { sessionId: { type: 'string', format: 'uuid' }, ...Object.fromEntries(ROLES.map((role) => [role, ref('JoinLink')])) },
          required: ['sessionId', ...ROLES],
        },
        JoinLink: {
          type: 'object',
          properties: {
            token: { type: 'string', description: "Signed join token (JWT) for the widget's `token` attribute." },
            url: { type: 'string', format: 'uri', description: 'A ready page; the token is in the `#token=` fragment.' },
          },
          required: ['token', 'url'],
        },
        Session: {
          type: 'object',
          properties: {
            id: { type: 'string', format: 'uuid' },
            clientRef: { type: 'string' },
            therapistRef: { type: ['string', 'null'] },
            instrument: { type: 'string', enum: ['srs'] },
            status: { type: 'string', enum: [...SESSION_STATUSES], description: '`submitted` once a result is stored, unless closed.' },
            visibility: {
              type: 'string',
              enum: [...VISIBILITY_MODES],
              description: "The client's choice: `live` (marks shown as they are made) or `on-submit` (shown only with the result).",
            },
            createdAt: isoDateTime,
            closedAt: { type: ['string', 'null'], format: 'date-time' },
            result: nullable(ref('Result')),
          },
          required: ['id', 'clientRef', 'therapistRef', 'instrument', 'status', 'visibility', 'createdAt', 'closedAt', 'result'],
        },
        Result: fromZod(ResultSchema, 'output'),
        ClientResults: {
          type: 'object',
          properties: { clientRef: { type: 'string' }, results: { type: 'array', items: ref('Result'), description: 'Oldest first.' } },
          required: ['clientRef', 'results'],
        },
        FhirBundle: {
          type: 'object',
          description: 'FHIR R4 Bundle of type collection; each entry a QuestionnaireResponse with decimal answers in cm.',
          properties: {
            resourceType: { const: 'Bundle' },
            type: { const: 'collection' },
            timestamp: isoDateTime,
            entry: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  fullUrl: { type: 'string', format: 'uri' },
                  resource: { type: 'object', properties: { resourceType: { const: 'QuestionnaireResponse' } } },
                },
                required: ['fullUrl', 'resource'],
              },
            },
          },
          required: ['resourceType', 'type', 'timestamp', 'entry'],
        },
        FhirQuestionnaire: {
          type: 'object',
          description: 'FHIR R4 Questionnaire: four decimal items in cm (0–10, one decimal, sliders) and a read-only total.',
          properties: { resourceType: { const: 'Questionnaire' }, url: { type: 'string', format: 'uri' }, item: { type: 'array', items: { type: 'object' } } },
          required: ['resourceType', 'url', 'item'],
        },
        WebhookBody: {
          type: 'object',
          properties: { event: { const: 'result.stored' }, result: ref('Result') },
          required: ['event', 'result'],
        },
      },
    },
  };
}
