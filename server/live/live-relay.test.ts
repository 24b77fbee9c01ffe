import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ERROR_CODES, type SubmitAck } from '../../shared/protocol.ts';
import { TokenSigner } from '../tokens.ts';
import { eventWhere, nextEvent, startTestServer, TEST_TOKEN_SECRET, type TestServer, type TestSocket } from '../testing/test-server.ts';

const MARKS = { relationship: 95, goals: 72, approach: 91, overall: 88 };

function submit(socket: TestSocket, payload: unknown): Promise<SubmitAck> {
  return (socket as unknown as { emitWithAck(event: string, payload: unknown): Promise<SubmitAck> }).emitWithAck('rating:submit', payload);
}

function emitRaw(socket: TestSocket, event: string, ...args: unknown[]): void {
  (socket as unknown as { emit(event: string, ...args: unknown[]): void }).emit(event, ...args);
}

describe('live relay', () => {
  let server: TestServer;
  let client: TestSocket;
  let therapist: TestSocket;
  let tokens: Awaited<ReturnType<TestServer['createSession']>>;

  beforeEach(async () => {
    server = await startTestServer();
    tokens = await server.createSession('client-7');
    therapist = await server.startRating(tokens);
    client = await server.join(tokens.client.token);
  });

  afterEach(async () => {
    await server.close();
  });

  describe('joining', () => {
    it('sends the full state on join, with no mark preset', async () => {
      const socket = server.connect(tokens.client.token);
      const state = await nextEvent(socket, 'session:state');
      expect(state).toMatchObject({
        sessionId: tokens.sessionId,
        instrument: 'srs',
        status: 'open',
        marks: { relationship: null, goals: null, approach: null, overall: null },
        result: null,
      });
      expect(state.presence.therapist).toBe(true);
    });

    it('tells the therapist when the client leaves and comes back', async () => {
      const gone = eventWhere(therapist, 'presence', (presence) => !presence.client);
      client.disconnect();
      expect(await gone).toEqual({ client: false, therapist: true });
      const back = eventWhere(therapist, 'presence', (presence) => presence.client);
      await server.join(tokens.client.token);
      expect(await back).toEqual({ client: true, therapist: true });
    });
  });

  describe('live marks', () => {
    it('relays each mark to the therapist, and a later joiner sees the marks so far', async () => {
      const moved = eventWhere(therapist, 'mark:moved', (mark) => mark.item === 'overall');
      client.emit('mark:move', { item: 'goals', mm: 40 });
      client.emit('mark:move', { item: 'overall', mm: 63 });
      expect(await moved).toEqual({ item: 'overall', mm: 63 });
      const late = server.connect(tokens.therapist.token);
      const state = await nextEvent(late, 'session:state');
      expect(state.marks).toEqual({ relationship: null, goals: 40, approach: null, overall: 63 });
    });

    it('refuses invalid marks without relaying them', async () => {
      const relayed: unknown[] = [];
      therapist.on('mark:moved', (mark) => relayed.push(mark));
      for (const bad of [{ item: 'goals', mm: 101 }, { item: 'goals', mm: 7.5 }, { item: 'mood', mm: 5 }, { item: 'goals' }, 'x', null]) {
        const refused = nextEvent(client, 'srs:error');
        emitRaw(client, 'mark:move', bad);
        expect((await refused).code).toBe(ERROR_CODES.invalidPayload);
      }
      const moved = nextEvent(therapist, 'mark:moved');
      client.emit('mark:move', { item: 'goals', mm: 3 });
      expect(await moved).toEqual({ item: 'goals', mm: 3 });
      expect(relayed).toEqual([{ item: 'goals', mm: 3 }]);
    });

    it("does not let the therapist move the client's marks", async () => {
      const refused = nextEvent(therapist, 'srs:error');
      therapist.emit('mark:move', { item: 'goals', mm: 10 });
      expect((await refused).code).toBe(ERROR_CODES.forbidden);
    });
  });

  describe('submission', () => {
    it("acknowledges with the server's own score and tells the therapist", async () => {
      const broadcast = nextEvent(therapist, 'rating:submitted');
      const ack = await submit(client, { submissionId: 'sub-0000001', marks: MARKS });
      expect(ack.ok).toBe(true);
      if (!ack.ok) return;
      expect(ack.result).toMatchObject({
        sessionId: tokens.sessionId,
        submissionId: 'sub-0000001',
        totalMm: 346,
        band: 'poor',
        flagged: ['goals', 'overall'],
        enteredBy: 'client',
      });
      expect((await broadcast).result).toEqual(ack.result);
      expect(await server.store.listClientResults('test', 'client-7')).toEqual([ack.result]);
    });

    it('answers a retry with the stored result and stores nothing new', async () => {
      const first = await submit(client, { submissionId: 'sub-0000002', marks: MARKS });
      const retry = await submit(client, { submissionId: 'sub-0000002', marks: { ...MARKS, goals: 10 } });
      expect(retry).toEqual(first);
      const other = await submit(client, { submissionId: 'sub-0000003', marks: MARKS });
      expect(other).toMatchObject({ ok: false, error: { code: ERROR_CODES.alreadySubmitted } });
      expect(await server.store.listClientResults('test', 'client-7')).toHaveLength(1);
    });

    it('refuses invalid submissions with an error ack and stores nothing', async () => {
      const bad: unknown[] = [
        { submissionId: 'sub-0000004', marks: { ...MARKS, goals: 100.5 } },
        { submissionId: 'sub-0000004', marks: { ...MARKS, goals: -1 } },
        { submissionId: 'sub-0000004', marks: { relationship: 1, goals: 1, approach: 1 } },
        { submissionId: 'sub-0000004', marks: MARKS, totalMm: 400 },
        { submissionId: 'x', marks: MARKS },
        { marks: MARKS },
        'not an object',
      ];
      for (const payload of bad) {
        const ack = await submit(client, payload);
        expect(ack).toMatchObject({ ok: false, error: { code: ERROR_CODES.invalidPayload } });
      }
      expect(await server.store.listClientResults('test', 'client-7')).toEqual([]);
    });

    it('sends the stored result to anyone who joins afterwards', async () => {
      const ack = await submit(client, { submissionId: 'sub-0000005', marks: MARKS });
      const late = server.connect(tokens.therapist.token);
      const state = await nextEvent(late, 'session:state');
      expect(state.status).toBe('submitted');
      expect(state.result).toEqual(ack.ok ? ack.result : null);
      expect(state.marks).toEqual(MARKS);
    });
  });

  describe('reconnection', () => {
    it('gives a dropped socket that reconnects the whole state, with the submission it missed', async () => {
      const reconnecting = server.connect(tokens.therapist.token, {});
      reconnecting.io.reconnection(true);
      reconnecting.io.reconnectionDelay(100);
      await new Promise<void>((resolve) => reconnecting.once('connect', () => resolve()));
      const firstId = reconnecting.id;
      const dropped = new Promise<void>((resolve) => reconnecting.once('disconnect', () => resolve()));
      reconnecting.io.engine.close();
      await dropped;
      const ack = await submit(client, { submissionId: 'sub-recover-1', marks: MARKS });
      expect(ack.ok).toBe(true);
      const state = await eventWhere(reconnecting, 'session:state', (payload) => payload.status === 'submitted');
      // A new socket, not a recovered one: nothing is restored before the token is checked again.
      expect(reconnecting.recovered).not.toBe(true);
      expect(reconnecting.id).not.toBe(firstId);
      expect(state.result?.submissionId).toBe('sub-recover-1');
    });
  });

  describe('roles and tokens', () => {
    it('does not let a client token start, withdraw or act as the therapist', async () => {
      for (const event of ['rating:start', 'rating:withdraw'] as const) {
        const ack = await (client as unknown as { emitWithAck(e: string, p: unknown): Promise<unknown> }).emitWithAck(event, {});
        expect(ack).toMatchObject({ ok: false, error: { code: ERROR_CODES.forbidden } });
      }
      const response = await server.api(`/api/sessions/${tokens.sessionId}`, { key: tokens.client.token });
      expect(response.status).toBe(403);
    });

    it('lets a client token open only its own session', async () => {
      const other = await server.createSession('client-8');
      const seen = server.connect(tokens.client.token, { sessionId: other.sessionId });
      const state = await nextEvent(seen, 'session:state');
      expect(state.sessionId).toBe(tokens.sessionId);
      // A token whose payload was edited to name the other session fails its signature.
      const [header, payload, signature] = tokens.client.token.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
      const forged = [header, Buffer.from(JSON.stringify({ ...claims, sid: other.sessionId })).toString('base64url'), signature].join('.');
      await expect(server.join(forged)).rejects.toMatchObject({ data: { code: ERROR_CODES.unauthorized } });
    });

    it('refuses a handshake without a token, with a bad token or with another protocol', async () => {
      await expect(server.join('')).rejects.toMatchObject({ data: { code: ERROR_CODES.unauthorized } });
      await expect(server.join('not-a-token')).rejects.toMatchObject({ data: { code: ERROR_CODES.unauthorized } });
      const old = server.connect(tokens.client.token, { protocol: 2 });
      const error = await new Promise<{ data?: unknown }>((resolve) => old.once('connect_error', resolve));
      expect(error.data).toMatchObject({ code: ERROR_CODES.protocolMismatch });
    });

    it('disconnects a socket when its token expires while it is connected', async () => {
      const signer = new TokenSigner(TEST_TOKEN_SECRET);
      const { token } = await signer.sign(tokens.sessionId, 'therapist', 1);
      const shortLived = await server.join(token);
      const told = nextEvent(shortLived, 'srs:error');
      const reason = await new Promise<string>((resolve) => shortLived.once('disconnect', resolve));
      expect(reason).toBe('io server disconnect');
      expect(await told).toMatchObject({ code: ERROR_CODES.unauthorized, message: 'the token has expired' });
      await expect(server.join(token)).rejects.toMatchObject({ data: { code: ERROR_CODES.unauthorized } });
    });

    it('answers unknown events with an error, and keeps serving', async () => {
      const ack = await (client as unknown as { emitWithAck(e: string, p: unknown): Promise<unknown> }).emitWithAck('results:read', {});
      expect(ack).toMatchObject({ ok: false, error: { code: ERROR_CODES.unknownEvent } });
      const moved = nextEvent(therapist, 'mark:moved');
      client.emit('mark:move', { item: 'approach', mm: 50 });
      expect(await moved).toEqual({ item: 'approach', mm: 50 });
    });
  });
});
