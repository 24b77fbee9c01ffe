/** Settings shared by playwright.config.ts and the tests. */
export const E2E_PORT = Number(process.env['E2E_PORT'] ?? 3917);
export const E2E_API_KEY = 'e2e-api-key-0123456789abcdef';
export const E2E_BASE_URL = `http://127.0.0.1:${E2E_PORT}`;
