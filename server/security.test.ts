/**
 * The attack table: every way we know to try to break in or break the server, each run against a
 * fresh real server (real SQLite, real sockets). Every row asserts the precise refusal, that
 * nothing changed (the store, the sessions' state and live marks, the audit trail, the object
 * prototype), and that the server still answers /healthz afterwards.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { SignJWT } from 'jose';
import { io as connectSocket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { NAMESPACE, PROTOCOL_VERSION, type CreateSessionResponse } from '../shared/protocol.ts';
import { createApp, type AppOptions } from './app.ts';
import { DEFAULT_RATE_LIMITS, type RateLimits } from './live/token-bucket.ts';
import { silentLogger } from './logging.ts';
import { openStore } from './store/open-store.ts';
import type { Store } from './store/store.ts';
import { openRaw, sendRaw, upgradeRaw, within, wsTextFrame, type RawConnection, type RawResponse } from './testing/raw-http.ts';
import { nextEvent, startTestServer, TEST_API_KEY, TEST_TOKEN_SECRET, type TestServer, type TestSocket } from './testing/test-server.ts';
import { TokenSigner } from './tokens.ts';

/** What an attack ended with, in a shape a row can state exactly. */
type Observed = Record<string, unknown>;

interface Ctx {
  readonly server: TestServer;
  /** The session under attack (client-a) and a bystander (client-b); both start `waiting`. */
  readonly a: CreateSessionResponse;
  readonly b: CreateSessionResponse;
  /** Sockets a setup keeps for its attack. */
  readonly held: TestSocket[];
  /** Results a setup stored (the first, legitimate submission). */
  readonly stored: unknown[];
}

interface AttackRow {
  readonly name: string;
  readonly options?: Partial<AppOptions> | (() => Promise<Partial<AppOptions>>);
  /** Legitimate actions before the attack; the "nothing changed" snapshot is taken after them. */
  readonly setup?: (ctx: Ctx) => Promise<void>;
  readonly attack: (ctx: Ctx) => Promise<Observed>;
  readonly refused: Observed;
  /** Which sessions must come out unchanged (default both). */
  readonly watch?: ReadonlyArray<'a' | 'b'>;
  /** Marks within the rate limit are legitimate and move the live marks; the row checks them itself. */
  readonly movesLiveMarks?: boolean;
  /** The attack spends the session's connection budget: no therapist can join to read the live marks. */
  readonly exhaustsJoins?: boolean;
}

const MARKS = { relationship: 95, goals: 72, approach: 91, overall: 88 };
const EVIL_ORIGIN = 'https://evil.example';
const PLATFORM_ORIGIN = 'https://platform.example';
/** Limits small enough that a flood is over the limit within a test, and deterministic. */
const TIGHT: RateLimits = {
  marks: { capacity: 50, perSecond: 10 },
  requests: { capacity: 5, perSecond: 0.01 },
  sessionRequests: { capacity: 8, perSecond: 0.01 },
  sessionJoins: { capacity: 8, perSecond: 0.01 },
  http: { capacity: 5, perSecond: 0.01 },
};

/** Sockets connected to the live namespace, as the server counts them. */
const serverSockets = (ctx: Ctx): number => ctx.server.srs.io.of(NAMESPACE).sockets.size;

/** Every event a socket receives, by name, with its payload. */
function recordEvents(socket: TestSocket): { event: string; payload: unknown }[] {
  const seen: { event: string; payload: unknown }[] = [];
  socket.onAny((event: string, payload: unknown) => seen.push({ event, payload }));
  return seen;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function until(done: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) throw new Error('timed out');
    await sleep(5);
  }
}

/** The untyped face of a socket: attacks send what the typed events would not allow. */
interface RawSocket {
  emit(event: string, ...args: unknown[]): unknown;
  timeout(ms: number): { emitWithAck(event: string, ...args: unknown[]): Promise<unknown> };
}
const raw = (socket: TestSocket) => socket as unknown as RawSocket;

/** `ok`, or the error code of the acknowledgement. */
async function ackOf(socket: TestSocket, event: string, payload: unknown): Promise<string> {
  const ack = (await raw(socket).timeout(5000).emitWithAck(event, payload)) as { ok?: unknown; error?: { code?: unknown } };
  return ack.ok === true ? 'ok' : String(ack.error?.code);
}

/** The codes of the `srs:error` events that each of `payloads` draws, one by one. */
async function eventRefusals(socket: TestSocket, event: string, payloads: readonly unknown[]): Promise<string[]> {
  const codes: string[] = [];
  const listener = (error: { code: string }) => codes.push(error.code);
  socket.on('srs:error', listener);
  for (const [i, payload] of payloads.entries()) {
    raw(socket).emit(event, payload);
    await until(() => codes.length > i);
  }
  await sleep(30);
  socket.off('srs:error', listener);
  return codes;
}

function handshakeOf(socket: { once(event: string, listener: (value: unknown) => void): unknown }): Promise<Observed> {
  return new Promise((resolve) => {
    socket.once('connect', () => resolve({ connected: true }));
    socket.once('connect_error', (error) => {
      const data = (error as { data?: { code?: unknown } }).data;
      resolve({ connectError: data?.code ?? (error as Error).message });
    });
  });
}

async function httpOf(response: Response): Promise<Observed> {
  const body = (await response.json()) as { error?: { code?: unknown } };
  return { http: response.status, code: body.error?.code };
}

/** Every session.create in the audit trail: a refused creation must not add one. */
async function creations(server: TestServer): Promise<number> {
  return (await server.store.listAudit({})).filter((entry) => entry.action === 'session.create').length;
}

/** The live marks as a therapist joining now would see them (null for a closed session). */
async function liveMarks(ctx: Ctx, session: CreateSessionResponse): Promise<unknown> {
  const socket = ctx.server.connect(session.therapist.token);
  const state = await nextEvent(socket, 'session:state');
  socket.disconnect();
  return state.marks;
}

async function snapshot(ctx: Ctx, watch: ReadonlyArray<'a' | 'b'>, withMarks: boolean): Promise<unknown> {
  const { store, srs } = ctx.server;
  const watched = await Promise.all(
    watch.map(async (which) => {
      const session = ctx[which];
      const current = await srs.sessions.get(session.sessionId);
      const tenant = current?.session.tenant ?? '';
      const clientRef = current?.session.clientRef ?? '';
      return {
        current,
        results: await store.listClientResults(tenant, clientRef),
        audit: [...(await store.listAudit({ sessionId: session.sessionId })), ...(await store.listAudit({ tenant, clientRef }))],
        marks: withMarks && current && current.session.status !== 'closed' ? await liveMarks(ctx, session) : null,
      };
    }),
  );
  return { creations: await creations(ctx.server), watched };
}

async function openRating(ctx: Ctx, session: CreateSessionResponse): Promise<TestSocket> {
  const therapist = await ctx.server.startRating(session);
  ctx.held.push(therapist);
  return therapist;
}

async function joinAs(ctx: Ctx, token: string): Promise<TestSocket> {
  const socket = await ctx.server.join(token);
  ctx.held.push(socket);
  return socket;
}

const signer = new TokenSigner(TEST_TOKEN_SECRET);

