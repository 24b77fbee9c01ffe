import { LitElement, html, nothing } from 'lit';
import { formatCm, MM_MAX, MM_MIN } from '../shared/scoring.ts';
import { VasInputEvent } from './events.ts';
import { vasLineStyles } from './vas-line.styles.ts';

/** Key → step in mm. Arrows move 1 mm (0.1 cm), Page keys 10 mm (1 cm). */
const STEPS: Readonly<Record<string, number>> = {
  ArrowRight: 1,
  ArrowUp: 1,
  ArrowLeft: -1,
  ArrowDown: -1,
  PageUp: 10,
  PageDown: -10,
};

const clamp = (mm: number): number => Math.min(MM_MAX, Math.max(MM_MIN, mm));

/**
 * One 10 cm visual analog line. It has an *unset* state (no thumb): a preset mark biases answers.
 * The position is an integer 0–100 mm. Keyboard: arrows ±1 mm, PageUp/PageDown ±10 mm, Home/End
 * 0/100; the first arrow on an unmarked line marks the middle.
 *
 * @fires vas-input - {@link VasInputEvent}: the user moved the mark; `final` at a key press or drag end.
 * @csspart base - The wrapper (highlighted when `flagged`).
 * @csspart label - The item label.
 * @csspart value - The value in cm (only with `showValue`); carries `data-value-for` = item id.
 * @csspart slider - The focusable `role="slider"` track.
 * @csspart thumb - The mark.
 * @cssprop --srs-line-width - Maximum length of the line (default 10cm).
 * @cssprop --srs-mark - Colour of the mark.
 * @cssprop --srs-focus - Colour of the focus ring.
 * @cssprop --srs-flag-bg - Background of a flagged line.
 */
export class SrsVasLine extends LitElement {
  static override styles = vasLineStyles;
  static override properties = {
    item: { attribute: 'data-item' },
    label: {},
    leftAnchor: { attribute: 'left-anchor' },
    rightAnchor: { attribute: 'right-anchor' },
    mm: { type: Number },
    readonly: { type: Boolean },
    showValue: { type: Boolean, attribute: 'show-value' },
    flagged: { type: Boolean },
  };

  /** The item id, from the `data-item` attribute. */
  item = '';
  label = '';
  leftAnchor = '';
  rightAnchor = '';
  /** The mark in integer mm 0–100, or null for no mark (no thumb). */
  mm: number | null = null;
  /** Shows the mark but ignores keys and pointer; still focusable. */
  readonly = false;
  /** Shows the value in cm beside the label (the therapist's view; the client sees no numbers). */
  showValue = false;
  /** Highlights the line (an item below the flag threshold). */
  flagged = false;

  private dragging = false;

  private set(mm: number, final: boolean): void {
    if (mm === this.mm && !final) return;
    this.mm = mm;
    this.dispatchEvent(new VasInputEvent(mm, final));
  }

  private onKey(e: KeyboardEvent): void {
    if (this.readonly) return;
    const step = STEPS[e.key];
    const mm = e.key === 'Home' ? MM_MIN : e.key === 'End' ? MM_MAX : step ? (this.mm === null ? 50 : clamp(this.mm + step)) : null;
    if (mm === null) return;
    e.preventDefault();
    this.set(mm, true);
  }

  private at(e: PointerEvent): number {
    const box = (e.currentTarget as HTMLElement).getBoundingClientRect();
    return clamp(Math.round(((e.clientX - box.left) / box.width) * MM_MAX));
  }

  private onDown(e: PointerEvent): void {
    if (this.readonly || e.button) return;
    (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
    this.dragging = true;
    this.set(this.at(e), false);
  }

  private onMove(e: PointerEvent): void {
    if (this.dragging) this.set(this.at(e), false);
  }

  private onUp(): void {
    if (!this.dragging) return;
    this.dragging = false;
    if (this.mm !== null) this.set(this.mm, true);
  }

  override render() {
    const mm = this.mm;
    const cm = mm === null ? null : formatCm(mm);
    return html`<div part="base" class=${this.flagged ? 'flagged' : ''}>
      <div class="heading">
        <span id="l" part="label">${this.label}</span>
        ${this.showValue ? html`<span part="value" data-value-for=${this.item}>${cm ?? '—'}</span>` : nothing}
      </div>
      <div
        part="slider"
        class=${this.readonly ? 'readonly' : ''}
        role="slider"
        tabindex="0"
        aria-labelledby="l"
        aria-describedby="a b"
        aria-valuemin="0"
        aria-valuemax="10"
        aria-valuenow=${cm ?? nothing}
        aria-valuetext=${cm === null ? 'not rated' : `${cm} of 10`}
        aria-readonly=${this.readonly ? 'true' : nothing}
        @keydown=${this.onKey}
        @pointerdown=${this.onDown}
        @pointermove=${this.onMove}
        @pointerup=${this.onUp}
        @pointercancel=${this.onUp}
      >
        <div class="line"></div>
        ${mm === null ? nothing : html`<div part="thumb" .style=${`left:${mm}%`}></div>`}
      </div>
      <div class="anchors"><span id="a">${this.leftAnchor}</span><span id="b">${this.rightAnchor}</span></div>
    </div>`;
  }
}

customElements.define('srs-vas-line', SrsVasLine);

declare global {
  interface HTMLElementTagNameMap {
    'srs-vas-line': SrsVasLine;
  }
}
