/**
 * Fuzzing srs-live from the outside with fast-check: every socket event (from the client and the
 * therapist, with and without an ack, with too few and too many arguments), raw socket.io packets,
 * and every HTTP route and body. `SRS_FUZZ_RUNS` sets the total number of cases (default 10,000).
 *
 * Each live case is checked against what the protocol says the answer must be. HTTP answers are
 * held to invariants true of every input: never a 5xx, a 2xx exactly when the documented rules
 * allow the request (for POST /api/sessions: a platform key and a body the server's own schema
 * accepts), every API error JSON with the code of its status, nothing cached, no stack traces.
 * Throughout:
 * the server stays up (/healthz answers 200 during and after), never answers an invalid payload
 * with ok: true, never sends a message that breaks its own schemas, never relays an invalid mark,
 * never fails with an internal error, stores only valid results (scored as scoreRating scores
 * them, at most one per session), and never creates a session with an invalid clientRef.
 */
import { parse as parseQuery } from 'node:querystring';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SRS_ITEM_IDS } from '../shared/instruments.ts';
import { ERROR_CODES, type CreateSessionResponse, type ErrorCode, type Result, type Role } from '../shared/protocol.ts';
import {
  CreateSessionBodySchema,
  EmptyPayloadSchema,
  MarkMoveSchema,
  PresenceSchema,
  PseudonymousRefSchema,
  RatingActivitySchema,
  RatingSubmitSchema,
  ResultSchema,
  SessionStateSchema,
  VisibilityChangeSchema,
} from '../shared/schemas.ts';
import { isValidMm, scoreRating } from '../shared/scoring.ts';
import {
  anyValue,
  huge,
  KNOWN_EVENTS,
  onTheWire,
  PROTO_KEYS,
  targetedEmission,
  anythingEmission,
  trickyKey,
  withExtraKeys,
  type Emission,
} from './fuzz-arbitraries.ts';
import { HTTP_ERRORS } from './http/errors.ts';
import { memoryLogger } from './testing/memory-logger.ts';
import { sendRaw } from './testing/raw-http.ts';
import { startTestServer, TEST_API_KEY, TEST_TOKEN_SECRET, type TestServer, type TestSocket } from './testing/test-server.ts';
import { TokenSigner } from './tokens.ts';

const TOTAL = Number(process.env['SRS_FUZZ_RUNS'] ?? 10_000);
const SHARES = { socketAnything: 0.28, socketTargeted: 0.32, rawPackets: 0.05, httpBodies: 0.17, httpRoutes: 0.18 } as const;
const runsOf = (share: number) => Math.max(1, Math.round(TOTAL * share));
/** Generous: a case takes about a millisecond; the limit only catches a hang. */
const TIMEOUT = Math.max(60_000, TOTAL * 20);
const HEALTH_EVERY = 250;
const MAX_MESSAGE = 4 * 1024;
/** Limits far above what the fuzzer sends, so that every payload reaches its validation. */
const OPEN_LIMITS = {
  marks: { capacity: 1e9, perSecond: 1e9 },
  requests: { capacity: 1e9, perSecond: 1e9 },
  sessionRequests: { capacity: 1e9, perSecond: 1e9 },
  sessionJoins: { capacity: 1e9, perSecond: 1e9 },
  http: { capacity: 1e9, perSecond: 1e9 },
};

const counts: Record<string, number> = {};
/** The servers log only what they could not handle (at error level); under fuzzing that is a finding. */
const serverLog = memoryLogger('error');
const internalErrors = (): string[] => serverLog.lines().map((line) => `${String(line['event'])}: ${JSON.stringify(line['err'] ?? line['msg'])}`);
let startedAt = 0;

