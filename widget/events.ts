/**
 * Typed DOM events. The public ones bubble and are composed, so a host page can listen on any
 * ancestor of `<srs-rating>` / `<srs-therapist>` without touching the socket.
 */
import type { ItemId } from '../shared/instruments.ts';
import type { ProtocolError, Result } from '../shared/protocol.ts';
import type { PartialMarks } from '../shared/scoring.ts';

class SrsEvent<T> extends Event {
  constructor(
    type: string,
    readonly detail: T,
  ) {
    super(type, { bubbles: true, composed: true });
  }
}

/** The client moved a line: the item, its new position in mm and all current marks. */
export class SrsChangeEvent extends SrsEvent<{ item: ItemId; mm: number; marks: PartialMarks }> {
  constructor(detail: SrsChangeEvent['detail']) {
    super('srs-change', detail);
  }
}

/** The server acknowledged the submission and returned the scored result. */
export class SrsSubmitEvent extends SrsEvent<{ result: Result }> {
  constructor(detail: SrsSubmitEvent['detail']) {
    super('srs-submit', detail);
  }
}

/** A refusal: a rejected submission, an `srs:error` from the server or a refused connection. */
export class SrsErrorEvent extends SrsEvent<ProtocolError> {
  constructor(detail: ProtocolError) {
    super('srs-error', detail);
  }
}

/** Internal: `<srs-vas-line>` to its parent. `final` is true for a key press or the end of a drag. */
export class VasInputEvent extends Event {
  constructor(
    readonly mm: number,
    readonly final: boolean,
  ) {
    super('vas-input');
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'srs-change': SrsChangeEvent;
    'srs-submit': SrsSubmitEvent;
    'srs-error': SrsErrorEvent;
    'vas-input': VasInputEvent;
  }
}
