/**
 * Page objects as fixtures: every test gets a fresh session created through the platform API,
 * and the client's and the therapist's pages, each in its own browser context (two devices).
 */
import AxeBuilder from '@axe-core/playwright';
import { test as base, expect, type Browser, type Locator, type Page } from '@playwright/test';
import { SRS_ITEM_IDS, type ItemId } from '../shared/instruments.ts';
import type { CreateSessionResponse } from '../shared/protocol.ts';
import { E2E_API_KEY, E2E_BASE_URL } from './e2e-config.ts';

export { expect };
export const ITEMS = SRS_ITEM_IDS;

export async function createSession(clientRef = `e2e-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`): Promise<CreateSessionResponse> {
  const response = await fetch(`${E2E_BASE_URL}/api/sessions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${E2E_API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ clientRef }),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as CreateSessionResponse;
}

export async function openPage(browser: Browser, url: string): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url);
  return page;
}

/** Accessibility check of the whole page with axe-core (WCAG 2.x A and AA rules). */
export async function expectNoAxeViolations(page: Page): Promise<void> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  expect(results.violations.map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`)).toEqual([]);
}

export class ClientPage {
  constructor(readonly page: Page) {}

  get root(): Locator {
    return this.page.locator('srs-rating [part=base][data-status]');
  }

  slider(item: ItemId): Locator {
    return this.page.locator(`srs-rating srs-vas-line[data-item=${item}] [part=slider]`);
  }

  get submitButton(): Locator {
    return this.page.locator('srs-rating [part=submit]');
  }

  /** Drags a line with the mouse from `from` to `to` (fractions of its length), in steps. */
  async drag(item: ItemId, from: number, to: number, steps = 8): Promise<void> {
    await this.slider(item).scrollIntoViewIfNeeded();
    const box = await this.slider(item).boundingBox();
    if (!box) throw new Error(`no box for ${item}`);
    const y = box.y + box.height / 2;
    await this.page.mouse.move(box.x + box.width * from, y);
    await this.page.mouse.down();
    await this.page.mouse.move(box.x + box.width * to, y, { steps });
    await this.page.mouse.up();
  }

  /** The value the client's line holds, in cm with one decimal (from its ARIA state). */
  async valueOf(item: ItemId): Promise<string | null> {
    return this.slider(item).getAttribute('aria-valuenow');
  }
}

export class TherapistPage {
  constructor(readonly page: Page) {}

  get root(): Locator {
    return this.page.locator('srs-therapist [part=base][data-status]');
  }

  valueFor(item: ItemId): Locator {
    return this.page.locator(`srs-therapist [data-value-for=${item}]`);
  }

  promptFor(item: ItemId): Locator {
    return this.page.locator(`srs-therapist [data-prompt-for=${item}]`);
  }

  get summary(): Locator {
    return this.page.locator('srs-therapist [part=summary]');
  }

  get total(): Locator {
    return this.page.locator('srs-therapist [data-total]');
  }

  get band(): Locator {
    return this.page.locator('srs-therapist [data-band]');
  }

  get presence(): Locator {
    return this.page.locator('srs-therapist [data-presence]');
  }

  /** Starts the rating (sessions begin `waiting`) and waits until the server has opened it. */
  async startRating(): Promise<void> {
    await this.page.locator('srs-therapist [part=start]').click();
    await expect(this.root).toHaveAttribute('data-status', 'open');
  }
}

interface Fixtures {
  session: CreateSessionResponse;
  client: ClientPage;
  therapist: TherapistPage;
}

export const test = base.extend<Fixtures>({
  // biome-ignore lint/correctness/noEmptyPattern: Playwright reads a fixture's dependencies from this pattern.
  session: async ({}, use) => {
    await use(await createSession());
  },
  therapist: async ({ browser, session }, use) => {
    const page = await openPage(browser, session.therapist.url);
    await use(new TherapistPage(page));
    await page.context().close();
  },
  client: async ({ browser, session, therapist }, use) => {
    // The therapist's page opens first, as in a call; tests start the rating when they need the form.
    await expect(therapist.root).toHaveAttribute('data-status', /waiting|open/);
    const page = await openPage(browser, session.client.url);
    await use(new ClientPage(page));
    await page.context().close();
  },
});