function count(kind: string): void {
  counts[kind] = (counts[kind] ?? 0) + 1;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const codes: ReadonlySet<string> = new Set(Object.values(ERROR_CODES));
const KNOWN: ReadonlySet<string> = new Set(KNOWN_EVENTS);

async function expectHealthy(server: TestServer): Promise<void> {
  const response = await fetch(`${server.url}/healthz`);
  expect(response.status).toBe(200);
}

/** Checks a stored or acknowledged result against the rules: valid, scored by scoreRating. */
function expectSoundResult(value: unknown, sessionId?: string): Result {
  const result = ResultSchema.parse(value);
  if (sessionId !== undefined) expect(result.sessionId).toBe(sessionId);
  expect(result.items.map((item) => item.id)).toEqual([...SRS_ITEM_IDS]);
  const marks = Object.fromEntries(result.items.map((item) => [item.id, item.mm])) as Record<(typeof SRS_ITEM_IDS)[number], number>;
  for (const mm of Object.values(marks)) expect(isValidMm(mm)).toBe(true);
  const score = scoreRating(marks);
  expect({ totalMm: result.totalMm, band: result.band, flagged: result.flagged }).toEqual({
    totalMm: score.totalMm,
    band: score.band,
    flagged: [...score.flagged],
  });
  expect(result.totalMm).toBe(result.items.reduce((sum, item) => sum + item.mm, 0));
  return result;
}

/** Every stored result is sound, at most one per session, every submissionId once. */
async function expectSoundStore(server: TestServer, sessionIds: Iterable<string>): Promise<number> {
  const seen = new Set<string>();
  let stored = 0;
  for (const sessionId of sessionIds) {
    const result = await server.store.getResult(sessionId);
    if (!result) continue;
    stored += 1;
    expectSoundResult(result, sessionId);
    expect(seen.has(result.submissionId), `submissionId ${result.submissionId} stored twice`).toBe(false);
    seen.add(result.submissionId);
    const session = await server.store.getSession(sessionId);
    if (!session) throw new Error(`a result for an unknown session ${sessionId}`);
    const ofClient = (await server.store.listClientResults(session.tenant, session.clientRef)).filter((other) => other.sessionId === sessionId);
    expect(ofClient).toHaveLength(1);
  }
  return stored;
}

// ——— The live protocol ———

const SERVER_EVENTS: Readonly<Record<string, z.ZodType>> = {
  'session:state': SessionStateSchema,
  'mark:moved': MarkMoveSchema,
  'rating:submitted': z.strictObject({ result: ResultSchema }),
  presence: PresenceSchema,
  'rating:activity': RatingActivitySchema,
  'srs:error': z.strictObject({ code: z.enum(Object.values(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]), message: z.string().min(1) }),
};

const AckSchema = z.union([
  z.looseObject({ ok: z.literal(true) }),
  z.strictObject({ ok: z.literal(false), error: z.strictObject({ code: z.string().refine((code) => codes.has(code)), message: z.string().min(1) }) }),
]);

type Verdict = { readonly refused: ErrorCode } | { readonly valid: unknown };

/** What the protocol says of an event from a role with a payload, before the session's state matters. */
function verdictOf(event: string, role: Role, payload: unknown): Verdict {
  const check = (schema: z.ZodType): Verdict => {
    const parsed = schema.safeParse(payload);
    return parsed.success ? { valid: parsed.data } : { refused: ERROR_CODES.invalidPayload };
  };
  switch (event) {
    case 'mark:move':
      return role === 'client' ? check(MarkMoveSchema) : { refused: ERROR_CODES.forbidden };
    case 'rating:submit':
      return check(RatingSubmitSchema);
    case 'rating:start':
    case 'rating:withdraw':
    case 'history:read':
      return role === 'therapist' ? check(EmptyPayloadSchema) : { refused: ERROR_CODES.forbidden };
    case 'rating:visibility':
      return role === 'client' ? check(VisibilityChangeSchema) : { refused: ERROR_CODES.forbidden };
    default:
      return { refused: ERROR_CODES.unknownEvent };
  }
}

type Outcome =
  | { readonly kind: 'ack'; readonly response: unknown }
  | { readonly kind: 'barrier' }
  | { readonly kind: 'closed'; readonly reason: string }
  | { readonly kind: 'silent' }
  | { readonly kind: 'unsent' };

interface RawEmitter {
  emit(event: string, ...args: unknown[]): unknown;
}

/** What this test knows of the current session; `null` fields are unknown (a request without an ack changed them). */
interface Tracker {
  status: 'waiting' | 'open' | 'submitted' | null;
  result: Result | null | undefined;
  visibility: 'live' | 'on-submit' | null;
}

class Peer {
  socket: TestSocket | null = null;
  readonly errors: string[] = [];
  retired = false;

  constructor(
    private readonly arena: LiveArena,
    readonly role: Role,
    readonly token: string,
    readonly sessionId: string,
  ) {}

  async connect(): Promise<void> {
    const socket = this.arena.server.connect(this.token);
    // Listen before the first packet can arrive: session:state follows the handshake at once.
    socket.onAny((event: string, ...args: unknown[]) => this.arena.received(this, event, args));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    this.socket = socket;
  }

  async ready(): Promise<TestSocket> {
    if (!this.socket?.connected) {
      this.socket?.disconnect();
      count('reconnects');
      await this.connect();
    }
    return this.socket as TestSocket;
  }

  retire(): void {
    this.retired = true;
    this.socket?.disconnect();
  }
}

class LiveArena {
  readonly violations: string[] = [];
  readonly sessionIds = new Set<string>();
  /** Submission ids worth replaying: earlier ones of this run and the bystander's. */
  readonly reused: string[] = ['fuzz-replay-0001', 'fuzz-replay-0002'];
  /** Valid marks the client sent in the current session: the only ones the therapist may see. */
  readonly sentMarks = new Set<string>();
  client!: Peer;
  therapist!: Peer;
  tracker: Tracker = { status: 'waiting', result: null, visibility: 'live' };
  private casesInSession = 0;
  private cases = 0;

  private constructor(readonly server: TestServer) {}

  static async start(): Promise<LiveArena> {
    const arena = new LiveArena(await startTestServer({ rateLimits: OPEN_LIMITS, logger: serverLog.logger }));
    // A bystander session with a stored result: its id and submissionId are fair game for attacks.
    const bystander = await arena.server.createSession('fuzz-bystander');
    arena.sessionIds.add(bystander.sessionId);
    const therapist = await arena.server.startRating(bystander);
    const client = await arena.server.join(bystander.client.token);
    const ack = await client.emitWithAck('rating:submit', {
      submissionId: 'fuzz-bystander-0001',
      marks: { relationship: 10, goals: 20, approach: 30, overall: 40 },
    });
    if (!ack.ok) throw new Error('the bystander could not submit');
    arena.reused.push('fuzz-bystander-0001');
    client.disconnect();
    therapist.disconnect();
    await arena.rotate();
    return arena;
  }

  /** A fresh session with a fresh client and therapist; half of them with the rating started. */
  async rotate(): Promise<void> {
    this.client?.retire();
    this.therapist?.retire();
    const session: CreateSessionResponse = await this.server.createSession(`fuzz-client-${this.sessionIds.size}`);
    this.sessionIds.add(session.sessionId);
    this.client = new Peer(this, 'client', session.client.token, session.sessionId);
    this.therapist = new Peer(this, 'therapist', session.therapist.token, session.sessionId);
    await Promise.all([this.client.connect(), this.therapist.connect()]);
    this.sentMarks.clear();
    this.tracker = { status: 'waiting', result: null, visibility: 'live' };
    if (this.sessionIds.size % 2 === 0) {
      const ack = await (this.therapist.socket as TestSocket).emitWithAck('rating:start', {});
      if (!ack.ok) throw new Error('the rating could not be started');
      this.tracker.status = 'open';
    }
    this.casesInSession = 0;
  }

  get sessionId(): string {
    return this.client.sessionId;
  }

  received(peer: Peer, event: string, args: readonly unknown[]): void {
    if (peer.retired) return;
    const schema = SERVER_EVENTS[event];
    const where = `${peer.role} got ${event}`;
    if (!schema) return void this.violations.push(`${where}: not an event of the protocol`);
    // With connection state recovery, every packet carries its offset as a last, string argument.
    if (args.length !== 1 && !(args.length === 2 && typeof args[1] === 'string')) return void this.violations.push(`${where} with ${args.length} arguments`);
    const parsed = schema.safeParse(args[0]);
    if (!parsed.success) return void this.violations.push(`${where} that breaks its schema: ${JSON.stringify(args[0]).slice(0, 300)}`);
    const payload = args[0] as Record<string, unknown>;
    if (event === 'srs:error') peer.errors.push(String(payload['code']));
    if (event === 'session:state' && payload['sessionId'] !== peer.sessionId) this.violations.push(`${where} of another session`);
    if (event === 'mark:moved') {
      if (peer.role !== 'therapist') this.violations.push(`${where}: marks go to the therapist only`);
      if (!this.sentMarks.has(`${String(payload['item'])}:${String(payload['mm'])}`))
        this.violations.push(`${where} ${JSON.stringify(payload)}, which the client never validly sent`);
    }
  }

  private fail(emission: Emission, message: string): void {
    this.violations.push(`${message}\n  emission: ${describeEmission(emission)}`);
  }

  async run(emission: Emission): Promise<void> {
    this.cases += 1;
    this.casesInSession += 1;
    if (this.casesInSession > 120 || (this.tracker.result && this.casesInSession > 40)) await this.rotate();
    if (this.cases % HEALTH_EVERY === 0) await expectHealthy(this.server);

    const peer = emission.role === 'client' ? this.client : this.therapist;
    const socket = await peer.ready();
    const args = emission.arity === 'none' ? [] : emission.arity === 'extra' ? [emission.payload, emission.extra] : [emission.payload];
    let wire: ReturnType<typeof onTheWire>;
    try {
      wire = onTheWire(emission.event, args);
    } catch {
      // socket.io-client cannot encode it either (e.g. an own "__proto__" key set to a Date, next to
      // binary, becomes the prototype of its copy): nothing of it could reach the server.
      count('not sendable');
      return;
    }
    const ackId = 6; // up to six digits of ack id
    const tooBig = wire.textBytes > MAX_MESSAGE || wire.binaryBytes.some((bytes) => bytes > MAX_MESSAGE);
    const fits = wire.textBytes + ackId <= MAX_MESSAGE && wire.binaryBytes.every((bytes) => bytes <= MAX_MESSAGE);
    const payload = wire.args[0];
    const verdict = verdictOf(emission.event, emission.role, payload);
    const acked = emission.ack && emission.event !== 'mark:move';
    const standard = emission.arity === 'standard';
    if ('valid' in verdict && emission.event === 'mark:move') {
      const mark = verdict.valid as { item: string; mm: number };
      this.sentMarks.add(`${mark.item}:${mark.mm}`);
    }

    peer.errors.length = 0;
    const outcome = await this.send(socket, emission, args, acked);
    count(acked ? 'acked' : 'unacked');

    if (outcome.kind === 'unsent') return;
    if (outcome.kind === 'closed') {
      count('closed by the server');
      // Over the limit, or undecodable: closing is the answer. Within a few bytes of it: either is fine.
      if (fits && !wire.undecodable) this.fail(emission, `the server closed the connection (${outcome.reason}) on a message of ${wire.textBytes} bytes`);
      return;
    }
    if (tooBig) return this.fail(emission, `a message of ${wire.textBytes} bytes (binary ${wire.binaryBytes.join(', ')}) over the 4 KB limit was processed`);
    if (wire.undecodable) return this.fail(emission, 'an undecodable packet was processed');
    if (outcome.kind === 'silent') return this.fail(emission, 'no answer within 5 s');

    if (outcome.kind === 'ack') {
      const ack = AckSchema.safeParse(outcome.response);
      if (!ack.success) return this.fail(emission, `a malformed ack ${JSON.stringify(outcome.response)}`);
      const response = outcome.response as { ok: boolean; error?: { code: ErrorCode }; result?: unknown; results?: unknown };
      // Unknown events are refused whatever their arguments; known ones need (payload, ack).
      const expected: Verdict = !KNOWN.has(emission.event)
        ? { refused: ERROR_CODES.unknownEvent }
        : standard
          ? verdict
          : { refused: ERROR_CODES.invalidPayload };
      if ('refused' in expected) {
        if (response.ok || response.error?.code !== expected.refused) {
          return this.fail(emission, `expected ${expected.refused}, got ${JSON.stringify(response).slice(0, 300)}`);
        }
        count('refused');
        return;
      }
      await this.judgeValid(emission, expected.valid, response);
      return;
    }

    // No ack to answer through: refusals come as srs:error, and only mark:move and unknown events draw one.
    const errors = [...peer.errors];
    const allowed = this.allowedEventErrors(emission, verdict);
    if (!allowed.some((option) => JSON.stringify(option) === JSON.stringify(errors))) {
      return this.fail(emission, `srs:error ${JSON.stringify(errors)}, expected one of ${JSON.stringify(allowed)}`);
    }
    if (KNOWN.has(emission.event) && emission.event !== 'mark:move' && 'valid' in verdict && emission.event !== 'history:read') {
      // It may have changed the session, and nothing tells us when: forget what we knew.
      if (emission.event === 'rating:visibility') this.tracker.visibility = null;
      else if (emission.event === 'rating:submit') this.tracker = { status: null, result: undefined, visibility: this.tracker.visibility };
      // A start or withdrawal changes nothing once a result is stored; before that, the status is anyone's guess.
      else if (!this.tracker.result) this.tracker.status = null;
    }
    count(errors.length > 0 ? 'refused' : 'accepted');
  }

  private allowedEventErrors(emission: Emission, verdict: Verdict): string[][] {
    if (!KNOWN.has(emission.event)) return [[ERROR_CODES.unknownEvent]];
    if (emission.event !== 'mark:move') return [[]];
    if ('refused' in verdict) return [[verdict.refused]];
    const { status, result } = this.tracker;
    if (result) return [[ERROR_CODES.alreadySubmitted]];
    if (result === null && status === 'open') return [[]];
    if (result === null && status === 'waiting') return [[ERROR_CODES.notOpen]];
    return [[], [ERROR_CODES.notOpen], [ERROR_CODES.alreadySubmitted]];
  }

  /** An accepted (valid) request: the answer must fit what the store and this test know. */
  private async judgeValid(
    emission: Emission,
    payload: unknown,
    response: { ok: boolean; error?: { code: ErrorCode }; result?: unknown; results?: unknown },
  ): Promise<void> {
    const { store } = this.server;
    const stored = await store.getResult(this.sessionId);
    const code = response.ok ? 'ok' : (response.error?.code as string);
    count(response.ok ? 'accepted' : 'refused');
    const wrong = (why: string) =>
      this.fail(emission, `${why}: ${JSON.stringify(response).slice(0, 300)} (knew ${JSON.stringify(this.tracker).slice(0, 200)})`);
    const known = this.tracker.result !== undefined && this.tracker.status !== null;

    switch (emission.event) {
      case 'rating:submit': {
        const submit = payload as { submissionId: string; marks: Record<string, number> };
        if (code === 'ok') {
          // Durable before the ack, and exactly what was acknowledged.
          if (!isDeepStrictEqual(stored, response.result)) return wrong('the ack does not carry the stored result');
          const result = expectSoundResult(response.result, this.sessionId);
          if (result.submissionId !== submit.submissionId) return wrong('ok with another submission');
          if (known && this.tracker.result === null) {
            if (
              JSON.stringify(Object.fromEntries(result.items.map((item) => [item.id, item.mm]))) !==
              JSON.stringify(Object.fromEntries(SRS_ITEM_IDS.map((id) => [id, submit.marks[id]])))
            ) {
              return wrong('the stored marks are not the submitted ones');
            }
            if (result.enteredBy !== emission.role) return wrong('enteredBy is not the submitter');
            if (this.tracker.status === 'waiting' && emission.role === 'client') return wrong('a client submitted a rating that was not started');
          }
          if (known && this.tracker.result && this.tracker.result.submissionId !== submit.submissionId) return wrong('a second submission accepted');
          this.tracker = { status: 'submitted', result, visibility: this.tracker.visibility };
          if (!this.reused.includes(result.submissionId)) this.reused.push(result.submissionId);
          return;
        }
        if (code === ERROR_CODES.alreadySubmitted) {
          if (!stored || stored.submissionId === submit.submissionId) return wrong('ALREADY_SUBMITTED without another stored submission');
          this.tracker = { status: 'submitted', result: stored, visibility: this.tracker.visibility };
          return;
        }
        if (code === ERROR_CODES.invalidPayload) {
          // A valid payload is refused only when its submissionId is another session's.
          for (const other of this.sessionIds) {
            if (other !== this.sessionId && (await store.getResult(other))?.submissionId === submit.submissionId) return;
          }
          return wrong('a valid submission refused as invalid');
        }
        if (code === ERROR_CODES.notOpen) {
          if (emission.role !== 'client' || this.tracker.status === 'open' || (known && stored)) return wrong('RATING_NOT_OPEN for a rating that is open');
          return;
        }
        return wrong('an unexpected refusal');
      }
      case 'rating:start':
      case 'rating:withdraw': {
        if (code === 'ok') {
          if (known && this.tracker.result) return wrong('started or withdrew a submitted rating');
          this.tracker.status = emission.event === 'rating:start' ? 'open' : 'waiting';
          return;
        }
        if (code === ERROR_CODES.alreadySubmitted) {
          if (!stored) return wrong('ALREADY_SUBMITTED without a stored result');
          this.tracker = { status: 'submitted', result: stored, visibility: this.tracker.visibility };
          return;
        }
        return wrong('an unexpected refusal');
      }
      case 'rating:visibility': {
        if (code !== 'ok') return wrong('a valid visibility change refused');
        this.tracker.visibility = (payload as { visibility: 'live' | 'on-submit' }).visibility;
        return;
      }
      case 'history:read': {
        if (code !== 'ok' || !Array.isArray(response.results)) return wrong('a valid history read refused');
        for (const result of response.results) expectSoundResult(result);
        const session = await store.getSession(this.sessionId);
        const ofClient = session ? await store.listClientResults(session.tenant, session.clientRef) : [];
        if (known && !isDeepStrictEqual(ofClient, response.results)) return wrong("the history is not the client's stored results");
        return;
      }
      default:
        return wrong('an answer to an event that has none');
    }
  }

  private send(socket: TestSocket, emission: Emission, args: readonly unknown[], acked: boolean): Promise<Outcome> {
    const emitter = socket as unknown as RawEmitter;
    return new Promise<Outcome>((resolve) => {
      let settled = false;
      const finish = (outcome: Outcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.off('disconnect', onClose);
        resolve(outcome);
      };
      const onClose = (reason: string) => finish({ kind: 'closed', reason });
      const timer = setTimeout(() => finish({ kind: 'silent' }), 5000);
      socket.on('disconnect', onClose);
      try {
        if (acked) {
          emitter.emit(emission.event, ...args, (response: unknown) => finish({ kind: 'ack', response }));
          return;
        }
        if (emission.ack) emitter.emit(emission.event, ...args, () => this.fail(emission, 'mark:move was acknowledged'));
        else emitter.emit(emission.event, ...args);
        // Packets are handled in order: once this is answered, the emission has drawn its srs:error, if any.
        emitter.emit('fuzz:barrier', {}, () => finish({ kind: 'barrier' }));
      } catch {
        // socket.io-client itself could not encode it: nothing reached the server.
        count('not sendable');
        finish({ kind: 'unsent' });
      }
    });
  }

  async close(): Promise<void> {
    this.client.retire();
    this.therapist.retire();
    await this.server.close();
  }
}

function preview(value: unknown): string {
  try {
    const text = JSON.stringify(value, (_key, inner: unknown) => (ArrayBuffer.isView(inner) ? `<${inner.constructor.name} ${inner.byteLength}>` : inner));
    return text === undefined ? String(value) : text.length > 400 ? `${text.slice(0, 400)}… (${text.length} chars)` : text;
  } catch {
    return String(value);
  }
}

function describeEmission(emission: Emission): string {
  return `${emission.role} ${JSON.stringify(emission.event.slice(0, 60))} ${emission.arity}${emission.ack ? ' +ack' : ''} ${preview(emission.payload)}`;
}

// ——— Raw socket.io packets ———

/** Packets socket.io-client would never send: malformed, for other namespaces, claiming attachments, forged acks. */
function rawPacket(sessionIds: readonly string[]): fc.Arbitrary<string> {
  const json = fc.oneof(
    fc.json({ maxDepth: 3 }),
    fc.constantFrom(
      '["mark:move",{"item":"goals","mm":5}]',
      '["rating:submit",{"_placeholder":true,"num":0}]',
      '["error",{}]',
      '[1,2]',
      '[null]',
      '{"a":1}',
      '[]',
      '"x"',
      '["__proto__"]',
    ),
  );
  const namespace = fc.constantFrom('/srs,', '', '/,', '/other,', '/srs', '/SRS,');
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .tuple(
          fc.constantFrom('2', '3', '5', '6', '0', '1', '4', '9', ''),
          fc.oneof(fc.constant(''), fc.constantFrom('1-', '0-', '2-', '99-')),
          namespace,
          fc.oneof(fc.constant(''), fc.nat({ max: 1e6 }).map(String)),
          json,
        )
        .map((parts) => parts.join('')),
    },
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 1, arbitrary: fc.constantFrom(...sessionIds).map((id) => `0/srs,{"token":"x","protocol":1,"sessionId":"${id}"}`) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '2/srs,["mark:move",',
        '2/srs,123',
        '2/srs,["x"]garbage',
        '2/srs,1e999["x"]',
        '51-/srs,["mark:move",{"_placeholder":true,"num":0}]',
        '3/srs,0[]',
        '1/srs,',
        '2/srs,-1["x"]',
      ),
    },
  );
}

