/**
 * The conversation around the rating: the therapist starts (and may withdraw) it, the client may
 * rate privately, low items bring their prompts, the trend over sessions with its alerts, and
 * the therapist entering the ratings for the client (oral administration).
 */
import type { Browser, Locator, Page } from '@playwright/test';
import { SRS, type ItemId } from '../shared/instruments.ts';
import type { Result } from '../shared/protocol.ts';
import { formatCm } from '../shared/scoring.ts';
import { E2E_BASE_URL } from './e2e-config.ts';
import { ClientPage, createSession, expect, expectNoAxeViolations, ITEMS, openPage, TherapistPage, test } from './fixtures.ts';

type Ratings = Readonly<Record<ItemId, number>>;

/** The therapist's page, with the controls this file needs. */
class Therapist extends TherapistPage {
  part(name: string): Locator {
    return this.page.locator(`srs-therapist [part=${name}]`);
  }
  get intro(): Locator {
    return this.page.locator('srs-therapist [data-intro]');
  }
  get points(): Locator {
    return this.page.locator('srs-therapist [data-trend-point]');
  }
  alert(kind: 'drop' | 'cutoff'): Locator {
    return this.page.locator(`srs-therapist [data-alert=${kind}]`);
  }
  oralInput(item: ItemId): Locator {
    return this.page.locator(`srs-therapist input[data-oral-for=${item}]`);
  }
  async start(): Promise<void> {
    await this.startRating();
    await expect(this.part('withdraw')).toBeVisible();
  }
}

/** Puts a line at exactly `mm` with the keyboard: End, then PageDown and ArrowLeft. */
async function mark(client: ClientPage, item: ItemId, mm: number): Promise<void> {
  const slider = client.slider(item);
  await slider.focus();
  await slider.press('End');
  for (let i = 0; i < Math.floor((100 - mm) / 10); i++) await slider.press('PageDown');
  for (let i = 0; i < (100 - mm) % 10; i++) await slider.press('ArrowLeft');
  await expect(slider).toHaveAttribute('aria-valuenow', formatCm(mm));
}

async function rate(client: ClientPage, ratings: Ratings): Promise<void> {
  for (const item of ITEMS) await mark(client, item, ratings[item]);
}

async function resultOf(sessionId: string, token: string): Promise<Result | null> {
  const response = await fetch(`${E2E_BASE_URL}/api/sessions/${sessionId}`, { headers: { authorization: `Bearer ${token}` } });
  expect(response.status).toBe(200);
  return ((await response.json()) as { result: Result | null }).result;
}

/** Socket.IO events received by a page, parsed from its WebSocket frames (`42/srs,[event, payload]`). */
async function openWatched(browser: Browser, url: string): Promise<{ page: Page; events: [string, unknown][] }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const events: [string, unknown][] = [];
  page.on('websocket', (ws) =>
    ws.on('framereceived', ({ payload }) => {
      const text = typeof payload === 'string' ? payload : payload.toString('utf8');
      const match = /^4[23]\/srs,\d*(\[.*)$/s.exec(text);
      if (match?.[1]) events.push(JSON.parse(match[1]) as [string, unknown]);
    }),
  );
  await page.goto(url);
  return { page, events };
}

