import { LitElement, css, html } from 'lit';
import { live } from 'lit/directives/live.js';
import { SRS, SRS_ITEM_IDS, type ItemId } from '../../shared/instruments.ts';
import { parseCm, type Marks } from '../../shared/scoring.ts';
import { problemOf } from './oral-check.ts';
import { sessionStyles } from '../session.styles.ts';

/** The therapist entered all four ratings and every one is valid. */
export class OralSubmitEvent extends Event {
  constructor(readonly marks: Marks) {
    super('oral-submit');
  }
}

type Texts = Record<ItemId, string>;

const emptyTexts = (): Texts => ({ relationship: '', goals: '', approach: '', overall: '' });

/**
 * Oral administration (the client cannot use the form): the therapist asks for each item as a
 * number from 0 to 10 and types it here, in cm with at most one decimal. Each input is checked
 * with the same parser as the server's scale (`parseCm`); a problem shows beside its input,
 * which is marked `aria-invalid` and described by it, and the first one takes the focus.
 *
 * @fires oral-submit - {@link OralSubmitEvent}: four valid ratings, in mm.
 * @csspart oral-submit - The submit button.
 */
export class SrsOralForm extends LitElement {
  static override styles = [
    sessionStyles,
    css`
      :host {
        display: block;
        padding: 0;
      }

      form {
        margin: 0.5rem 0;
        padding: 0.75rem;
        border: 2px solid;
        border-radius: 6px;
      }

      .field {
        margin: 0.5rem 0;
      }

      label {
        display: block;
        font-weight: 600;
      }

      /* 44px: the minimum touch target. */
      input {
        font: inherit;
        width: 6rem;
        min-height: 44px;
        padding: 0 0.5rem;
        border: 1px solid;
        border-radius: 4px;
      }

      /* A thicker border, not only a colour, marks the input with a problem. */
      input[aria-invalid='true'] {
        border: 3px solid var(--srs-error, #b3261e);
      }

      .problem {
        margin: 0.25rem 0 0;
        color: var(--srs-error, #b3261e);
      }
    `,
  ];
  static override properties = { sending: { type: Boolean }, texts: { state: true }, problems: { state: true } };

  /** True while the parent sends the rating: the inputs stay, the button waits. */
  sending = false;
  private texts: Texts = emptyTexts();
  private problems: Partial<Record<ItemId, string>> = {};

  /** Focuses the first input, e.g. when the form opens. */
  override focus(): void {
    void this.updateComplete.then(() => this.renderRoot.querySelector('input')?.focus());
  }

  private input(id: ItemId, target: HTMLInputElement, check: boolean): void {
    this.texts = { ...this.texts, [id]: target.value };
    // While typing, only clear a problem; a new one is reported when the person leaves the input.
    const label = SRS.items.find((it) => it.id === id)?.label ?? id;
    const problem = problemOf(target.value, label, target.validity.badInput);
    if (check ? target.value !== '' || target.validity.badInput : !problem) this.problems = { ...this.problems, [id]: problem };
  }

  private async submit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    if (this.sending) return;
    const problems: Partial<Record<ItemId, string>> = {};
    const marks: Partial<Record<ItemId, number>> = {};
    for (const it of SRS.items) {
      const field = this.renderRoot.querySelector<HTMLInputElement>(`input[data-oral-for=${it.id}]`);
      const problem = problemOf(this.texts[it.id], it.label, field?.validity.badInput ?? false);
      if (problem) problems[it.id] = problem;
      else marks[it.id] = parseCm(this.texts[it.id]) ?? undefined;
    }
    this.problems = problems;
    const first = SRS_ITEM_IDS.find((id) => problems[id]);
    if (first) {
      await this.updateComplete;
      this.renderRoot.querySelector<HTMLInputElement>(`input[data-oral-for=${first}]`)?.focus();
      return;
    }
    this.dispatchEvent(new OralSubmitEvent(marks as Marks));
  }

  override render() {
    return html`<form novalidate aria-labelledby="t" @submit=${this.submit}>
      <p id="t"><strong>Enter the client's ratings</strong></p>
      <p class="quiet" id="h">Ask for each line as a number from 0 (left) to 10 (right), with at most one decimal.</p>
      ${SRS.items.map((it) => {
        const problem = this.problems[it.id] ?? '';
        return html`<div class="field">
          <label for="o-${it.id}">${it.label} (0 to 10)</label>
          <input
            id="o-${it.id}"
            type="number"
            inputmode="decimal"
            min="0"
            max="10"
            step="0.1"
            autocomplete="off"
            data-oral-for=${it.id}
            .value=${live(this.texts[it.id])}
            aria-invalid=${problem ? 'true' : 'false'}
            aria-describedby="e-${it.id} h"
            @input=${(e: Event) => this.input(it.id, e.target as HTMLInputElement, false)}
            @change=${(e: Event) => this.input(it.id, e.target as HTMLInputElement, true)}
          />
          <p class="problem" id="e-${it.id}">${problem}</p>
        </div>`;
      })}
      <button type="submit" part="oral-submit" ?disabled=${this.sending}>${this.sending ? 'Sending…' : "Save the client's rating"}</button>
    </form>`;
  }
}

customElements.define('srs-oral-form', SrsOralForm);

declare global {
  interface HTMLElementTagNameMap {
    'srs-oral-form': SrsOralForm;
  }
}