interface EngineSender {
  send(message: string): void;
}

// ——— HTTP ———

type KeyKind = 'platform' | 'none' | 'wrong' | 'client' | 'therapist' | 'other-therapist' | 'closed-therapist' | 'forged' | 'expired';

interface HttpWorld {
  readonly server: TestServer;
  readonly main: CreateSessionResponse;
  readonly other: CreateSessionResponse;
  readonly closable: CreateSessionResponse;
  readonly keys: Readonly<Record<KeyKind, string | null>>;
  readonly sessions: Map<string, string>;
  closed: Set<string>;
  created: number;
}

type Caller = { kind: 'refused' } | { kind: 'platform' } | { kind: 'token'; role: Role; sid: string };

function callerOf(world: HttpWorld, key: KeyKind): Caller {
  const token = (role: Role, sid: string): Caller => (world.closed.has(sid) ? { kind: 'refused' } : { kind: 'token', role, sid });
  switch (key) {
    case 'platform':
      return { kind: 'platform' };
    case 'client':
      return token('client', world.main.sessionId);
    case 'therapist':
      return token('therapist', world.main.sessionId);
    case 'other-therapist':
      return token('therapist', world.other.sessionId);
    case 'closed-therapist':
      return token('therapist', world.closable.sessionId);
    default:
      return { kind: 'refused' };
  }
}

