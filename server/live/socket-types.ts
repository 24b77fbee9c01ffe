/** The typed Socket.IO server, namespace and socket of the live relay. */
import type { Namespace, Server, Socket } from 'socket.io';
import type { ClientToServerEvents, ServerToClientEvents, SocketData } from '../../shared/protocol.ts';
import type { RoomSync } from './live-room.ts';

export interface InterServerEvents {
  /** Every change of a session made on one node, for the other nodes' rooms. */
  'srs:room': (message: RoomSync) => void;
}

export type SrsServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type SrsNamespace = Namespace<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type SrsSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
