/**
 * Connection state recovery keeps every broadcast packet for the recovery window, so a socket
 * that reconnects gets what it missed. Live positions need not be kept: a reconnecting
 * therapist gets the whole session state, which holds the latest marks, and replaying a stream
 * of superseded positions would only cost memory and CPU on the hottest path. So `mark:moved`
 * is delivered (reliably) without being stored; everything else is stored as usual.
 */
import { Adapter, SessionAwareAdapter, type BroadcastOptions } from 'socket.io-adapter';

type Packet = Parameters<Adapter['broadcast']>[0];

export class LiveMarksAdapter extends SessionAwareAdapter {
  override broadcast(packet: Packet, opts: BroadcastOptions): void {
    const data: unknown = (packet as { data?: unknown }).data;
    if (Array.isArray(data) && data[0] === 'mark:moved') {
      Adapter.prototype.broadcast.call(this, packet, opts);
      return;
    }
    super.broadcast(packet, opts);
  }
}
