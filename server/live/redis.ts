/**
 * Several nodes: the Socket.IO Redis Streams adapter carries broadcasts, presence queries and
 * the rooms' server-side messages between the nodes through one Redis. The Redis modules are
 * loaded only when REDIS_URL is set: a single node does not carry their weight in its heap.
 */
import type { createClient } from 'redis';
import type { Logger } from '../logging.ts';

export type RedisClient = ReturnType<typeof createClient>;
type AdapterConstructor = ReturnType<typeof import('@socket.io/redis-streams-adapter').createAdapter>;

export interface RedisConnection {
  readonly client: RedisClient;
  /** The Socket.IO adapter class for `new Server(…, {adapter})`. */
  readonly adapter: AdapterConstructor;
  close(): Promise<void>;
}

export async function connectRedis(url: string, prefix: string, logger: Logger): Promise<RedisConnection> {
  const [{ createClient: createRedisClient }, { createAdapter }] = await Promise.all([import('redis'), import('@socket.io/redis-streams-adapter')]);
  const client = createRedisClient({ url });
  client.on('error', (error: Error) => logger.error({ event: 'redis.error', err: error }, 'redis connection error'));
  await client.connect();
  return {
    client,
    adapter: createAdapter(client, redisAdapterOptions(prefix)),
    async close() {
      await client.quit().catch(() => undefined);
    },
  };
}

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
