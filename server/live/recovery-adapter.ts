/**
 * Connection state recovery keeps every broadcast packet for the recovery window, so a socket
 * that reconnects gets what it missed. Live positions, presence and private-rating activity are
 * superseded by what every (re)join receives anyway — the whole `session:state`, with the latest
 * marks, then the presence — so keeping them would only cost memory for the window and CPU on
 * the hottest path: they are delivered (reliably) without being kept. The others are kept as
 * usual; `session:state` must be, since the offset of the last kept packet a socket received is
 * what lets it recover at all.
 */
import { Adapter, SessionAwareAdapter, type BroadcastOptions } from 'socket.io-adapter';
import type { ServerToClientEvents } from '../../shared/protocol.ts';

type Packet = Parameters<Adapter['broadcast']>[0];

export const SUPERSEDED_ON_REJOIN: ReadonlySet<keyof ServerToClientEvents> = new Set([
  'mark:moved',
  'presence',
  'rating:activity',
]);

export class RecoveryAdapter extends SessionAwareAdapter {
  override broadcast(packet: Packet, opts: BroadcastOptions): void {
    const data: unknown = (packet as { data?: unknown }).data;
    if (Array.isArray(data) && SUPERSEDED_ON_REJOIN.has(data[0] as keyof ServerToClientEvents)) {
      Adapter.prototype.broadcast.call(this, packet, opts);
      return;
    }
    super.broadcast(packet, opts);
  }
}