/** Same claims, signed wrongly in every way we can think of. */
async function forgeries(ctx: Ctx): Promise<string[]> {
  const { sessionId } = ctx.a;
  const [header, payload] = ctx.b.client.token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
  const edited = Buffer.from(JSON.stringify({ ...claims, sid: sessionId, role: 'therapist' })).toString('base64url');
  const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const secret = new TextEncoder().encode(TEST_TOKEN_SECRET);
  const now = Math.floor(Date.now() / 1000);
  return [
    // The payload of a valid token edited to name session A as its therapist: the signature fails.
    [header, edited, ctx.b.client.token.split('.')[2]].join('.'),
    // Signed with another secret.
    (await new TokenSigner('another-secret-0123456789abcdef-0123456789').sign(sessionId, 'therapist', 3600)).token,
    // Unsigned (alg: none).
    `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sid: sessionId, role: 'therapist', aud: 'srs-live', exp: now + 3600 })}.`,
    // The right secret, another algorithm.
    await new SignJWT({ sid: sessionId, role: 'therapist' })
      .setProtectedHeader({ alg: 'HS512' })
      .setAudience('srs-live')
      .setExpirationTime(now + 3600)
      .sign(secret),
    // The right secret, no audience.
    await new SignJWT({ sid: sessionId, role: 'therapist' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(now + 3600)
      .sign(secret),
    // The right secret, a role that does not exist.
    await new SignJWT({ sid: sessionId, role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setAudience('srs-live')
      .setExpirationTime(now + 3600)
      .sign(secret),
    'not-a-token',
  ];
}

/** A WebSocket upgrade by hand: the status and body the server answers a given Origin with. */
function upgradeWithOrigin(url: string, origin: string): Promise<Observed> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/socket.io/?EIO=4&transport=websocket`, {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        origin,
      },
    });
    req.on('upgrade', (_res, socket) => {
      socket.destroy();
      resolve({ upgraded: true });
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A store whose writes of `open` take a while, as a remote database's may: it widens a race. */
async function slowOpeningStore(): Promise<Store> {
  const store = await openStore({ sqliteFile: ':memory:' });
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (property === 'setSessionStatus') {
        return async (...args: Parameters<Store['setSessionStatus']>) => {
          if (args[1] === 'open') await sleep(60);
          return target.setSessionStatus(...args);
        };
      }
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

const json = (text: string): unknown => JSON.parse(text);
const withProto = (inner: string) => json(`{"item":"goals","mm":5,${inner}}`);
const marksJson = '"relationship":50,"goals":50,"approach":50,"overall":50';

/** Values that are not an integer 0–100 (NaN and Infinity reach the server as null). */
const BAD_MM: readonly unknown[] = [7.5, Number.NaN, -1, 101, 1e308, Number.POSITIVE_INFINITY, '50', true, null, [], {}, -0.5, 2 ** 53];

/** A second tenant beside the test key's (`test`, which creates sessions A and B). */
const OTHER_TENANT_KEY = 'other-tenant-key-0123456789abcdef';
const TWO_TENANTS: Partial<AppOptions> = {
  apiKeys: [
    { label: 'test', key: TEST_API_KEY },
    { label: 'other', key: OTHER_TENANT_KEY },
  ],
};
/** What a row's setup made outside the table's two sessions: a session of another tenant, the demo key. */
const extras = new WeakMap<Ctx, { session: CreateSessionResponse; key?: string }>();
const extraOf = (ctx: Ctx) => {
  const extra = extras.get(ctx);
  if (!extra) throw new Error('the setup made nothing extra');
  return extra;
};

async function demoKeyOf(ctx: Ctx): Promise<string> {
  const script = await (await fetch(`${ctx.server.url}/demo.js`)).text();
  const key = /const apiKey = "([^"]+)";/.exec(script)?.[1];
  if (!key) throw new Error('no key in /demo.js');
  return key;
}

/** Reading, exporting and closing session A and A's client, as a caller with `key`. */
async function readExportClose(ctx: Ctx, key: string): Promise<Observed[]> {
  return [
    await httpOf(await ctx.server.api(`/api/sessions/${ctx.a.sessionId}`, { key })),
    await httpOf(await ctx.server.api('/api/clients/client-a/results', { key })),
    await httpOf(await ctx.server.api('/api/clients/client-a/results?format=csv', { key })),
    await httpOf(await ctx.server.api('/api/clients/client-a/results?format=fhir', { key })),
    await httpOf(await ctx.server.api(`/api/sessions/${ctx.a.sessionId}/close`, { method: 'POST', key })),
  ];
}

const REMOVED_KEY = 'removed-key-0123456789abcdef';
const ROTATED_OLD_KEY = 'rotated-old-key-0123456789abcdef';

/**
 * A store that a first run wrote with keys since removed from the configuration (`gone`) or
 * replaced (`rotated`): each created a session there.
 */
async function storeOfAnEarlierConfiguration(): Promise<Partial<AppOptions>> {
  const store = await openStore({ sqliteFile: ':memory:' });
  const earlier = await createApp({
    store,
    tokenSecret: TEST_TOKEN_SECRET,
    apiKeys: [
      { label: 'test', key: TEST_API_KEY },
      { label: 'gone', key: REMOVED_KEY },
      { label: 'rotated', key: ROTATED_OLD_KEY },
    ],
    logger: silentLogger(),
  });
  const { port } = await earlier.listen(0, '127.0.0.1');
  for (const key of [REMOVED_KEY, ROTATED_OLD_KEY]) {
    const created = await fetch(`http://127.0.0.1:${port}/api/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: '{"clientRef":"client-a"}',
    });
    if (created.status !== 201) throw new Error(`the earlier run could not create a session: ${created.status}`);
  }
  await earlier.close();
  return {
    store,
    apiKeys: [
      { label: 'test', key: TEST_API_KEY },
      { label: 'rotated', key: 'rotated-new-key-0123456789abcdef' },
    ],
  };
}