const keyKind = fc.constantFrom<KeyKind>(
  'platform',
  'platform',
  'platform',
  'platform',
  'platform',
  'platform',
  'platform',
  'none',
  'wrong',
  'client',
  'therapist',
  'other-therapist',
  'closed-therapist',
  'forged',
  'expired',
);

/** A path segment: encoded ids and refs of every sort, or raw percent sequences. */
function segment(known: readonly string[]): fc.Arbitrary<{ raw: string; decoded: string | null }> {
  const encoded = fc
    .oneof(
      fc.constantFrom(...known),
      fc.uuid(),
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.string({ unit: 'grapheme-ascii', maxLength: 140 }),
      fc.stringMatching(/^[A-Za-z0-9._:-]{1,130}$/),
      fc.constantFrom('__proto__', 'constructor', 'prototype', 'a/b', 'a?b', 'a#b', 'jane@example.org', 'x'.repeat(300), ' ', '\u0000'),
    )
    .filter((value) => value !== '.' && value !== '..')
    .map((value) => ({ raw: encodeURIComponent(value), decoded: value }));
  const percent = fc.constantFrom('%', '%zz', '%E0%A4%A', '%C3%28', '%FF', 'a%', '%%').map((raw) => ({ raw, decoded: null }));
  return fc.oneof({ weight: 9, arbitrary: encoded }, { weight: 1, arbitrary: percent });
}

const formatQuery = fc.oneof(
  fc.constant(''),
  fc.constantFrom('json', 'csv', 'fhir', '', 'CSV', 'xml', 'csv ', 'fhir\u0000', '__proto__').map((format) => `?format=${encodeURIComponent(format)}`),
  fc.constantFrom('?format=csv&format=fhir', '?format', '?format[]=csv', '?x=1', '?format=csv&x=%', '?format=%E0'),
  fc.string({ maxLength: 10 }).map((format) => `?format=${encodeURIComponent(format)}`),
);

interface HttpCase {
  readonly route: 'session' | 'close' | 'results' | 'create' | 'any';
  readonly method: string;
  readonly path: string;
  readonly key: KeyKind;
  readonly body?: string;
  readonly contentType?: string | undefined;
  /**
   * Whether the API must accept the request (answer 2xx), by the documented rules: who may call
   * the route and what a valid request is. Any other request must be refused with a 4xx. Null
   * where no rule decides (random paths): only the invariants of every answer apply.
   */
  readonly acceptable: (world: HttpWorld) => boolean | null;
}

