import { describe, expect, it } from 'vitest';
import { problemOf } from './oral-check.ts';

describe('problemOf', () => {
  it('accepts every value from 0.0 to 10.0 in steps of 0.1', () => {
    for (let mm = 0; mm <= 100; mm++) {
      const text = `${Math.trunc(mm / 10)}.${mm % 10}`;
      expect(problemOf(text, 'Goals'), text).toBe('');
    }
    expect(problemOf('7', 'Goals')).toBe('');
    expect(problemOf(' 10 ', 'Goals')).toBe('');
  });

  it('asks for a missing value by its label', () => {
    expect(problemOf('', 'Goals and Topics')).toBe("Enter the client's rating for Goals and Topics.");
    expect(problemOf('   ', 'Overall')).toContain('Overall');
  });

  it('refuses out-of-range values, two decimals and what is not a number', () => {
    for (const text of ['10.1', '11', '-1', '7.35', 'abc', '1e1', '.5', '7.']) {
      expect(problemOf(text, 'Goals'), text).toMatch(/from 0\.0 to 10\.0/);
    }
  });

  it('refuses what the browser could not read as a number, even though its value is empty', () => {
    expect(problemOf('', 'Goals', true)).toMatch(/from 0\.0 to 10\.0/);
  });
});
