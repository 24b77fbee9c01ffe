import { adoptStyles, css } from 'lit';

/** The view's public properties, forwarded from this element (see therapist/srs-therapist-view.ts). */
interface ViewProperties {
  server?: string;
  token?: string;
  flagBelow: number;
  cutoff: number;
  dropAlert: number;
}

const ATTRIBUTES = ['server', 'token', 'flag-below', 'cutoff', 'drop-alert'];

/** The view's parts, exported so that `srs-therapist::part(…)` styles them from the page. */
const PARTS = 'base,connection,reconnect,error,switched,controls,start,withdraw,intro,private,summary,entered-by,oral-toggle,oral,oral-submit,trend';

/**
 * `<srs-therapist>`: the therapist's live view, loaded on first use. A client's page loads the
 * same script tag and must stay small, so this element is only a host: when it is first
 * connected it imports the view (a separate chunk beside the bundle, fetched relative to it)
 * and shows it in its shadow root. The custom element registry tells us about every use,
 * wherever and whenever the element is added, shadow roots included.
 *
 * Attributes and properties: `server`, `token`, `flag-below` (mm), `cutoff` (mm, default 360),
 * `drop-alert` (mm, default 10) — all passed to the view.
 *
 * @fires srs-error - {@link SrsErrorEvent}: a refusal (an event or the connection).
 * @fires srs-submit - {@link SrsSubmitEvent}: the therapist's oral entry was stored.
 * @csspart base - The root container; `data-status` = connecting | waiting | open | submitted | closed.
 * @csspart summary - The total and band (`role="status"`).
 * @csspart trend - The trend over sessions.
 */
export class SrsTherapist extends HTMLElement {
  static readonly observedAttributes = ATTRIBUTES;

  declare server?: string;
  declare token?: string;
  declare flagBelow?: number;
  declare cutoff?: number;
  declare dropAlert?: number;

  private readonly view = document.createElement('srs-therapist-view') as HTMLElement & Partial<ViewProperties>;
  private loading = false;

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    adoptStyles(root, [css`:host{display:block}`]);
    this.view.setAttribute('exportparts', PARTS);
    // Shown until the view is defined; its shadow root then hides this text.
    this.view.textContent = 'Loading…';
    root.append(this.view);
  }

  connectedCallback(): void {
    if (this.loading) return;
    this.loading = true;
    import('./therapist/srs-therapist-view.ts').catch(() => {
      this.loading = false;
      this.view.textContent = 'The therapist view could not be loaded. Please reload the page.';
    });
  }

  attributeChangedCallback(name: string, _old: string | null, value: string | null): void {
    if (value === null) this.view.removeAttribute(name);
    else this.view.setAttribute(name, value);
  }
}

// The public properties pass straight through to the view (Lit keeps what is set before it upgrades).
for (const name of ['server', 'token', 'flagBelow', 'cutoff', 'dropAlert'] as const) {
  Object.defineProperty(SrsTherapist.prototype, name, {
    get(this: { view: ViewProperties }) {
      return this.view[name];
    },
    set(this: { view: ViewProperties }, value: never) {
      this.view[name] = value;
    },
  });
}

customElements.define('srs-therapist', SrsTherapist);

declare global {
  interface HTMLElementTagNameMap {
    'srs-therapist': SrsTherapist;
  }
}