/**
 * The documented rules for a POST /api/sessions body: JSON in UTF-8 (the harness sends a body
 * without a content type as JSON), at most 16 kB, that the server's own CreateSessionBodySchema
 * accepts. A byte order mark is not part of the text.
 */
function validCreateBody(body: string, contentType = 'application/json'): boolean {
  if (!/^application\/json\s*(;|$)/i.test(contentType)) return false;
  const charset = /;\s*charset=([^;]*)/i.exec(contentType)?.[1]?.trim();
  if (charset !== undefined && charset.toLowerCase() !== 'utf-8') return false;
  if (Buffer.byteLength(body) > 16 * 1024) return false;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.replace(/^\uFEFF/, ''));
  } catch {
    return false;
  }
  return CreateSessionBodySchema.safeParse(parsed).success;
}

function routeCase(world: HttpWorld): fc.Arbitrary<HttpCase> {
  const known = [...world.sessions.keys()];
  const refs = [...new Set(world.sessions.values())];
  const session = fc.tuple(segment(known), keyKind).map(
    ([id, key]): HttpCase => ({
      route: 'session',
      method: 'GET',
      path: `/api/sessions/${id.raw}`,
      key,
      acceptable: (w) => {
        if (!id.decoded) return false;
        const caller = callerOf(w, key);
        if (caller.kind === 'refused') return false;
        // A therapist reads its own session; the platform any session of its tenant.
        if (caller.kind === 'token') return caller.role === 'therapist' && caller.sid === id.decoded;
        return w.sessions.has(id.decoded);
      },
    }),
  );
  const close = fc.tuple(fc.oneof(segment([world.closable.sessionId]), fc.constant({ raw: 'no-such-session', decoded: 'no-such-session' })), keyKind).map(
    ([id, key]): HttpCase => ({
      route: 'close',
      method: 'POST',
      path: `/api/sessions/${id.raw}/close`,
      key,
      // Only the platform closes a session, and only one that exists.
      acceptable: (w) => !!id.decoded && callerOf(w, key).kind === 'platform' && w.sessions.has(id.decoded),
    }),
  );
  const results = fc.tuple(segment(refs), formatQuery, keyKind).map(
    ([ref, query, key]): HttpCase => ({
      route: 'results',
      method: 'GET',
      path: `/api/clients/${ref.raw}/results${query}`,
      key,
      acceptable: (w) => {
        if (!ref.decoded || !PseudonymousRefSchema.safeParse(ref.decoded).success) return false;
        const caller = callerOf(w, key);
        if (caller.kind === 'refused') return false;
        // A therapist reads the results of its own session's client only.
        if (caller.kind === 'token' && (caller.role !== 'therapist' || w.sessions.get(caller.sid) !== ref.decoded)) return false;
        const format = parseQuery(query.replace(/^\?/, ''))['format'];
        if (format !== undefined && !(typeof format === 'string' && ['json', 'csv', 'fhir'].includes(format))) return false;
        // A clientRef is a client of the tenant once the tenant has had a session for it.
        return [...w.sessions.values()].includes(ref.decoded);
      },
    }),
  );
  const random = fc
    .tuple(
      fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD'),
      fc.oneof(
        fc.webPath(),
        fc
          .array(fc.constantFrom('api', 'sessions', 'clients', 'results', 'close', 'widget', 'fhir', 'healthz', known[0] ?? 'x', '%', '__proto__', '..'), {
            maxLength: 5,
          })
          .map((parts) => `/${parts.join('/')}`),
      ),
      keyKind,
    )
    .map(([method, path, key]): HttpCase => ({ route: 'any', method, path: path.startsWith('/') ? path : `/${path}`, key, acceptable: () => null }));
  return fc.oneof(session, close, results, random);
}

function bodyCase(): fc.Arbitrary<HttpCase> {
  const ref = fc.oneof(
    { weight: 4, arbitrary: fc.stringMatching(/^[A-Za-z0-9._:-]{1,20}$/) },
    {
      weight: 2,
      arbitrary: fc.oneof(
        fc.string({ maxLength: 20 }),
        fc.constantFrom('jane@example.org', 'Jane Doe', '', 'x'.repeat(129), 'a'.repeat(128), ...PROTO_KEYS, 'ok\n', 'a/b'),
      ),
    },
    { weight: 1, arbitrary: anyValue },
  );
  const createBody = fc.record(
    {
      clientRef: ref,
      therapistRef: ref,
      instrument: fc.oneof(fc.constant('srs'), fc.constantFrom('SRS', 'ors', '', null, 1)),
      tokenTtlSeconds: fc.oneof(fc.integer({ min: 60, max: 604_800 }), fc.constantFrom(59, 604_801, 0, -1, 60.5, Number.NaN, '3600', null), fc.integer()),
    },
    { requiredKeys: ['clientRef'] },
  );
  const validBody = fc.record(
    {
      clientRef: fc.stringMatching(/^[A-Za-z0-9._:-]{1,40}$/),
      therapistRef: fc.stringMatching(/^[A-Za-z0-9._:-]{1,40}$/),
      instrument: fc.constant('srs'),
      tokenTtlSeconds: fc.integer({ min: 60, max: 604_800 }),
    },
    { requiredKeys: ['clientRef'] },
  );
  const json = fc.oneof(
    { weight: 3, arbitrary: validBody.map((body) => JSON.stringify(body)) },
    { weight: 5, arbitrary: createBody.map((body) => JSON.stringify(body)) },
    { weight: 2, arbitrary: withExtraKeys(createBody).map((body) => JSON.stringify(body)) },
    { weight: 2, arbitrary: anyValue.map((value) => JSON.stringify(value) ?? '') },
    { weight: 1, arbitrary: fc.tuple(createBody, huge).map(([body, pad]) => JSON.stringify({ ...body, pad })) },
    { weight: 1, arbitrary: fc.integer({ min: 16_300, max: 16_500 }).map((size) => `{"clientRef":"big"${' '.repeat(size - 19)}}`) },
    {
      weight: 1,
      arbitrary: fc.tuple(createBody, fc.nat()).map(([body, cut]) => {
        const text = JSON.stringify(body);
        return text.slice(0, cut % Math.max(1, text.length));
      }),
    },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc.string({ maxLength: 30 }),
        fc.constantFrom(
          '\uFEFF{"clientRef":"bom-1"}',
          ' \n{"clientRef":"ws-1"}',
          '{"clientRef":"dup","clientRef":"dup@x"}',
          '[{"clientRef":"arr"}]',
          'null',
          '"x"',
          '{}',
          '',
        ),
      ),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(trickyKey, anyValue).map(([key, value]) => `{"clientRef":"proto-ok",${JSON.stringify(key)}:${JSON.stringify(value) ?? 'null'}}`),
    },
  );
  const contentType = fc.constantFrom<string | undefined>(
    'application/json',
    'application/json',
    'application/json; charset=utf-8',
    'text/plain',
    undefined,
    'application/json; charset=latin1',
    'application/x-www-form-urlencoded',
  );
  return fc.tuple(json, contentType, keyKind).map(
    ([body, type, key]): HttpCase => ({
      route: 'create',
      method: 'POST',
      path: '/api/sessions',
      key,
      body,
      contentType: type,
      // Created exactly when a platform key sends a valid body.
      acceptable: (w) => callerOf(w, key).kind === 'platform' && validCreateBody(body, type),
    }),
  );
}