const ROWS: readonly AttackRow[] = [
  {
    name: 'socket without a token',
    attack: async (ctx) => handshakeOf(ctx.server.connect('', { token: undefined })),
    refused: { connectError: 'UNAUTHORIZED' },
  },
  {
    name: 'socket with a forged token (edited payload, other secret, alg none, HS512, no audience, bad role, garbage)',
    attack: async (ctx) => ({ each: await Promise.all((await forgeries(ctx)).map((token) => handshakeOf(ctx.server.connect(token)))) }),
    refused: { each: Array(7).fill({ connectError: 'UNAUTHORIZED' }) },
  },
  {
    name: 'API with a forged therapist token',
    attack: async (ctx) => {
      const forged = await forgeries(ctx);
      return { each: await Promise.all(forged.map(async (key) => httpOf(await ctx.server.api(`/api/sessions/${ctx.a.sessionId}`, { key })))) };
    },
    refused: { each: Array(7).fill({ http: 401, code: 'UNAUTHORIZED' }) },
  },
  {
    name: 'expired tokens, on the socket and the API',
    attack: async (ctx) => {
      const client = (await signer.sign(ctx.a.sessionId, 'client', -60)).token;
      const therapist = (await signer.sign(ctx.a.sessionId, 'therapist', -60)).token;
      return {
        socket: [await handshakeOf(ctx.server.connect(client)), await handshakeOf(ctx.server.connect(therapist))],
        api: await httpOf(await ctx.server.api(`/api/sessions/${ctx.a.sessionId}`, { key: therapist })),
      };
    },
    refused: { socket: [{ connectError: 'UNAUTHORIZED' }, { connectError: 'UNAUTHORIZED' }], api: { http: 401, code: 'UNAUTHORIZED' } },
  },
  {
    name: 'a token that expires while its socket is connected',
    setup: async (ctx) => {
      await openRating(ctx, ctx.a);
    },
    attack: async (ctx) => {
      // exp has whole seconds: a 2 s lifetime ends within 1–2 s.
      const socket = await joinAs(ctx, (await signer.sign(ctx.a.sessionId, 'client', 2)).token);
      const refusal = nextEvent(socket, 'srs:error');
      const reason = await new Promise<string>((resolve) => socket.once('disconnect', resolve));
      return { srsError: (await refusal).code, disconnect: reason };
    },
    refused: { srsError: 'UNAUTHORIZED', disconnect: 'io server disconnect' },
  },
  {
    name: "session B's therapist reads session A and A's client (API and history:read)",
    setup: async (ctx) => {
      await openRating(ctx, ctx.a);
      ctx.stored.push(await ackOf(await joinAs(ctx, ctx.a.client.token), 'rating:submit', { submissionId: 'a-legit-0001', marks: MARKS }));
    },
    attack: async (ctx) => {
      const key = ctx.b.therapist.token;
      const therapistB = await joinAs(ctx, key);
      const history = (await raw(therapistB).timeout(5000).emitWithAck('history:read', {})) as { ok: boolean; results: unknown[] };
      return {
        api: [
          await httpOf(await ctx.server.api(`/api/sessions/${ctx.a.sessionId}`, { key })),
          await httpOf(await ctx.server.api('/api/clients/client-a/results', { key })),
          await httpOf(await ctx.server.api('/api/clients/client-a/results?format=fhir', { key })),
        ],
        historyOfB: history,
      };
    },
    refused: { api: Array(3).fill({ http: 403, code: 'FORBIDDEN' }), historyOfB: { ok: true, results: [] } },
    watch: ['a'],
  },
  {
    name: "session B's client names session A (handshake and payload): acts on B only",
    setup: async (ctx) => {
      await openRating(ctx, ctx.b);
    },
    attack: async (ctx) => {
      const socket = ctx.server.connect(ctx.b.client.token, { sessionId: ctx.a.sessionId });
      ctx.held.push(socket);
      const state = await nextEvent(socket, 'session:state');
      const foreign = await ackOf(socket, 'rating:submit', { sessionId: ctx.a.sessionId, submissionId: 'b-cross-0001', marks: MARKS });
      const plain = (await raw(socket).timeout(5000).emitWithAck('rating:submit', { submissionId: 'b-cross-0002', marks: MARKS })) as {
        result: { sessionId: string };
      };
      const inB = await ctx.server.store.getResult(ctx.b.sessionId);
      return {
        joined: state.sessionId === ctx.b.sessionId ? 'B' : state.sessionId,
        foreignField: foreign,
        storedIn: plain.result.sessionId === ctx.b.sessionId && inB?.submissionId === 'b-cross-0002' ? 'B' : plain.result.sessionId,
        readA: await httpOf(await ctx.server.api(`/api/sessions/${ctx.a.sessionId}`, { key: ctx.b.client.token })),
      };
    },
    refused: { joined: 'B', foreignField: 'INVALID_PAYLOAD', storedIn: 'B', readA: { http: 403, code: 'FORBIDDEN' } },
    watch: ['a'],
  },
  {
    name: 'a submissionId that session B already used, submitted to session A (client and oral)',
    setup: async (ctx) => {
      await openRating(ctx, ctx.b);
      ctx.stored.push(await ackOf(await joinAs(ctx, ctx.b.client.token), 'rating:submit', { submissionId: 'b-legit-0001', marks: MARKS }));
      await openRating(ctx, ctx.a);
    },
    attack: async (ctx) => {
      const client = await joinAs(ctx, ctx.a.client.token);
      const therapist = ctx.held.at(-2) as TestSocket;
      const payload = { submissionId: 'b-legit-0001', marks: { relationship: 1, goals: 2, approach: 3, overall: 4 } };
      const acks = [
        (await raw(client).timeout(5000).emitWithAck('rating:submit', payload)) as Record<string, unknown>,
        (await raw(therapist).timeout(5000).emitWithAck('rating:submit', payload)) as Record<string, unknown>,
      ];
      return {
        acks: acks.map((ack) => (ack['ok'] === true ? 'ok' : (ack['error'] as { code: string }).code)),
        disclosed: acks.some((ack) => JSON.stringify(ack).includes(ctx.b.sessionId)),
      };
    },
    refused: { acks: ['INVALID_PAYLOAD', 'INVALID_PAYLOAD'], disclosed: false },
  },
  {
    name: 'acknowledged requests without a payload or with extra arguments',
    setup: async (ctx) => {
      await openRating(ctx, ctx.a);
    },
    attack: async (ctx) => {
      const client = await joinAs(ctx, ctx.a.client.token);
      const therapist = ctx.held[0] as TestSocket;
      const ask = async (socket: TestSocket, event: string, ...args: unknown[]) => {
        const ack = (await raw(socket)
          .timeout(2000)
          .emitWithAck(event, ...args)) as { ok?: unknown; error?: { code?: unknown } };
        return ack.ok === true ? 'ok' : String(ack.error?.code);
      };
      return {
        acks: [
          await ask(client, 'rating:submit'),
          await ask(client, 'rating:submit', { submissionId: 'extra-arg-01', marks: MARKS }, 'extra'),
          await ask(therapist, 'rating:withdraw'),
          await ask(therapist, 'rating:withdraw', {}, {}),
          await ask(therapist, 'history:read', {}, 1, 2),
          await ask(client, 'rating:visibility'),
        ],
      };
    },
    refused: { acks: Array(6).fill('INVALID_PAYLOAD') },
  },
  {
    name: 'client acts as the therapist (rating:start, rating:withdraw, history:read)',
    attack: async (ctx) => {
      const client = await joinAs(ctx, ctx.a.client.token);
      return { acks: [await ackOf(client, 'rating:start', {}), await ackOf(client, 'rating:withdraw', {}), await ackOf(client, 'history:read', {})] };
    },
    refused: { acks: ['FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN'] },
  },
  {
    name: 'therapist acts as the client (mark:move, rating:visibility)',
    setup: async (ctx) => {
      await openRating(ctx, ctx.a);
    },
    attack: async (ctx) => {
      const therapist = await joinAs(ctx, ctx.a.therapist.token);
      return {
        move: await eventRefusals(therapist, 'mark:move', [{ item: 'goals', mm: 10 }]),
        visibility: await ackOf(therapist, 'rating:visibility', { visibility: 'on-submit' }),
      };
    },
    refused: { move: ['FORBIDDEN'], visibility: 'FORBIDDEN' },
  },
  {
    name: 'client token reads results and sessions through the API',
    setup: async (ctx) => {
      await openRating(ctx, ctx.a);
      ctx.stored.push(await ackOf(await joinAs(ctx, ctx.a.client.token), 'rating:submit', { submissionId: 'a-legit-0002', marks: MARKS }));
    },
    attack: async (ctx) => {
      const key = ctx.a.client.token;
      return {
        each: [
          await httpOf(await ctx.server.api('/api/clients/client-a/results', { key })),
          await httpOf(await ctx.server.api('/api/clients/client-a/results?format=csv', { key })),
          await httpOf(await ctx.server.api(`/api/sessions/${ctx.a.sessionId}`, { key })),
        ],
      };
    },
    refused: { each: Array(3).fill({ http: 403, code: 'FORBIDDEN' }) },
  },
  {
    name: 'API without a key',
    attack: async (ctx) => {
      const key = null;
      return {
        each: [
          await httpOf(await ctx.server.api('/api/sessions', { method: 'POST', body: '{"clientRef":"nokey-1"}', key })),
          await httpOf(await ctx.server.api(`/api/sessions/${ctx.a.sessionId}`, { key })),
          await httpOf(await ctx.server.api('/api/clients/client-a/results', { key })),
          await httpOf(await ctx.server.api(`/api/sessions/${ctx.a.sessionId}/close`, { method: 'POST', key })),
        ],
      };
    },
    refused: { each: Array(4).fill({ http: 401, code: 'UNAUTHORIZED' }) },
  },
  {
    name: 'API with a wrong key (unknown, near miss, empty bearer, Basic scheme)',
    attack: async (ctx) => {
      const post = (headers: Record<string, string>, key: string | null) =>
        ctx.server.api('/api/sessions', { method: 'POST', body: '{"clientRef":"wrongkey-1"}', key, headers });
      return {
        each: [
          await httpOf(await post({}, 'wrong-key-0123456789')),
          await httpOf(await post({}, 'test-api-key-0123456789abcdeF')),
          await httpOf(await post({ authorization: 'Bearer ' }, null)),
          await httpOf(await post({ authorization: 'Basic dGVzdDp0ZXN0' }, null)),
          await httpOf(await ctx.server.api(`/api/sessions/${ctx.a.sessionId}/close`, { method: 'POST', key: 'wrong-key-0123456789' })),
        ],
      };
    },
    refused: { each: Array(5).fill({ http: 401, code: 'UNAUTHORIZED' }) },
  },
  {
    name: 'therapist token closes its session through the platform-only endpoint',
    attack: async (ctx) => ({
      close: await httpOf(await ctx.server.api(`/api/sessions/${ctx.a.sessionId}/close`, { method: 'POST', key: ctx.a.therapist.token })),
      create: await httpOf(await ctx.server.api('/api/sessions', { method: 'POST', body: '{"clientRef":"by-therapist"}', key: ctx.a.therapist.token })),
    }),
    refused: { close: { http: 403, code: 'FORBIDDEN' }, create: { http: 403, code: 'FORBIDDEN' } },
  },
  {
    name: 'socket message over 4 KB (maxHttpBufferSize): the server closes that connection',
    setup: async (ctx) => {
      await openRating(ctx, ctx.a);
    },
    attack: async (ctx) => {
      const therapist = ctx.held[0] as TestSocket;
      let relayed = 0;
      therapist.on('mark:moved', () => (relayed += 1));
      const client = await joinAs(ctx, ctx.a.client.token);
      const closed = new Promise<string>((resolve) => client.once('disconnect', resolve));
      raw(client).emit('mark:move', { item: 'goals', mm: 10, pad: 'x'.repeat(5000) });
      const reason = await closed;
      const again = await joinAs(ctx, ctx.a.client.token);
      const submitClosed = new Promise<string>((resolve) => again.once('disconnect', resolve));
      raw(again).emit('rating:submit', { submissionId: 'oversize-0001', marks: { ...MARKS, pad: 'é'.repeat(2100) } }, () => undefined);
      const submitReason = await submitClosed;
      await sleep(50);
      return {
        closed: reason,
        submitClosed: submitReason,
        relayed,
        therapistConnected: therapist.connected,
        rejoin: await handshakeOf(ctx.server.connect(ctx.a.client.token)),
      };
    },
    refused: { closed: 'transport close', submitClosed: 'transport close', relayed: 0, therapistConnected: true, rejoin: { connected: true } },
  },
  {
    name: 'HTTP body over 16 kB',
    attack: async (ctx) => ({
      each: [
        await httpOf(await ctx.server.api('/api/sessions', { method: 'POST', body: JSON.stringify({ clientRef: 'big-1', therapistRef: 'x'.repeat(17_000) }) })),
        await httpOf(await ctx.server.api('/api/sessions', { method: 'POST', body: `{"clientRef":"big-2"${' '.repeat(20_000)}}` })),
      ],
    }),
    refused: { each: Array(2).fill({ http: 413, code: 'PAYLOAD_TOO_LARGE' }) },
  },
  {
    name: 'flood of marks (500 in a burst)',
    options: { rateLimits: { ...DEFAULT_RATE_LIMITS, marks: TIGHT.marks } },
    setup: async (ctx) => {
      await openRating(ctx, ctx.a);
    },
    attack: async (ctx) => {
      const therapist = ctx.held[0] as TestSocket;
      const moved: number[] = [];
      therapist.on('mark:moved', (mark) => moved.push(mark.mm));
      const client = await joinAs(ctx, ctx.a.client.token);
      const refusals: string[] = [];
      client.on('srs:error', (error) => refusals.push(error.code));
      const startedAt = performance.now();
      for (let i = 0; i < 500; i++) client.emit('mark:move', { item: 'goals', mm: i % 101 });
      await sleep(300);
      const window = performance.now() - startedAt;
      const marks = (await liveMarks(ctx, ctx.a)) as { goals: number | null };
      return {
        srsError: refusals,
        // At most one forward per frame, and never more than the marks let through.
        therapistNotFlooded: moved.length >= 1 && moved.length <= Math.min(TIGHT.marks.capacity + 3, Math.ceil(window / 16) + 2),
        // The marks past the limit never reached the session: the last accepted value is early in the burst.
        lastAcceptedEarly: marks.goals !== null && marks.goals < TIGHT.marks.capacity + 10 && moved.at(-1) === marks.goals,
        stillServes: await ackOf(client, 'rating:visibility', { visibility: 'live' }),
      };
    },
    refused: { srsError: ['RATE_LIMITED'], therapistNotFlooded: true, lastAcceptedEarly: true, stillServes: 'ok' },
    movesLiveMarks: true,
  },
  {
    name: 'flood of submissions (40 with new ids after a stored result)',
    options: { rateLimits: { ...DEFAULT_RATE_LIMITS, requests: TIGHT.requests } },
    setup: async (ctx) => {
      await openRating(ctx, ctx.a);
      ctx.stored.push(await ackOf(await joinAs(ctx, ctx.a.client.token), 'rating:submit', { submissionId: 'a-legit-0003', marks: MARKS }));
    },
    attack: async (ctx) => {
      const client = ctx.held[1] as TestSocket;
      const acks = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          ackOf(client, 'rating:submit', { submissionId: `flood-${String(i).padStart(4, '0')}`, marks: { ...MARKS, goals: i } }),
        ),
      );
      const counts: Record<string, number> = {};
      for (const code of acks) counts[code] = (counts[code] ?? 0) + 1;
      return { counts, last: acks.at(-1) };
    },
    // Capacity 5, one spent on the legitimate submission: 4 reach the session, 36 are refused at the door.
    refused: { counts: { ALREADY_SUBMITTED: 4, RATE_LIMITED: 36 }, last: 'RATE_LIMITED' },
  },
  {
    name: 'flood of API requests',
    options: { rateLimits: { ...DEFAULT_RATE_LIMITS, http: TIGHT.http } },
    attack: async (ctx) => {
      const responses = [];
      for (let i = 0; i < 30; i++) responses.push(await ctx.server.api('/api/sessions/no-such-session'));
      const last = responses.at(-1) as Response;
      return {
        statuses: [...new Set(responses.map((response) => response.status))],
        limited: responses.filter((response) => response.status === 429).length,
        retryAfter: last.headers.get('retry-after'),
        last: await httpOf(last),
      };
    },
    // Capacity 5, two spent creating the sessions: 3 answered (404), 27 refused.
    refused: { statuses: [404, 429], limited: 27, retryAfter: '100', last: { http: 429, code: 'RATE_LIMITED' } },
  },
  {
    name: 'WebSocket handshake from a disallowed Origin',
    options: { allowedOrigins: [PLATFORM_ORIGIN] },
    attack: async (ctx) => {
      const viaOrigin = (origin: string | undefined) => {
        const socket = connectSocket(`${ctx.server.url}${NAMESPACE}`, {
          transports: ['websocket'],
          auth: { token: ctx.a.client.token, protocol: PROTOCOL_VERSION },
          reconnection: false,
          forceNew: true,
          ...(origin ? { extraHeaders: { origin } } : {}),
        });
        ctx.held.push(socket);
        return handshakeOf(socket);
      };
      return {
        evil: await viaOrigin(EVIL_ORIGIN),
        upgrade: await upgradeWithOrigin(ctx.server.url, EVIL_ORIGIN),
        noOriginValidToken: await viaOrigin(undefined),
        allowedOrigin: await viaOrigin(PLATFORM_ORIGIN),
      };
    },
    refused: {
      evil: { connectError: 'websocket error' },
      upgrade: { status: 400, body: 'origin not allowed' },
      noOriginValidToken: { connected: true },
      allowedOrigin: { connected: true },
    },
  },
  {
    name: 'API call from a disallowed Origin, even with a valid key',
    options: { allowedOrigins: [PLATFORM_ORIGIN] },
    attack: async (ctx) => {
      const headers = { origin: EVIL_ORIGIN };
      const preflight = await ctx.server.api('/api/sessions', { method: 'OPTIONS', headers, key: null });
      return {
        each: [
          await httpOf(await ctx.server.api('/api/sessions', { method: 'POST', body: '{"clientRef":"evil-1"}', headers })),
          await httpOf(await ctx.server.api(`/api/sessions/${ctx.a.sessionId}`, { headers })),
          await httpOf(await ctx.server.api('/api/clients/client-a/results', { headers })),
          await httpOf(preflight),
        ],
        allowOriginHeader: preflight.headers.get('access-control-allow-origin'),
      };
    },
    refused: { each: Array(4).fill({ http: 403, code: 'FORBIDDEN' }), allowOriginHeader: null },
  },
  {
    name: 'prototype pollution in mark:move',
    setup: async (ctx) => {
      await openRating(ctx, ctx.a);
    },
    attack: async (ctx) => {
      const client = await joinAs(ctx, ctx.a.client.token);
      return {
        srsError: await eventRefusals(client, 'mark:move', [
          withProto('"__proto__":{"polluted":"yes"}'),
          withProto('"constructor":{"prototype":{"polluted":"yes"}}'),
          withProto('"prototype":{"polluted":"yes"}'),
          json('{"__proto__":{"item":"goals","mm":5}}'),
          json('{"item":"__proto__","mm":5}'),
          json('{"item":"constructor","mm":5}'),
          json('{"item":"goals","mm":{"__proto__":{"valueOf":5}}}'),
        ]),
      };
    },
    refused: { srsError: Array(7).fill('INVALID_PAYLOAD') },
  },
  {
    name: 'prototype pollution in rating:submit',
    setup: async (ctx) => {
      await openRating(ctx, ctx.a);
    },
    attack: async (ctx) => {
      const client = await joinAs(ctx, ctx.a.client.token);
      const payloads = [
        `{"submissionId":"proto-sub-1","marks":{${marksJson},"__proto__":{"polluted":"yes"}}}`,
        `{"submissionId":"proto-sub-2","marks":{${marksJson}},"__proto__":{"polluted":"yes"}}`,
        `{"submissionId":"proto-sub-3","marks":{${marksJson}},"constructor":{"prototype":{"polluted":"yes"}}}`,
        `{"submissionId":"proto-sub-4","marks":{"__proto__":{${marksJson}}}}`,
        `{"submissionId":"proto-sub-5","marks":{${marksJson},"prototype":{"polluted":"yes"}}}`,
        `{"__proto__":{"submissionId":"proto-sub-6","marks":{${marksJson}}}}`,
        `{"submissionId":{"__proto__":"proto-sub-7"},"marks":{${marksJson}}}`,
      ];
      const acks = [];
      for (const payload of payloads) acks.push(await ackOf(client, 'rating:submit', json(payload)));
      return { acks };
    },
    refused: { acks: Array(7).fill('INVALID_PAYLOAD') },
  },
  {
    name: 'prototype pollution in POST /api/sessions',
    attack: async (ctx) => {
      const bodies = [
        '{"clientRef":"proto-1","__proto__":{"polluted":"yes"}}',
        '{"clientRef":"proto-2","constructor":{"prototype":{"polluted":"yes"}}}',
        '{"clientRef":"proto-3","prototype":{"polluted":"yes"}}',
        '{"__proto__":{"clientRef":"proto-4"}}',
        '{"clientRef":{"__proto__":"proto-5"}}',
        '{"clientRef":"proto-6","therapistRef":{"constructor":{"prototype":{"polluted":"yes"}}}}',
      ];
      const each = [];
      for (const body of bodies) each.push(await httpOf(await ctx.server.api('/api/sessions', { method: 'POST', body })));
      return { each };
    },
    refused: { each: Array(6).fill({ http: 422, code: 'INVALID_BODY' }) },
  },
  {
    name: 'non-integer, NaN and out-of-range marks in mark:move',
    setup: async (ctx) => {
      await openRating(ctx, ctx.a);
    },
    attack: async (ctx) => {
      const client = await joinAs(ctx, ctx.a.client.token);
      return {
        srsError: await eventRefusals(
          client,
          'mark:move',
          BAD_MM.map((mm) => ({ item: 'goals', mm })),
        ),
      };
    },
    refused: { srsError: Array(BAD_MM.length).fill('INVALID_PAYLOAD') },
  },
  {
    name: 'non-integer, NaN and out-of-range marks in rating:submit (client and oral)',
    setup: async (ctx) => {
      await openRating(ctx, ctx.a);
    },
    attack: async (ctx) => {
      const client = await joinAs(ctx, ctx.a.client.token);
      const therapist = ctx.held[0] as TestSocket;
      const acks = [];
      for (const [i, mm] of BAD_MM.entries()) {
        const payload = { submissionId: `bad-mm-${String(i).padStart(4, '0')}`, marks: { ...MARKS, approach: mm } };
        acks.push(await ackOf(client, 'rating:submit', payload), await ackOf(therapist, 'rating:submit', payload));
      }
      return { acks };
    },
    refused: { acks: Array(BAD_MM.length * 2).fill('INVALID_PAYLOAD') },
  },
  {
    name: 'unknown events, with and without an ack',
    setup: async (ctx) => {
      await openRating(ctx, ctx.a);
    },
    attack: async (ctx) => {
      const client = await joinAs(ctx, ctx.a.client.token);
      const names = [
        'results:read',
        'rating:delete',
        'session:state',
        'mark:moved',
        'srs:error',
        'error',
        '__proto__',
        'constructor',
        'hasOwnProperty',
        'x'.repeat(1000),
      ];
      const acks = [];
      for (const name of names) acks.push(await ackOf(client, name, {}));
      return { acks, srsError: await eventRefusals(client, 'results:read', [{}, null, 'x']) };
    },
    refused: { acks: Array(10).fill('UNKNOWN_EVENT'), srsError: Array(3).fill('UNKNOWN_EVENT') },
  },
  {
    name: 'rating:start racing an oral submission does not reopen the submitted rating',
    options: async () => ({ store: await slowOpeningStore() }),
    attack: async (ctx) => {
      const therapist = await joinAs(ctx, ctx.a.therapist.token);
      const client = await joinAs(ctx, ctx.a.client.token);
      const start = ackOf(therapist, 'rating:start', {});
      await sleep(10);
      // The start is still being written when the therapist stores an oral administration.
      const submit = await ackOf(therapist, 'rating:submit', { submissionId: 'race-0001', marks: MARKS });
      await start;
      ctx.stored.push(await ctx.server.store.getResult(ctx.a.sessionId));
      return {
        submit,
        moveAfterSubmission: await eventRefusals(client, 'mark:move', [{ item: 'goals', mm: 7 }]),
        stored: (ctx.stored[0] as { submissionId?: string } | null)?.submissionId,
      };
    },
    refused: { submit: 'ok', moveAfterSubmission: ['ALREADY_SUBMITTED'], stored: 'race-0001' },
    // The oral submission is legitimate; the row checks what it stored.
    watch: ['b'],
  },
  {
    name: 'replayed submission',
    setup: async (ctx) => {
      await openRating(ctx, ctx.a);
      const client = await joinAs(ctx, ctx.a.client.token);
      ctx.stored.push(await raw(client).timeout(5000).emitWithAck('rating:submit', { submissionId: 'replay-0001', marks: MARKS }));
    },
    attack: async (ctx) => {
      const client = ctx.held[1] as TestSocket;
      const therapist = ctx.held[0] as TestSocket;
      const replay = await raw(client)
        .timeout(5000)
        .emitWithAck('rating:submit', { submissionId: 'replay-0001', marks: { ...MARKS, goals: 3 } });
      const oral = await raw(therapist)
        .timeout(5000)
        .emitWithAck('rating:submit', { submissionId: 'replay-0001', marks: { ...MARKS, goals: 4 } });
      return {
        replaySameResult: JSON.stringify(replay) === JSON.stringify(ctx.stored[0]),
        oralReplaySameResult: JSON.stringify(oral) === JSON.stringify(ctx.stored[0]),
        other: await ackOf(client, 'rating:submit', { submissionId: 'replay-0002', marks: MARKS }),
        otherOral: await ackOf(therapist, 'rating:submit', { submissionId: 'replay-0003', marks: MARKS }),
        start: await ackOf(therapist, 'rating:start', {}),
      };
    },
    refused: { replaySameResult: true, oralReplaySameResult: true, other: 'ALREADY_SUBMITTED', otherOral: 'ALREADY_SUBMITTED', start: 'ALREADY_SUBMITTED' },
  },
  {
    name: "a closed session's tokens",
    setup: async (ctx) => {
      await openRating(ctx, ctx.a);
      await joinAs(ctx, ctx.a.client.token);
      const closed = await ctx.server.api(`/api/sessions/${ctx.a.sessionId}/close`, { method: 'POST' });
      expect(closed.status).toBe(200);
      await until(() => ctx.held.every((socket) => !socket.connected));
    },
    attack: async (ctx) => ({
      socket: [await handshakeOf(ctx.server.connect(ctx.a.client.token)), await handshakeOf(ctx.server.connect(ctx.a.therapist.token))],
      api: [
        await httpOf(await ctx.server.api(`/api/sessions/${ctx.a.sessionId}`, { key: ctx.a.therapist.token })),
        await httpOf(await ctx.server.api('/api/clients/client-a/results', { key: ctx.a.therapist.token })),
      ],
    }),
    refused: { socket: Array(2).fill({ connectError: 'SESSION_CLOSED' }), api: Array(2).fill({ http: 401, code: 'UNAUTHORIZED' }) },
  },
  {
    name: 'client submits or moves before the rating is started',
    attack: async (ctx) => {
      const client = await joinAs(ctx, ctx.a.client.token);
      return {
        submit: await ackOf(client, 'rating:submit', { submissionId: 'early-0001', marks: MARKS }),
        move: await eventRefusals(client, 'mark:move', [{ item: 'goals', mm: 10 }]),
      };
    },
    refused: { submit: 'RATING_NOT_OPEN', move: ['RATING_NOT_OPEN'] },
  },
  {
    name: 'wrong protocol version',
    attack: async (ctx) => ({
      each: await Promise.all([2, 0, '1', 1.5, null].map((protocol) => handshakeOf(ctx.server.connect(ctx.a.client.token, { protocol })))),
    }),
    refused: { each: Array(5).fill({ connectError: 'PROTOCOL_MISMATCH' }) },
  },
  {
    name: 'paths that cannot be percent-decoded',
    attack: async (ctx) => ({
      each: [
        await httpOf(await ctx.server.api('/api/sessions/%E0%A4%A')),
        await httpOf(await ctx.server.api('/api/clients/%/results')),
        await httpOf(await ctx.server.api('/api/sessions/%zz/close', { method: 'POST' })),
      ],
    }),
    refused: { each: Array(3).fill({ http: 400, code: 'BAD_REQUEST' }) },
  },
  {
    name: 'many sockets on one client token: the newest takes over, each older one hears session:replaced, the therapist is told',
    setup: async (ctx) => {
      await openRating(ctx, ctx.a);
    },
    attack: async (ctx) => {
      const therapist = ctx.held[0] as TestSocket;
      const switched: string[] = [];
      therapist.on('client:switched', ({ at }) => switched.push(at));
      const sockets: TestSocket[] = [];
      let replaced = 0;
      for (let i = 0; i < 12; i++) {
        const socket = await joinAs(ctx, ctx.a.client.token);
        socket.on('session:replaced', () => (replaced += 1));
        sockets.push(socket);
      }
      await until(() => sockets.slice(0, -1).every((socket) => !socket.connected) && switched.length >= 11);
      const survivor = sockets.at(-1) as TestSocket;
      return {
        replaced,
        connected: sockets.filter((socket) => socket.connected).length,
        onServer: serverSockets(ctx),
        survivorServes: await ackOf(survivor, 'rating:visibility', { visibility: 'live' }),
        therapistTold: switched.length,
      };
    },
    refused: { replaced: 11, connected: 1, onServer: 2, survivorServes: 'ok', therapistTold: 11 },
  },
  {
    name: 'a fourth therapist socket on one session (same token, a fresh token, three at once) is refused until one leaves',
    setup: async (ctx) => {
      await openRating(ctx, ctx.a);
    },
    attack: async (ctx) => {
      const second = await joinAs(ctx, ctx.a.therapist.token);
      const third = await joinAs(ctx, ctx.a.therapist.token);
      const fresh = (await signer.sign(ctx.a.sessionId, 'therapist', 3600)).token;
      const fourth = await handshakeOf(ctx.server.connect(ctx.a.therapist.token));
      const freshToken = await handshakeOf(ctx.server.connect(fresh));
      const atOnce = await Promise.all([1, 2, 3].map(() => handshakeOf(ctx.server.connect(fresh))));
      third.disconnect();
      await until(() => serverSockets(ctx) === 2);
      const later = ctx.server.connect(ctx.a.therapist.token);
      const afterOneLeft = await handshakeOf(later);
      // Give the places back, so that the table's own therapist can look at the session.
      later.disconnect();
      second.disconnect();
      await until(() => serverSockets(ctx) === 1);
      return { fourth, freshToken, atOnce, afterOneLeft, otherSession: await handshakeOf(ctx.server.connect(ctx.b.therapist.token)) };
    },
    refused: {
      fourth: { connectError: 'TOO_MANY_CONNECTIONS' },
      freshToken: { connectError: 'TOO_MANY_CONNECTIONS' },
      atOnce: Array(3).fill({ connectError: 'TOO_MANY_CONNECTIONS' }),
      afterOneLeft: { connected: true },
      otherSession: { connected: true },
    },
  },
  {
    name: 'requests spread over several sockets of one session meet the session-wide limit, and changes that change nothing broadcast nothing',
    options: { rateLimits: { ...DEFAULT_RATE_LIMITS, sessionRequests: TIGHT.sessionRequests } },
    setup: async (ctx) => {
      await openRating(ctx, ctx.a);
    },
    attack: async (ctx) => {
      const sockets = [ctx.held[0] as TestSocket, await joinAs(ctx, ctx.a.therapist.token), await joinAs(ctx, ctx.a.therapist.token)];
      const client = await joinAs(ctx, ctx.a.client.token);
      const seen = [...sockets, client].map(recordEvents);
      // Each socket stays within its own limit (20); together they pass the session's (8, one spent on the start).
      const acks = await Promise.all([
        ...sockets.flatMap((socket) => Array.from({ length: 4 }, () => ackOf(socket, 'rating:start', {}))),
        ...Array.from({ length: 3 }, () => ackOf(client, 'rating:visibility', { visibility: 'live' })),
      ]);
      await sleep(100);
      // Give two therapist places back, so that the table's own therapist can look at the session.
      for (const socket of sockets.slice(1)) socket.disconnect();
      await until(() => serverSockets(ctx) === 2);
      const counts: Record<string, number> = {};
      for (const code of acks) counts[code] = (counts[code] ?? 0) + 1;
      return { counts, stateBroadcasts: seen.flat().filter(({ event }) => event === 'session:state').length };
    },
    refused: { counts: { ok: 7, RATE_LIMITED: 8 }, stateBroadcasts: 0 },
  },
  {
    name: "an old socket's recovery id with another session's token, an expired token or another role restores nothing",
    setup: async (ctx) => {
      await openRating(ctx, ctx.a);
      await openRating(ctx, ctx.b);
    },
    attack: async (ctx) => {
      // Sockets of session A's therapist drop; their recovery ids (if the server handed any out) are what an attacker replays.
      const recoveryIdOf = async () => {
        const victim = await joinAs(ctx, ctx.a.therapist.token);
        const { _pid: pid, _lastOffset: offset } = victim as unknown as { _pid?: string; _lastOffset?: string };
        victim.io.engine.close();
        await until(() => !victim.connected);
        return { issued: pid !== undefined, auth: { pid: pid ?? 'a-guessed-recovery-id', offset: offset ?? '0-0' } };
      };
      const ids = [await recoveryIdOf(), await recoveryIdOf(), await recoveryIdOf()] as const;
      const client = await joinAs(ctx, ctx.a.client.token);
      const foreign = ctx.server.connect(ctx.b.client.token, ids[0].auth);
      const foreignSeen = recordEvents(foreign);
      const expired = ctx.server.connect((await signer.sign(ctx.a.sessionId, 'therapist', -60)).token, ids[1].auth);
      const expiredSeen = recordEvents(expired);
      const expiredHandshake = handshakeOf(expired);
      const otherRole = ctx.server.connect(ctx.a.client.token, ids[2].auth);
      const otherRoleSeen = recordEvents(otherRole);
      await handshakeOf(foreign);
      await handshakeOf(otherRole);
      // Session A keeps living: a mark, and a therapist's request.
      client.emit('mark:move', { item: 'goals', mm: 33 });
      await ackOf(ctx.held[0] as TestSocket, 'history:read', {});
      await sleep(200);
      const mentionsA = (seen: { payload: unknown }[]) => seen.filter(({ payload }) => JSON.stringify(payload ?? null).includes(ctx.a.sessionId)).length;
      return {
        recoveryIdIssued: ids.some((id) => id.issued),
        foreign: {
          sessions: [
            ...new Set(
              foreignSeen
                .filter(({ event }) => event === 'session:state')
                .map(({ payload }) => ((payload as { sessionId: string }).sessionId === ctx.b.sessionId ? 'B' : 'other')),
            ),
          ],
          aboutA: mentionsA(foreignSeen),
          marks: foreignSeen.filter(({ event }) => event === 'mark:moved').length,
        },
        expired: { ...(await expiredHandshake), received: expiredSeen.length },
        otherRole: { marksMoved: otherRoleSeen.filter(({ event }) => event === 'mark:moved').length },
      };
    },
    refused: {
      recoveryIdIssued: false,
      foreign: { sessions: ['B'], aboutA: 0, marks: 0 },
      expired: { connectError: 'UNAUTHORIZED', received: 0 },
      otherRole: { marksMoved: 0 },
    },
    movesLiveMarks: true,
    // The history read is legitimate and audited.
    watch: ['b'],
  },
  {
    name: 'the default namespace and unknown namespaces refuse every connection, with or without a token',
    attack: async (ctx) => {
      const at = (namespace: string, auth: Record<string, unknown>) => {
        const socket = connectSocket(`${ctx.server.url}${namespace}`, { transports: ['websocket'], auth, reconnection: false, forceNew: true });
        ctx.held.push(socket);
        return handshakeOf(socket);
      };
      const token = { token: ctx.a.therapist.token, protocol: PROTOCOL_VERSION };
      return {
        root: await at('/', {}),
        rootWithToken: await at('/', token),
        unknown: await at('/admin', token),
        onRoot: ctx.server.srs.io.of('/').sockets.size,
      };
    },
    refused: {
      root: { connectError: 'NOT_FOUND' },
      rootWithToken: { connectError: 'NOT_FOUND' },
      unknown: { connectError: 'Invalid namespace' },
      onRoot: 0,
    },
  },
  {
    name: "a reconnection loop on one token spends the session's connection budget, and no other session's",
    options: { rateLimits: { ...DEFAULT_RATE_LIMITS, sessionJoins: TIGHT.sessionJoins } },
    setup: async (ctx) => {
      await openRating(ctx, ctx.a);
    },
    attack: async (ctx) => {
      const each = [];
      for (let i = 0; i < 10; i++) each.push(await handshakeOf(ctx.server.connect(ctx.a.client.token)));
      return { each, otherSession: await handshakeOf(ctx.server.connect(ctx.b.client.token)) };
    },
    // Budget 8, one spent by the therapist: seven connect (each taking over from the last), three are refused.
    refused: { each: [...Array(7).fill({ connected: true }), ...Array(3).fill({ connectError: 'RATE_LIMITED' })], otherSession: { connected: true } },
    exhaustsJoins: true,
  },
  {
    name: "another tenant's key reads, exports and closes session A and A's client",
    options: TWO_TENANTS,
    setup: async (ctx) => {
      await openRating(ctx, ctx.a);
      ctx.stored.push(await ackOf(await joinAs(ctx, ctx.a.client.token), 'rating:submit', { submissionId: 'a-tenant-0001', marks: MARKS }));
    },
    attack: async (ctx) => ({ each: await readExportClose(ctx, OTHER_TENANT_KEY) }),
    // The 404 of what does not exist: another tenant's session or client is not confirmed.
    refused: { each: Array(5).fill({ http: 404, code: 'NOT_FOUND' }) },
  },
  {
    name: "another tenant's therapist token, of a session for the same clientRef, reads A's client (API, CSV and history:read)",
    options: TWO_TENANTS,
    setup: async (ctx) => {
      await openRating(ctx, ctx.a);
      ctx.stored.push(await ackOf(await joinAs(ctx, ctx.a.client.token), 'rating:submit', { submissionId: 'a-tenant-0002', marks: MARKS }));
      extras.set(ctx, { session: await ctx.server.createSession('client-a', {}, OTHER_TENANT_KEY) });
    },
    attack: async (ctx) => {
      const key = extraOf(ctx).session.therapist.token;
      const history = await ctx.server.api('/api/clients/client-a/results', { key });
      const csv = await (await ctx.server.api('/api/clients/client-a/results?format=csv', { key })).text();
      const therapist = await joinAs(ctx, key);
      return {
        history: { http: history.status, results: ((await history.json()) as { results: unknown[] }).results },
        csvNamesA: csv.includes(ctx.a.sessionId),
        historyRead: await raw(therapist).timeout(5000).emitWithAck('history:read', {}),
        readA: await httpOf(await ctx.server.api(`/api/sessions/${ctx.a.sessionId}`, { key })),
      };
    },
    // Its own tenant's client-a, who has no results yet: nothing of tenant A's.
    refused: { history: { http: 200, results: [] }, csvNamesA: false, historyRead: { ok: true, results: [] }, readA: { http: 403, code: 'FORBIDDEN' } },
  },
  {
    name: "the demo page's key reads, exports and closes: A, its client, and its own demo session",
    options: { demo: true },
    setup: async (ctx) => {
      const key = await demoKeyOf(ctx);
      extras.set(ctx, { key, session: await ctx.server.createSession('demo-client', {}, key) });
    },
    attack: async (ctx) => {
      const { key = '', session } = extraOf(ctx);
      return {
        each: [
          ...(await readExportClose(ctx, key)),
          await httpOf(await ctx.server.api(`/api/sessions/${session.sessionId}`, { key })),
          await httpOf(await ctx.server.api('/api/clients/demo-client/results', { key })),
          await httpOf(await ctx.server.api(`/api/sessions/${session.sessionId}/close`, { method: 'POST', key })),
        ],
        demoSession: (await ctx.server.store.getSession(session.sessionId))?.status,
      };
    },
    refused: { each: Array(8).fill({ http: 403, code: 'FORBIDDEN' }), demoSession: 'waiting' },
  },
  {
    name: 'a platform key reads, exports and closes a demo session (another tenant)',
    options: { demo: true },
    setup: async (ctx) => {
      const key = await demoKeyOf(ctx);
      extras.set(ctx, { key, session: await ctx.server.createSession('demo-client', {}, key) });
    },
    attack: async (ctx) => {
      const { session } = extraOf(ctx);
      return {
        each: [
          await httpOf(await ctx.server.api(`/api/sessions/${session.sessionId}`)),
          await httpOf(await ctx.server.api('/api/clients/demo-client/results')),
          await httpOf(await ctx.server.api('/api/clients/demo-client/results?format=fhir')),
          await httpOf(await ctx.server.api(`/api/sessions/${session.sessionId}/close`, { method: 'POST' })),
        ],
        demoSession: (await ctx.server.store.getSession(session.sessionId))?.status,
      };
    },
    refused: { each: Array(4).fill({ http: 404, code: 'NOT_FOUND' }), demoSession: 'waiting' },
  },
  {
    name: 'a key removed from the configuration, and the old key of a rotated label, over the store they wrote to',
    options: storeOfAnEarlierConfiguration,
    attack: async (ctx) => {
      const [own] = (await ctx.server.store.listAudit({ tenant: 'gone' })).map((entry) => entry.sessionId);
      const attempts = async (key: string) => [
        await httpOf(await ctx.server.api('/api/sessions', { method: 'POST', body: '{"clientRef":"client-a"}', key })),
        ...(await readExportClose(ctx, key)),
        await httpOf(await ctx.server.api(`/api/sessions/${own ?? 'missing'}`, { key })),
      ];
      return {
        removed: await attempts(REMOVED_KEY),
        rotatedOld: await attempts(ROTATED_OLD_KEY),
        ownSession: (await ctx.server.store.getSession(own ?? ''))?.status,
      };
    },
    refused: {
      removed: Array(7).fill({ http: 401, code: 'UNAUTHORIZED' }),
      rotatedOld: Array(7).fill({ http: 401, code: 'UNAUTHORIZED' }),
      ownSession: 'waiting',
    },
  },
  {
    name: 'poisoned Host and X-Forwarded-Host (session creation, OpenAPI, FHIR, reads, WebSocket upgrade)',
    options: { allowedHosts: ['127.0.0.1'], trustProxy: true },
    attack: async (ctx) => {
      const { url } = ctx.server;
      const key = { authorization: `Bearer ${TEST_API_KEY}` };
      const therapist = { authorization: `Bearer ${ctx.a.therapist.token}` };
      const each: Observed[] = [];
      const poisons: Record<string, string>[] = [
        { host: 'evil.example' },
        { host: '127.0.0.1', 'x-forwarded-host': 'evil.example' },
        { host: 'evil.example@127.0.0.1' },
      ];
      for (const poison of poisons) {
        each.push(
          rawHttpOf(
            await sendRaw(url, '/api/sessions', {
              method: 'POST',
              headers: { ...key, ...poison, 'content-type': 'application/json' },
              body: '{"clientRef":"poisoned-1"}',
            }),
          ),
          rawHttpOf(await sendRaw(url, '/api/openapi.json', { headers: poison })),
          rawHttpOf(await sendRaw(url, '/fhir/Questionnaire/srs', { headers: poison })),
          rawHttpOf(await sendRaw(url, `/api/sessions/${ctx.a.sessionId}`, { headers: { ...therapist, ...poison } })),
          rawHttpOf(await sendRaw(url, '/api/clients/client-a/results?format=fhir', { headers: { ...key, ...poison } })),
        );
      }
      const upgrade = await upgradeRaw(url, { host: 'evil.example' });
      if (upgrade.upgraded) upgrade.socket.destroy();
      return {
        each,
        upgrade: upgrade.upgraded ? 'upgraded' : { http: upgrade.status, code: (JSON.parse(upgrade.body) as { error: { code: string } }).error.code },
      };
    },
    refused: { each: Array(15).fill({ http: 421, code: 'MISDIRECTED_REQUEST' }), upgrade: { http: 421, code: 'MISDIRECTED_REQUEST' } },
  },
  {
    name: 'a webhook over plain http to another machine, or to no URL, is refused at createApp',
    attack: async (ctx) => {
      const urls = [
        'http://hooks.example/srs',
        'http://127.0.0.1.hooks.example/srs',
        'http://localhost.hooks.example/srs',
        'ws://hooks.example/srs',
        'not a url',
      ];
      const key = 'attacker-key-0123456789abcdef';
      const each: Observed[] = [];
      for (const url of urls) {
        each.push(
          await createApp({
            store: ctx.server.store,
            tokenSecret: TEST_TOKEN_SECRET,
            apiKeys: [{ label: 'attacker', key }],
            webhook: { url, secret: 'w'.repeat(40) },
          }).then(
            async (srs) => {
              await srs.close();
              return { started: true };
            },
            (error: unknown) => ({ thrown: (error as Error).name }),
          ),
        );
      }
      return { each };
    },
    refused: { each: Array(5).fill({ thrown: 'TypeError' }) },
  },
  {
    name: 'slow requests: half-sent headers, a header trickle, a body that never ends',
    options: { connectionLimits: { headersTimeoutMs: 300, requestTimeoutMs: 400, checkIntervalMs: 50 } },
    attack: async (ctx) => {
      const { url } = ctx.server;
      const connections: RawConnection[] = [];
      for (let i = 0; i < 20; i++) {
        const raw = await openRaw(url);
        raw.socket.write(`GET /api/sessions/${ctx.a.sessionId} HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
        connections.push(raw);
      }
      const unfinished = await openRaw(url);
      unfinished.socket.write(
        `POST /api/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TEST_API_KEY}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"clientRef":"slow-1"`,
      );
      connections.push(unfinished);
      const trickle = await openRaw(url);
      const header = `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ${'a'.repeat(5_000)}`;
      let sent = 0;
      const timer = setInterval(() => {
        if (!trickle.socket.destroyed) trickle.socket.write(header.charAt(sent++));
      }, 20);
      connections.push(trickle);
      const healthMeanwhile = (await fetch(`${url}/healthz`)).status;
      try {
        await within(Promise.all(connections.map((raw) => raw.closed)), 10_000, 'slow requests were not closed');
      } finally {
        clearInterval(timer);
      }
      return { answers: [...new Set(connections.map((raw) => raw.received().split('\r\n')[0]))], closed: connections.length, healthMeanwhile };
    },
    refused: { answers: ['HTTP/1.1 408 Request Timeout'], closed: 22, healthMeanwhile: 200 },
  },
  {
    name: 'WebSocket connections that never join /srs, or keep failing to',
    options: { connectionLimits: { socketJoinTimeoutMs: 300 } },
    attack: async (ctx) => {
      const open = async () => {
        const outcome = await upgradeRaw(ctx.server.url);
        if (!outcome.upgraded) throw new Error(`no upgrade: ${outcome.status}`);
        outcome.socket.on('error', () => undefined);
        return { ...outcome, closed: new Promise<void>((resolve) => outcome.socket.once('close', () => resolve())) };
      };
      const silent = await Promise.all(Array.from({ length: 10 }, open));
      const failing = await open();
      for (const token of ['', 'not-a-token', ctx.a.client.token.slice(0, -2)])
        failing.socket.write(wsTextFrame(`40${NAMESPACE},${JSON.stringify({ token, protocol: PROTOCOL_VERSION })}`));
      await within(Promise.all([...silent, failing].map((connection) => connection.closed)), 10_000, 'namespace-less connections were not closed');
      const refusals = [...failing.received().matchAll(/44\/srs,(\{[^\x00-\x1f]*?\}\})/g)].map(
        (match) => (JSON.parse(match[1] ?? '{}') as { data?: { code?: string } }).data?.code,
      );
      return { closed: silent.length + 1, refusals };
    },
    refused: { closed: 11, refusals: ['UNAUTHORIZED', 'UNAUTHORIZED', 'UNAUTHORIZED'] },
  },
];

describe('attack table', () => {
  let ctx: Ctx | undefined;

  afterEach(async () => {
    for (const socket of ctx?.held ?? []) socket.disconnect();
    await ctx?.server.close();
    ctx = undefined;
  });

  it('names every row once, so each result points at one attack', () => {
    expect(new Set(ROWS.map((row) => row.name)).size).toBe(ROWS.length);
  });

  it.each(ROWS.map((row) => [row.name, row] as const))('%s', async (_name, row) => {
    const server = await startTestServer(typeof row.options === 'function' ? await row.options() : row.options);
    ctx = { server, a: await server.createSession('client-a'), b: await server.createSession('client-b'), held: [], stored: [] };
    await row.setup?.(ctx);
    for (const stored of ctx.stored) expect(stored, 'the legitimate setup succeeded').not.toMatchObject({ ok: false });
    const watch = row.watch ?? ['a', 'b'];
    const withMarks = !row.movesLiveMarks && !row.exhaustsJoins;
    const before = await snapshot(ctx, watch, withMarks);

    const observed = await row.attack(ctx);

    expect(observed).toEqual(row.refused);
    expect(await snapshot(ctx, watch, withMarks)).toEqual(before);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true });
  });
});

/** A hand-made request's answer in the shape of httpOf. */
function rawHttpOf(response: RawResponse): Observed {
  const body = JSON.parse(response.body) as { error?: { code?: unknown } };
  return { http: response.status, code: body.error?.code };
}
