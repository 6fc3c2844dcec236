// The test's fixtures: the running setup (from global-setup), signing in through the page,
// and a check after every test that no token ever reached the page or the console log.

import { type Page, expect, test as base } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import type { Pool } from './cognito';

export interface E2eState {
  motoUrl: string;
  serviceUrl: string;
  acme: Pool;
  globex: Pool;
  logs: string;
}

export const state = (): E2eState => JSON.parse(process.env.E2E_STATE ?? '{}') as E2eState;

/// A JSON Web Token: three base64url parts, the first two JSON objects ("eyJ").
const JWT = /eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/;

export const test = base.extend<{ consoleLog: string[] }>({
  consoleLog: [
    async ({ page }, use) => {
      const lines: string[] = [];
      page.on('console', (message) => lines.push(message.text()));
      page.on('pageerror', (error) => lines.push(`pageerror: ${error.message}`));
      await use(lines);
      for (const line of lines) expect(line, 'a token was written to the console log').not.toMatch(JWT);
      if (!page.isClosed()) {
        expect(await page.content(), 'a token was written to the page').not.toMatch(JWT);
      }
    },
    { auto: true },
  ],
});
export { expect };

export async function openConsole(page: Page, tenant: string): Promise<void> {
  await page.goto(`${state().serviceUrl}/console/?tenant=${tenant}`);
  await expect(page.getByTestId('tenant')).toHaveValue(tenant);
}

export async function fillSignIn(page: Page, username: string, password: string): Promise<void> {
  await page.getByTestId('username').fill(username);
  await page.getByTestId('password').fill(password);
  await page.getByTestId('sign-in').click();
}

/// Signs in through the page; `code` answers the MFA code step, which must then appear.
export async function signIn(page: Page, tenant: string, username: string, password: string, code?: string): Promise<void> {
  await openConsole(page, tenant);
  await fillSignIn(page, username, password);
  if (code) {
    await page.getByTestId('sign-in-code').fill(code);
    await page.getByTestId('sign-in-code-submit').click();
  }
  await expect(page.getByTestId('signed-in-as')).toHaveText(`Signed in as ${username} (tenant ${tenant})`);
}

/// The access token Amplify keeps for the signed-in user (read by the test only, to replay it).
export async function storedAccessToken(page: Page, pool: Pool, username: string): Promise<string> {
  const token = await page.evaluate(
    ([clientId, user]) => localStorage.getItem(`CognitoIdentityServiceProvider.${clientId}.${user}.accessToken`),
    [pool.clientId, username],
  );
  if (!token) throw new Error(`no access token of ${username} in Amplify's storage`);
  return token;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = join(state().logs, 'screenshots');
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}