/** A stack frame (`    at fn (file:1:2)`) or a path into the server's own files. */
const LEAKED_INTERNALS = /^\s+at .+:\d+:\d+\)?$|node:internal|\/server\/[\w/-]+\.ts/m;

/** What the routes answer: 200, 201, or one of the API's documented client errors. */
const API_STATUSES = [
  200,
  201,
  ...Object.values(HTTP_ERRORS)
    .map((error) => error.status)
    .filter((status) => status < 500),
];

async function runHttpCase(world: HttpWorld, test: HttpCase): Promise<void> {
  const acceptable = test.acceptable(world);
  const headers: Record<string, string> = {};
  if (test.contentType !== undefined) headers['content-type'] = test.contentType;
  const key = world.keys[test.key];
  const response = await world.server.api(test.path, {
    method: test.method,
    key,
    headers,
    ...(test.body !== undefined ? { body: test.body } : {}),
  });
  const text = await response.text();
  const where = `${test.method} ${test.path.slice(0, 200)} as ${test.key}${test.body !== undefined ? ` body ${JSON.stringify(test.body.slice(0, 300))} (${test.contentType ?? 'no type'})` : ''}: ${response.status} ${text.slice(0, 300)}`;
  // Invariants of every answer, whatever was sent.
  expect(response.status, where).toBeLessThan(500);
  expect(response.status, where).toBeGreaterThanOrEqual(200);
  expect(text, where).not.toMatch(LEAKED_INTERNALS);
  const accepted = response.status < 300;
  if (acceptable !== null) expect(accepted, where).toBe(acceptable);
  if (test.route !== 'any') expect(API_STATUSES, where).toContain(response.status);
  if (test.route === 'create' && accepted) expect(response.status, where).toBe(201);
  // Without valid credentials, nothing but the public documents is ever answered 2xx.
  if (test.route !== 'any' && accepted) expect(['none', 'wrong', 'forged', 'expired', 'client'], where).not.toContain(test.key);
  // The API answers every error as JSON with the code of its status, and nothing of it is
  // cached (pages and the widget bundle are not the API). The URL parser resolves dot segments,
  // so judge the path the server saw.
  const pathname = new URL(response.url).pathname;
  if (/^\/api(\/|$)/i.test(pathname)) expect(response.headers.get('cache-control'), where).toMatch(/no-store/);
  if (response.status >= 400 && test.method !== 'HEAD' && /^\/api(\/|$)/i.test(pathname)) {
    expect(response.headers.get('content-type'), where).toMatch(/^application\/json/);
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    const kind = Object.values(HTTP_ERRORS).find((error) => error.status === response.status);
    expect(body.error?.code, where).toBe(kind?.code);
    expect(typeof body.error?.message, where).toBe('string');
  }
  count(`http ${response.status}`);
  if (response.status === 201) {
    const created = JSON.parse(text) as CreateSessionResponse;
    const stored = await world.server.store.getSession(created.sessionId);
    expect(stored).not.toBeNull();
    expect(PseudonymousRefSchema.safeParse(stored?.clientRef).success).toBe(true);
    expect(stored?.clientRef).toBe((JSON.parse((test.body ?? '').replace(/^\uFEFF/, '')) as { clientRef: string }).clientRef);
    world.sessions.set(created.sessionId, stored?.clientRef ?? '');
    world.created += 1;
  }
  // A random path may close a session too (only /api/sessions/:id/close does).
  const closing = /^\/api\/sessions\/([^/]+)\/close\/?$/i.exec(pathname);
  if (response.status === 200 && test.method === 'POST' && closing?.[1]) world.closed.add(decodeURIComponent(closing[1]));
  if (response.status === 200 && test.route === 'results') {
    const type = response.headers.get('content-type') ?? '';
    if (type.startsWith('application/json')) for (const result of (JSON.parse(text) as { results: unknown[] }).results) expectSoundResult(result);
    else expect(type).toMatch(/^(text\/csv|application\/fhir\+json)/);
  }
}

// ——— The suite ———

