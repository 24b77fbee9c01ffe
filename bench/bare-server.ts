/**
 * Child-process entry: the baseline, a bare Socket.IO relay. Same Socket.IO version and the
 * options that matter for the live path (WebSocket only, no per-message deflate), namespace
 * `/srs`, one room per session taken from the handshake (`auth: {session, role}`), and a
 * `mark:move` → `mark:moved` forward to the room: nothing else. Prints `{"ready":true,"port":…}`
 * and answers stats requests over IPC (see server-stats.ts).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { printReady, serveStats } from './server-stats.ts';

const httpServer = createServer();
const io = new Server(httpServer, {
  transports: ['websocket'],
  perMessageDeflate: false,
  serveClient: false,
  maxHttpBufferSize: 8 * 1024,
});

io.of('/srs').on('connection', (socket) => {
  const auth = socket.handshake.auth as { session?: unknown };
  const room = `session:${String(auth.session)}`;
  void socket.join(room);
  socket.on('mark:move', (payload: unknown) => {
    socket.to(room).emit('mark:moved', payload);
  });
});

await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
serveStats(
  () =>
    new Promise<void>((resolve) => {
      io.disconnectSockets(true);
      void io.close(() => resolve());
    }),
);
printReady((httpServer.address() as AddressInfo).port);
