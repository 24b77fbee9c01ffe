import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { describe, expect, it } from 'vitest';
import type { ClientToServerEvents, RatingSubmit, ServerToClientEvents, SubmitAck } from '../shared/protocol.ts';
import { newSubmissionId, openSocket, request, submitWithRetry, type ConnStatus, type SrsSocket } from './connection.ts';

type Reply = (err: Error | null, ack?: SubmitAck) => void;

/** Just enough of a socket: records every `rating:submit` and lets the test answer it. */
function fakeSocket() {
  const calls: { payload: RatingSubmit; reply: Reply }[] = [];
  const socket = {
    timeout: () => ({
      emit: (_event: string, payload: RatingSubmit, reply: Reply) => calls.push({ payload, reply }),
    }),
  };
  return { socket: socket as unknown as SrsSocket, calls };
}

const payload: RatingSubmit = {
  submissionId: 'abcdefgh1234',
  marks: { relationship: 90, goals: 80, approach: 70, overall: 60 },
};

describe('submitWithRetry', () => {
  it('retries the same payload after a timeout until acknowledged', () => {
    const { socket, calls } = fakeSocket();
    const acks: SubmitAck[] = [];
    submitWithRetry(socket, payload, (ack) => acks.push(ack));
    calls[0]!.reply(new Error('operation has timed out'));
    calls[1]!.reply(new Error('operation has timed out'));
    expect(calls).toHaveLength(3);
    expect(calls.every((c) => c.payload === payload)).toBe(true);
    const ok = { ok: true, result: {} } as unknown as SubmitAck;
    calls[2]!.reply(null, ok);
    expect(acks).toEqual([ok]);
    expect(calls).toHaveLength(3);
  });

  it('stops at a definite refusal', () => {
    const { socket, calls } = fakeSocket();
    const acks: SubmitAck[] = [];
    submitWithRetry(socket, payload, (ack) => acks.push(ack));
    const refusal: SubmitAck = { ok: false, error: { code: 'RATING_NOT_OPEN', message: 'not open' } };
    calls[0]!.reply(null, refusal);
    expect(acks).toEqual([refusal]);
    expect(calls).toHaveLength(1);
  });

  it('stops retrying when cancelled', () => {
    const { socket, calls } = fakeSocket();
    const stop = submitWithRetry(socket, payload, () => {});
    stop();
    calls[0]!.reply(new Error('operation has timed out'));
    expect(calls).toHaveLength(1);
  });
});

describe('request', () => {
  it('passes the answer on, and turns no answer into a refusal to show', () => {
    const calls: { event: string; payload: unknown; timeout: number; reply: (err: Error | null, ack?: unknown) => void }[] = [];
    const socket = {
      timeout: (timeout: number) => ({
        emit: (event: string, payload: unknown, reply: (err: Error | null, ack?: unknown) => void) => calls.push({ event, payload, timeout, reply }),
      }),
    } as unknown as SrsSocket;
    const answers: unknown[] = [];
    request(socket, 'rating:visibility', { visibility: 'on-submit' }, (ack) => answers.push(ack), 3000);
    request(socket, 'rating:start', {}, (ack) => answers.push(ack));
    expect(calls.map(({ event, payload, timeout }) => [event, payload, timeout])).toEqual([
      ['rating:visibility', { visibility: 'on-submit' }, 3000],
      ['rating:start', {}, 5000],
    ]);
    calls[0]!.reply(null, { ok: true });
    calls[1]!.reply(new Error('operation has timed out'));
    expect(answers).toEqual([{ ok: true }, { ok: false, error: { code: 'INTERNAL', message: 'The server did not answer. Please try again.' } }]);
  });
});

describe('newSubmissionId', () => {
  it('makes ids the server accepts, different each time', () => {
    const ids = Array.from({ length: 50 }, newSubmissionId);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{8,64}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('openSocket', () => {
  it('reconnects on server:draining, and a submission left unanswered is retried on the new connection', async () => {
    // A bare Socket.IO server stands for the load balancer's nodes: the first connection is to a
    // node that is shutting down and never answers; the next one answers.
    const http = createServer();
    const io = new Server<ClientToServerEvents, ServerToClientEvents>(http, { transports: ['websocket'] });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    const submits: { connection: number; submissionId: string }[] = [];
    let connections = 0;
    io.of('/srs').on('connection', (socket) => {
      const connection = ++connections;
      socket.on('rating:submit', (payload, ack) => {
        submits.push({ connection, submissionId: payload.submissionId });
        if (connection === 1) socket.emit('server:draining', { reason: 'shutting down' });
        else ack({ ok: true, result: { submissionId: payload.submissionId } } as unknown as SubmitAck);
      });
    });
    const statuses: ConnStatus[] = [];
    let socket: SrsSocket | undefined;
    try {
      const connected = new Promise<void>((resolve) => {
        socket = openSocket(`http://127.0.0.1:${(http.address() as AddressInfo).port}`, 'a-token', (status) => {
          statuses.push(status);
          if (status === 'connected') resolve();
        });
      });
      await connected;
      const ack = await new Promise<SubmitAck>((resolve) => submitWithRetry(socket as SrsSocket, payload, resolve));
      expect(ack).toMatchObject({ ok: true, result: { submissionId: payload.submissionId } });
      expect(submits).toEqual([
        { connection: 1, submissionId: payload.submissionId },
        { connection: 2, submissionId: payload.submissionId },
      ]);
      expect(statuses).toEqual(['connected', 'reconnecting', 'connected']);
    } finally {
      socket?.disconnect();
      await io.close();
    }
  });
});