describe('fuzzing', () => {
  beforeAll(() => {
    startedAt = performance.now();
  });

  afterAll(() => {
    const total = Object.entries(counts)
      .filter(([kind]) => kind.startsWith('case:'))
      .reduce((sum, [, n]) => sum + n, 0);
    const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
    console.info(`fuzz: ${total} cases in ${seconds} s (SRS_FUZZ_RUNS=${TOTAL})\n${JSON.stringify(counts, null, 1)}`);
  });

  describe('live protocol', () => {
    let arena: LiveArena;

    beforeAll(async () => {
      arena = await LiveArena.start();
    });

    afterAll(async () => {
      await expectHealthy(arena.server);
      await arena.close();
    });

    async function fuzz(name: string, arbitrary: fc.Arbitrary<Emission>, runs: number): Promise<void> {
      arena.violations.length = 0;
      await fc.assert(
        fc.asyncProperty(arbitrary, async (emission) => {
          count(`case:${name}`);
          await arena.run(emission);
          if (arena.violations.length > 0) throw new Error(arena.violations.join('\n'));
        }),
        { numRuns: runs, endOnFailure: true },
      );
      // Requests without an ack may still be running: give them a moment before judging the store.
      await sleep(50);
      expect(arena.violations).toEqual([]);
      expect(internalErrors()).toEqual([]);
      await expectSoundStore(arena.server, arena.sessionIds);
      await expectHealthy(arena.server);
    }

    it(`answers anything on every event, from either role, with a clear error or a valid result (${runsOf(SHARES.socketAnything)} cases)`, {
      timeout: TIMEOUT,
    }, async () => {
      await fuzz('socket anything', anythingEmission(), runsOf(SHARES.socketAnything));
    });

    it(`answers payloads aimed at each schema exactly as the protocol says (${runsOf(SHARES.socketTargeted)} cases)`, { timeout: TIMEOUT }, async () => {
      await fuzz('socket targeted', targetedEmission(arena.reused, [...arena.sessionIds]), runsOf(SHARES.socketTargeted));
      expect(counts['accepted'] ?? 0).toBeGreaterThan(0);
      expect(counts['refused'] ?? 0).toBeGreaterThan(0);
    });

    it(`survives raw socket.io packets that no client library would send (${runsOf(SHARES.rawPackets)} cases)`, { timeout: TIMEOUT }, async () => {
      const session = await arena.server.createSession('fuzz-raw');
      arena.sessionIds.add(session.sessionId);
      await arena.server.startRating(session);
      let socket = await arena.server.join(session.client.token);
      let sent = 0;
      await fc.assert(
        fc.asyncProperty(rawPacket([...arena.sessionIds]), async (packet) => {
          count('case:raw packets');
          if (!socket.connected) {
            socket.disconnect();
            socket = await arena.server.join(session.client.token);
            count('reconnects');
          }
          (socket.io.engine as unknown as EngineSender).send(packet);
          // Answered, closed, or neither within a moment: all fine, as long as the server stays up.
          const barrier = (socket as unknown as { timeout(ms: number): { emitWithAck(event: string, payload: unknown): Promise<unknown> } })
            .timeout(1000)
            .emitWithAck('fuzz:barrier', {});
          const closed = new Promise<void>((resolve) => socket.once('disconnect', () => resolve()));
          await Promise.race([barrier.catch(() => undefined), closed]);
          if (++sent % 100 === 0) await expectHealthy(arena.server);
        }),
        { numRuns: runsOf(SHARES.rawPackets), endOnFailure: true },
      );
      socket.disconnect();
      await sleep(50);
      expect(internalErrors()).toEqual([]);
      await expectSoundStore(arena.server, arena.sessionIds);
      await expectHealthy(arena.server);
    });
  });

  describe('platform API', () => {
    let world: HttpWorld;

    beforeAll(async () => {
      const server = await startTestServer({ rateLimits: OPEN_LIMITS, logger: serverLog.logger });
      const main = await server.createSession('fuzz-http-main');
      const other = await server.createSession('fuzz-http-other');
      const closable = await server.createSession('fuzz-http-closable');
      const therapist = await server.startRating(main);
      const client = await server.join(main.client.token);
      const ack = await client.emitWithAck('rating:submit', {
        submissionId: 'fuzz-http-0001',
        marks: { relationship: 91, goals: 92, approach: 93, overall: 94 },
      });
      if (!ack.ok) throw new Error('could not submit');
      client.disconnect();
      therapist.disconnect();
      const signer = new TokenSigner(TEST_TOKEN_SECRET);
      const forger = new TokenSigner('fuzz-forger-secret-0123456789abcdef-0123');
      world = {
        server,
        main,
        other,
        closable,
        keys: {
          platform: TEST_API_KEY,
          none: null,
          wrong: 'wrong-key-0123456789abcdef',
          client: main.client.token,
          therapist: main.therapist.token,
          'other-therapist': other.therapist.token,
          'closed-therapist': closable.therapist.token,
          forged: (await forger.sign(main.sessionId, 'therapist', 3600)).token,
          expired: (await signer.sign(main.sessionId, 'therapist', -10)).token,
        },
        sessions: new Map([
          [main.sessionId, 'fuzz-http-main'],
          [other.sessionId, 'fuzz-http-other'],
          [closable.sessionId, 'fuzz-http-closable'],
        ]),
        closed: new Set(),
        created: 0,
      };
    });

    afterAll(async () => {
      await expectHealthy(world.server);
      // Every session ever created has a valid clientRef: the ones made here and any other.
      const creations = (await world.server.store.listAudit({})).filter((entry) => entry.action === 'session.create');
      expect(creations).toHaveLength(3 + world.created);
      for (const entry of creations) {
        expect(PseudonymousRefSchema.safeParse(entry.clientRef).success, String(entry.clientRef)).toBe(true);
        expect(entry.clientRef).not.toContain('@');
      }
      await expectSoundStore(world.server, world.sessions.keys());
      await world.server.close();
    });

    async function fuzz(name: string, arbitrary: fc.Arbitrary<HttpCase>, runs: number): Promise<void> {
      let sent = 0;
      await fc.assert(
        fc.asyncProperty(arbitrary, async (test) => {
          count(`case:${name}`);
          await runHttpCase(world, test);
          if (++sent % HEALTH_EVERY === 0) await expectHealthy(world.server);
        }),
        { numRuns: runs, endOnFailure: true },
      );
      expect(internalErrors()).toEqual([]);
      await expectHealthy(world.server);
    }

    it(`answers every POST /api/sessions body with 201 exactly when it is valid and sent with a platform key, never a 5xx (${runsOf(SHARES.httpBodies)} cases)`, {
      timeout: TIMEOUT,
    }, async () => {
      await fuzz('http bodies', bodyCase(), runsOf(SHARES.httpBodies));
      expect(world.created).toBeGreaterThan(0);
    });

    it(`answers every route, id, clientRef, format and key with a 2xx exactly when the caller may have it, never a 5xx (${runsOf(SHARES.httpRoutes)} cases)`, {
      timeout: TIMEOUT,
    }, async () => {
      await fuzz('http routes', routeCase(world), runsOf(SHARES.httpRoutes));
    });
  });
});

// ——— Tenants ———

const TENANT_KEYS = { a: 'fuzz-tenant-a-key-0123456789abcdef', b: 'fuzz-tenant-b-key-0123456789abcdef' } as const;
type TenantName = keyof typeof TENANT_KEYS;
/** Few refs, shared by both tenants: the same clientRef under two tenants is the common case. */
const TENANT_REFS = ['shared-1', 'shared-2', 'rare-3'] as const;

interface ModelSession {
  readonly id: string;
  readonly tenant: TenantName;
  readonly clientRef: string;
  readonly therapistToken: string;
  closed: boolean;
  /** The submissionId of its result, once stored (FHIR names a result by it, not by session). */
  submissionId: string | null;
}

type TenantCommand =
  | { readonly kind: 'create'; readonly tenant: TenantName; readonly ref: string }
  | { readonly kind: 'submit'; readonly pick: number }
  | { readonly kind: 'read' | 'close'; readonly tenant: TenantName; readonly pick: number }
  | { readonly kind: 'results'; readonly tenant: TenantName; readonly ref: string; readonly format: 'json' | 'csv' | 'fhir' }
  | { readonly kind: 'therapist'; readonly pick: number; readonly ref: string }
  | { readonly kind: 'history'; readonly pick: number };

const tenantName = fc.constantFrom<TenantName>('a', 'b');
const tenantRef = fc.constantFrom(...TENANT_REFS);
const tenantCommand: fc.Arbitrary<TenantCommand> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('create' as const), tenant: tenantName, ref: tenantRef }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('submit' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('read' as const, 'close' as const), tenant: tenantName, pick: fc.nat() }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('results' as const),
      tenant: tenantName,
      ref: tenantRef,
      format: fc.constantFrom('json' as const, 'csv' as const, 'fhir' as const),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('therapist' as const), pick: fc.nat(), ref: tenantRef }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('history' as const), pick: fc.nat() }) },
);