test.describe('the therapist starts the rating', () => {
  test('the client waits with no form until the therapist starts, and waits again after a withdrawal', async ({ client, therapist: page }) => {
    const therapist = new Therapist(page.page);
    await expect(client.root).toHaveAttribute('data-status', 'waiting');
    await expect(client.page.getByText('Your therapist will start the rating soon.')).toBeVisible();
    await expect(client.page.locator('srs-rating srs-vas-line')).toHaveCount(0);
    await expect(client.submitButton).toHaveCount(0);
    await expect(therapist.part('withdraw')).toHaveCount(0);
    await expect(therapist.intro).not.toHaveAttribute('open');
    await expectNoAxeViolations(client.page);
    await expectNoAxeViolations(therapist.page);

    // Start: the form appears at once, the introduction opens and takes the focus.
    await expect(therapist.part('start')).toHaveAccessibleName('Start the rating');
    await therapist.start();
    await expect(client.root).toHaveAttribute('data-status', 'open');
    await expect(client.page.locator('srs-rating srs-vas-line')).toHaveCount(ITEMS.length);
    await expect(client.slider('goals')).toHaveAttribute('aria-valuetext', 'not rated');
    await expect(therapist.intro).toHaveAttribute('open', '');
    await expect(therapist.intro).toContainText(SRS.introScript);
    await expect(therapist.page.locator('srs-therapist [data-intro] summary')).toBeFocused();
    await expect(therapist.part('start')).toHaveCount(0);
    await expect(client.page.locator('srs-rating [data-visibility]')).toHaveAttribute('data-visibility', 'live');
    await expectNoAxeViolations(client.page);
    await expectNoAxeViolations(therapist.page);

    // A mark, then a withdrawal: back to waiting, the mark dropped on both sides.
    await mark(client, 'goals', 64);
    await expect(therapist.valueFor('goals')).toHaveText('6.4');
    await therapist.part('withdraw').click();
    await expect(client.root).toHaveAttribute('data-status', 'waiting');
    await expect(client.page.locator('srs-rating srs-vas-line')).toHaveCount(0);
    await expect(therapist.valueFor('goals')).toHaveText('—');
    await expect(therapist.part('start')).toBeFocused();

    // Started again, the form comes back empty.
    await therapist.start();
    await expect(client.slider('goals')).toHaveAttribute('aria-valuetext', 'not rated');
    await expect(client.submitButton).toBeDisabled();
  });
});

test.describe('reading the answers', () => {
  test('a discussion prompt appears exactly for each item below 9.0', async ({ client, therapist: page }) => {
    const therapist = new Therapist(page.page);
    await therapist.start();
    // 10.0 and 9.0 are not flagged; 8.9 and 0.0 are.
    await rate(client, { relationship: 100, goals: 89, approach: 90, overall: 0 });
    const flagged: ItemId[] = ['goals', 'overall'];
    await expect(therapist.page.locator('srs-therapist [data-prompt-for]')).toHaveCount(flagged.length);
    for (const item of SRS.items) {
      if (flagged.includes(item.id)) await expect(therapist.promptFor(item.id)).toContainText(item.discussionPrompt);
      else await expect(therapist.promptFor(item.id)).toHaveCount(0);
    }
    await client.submitButton.click();
    await expect(therapist.root).toHaveAttribute('data-status', 'submitted');
    await expect(therapist.page.locator('srs-therapist [data-prompt-for]')).toHaveCount(flagged.length);
    await expect(therapist.total).toHaveText('27.9');
    await expectNoAxeViolations(therapist.page);
  });
});

