/**
 * Several nodes: the Socket.IO Redis Streams adapter carries broadcasts, server-side events and
 * connection-state-recovery sessions between the nodes through one Redis.
 */
import { createAdapter } from '@socket.io/redis-streams-adapter';
import { createClient } from 'redis';

export type RedisClient = ReturnType<typeof createClient>;

export async function connectRedis(url: string): Promise<{ client: RedisClient; close(): Promise<void> }> {
  const client = createClient({ url });
  client.on('error', (error: Error) => console.error(`srs-live: redis: ${error.message}`));
  await client.connect();
  return {
    client,
    async close() {
      await client.quit().catch(() => undefined);
    },
  };
}

export const createRedisStreamsAdapter = createAdapter;

export function redisAdapterOptions(prefix: string) {
  return {
    streamName: prefix,
    channelPrefix: prefix,
    sessionKeyPrefix: `${prefix}:session:`,
    onlyPlaintext: true,
    // A node that dies stops answering presence queries; it is given up on after 6 s.
    heartbeatInterval: 2_000,
    heartbeatTimeout: 6_000,
  };
}
