import { afterEach, describe, expect, it } from 'vitest';
import { memoryLogger } from '../testing/memory-logger.ts';
import { startTestServer, TEST_TOKEN_SECRET, type TestServer } from '../testing/test-server.ts';
import { TokenSigner } from '../tokens.ts';

function handshake(socket: { once(event: string, listener: (value: unknown) => void): unknown }): Promise<string> {
  return new Promise((resolve) => {
    socket.once('connect', () => resolve('connected'));
    socket.once('connect_error', (error) => resolve(String((error as { data?: { code?: string } }).data?.code ?? (error as Error).message)));
  });
}

describe('refused connections', () => {
  let server: TestServer | undefined;

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('are logged with their reason, the session when known and the address, never with the token', async () => {
    const log = memoryLogger('info');
    server = await startTestServer({ logger: log.logger, maxTherapistSockets: 1 });
    const session = await server.createSession('logged-client');
    const signer = new TokenSigner(TEST_TOKEN_SECRET);
    const expired = (await signer.sign(session.sessionId, 'client', -60)).token;
    const forged = (await new TokenSigner('another-secret-0123456789abcdef-0123456789').sign(session.sessionId, 'therapist', 60)).token;
    await server.join(session.therapist.token);

    const outcomes = [
      await handshake(server.connect(expired)),
      await handshake(server.connect(forged)),
      await handshake(server.connect('', { token: undefined })),
      await handshake(server.connect(session.therapist.token)),
    ];

    expect(outcomes).toEqual(['UNAUTHORIZED', 'UNAUTHORIZED', 'UNAUTHORIZED', 'TOO_MANY_CONNECTIONS']);
    const refused = log.lines().filter((line) => line['event'] === 'socket.refused');
    expect(refused.map((line) => line['code'])).toEqual(outcomes);
    expect(refused.every((line) => line['level'] === 40 && typeof line['address'] === 'string')).toBe(true);
    expect(refused.at(-1)).toMatchObject({ sessionId: session.sessionId, role: 'therapist' });
    for (const token of [expired, forged, session.therapist.token, session.client.token]) {
      // Not the token, nor its signature, nor its payload.
      for (const part of token.split('.')) expect(log.text()).not.toContain(part);
    }
  });
});
