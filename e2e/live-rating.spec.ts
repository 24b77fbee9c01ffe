import { SRS } from '../shared/instruments.ts';
import { bandOf, formatCm } from '../shared/scoring.ts';
import { ITEMS, expect, expectNoAxeViolations, test } from './fixtures.ts';

test.describe('the client rates, the therapist watches', () => {
  test.beforeEach(async ({ client, therapist }) => {
    await expect(client.root).toHaveAttribute('data-status', 'waiting');
    await therapist.startRating();
  });

  test("marks made with the mouse and the keyboard appear on the therapist's view, then the result on both", async ({ client, therapist }) => {
    await expect(client.root).toHaveAttribute('data-status', 'open');
    await expect(therapist.presence).toHaveAttribute('data-presence', 'true');
    for (const item of ITEMS) {
      await expect(client.slider(item)).toHaveAttribute('aria-valuetext', 'not rated');
      await expect(client.page.locator(`srs-rating srs-vas-line[data-item=${item}] [part=thumb]`)).toHaveCount(0);
    }
    await expect(client.submitButton).toBeDisabled();

    // Three lines with the mouse; the therapist's value follows each drag.
    const targets = { relationship: 0.83, goals: 0.42, approach: 0.95 } as const;
    for (const [item, fraction] of Object.entries(targets) as [keyof typeof targets, number][]) {
      await client.drag(item, 0.1, fraction);
      const value = await client.valueOf(item);
      expect(Number(value)).toBeCloseTo(fraction * 10, 0);
      await expect(therapist.valueFor(item)).toHaveText(value ?? '');
    }
    await expect(client.submitButton).toBeDisabled();

    // The fourth with the keyboard: End (10.0), then three steps left (9.7), PageDown (8.7).
    await client.slider('overall').focus();
    await client.page.keyboard.press('End');
    await expect(therapist.valueFor('overall')).toHaveText('10.0');
    for (let i = 0; i < 3; i++) await client.page.keyboard.press('ArrowLeft');
    await client.page.keyboard.press('PageDown');
    await expect(client.slider('overall')).toHaveAttribute('aria-valuenow', '8.7');
    await expect(client.slider('overall')).toHaveAttribute('aria-valuetext', '8.7 of 10');
    await expect(therapist.valueFor('overall')).toHaveText('8.7');

    // Running total and band on the therapist's side, before submission.
    const mm = await Promise.all(ITEMS.map(async (item) => Math.round(Number(await client.valueOf(item)) * 10)));
    const totalMm = mm.reduce((sum, value) => sum + value, 0);
    await expect(therapist.total).toHaveText(formatCm(totalMm));
    await expect(therapist.band).toHaveText(bandOf(totalMm));
    await expect(therapist.promptFor('goals')).toBeVisible();
    await expect(therapist.promptFor('overall')).toBeVisible();

    // The client never sees a number (the attribution's copyright year aside).
    const clientText = await client.page.locator('srs-rating').evaluate(function textOf(node: Node): string {
      const root = node instanceof Element && node.shadowRoot ? node.shadowRoot : node;
      return [...root.childNodes].map((child) => (child.nodeType === Node.TEXT_NODE ? (child.textContent ?? '') : textOf(child))).join(' ');
    });
    expect(clientText).toContain('Goals and Topics');
    expect(clientText.replace(SRS.attribution, '')).not.toMatch(/\d/);

    await expect(client.submitButton).toBeEnabled();
    await client.submitButton.click();
    await expect(client.page.locator('srs-rating [data-state=submitted]')).toBeVisible();
    await expect(client.root).toHaveAttribute('data-status', 'submitted');
    await expect(therapist.root).toHaveAttribute('data-status', 'submitted');
    await expect(therapist.page.locator('srs-therapist [data-state=submitted]')).toBeVisible();
    await expect(therapist.total).toHaveText(formatCm(totalMm));
    await expect(therapist.band).toHaveText(bandOf(totalMm));
  });

  test('the result survives a reload of either page', async ({ client, therapist, session }) => {
    for (const item of ITEMS) {
      await client.slider(item).focus();
      await client.page.keyboard.press('End');
    }
    await client.submitButton.click();
    await expect(client.root).toHaveAttribute('data-status', 'submitted');
    await client.page.reload();
    await expect(client.page.locator('srs-rating [data-state=submitted]')).toBeVisible();
    await therapist.page.reload();
    await expect(therapist.total).toHaveText('40.0');
    await expect(therapist.band).toHaveText('good');
    const response = await fetch(`${new URL(session.client.url).origin}/api/sessions/${session.sessionId}`, {
      headers: { authorization: `Bearer ${session.therapist.token}` },
    });
    expect(((await response.json()) as { result: { totalMm: number } }).result.totalMm).toBe(400);
  });

  test('both pages pass axe-core with no violations, before and after submission', async ({ client, therapist }) => {
    await expect(client.root).toHaveAttribute('data-status', 'open');
    await expectNoAxeViolations(client.page);
    await expectNoAxeViolations(therapist.page);
    for (const item of ITEMS) {
      await client.slider(item).focus();
      await client.page.keyboard.press('Home');
    }
    await expect(therapist.band).toHaveText('poor');
    await expectNoAxeViolations(therapist.page);
    await client.submitButton.click();
    await expect(client.root).toHaveAttribute('data-status', 'submitted');
    await expect(therapist.root).toHaveAttribute('data-status', 'submitted');
    await expectNoAxeViolations(client.page);
    await expectNoAxeViolations(therapist.page);
  });
});