describe('fuzzing: tenants', () => {
  it("random API calls by two tenants never let one see, close or export the other's sessions or results", { timeout: TIMEOUT }, async () => {
    const server = await startTestServer({
      apiKeys: [
        { label: 'a', key: TENANT_KEYS.a },
        { label: 'b', key: TENANT_KEYS.b },
      ],
      rateLimits: OPEN_LIMITS,
    });
    // One model for every run: sessions made in earlier runs stay, as they would in a deployment.
    const model: ModelSession[] = [];
    let submissions = 0;
    const picked = (pick: number): ModelSession | undefined => model[pick % Math.max(1, model.length)];
    const ownedBy = (tenant: TenantName, ref: string) => model.filter((session) => session.tenant === tenant && session.clientRef === ref);
    /** No session or result of another tenant is named in what `tenant` received. */
    const expectNothingOfOthers = (tenant: TenantName, text: string, where: string) => {
      for (const session of model) {
        if (session.tenant === tenant) continue;
        for (const id of [session.id, session.submissionId ?? session.id]) expect(text, `${where} shows ${session.tenant}'s ${id}`).not.toContain(id);
      }
    };
    /**
     * A history as received holds exactly the results of the tenant's sessions of that client
     * (CSV names a result by its session, FHIR by its submission, JSON by both).
     */
    const expectHistory = (tenant: TenantName, ref: string, text: string, where: string) => {
      expectNothingOfOthers(tenant, text, where);
      for (const session of ownedBy(tenant, ref)) {
        const shown = text.includes(session.id) || (session.submissionId !== null && text.includes(session.submissionId));
        expect(shown, `${where}: ${session.id}`).toBe(session.submissionId !== null);
      }
    };

    async function run(command: TenantCommand): Promise<void> {
      const where = JSON.stringify(command);
      switch (command.kind) {
        case 'create': {
          const created = await server.createSession(command.ref, {}, TENANT_KEYS[command.tenant]);
          model.push({
            id: created.sessionId,
            tenant: command.tenant,
            clientRef: command.ref,
            therapistToken: created.therapist.token,
            closed: false,
            submissionId: null,
          });
          return;
        }
        case 'submit': {
          const session = picked(command.pick);
          if (!session || session.closed) return;
          const therapist = await server.join(session.therapistToken);
          const submissionId = `fuzz-tenant-${String(++submissions).padStart(5, '0')}`;
          const ack = await therapist.emitWithAck('rating:submit', { submissionId, marks: { relationship: 50, goals: 60, approach: 70, overall: 80 } });
          therapist.disconnect();
          expect(ack.ok, where).toBe(session.submissionId === null);
          session.submissionId ??= submissionId;
          return;
        }
        case 'read':
        case 'close': {
          const session = picked(command.pick);
          if (!session) return;
          const path = command.kind === 'read' ? `/api/sessions/${session.id}` : `/api/sessions/${session.id}/close`;
          const response = await server.api(path, { key: TENANT_KEYS[command.tenant], ...(command.kind === 'close' ? { method: 'POST' } : {}) });
          const text = await response.text();
          const own = session.tenant === command.tenant;
          expect(response.status, where).toBe(own ? 200 : 404);
          expectNothingOfOthers(command.tenant, text, where);
          if (own && command.kind === 'close') session.closed = true;
          if (own) expect((JSON.parse(text) as { result: { submissionId: string } | null }).result?.submissionId ?? null, where).toBe(session.submissionId);
          return;
        }
        case 'results': {
          const response = await server.api(`/api/clients/${command.ref}/results?format=${command.format}`, { key: TENANT_KEYS[command.tenant] });
          const text = await response.text();
          expect(response.status, where).toBe(ownedBy(command.tenant, command.ref).length > 0 ? 200 : 404);
          expectHistory(command.tenant, command.ref, text, where);
          return;
        }
        case 'therapist': {
          const session = picked(command.pick);
          if (!session) return;
          const response = await server.api(`/api/clients/${command.ref}/results`, { key: session.therapistToken });
          const text = await response.text();
          expect(response.status, where).toBe(session.closed ? 401 : command.ref === session.clientRef ? 200 : 403);
          if (response.status === 200) expectHistory(session.tenant, command.ref, text, where);
          else expect(text, where).not.toContain('fuzz-tenant-');
          return;
        }
        case 'history': {
          const session = picked(command.pick);
          if (!session || session.closed) return;
          const therapist = await server.join(session.therapistToken);
          const history = await therapist.emitWithAck('history:read', {});
          therapist.disconnect();
          expect(history.ok, where).toBe(true);
          expectHistory(session.tenant, session.clientRef, JSON.stringify(history), where);
          return;
        }
      }
    }

    try {
      await fc.assert(
        fc.asyncProperty(fc.array(tenantCommand, { minLength: 1, maxLength: 15 }), async (commands) => {
          for (const command of commands) await run(command);
        }),
        { numRuns: Math.max(20, Math.round(TOTAL / 250)), endOnFailure: true },
      );
      // The sequences did reach both sides of the boundary.
      expect(new Set(model.map((session) => session.tenant)).size).toBe(2);
      expect(model.some((session) => session.submissionId !== null)).toBe(true);
      await expectHealthy(server);
    } finally {
      await server.close();
    }
  });
});

// ——— The Host header ———

/** The hosts the server below answers for: links may name these and nothing else. */
const ALLOWED_HOSTS = ['127.0.0.1', 'srs.example.org'] as const;
const HOST_RUNS = Math.max(200, Math.round(TOTAL * 0.02));
/** Characters a header value may carry (no control characters, which Node refuses to send). */
const headerText = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 80 });

/** Hosts: the allowed ones in any case, look-alikes built around them, other names and addresses, and junk; any port or none. */
function hostHeader(): fc.Arbitrary<string> {
  const allowed = fc.constantFrom(...ALLOWED_HOSTS);
  const name = fc.oneof(
    fc.mixedCase(allowed),
    fc
      .tuple(allowed, fc.constantFrom('.', '@', '/', ' ', '\\', '#', '?', '..', ':', '%2e', '.evil.example', '@evil.example'), fc.domain())
      .map(([a, glue, b]) => `${a}${glue}${b}`),
    fc.tuple(fc.domain(), fc.constantFrom('.', '@', '/', ' ', ','), allowed).map(([a, glue, b]) => `${a}${glue}${b}`),
    fc.domain(),
    fc.ipV4(),
    fc.ipV6().map((address) => `[${address}]`),
    headerText,
  );
  return fc
    .tuple(name, fc.option(fc.oneof(fc.integer({ min: 0, max: 99_999 }).map(String), headerText), { nil: undefined }))
    .map(([host, port]) => (port === undefined ? host : `${host}:${port}`));
}

/** Exactly an allowed name (any case), with no port or a TCP port (0–65535): this must be served. */
const plainlyAllowed = (host: string) => {
  const match = /^([^:]+)(?::(\d{1,5}))?$/.exec(host);
  return match !== null && (ALLOWED_HOSTS as readonly string[]).includes((match[1] ?? '').toLowerCase()) && Number(match[2] ?? 0) <= 65_535;
};

describe('fuzzing the Host header', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ allowedHosts: [...ALLOWED_HOSTS], rateLimits: OPEN_LIMITS });
  });

  afterAll(async () => {
    await expectHealthy(server);
    await server.close();
  });

  it(`answers every Host with 201 or 421, never a 5xx, and links name only allowed hosts (${HOST_RUNS} cases)`, { timeout: TIMEOUT }, async () => {
    let served = 0;
    await fc.assert(
      fc.asyncProperty(hostHeader(), fc.option(hostHeader(), { nil: undefined }), async (host, forwarded) => {
        count('case:host header');
        const headers: Record<string, string> = { host, authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' };
        // The proxy is not trusted here: X-Forwarded-Host must change nothing.
        if (forwarded !== undefined) headers['x-forwarded-host'] = forwarded;
        const answer = await sendRaw(server.url, '/api/sessions', { method: 'POST', headers, body: '{"clientRef":"fuzz-host"}' });
        expect([201, 421], host).toContain(answer.status);
        if (plainlyAllowed(host)) expect(answer.status, host).toBe(201);
        if (answer.status !== 201) return;
        served += 1;
        const created = JSON.parse(answer.body) as CreateSessionResponse;
        for (const link of [created.client.url, created.therapist.url]) {
          // The WHATWG parser, as a browser would read the link.
          const hostname = new URL(link).hostname.replace(/\.$/, '');
          expect(ALLOWED_HOSTS as readonly string[], link).toContain(hostname);
        }
      }),
      { numRuns: HOST_RUNS, endOnFailure: true },
    );
    expect(served).toBeGreaterThan(0);
    await expectHealthy(server);
  });
});
