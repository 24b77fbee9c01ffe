import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from '@playwright/test';
import { E2E_API_KEY, E2E_BASE_URL, E2E_PORT } from './e2e/e2e-config.ts';

/**
 * End-to-end tests in a real Chromium: the machine's own (Debian's `chromium`), since Playwright's
 * browser download is not available everywhere. CHROMIUM_PATH overrides the path.
 */
const chromiumPath = [process.env['CHROMIUM_PATH'], '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
  (path): path is string => path !== undefined && path !== '' && existsSync(path),
);

export default defineConfig({
  testDir: 'e2e',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: process.env['CI'] ? 1 : 0,
  reporter: 'list',
  use: {
    baseURL: E2E_BASE_URL,
    trace: 'on-first-retry',
    launchOptions: {
      ...(chromiumPath ? { executablePath: chromiumPath } : {}),
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-quic',
        '--disable-sync',
      ],
    },
  },
  webServer: {
    command: 'tsx server/main.ts',
    url: `${E2E_BASE_URL}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    env: {
      PORT: String(E2E_PORT),
      HOST: '127.0.0.1',
      DATA_DIR: join(tmpdir(), `srs-live-e2e-${process.pid}-${Date.now()}`),
      SRS_API_KEY: E2E_API_KEY,
      // Keys configured means production: links must not follow the Host header.
      SRS_PUBLIC_URL: E2E_BASE_URL,
      SRS_DEMO: 'on',
    },
  },
});
