import { html } from 'lit';
import { SRS, SRS_ITEM_IDS, type ItemId } from '../shared/instruments.ts';
import type { SessionState } from '../shared/protocol.ts';
import { isComplete } from '../shared/scoring.ts';
import { newSubmissionId, submitWithRetry, type SrsSocket } from './connection.ts';
import { SrsChangeEvent, SrsSubmitEvent, type VasInputEvent } from './events.ts';
import { MarkCoalescer } from './mark-coalescer.ts';
import { SessionElement, type MarkMap } from './session-element.ts';
import './vas-line.ts';

const QUIET: Readonly<Record<string, string>> = {
  waiting: 'Your therapist will start the rating soon.',
  closed: 'This session has ended.',
};

/**
 * The client's form: four lines with no preset marks, and Submit once every line is marked.
 * Positions stream live to the therapist while the client drags; no numbers are shown.
 *
 * @fires srs-change - {@link SrsChangeEvent}: a line moved.
 * @fires srs-submit - {@link SrsSubmitEvent}: the server stored the rating.
 * @fires srs-error - {@link SrsErrorEvent}: a refusal (submission, event or connection).
 * @csspart base - The root container; `data-status` = connecting | waiting | open | submitted | closed.
 * @csspart connection - The connection line (`role="status"`, empty when connected).
 * @csspart error - The last error (`role="alert"`).
 * @csspart submit - The Submit button.
 * @cssprop --srs-fg - Text colour.
 * @cssprop --srs-bg - Background.
 * @cssprop --srs-accent - Background of the Submit button.
 * @cssprop --srs-focus - Colour of the focus ring.
 */
export class SrsRating extends SessionElement {
  static override properties = { sending: { state: true } };

  private sending = false;

  private readonly coalescer = new MarkCoalescer<ItemId>((item, mm) =>
    this.socket?.volatile.emit('mark:move', { item, mm }),
  );
  private stopSubmit?: () => void;

  protected override open(): void {
    this.stopSubmit?.();
    this.sending = false;
    super.open();
  }

  /** While the form is open, the marks made here win: the server may not have the latest yet. */
  protected override restore(state: SessionState): MarkMap {
    if (state.status !== 'open') return { ...state.marks };
    const marks = { ...this.marks };
    for (const id of SRS_ITEM_IDS) marks[id] ??= state.marks[id];
    return marks;
  }

  /** A reconnected socket re-sends every mark (acknowledged by TCP, not volatile). */
  protected override rejoined(socket: SrsSocket): void {
    if (this.status !== 'open') return;
    for (const item of SRS_ITEM_IDS) {
      const mm = this.marks[item];
      if (mm !== null) socket.emit('mark:move', { item, mm });
    }
  }

  private onInput(item: ItemId, { mm, final }: VasInputEvent): void {
    this.marks = { ...this.marks, [item]: mm };
    if (final) {
      // The last position of a drag must arrive, so it is not volatile.
      this.coalescer.cancel(item);
      this.socket?.emit('mark:move', { item, mm });
    } else this.coalescer.push(item, mm);
    this.dispatchEvent(new SrsChangeEvent({ item, mm, marks: this.marks }));
  }

  private submit(): void {
    const marks = this.marks;
    if (!this.socket || this.sending || !isComplete(marks)) return;
    this.sending = true;
    this.error = '';
    this.stopSubmit = submitWithRetry(this.socket, { submissionId: newSubmissionId(), marks: { ...marks } }, (ack) => {
      this.sending = false;
      if (!ack.ok) return this.fail(ack.error);
      this.result = ack.result;
      this.dispatchEvent(new SrsSubmitEvent({ result: ack.result }));
    });
  }

  private renderForm() {
    const complete = isComplete(this.marks);
    return html`<p>${SRS.instruction}</p>
      ${SRS.items.map(
        (it) =>
          html`<srs-vas-line
            data-item=${it.id}
            .label=${it.label}
            .leftAnchor=${it.leftAnchor}
            .rightAnchor=${it.rightAnchor}
            .mm=${this.marks[it.id]}
            ?readonly=${this.sending}
            @vas-input=${(e: VasInputEvent) => this.onInput(it.id, e)}
          ></srs-vas-line>`,
      )}
      <button part="submit" ?disabled=${!complete || this.sending} @click=${this.submit}>
        ${this.sending ? 'Sending…' : 'Submit'}
      </button>
      ${complete ? '' : html`<small>Please mark every line.</small>`}`;
  }

  override render() {
    const status = this.status;
    return html`<div part="base" data-status=${status}>
      ${this.renderConn()}
      ${status === 'submitted'
        ? html`<p class="box" data-state="submitted">Thank you. Your therapist can see your answers now.</p>`
        : status === 'open'
          ? this.renderForm()
          : html`<p class="q">${QUIET[status] ?? ''}</p>`}
      <p><small>${SRS.attribution}</small></p>
    </div>`;
  }
}

customElements.define('srs-rating', SrsRating);

declare global {
  interface HTMLElementTagNameMap {
    'srs-rating': SrsRating;
  }
}