test.describe('the trend over sessions', () => {
  test('the third session shows three totals, this one highlighted, with the drop and cutoff alerts', async ({ browser }) => {
    const clientRef = `e2e-trend-${Date.now()}`;
    const sessions: Ratings[] = [
      { relationship: 100, goals: 100, approach: 100, overall: 100 }, // 40.0, good
      { relationship: 100, goals: 100, approach: 100, overall: 85 }, // 38.5: a drop of 1.5, above the cutoff
      { relationship: 100, goals: 100, approach: 70, overall: 70 }, // 34.0: a drop of 4.5, below the cutoff
    ];
    const totals = sessions.map((ratings) => ITEMS.reduce((sum, item) => sum + ratings[item], 0));
    for (const [index, ratings] of sessions.entries()) {
      const session = await createSession(clientRef);
      const therapist = new Therapist(await openPage(browser, session.therapist.url));
      const client = new ClientPage(await openPage(browser, session.client.url));
      // Before today's rating: the earlier totals, none of them today's.
      await expect(therapist.part('trend')).toBeVisible();
      await expect(therapist.points).toHaveCount(index);
      await expect(therapist.page.locator('srs-therapist [data-today]')).toHaveCount(0);
      if (index === 0) await expect(therapist.part('trend')).toContainText('No earlier ratings.');

      await therapist.start();
      await rate(client, ratings);
      await client.submitButton.click();
      await expect(therapist.root).toHaveAttribute('data-status', 'submitted');
      await expect(therapist.points).toHaveCount(index + 1);
      await expect(therapist.page.locator('srs-therapist [data-today]')).toHaveAttribute('data-trend-point', String(totals[index]));

      const expectAlerts = { drop: index > 0, cutoff: index === 2 };
      await expect(therapist.alert('drop')).toHaveCount(expectAlerts.drop ? 1 : 0);
      await expect(therapist.alert('cutoff')).toHaveCount(expectAlerts.cutoff ? 1 : 0);
      if (index < 2) {
        await Promise.all([therapist.page.context().close(), client.page.context().close()]);
        continue;
      }

      // The third view: three points, oldest to newest, the last one today's.
      expect(await therapist.points.evaluateAll((points) => points.map((point) => Number(point.getAttribute('data-trend-point'))))).toEqual(totals);
      await expect(therapist.points.last()).toHaveAttribute('data-today', '');
      await expect(therapist.alert('drop')).toContainText('Down 4.5');
      await expect(therapist.alert('cutoff')).toContainText('Below the clinical cutoff of 36 (a guide)');
      // For screen readers: the chart is hidden and the table says the same.
      await expect(therapist.page.locator('srs-therapist [part=trend] svg')).toHaveAttribute('aria-hidden', 'true');
      const table = therapist.page.getByRole('table', { name: 'Session Rating Scale totals over sessions' });
      await expect(table.getByRole('row')).toHaveCount(4);
      await expect(table.getByRole('row').last()).toContainText('(this session)');
      await expect(table.getByRole('row').last()).toContainText('34.0');
      await expectNoAxeViolations(therapist.page);
      await Promise.all([therapist.page.context().close(), client.page.context().close()]);
    }
  });
});

test.describe('oral administration', () => {
  test('the therapist enters the ratings for the client, checked inline, stored as entered by the therapist', async ({ client, therapist: page, session }) => {
    const therapist = new Therapist(page.page);
    await expect(client.root).toHaveAttribute('data-status', 'waiting');
    await expect(therapist.part('oral')).toHaveCount(0);
    await therapist.part('oral-toggle').click();
    await expect(therapist.part('oral-toggle')).toHaveAttribute('aria-expanded', 'true');
    await expect(therapist.part('oral')).toBeVisible();
    await expect(therapist.oralInput('relationship')).toBeFocused();
    for (const item of SRS.items) {
      await expect(therapist.page.getByRole('spinbutton', { name: item.label })).toHaveAttribute('data-oral-for', item.id);
    }

    // Out of range and missing values: an error beside each input, the first one focused.
    await therapist.oralInput('relationship').fill('12');
    await therapist.oralInput('goals').fill('8.5');
    await therapist.part('oral-submit').click();
    for (const item of ['relationship', 'approach', 'overall'] as const) {
      const input = therapist.oralInput(item);
      await expect(input).toHaveAttribute('aria-invalid', 'true');
      await expect(input).toHaveAccessibleDescription(/Enter/);
    }
    await expect(therapist.oralInput('relationship')).toHaveAccessibleDescription(/0\.0 to 10\.0/);
    await expect(therapist.oralInput('goals')).toHaveAttribute('aria-invalid', 'false');
    await expect(therapist.oralInput('relationship')).toBeFocused();
    await expectNoAxeViolations(therapist.page);
    expect(await resultOf(session.sessionId, session.therapist.token)).toBeNull();

    await therapist.oralInput('relationship').fill('9.5');
    await therapist.oralInput('approach').fill('10');
    await therapist.oralInput('overall').fill('7.3');
    await expect(therapist.oralInput('relationship')).toHaveAttribute('aria-invalid', 'false');
    await therapist.part('oral-submit').click();

    await expect(therapist.root).toHaveAttribute('data-status', 'submitted');
    await expect(therapist.page.locator('srs-therapist [data-entered-by=therapist]')).toBeVisible();
    await expect(therapist.total).toHaveText('35.3');
    await expect(therapist.band).toHaveText('fair');
    await expect(therapist.promptFor('overall')).toBeVisible();
    await expect(therapist.part('oral')).toHaveCount(0);
    await expect(client.root).toHaveAttribute('data-status', 'submitted');
    await expect(therapist.page.locator('srs-therapist [data-today]')).toHaveAttribute('data-trend-point', '353');

    const result = await resultOf(session.sessionId, session.therapist.token);
    expect(result).toMatchObject({ enteredBy: 'therapist', totalMm: 353, band: 'fair' });
    expect(result?.items).toEqual([
      { id: 'relationship', mm: 95 },
      { id: 'goals', mm: 85 },
      { id: 'approach', mm: 100 },
      { id: 'overall', mm: 73 },
    ]);
    await expectNoAxeViolations(therapist.page);
  });
});

test.describe('rating privately', () => {
  test('with "only when I submit", no mark reaches the therapist before the submission', async ({ browser, session }) => {
    const watched = await openWatched(browser, session.therapist.url);
    const therapist = new Therapist(watched.page);
    await therapist.start();
    const client = new ClientPage(await openPage(browser, session.client.url));
    await expect(client.root).toHaveAttribute('data-status', 'open');

    const choice = client.page.locator('srs-rating [data-visibility]');
    await expect(choice).toHaveAttribute('data-visibility', 'live');
    await client.page.getByRole('radio', { name: 'only when I submit' }).check();
    await expect(choice).toHaveAttribute('data-visibility', 'on-submit');
    await expect(therapist.page.locator('srs-therapist [data-private]')).toContainText('The client is rating privately: 0 of 4 lines marked');

    // The choice is remembered: the client's page reloads with it.
    await client.page.reload();
    await expect(client.page.getByRole('radio', { name: 'only when I submit' })).toBeChecked();
    await expect(choice).toHaveAttribute('data-visibility', 'on-submit');

    const ratings: Ratings = { relationship: 82, goals: 100, approach: 47, overall: 91 };
    await mark(client, 'relationship', ratings.relationship);
    await mark(client, 'goals', ratings.goals);
    await expect(therapist.page.locator('srs-therapist [data-private]')).toContainText('2 of 4 lines marked');
    await mark(client, 'approach', ratings.approach);
    await mark(client, 'overall', ratings.overall);
    await expect(therapist.page.locator('srs-therapist [data-private]')).toContainText('4 of 4 lines marked');
    await expectNoAxeViolations(therapist.page);
    await expectNoAxeViolations(client.page);

    // Neither the screen nor the socket carries a value.
    for (const item of ITEMS) await expect(therapist.valueFor(item)).toHaveText('—');
    await expect(therapist.total).toHaveText('—');
    const before = watched.events.slice();
    expect(before.map(([event]) => event)).not.toContain('mark:moved');
    expect(before.some(([event]) => event === 'rating:activity')).toBe(true);
    const states = before.filter(([event]) => event === 'session:state').map(([, state]) => state as { marks: Record<string, number | null> });
    expect(states.length).toBeGreaterThan(0);
    for (const state of states) expect(Object.values(state.marks)).toEqual([null, null, null, null]);

    await client.submitButton.click();
    await expect(therapist.root).toHaveAttribute('data-status', 'submitted');
    for (const item of ITEMS) await expect(therapist.valueFor(item)).toHaveText(formatCm(ratings[item]));
    await expect(therapist.total).toHaveText('32.0');
    await expect(therapist.page.locator('srs-therapist [data-private]')).toHaveCount(0);
    expect(watched.events.map(([event]) => event)).not.toContain('mark:moved');
    await expectNoAxeViolations(therapist.page);
    await Promise.all([watched.page.context().close(), client.page.context().close()]);
  });
});
