// The console in a real browser (system Chromium), against moto and examples/admin_service.
// Every change made through the page is read back from Cognito (moto), not from the page.
// Scenarios marked "(issue 21)" use the /me and admin-console routes of issue 21.

import {
  PASSWORD,
  TOTP_CODE,
  type Pool,
  attribute,
  cognito,
  getUser,
  groupsOf,
  initiateAuth,
  setPassword,
} from './cognito';
import { expect, fillSignIn, openConsole, screenshot, signIn, state, storedAccessToken, test } from './fixtures';

const moto = (): string => state().motoUrl;

/// Puts a user in a known state: PASSWORD, enabled, MFA as given, in no group but `groups`.
async function resetUser(pool: Pool, user: string, mfa: { totp: boolean; sms: boolean }, groups: string[] = []): Promise<void> {
  await setPassword(moto(), pool, user, PASSWORD, true);
  await cognito(moto(), 'AdminEnableUser', { UserPoolId: pool.id, Username: user });
  await cognito(moto(), 'AdminSetUserMFAPreference', {
    UserPoolId: pool.id,
    Username: user,
    SoftwareTokenMfaSettings: { Enabled: mfa.totp, PreferredMfa: mfa.totp },
    SMSMfaSettings: { Enabled: mfa.sms, PreferredMfa: false },
  });
  for (const group of await groupsOf(moto(), pool, user)) {
    if (!groups.includes(group)) await cognito(moto(), 'AdminRemoveUserFromGroup', { UserPoolId: pool.id, Username: user, GroupName: group });
  }
}

async function deleteIfPresent(pool: Pool, user: string): Promise<void> {
  await cognito(moto(), 'AdminDeleteUser', { UserPoolId: pool.id, Username: user }).catch(() => undefined);
}

test('1. the acme admin finds bob, sets his MFA preference and adds him to a group', async ({ page }) => {
  const { acme } = state();
  await resetUser(acme, 'bob', { totp: false, sms: false });
  await openConsole(page, 'acme');
  await page.getByTestId('username').fill('alice');
  await page.getByTestId('password').fill(PASSWORD);
  await screenshot(page, 'sign-in');
  await page.getByTestId('sign-in').click();
  await expect(page.getByTestId('signed-in-as')).toHaveText('Signed in as alice (tenant acme)');

  await page.getByTestId('nav-admin').click();
  const table = page.getByTestId('users-table');
  // 13 users: a first page of 10, then the rest.
  await expect(table.locator('[data-testid^="user-row-"]')).toHaveCount(10);
  await page.getByTestId('users-next').click();
  await expect(page.getByTestId('users-page')).toHaveText(/page 2/);
  await expect(table.locator('[data-testid^="user-row-"]')).toHaveCount(3);
  await expect(page.getByTestId('users-next')).toBeDisabled();
  await page.getByTestId('users-prev').click();
  await expect(table.locator('[data-testid^="user-row-"]')).toHaveCount(10);

  await page.getByTestId('users-filter').fill('bo');
  await page.getByTestId('users-filter-submit').click();
  await expect(table.locator('[data-testid^="user-row-"]')).toHaveCount(1);
  await page.getByTestId('user-row-bob').getByRole('link', { name: 'bob' }).click();
  await expect(page.getByTestId('user-detail')).toContainText('bob@acme.example');

  await page.getByTestId('mfa-sms').selectOption('enabled');
  await page.getByTestId('mfa-totp').selectOption('preferred');
  await page.getByTestId('mfa-save').click();
  await expect(page.getByTestId('notice')).toHaveText('MFA preference of bob saved.');
  const bob = await getUser(moto(), acme, 'bob');
  expect([...bob.UserMFASettingList].sort()).toEqual(['SMS_MFA', 'SOFTWARE_TOKEN_MFA']);
  expect(bob.PreferredMfaSetting).toBe('SOFTWARE_TOKEN_MFA');
  await expect(page.getByTestId('user-mfa')).toContainText('Preferred: SOFTWARE_TOKEN_MFA');

  await page.getByTestId('group-add').fill('support');
  await page.getByTestId('group-add-submit').click();
  await expect(page.getByTestId('notice')).toHaveText('bob added to group support.');
  expect(await groupsOf(moto(), acme, 'bob')).toEqual(['support']);
  await screenshot(page, 'admin-user-detail');
  await page.getByTestId('group-add').fill('no-such-group');
  await page.getByTestId('group-add-submit').click();
  // Without a role mapping a group is a role: one alice does not hold is refused before Cognito
  // is asked whether the group exists.
  await expect(page.getByTestId('error')).toHaveText(/Adding bob to no-such-group failed: this needs a role in your tenant that your account does not have .*\(server answered 403 forbidden: "role `no-such-group` required"\)/);
  expect(await groupsOf(moto(), acme, 'bob')).toEqual(['support']);
});

test('2. bob edits his nickname and changes his password, with the MFA step-up (issue 21)', async ({ page }) => {
  const { acme } = state();
  await resetUser(acme, 'bob', { totp: true, sms: false });
  await signIn(page, 'acme', 'bob', PASSWORD, TOTP_CODE);
  await expect(page.getByTestId('profile')).toBeVisible();
  await expect(page.getByTestId('profile-attributes')).toContainText('bob@acme.example');

  const nickname = 'Bobby';
  await page.getByTestId('attr-nickname').fill(nickname);
  await page.getByTestId('attributes-save').click();
  await expect(page.getByTestId('notice')).toHaveText('Saved: nickname.');
  expect(attribute(await getUser(moto(), acme, 'bob'), 'nickname')).toBe(nickname);
  await expect(page.getByTestId('profile-attr-nickname')).toContainText(nickname);
  await screenshot(page, 'profile');

  const newPassword = 'N3w!Passw0rd-bob';
  await page.getByTestId('password-current').fill(PASSWORD);
  await page.getByTestId('password-new').fill(newPassword);
  await page.getByTestId('password-submit').click();
  // Bob has MFA: the server asks for a code before changing anything.
  await expect(page.getByTestId('password-mfa-code')).toBeVisible();
  expect((await initiateAuth(moto(), acme, 'bob', PASSWORD)).ChallengeName).toBe('SOFTWARE_TOKEN_MFA');
  await page.getByTestId('password-mfa-code').fill(TOTP_CODE);
  await page.getByTestId('password-submit').click();
  await expect(page.getByTestId('notice')).toHaveText('Your password was changed. Use the new one from now on.');

  await page.getByTestId('sign-out').click();
  await fillSignIn(page, 'bob', PASSWORD);
  await expect(page.getByTestId('error')).toContainText('Incorrect username or password');
  await expect(page.getByTestId('signed-in-as')).toHaveCount(0);
  await signIn(page, 'acme', 'bob', newPassword, TOTP_CODE);
  await expect(initiateAuth(moto(), acme, 'bob', PASSWORD)).rejects.toThrow(/NotAuthorizedException/);
});

test('3a. bob cannot reach the admin view: the 403 is explained', async ({ page }) => {
  const { acme } = state();
  await resetUser(acme, 'bob', { totp: true, sms: false });
  await signIn(page, 'acme', 'bob', PASSWORD, TOTP_CODE);
  await page.getByTestId('nav-admin').click();
  await expect(page.getByTestId('admin-forbidden')).toContainText('You are signed in as bob of tenant acme');
  await expect(page.getByTestId('admin-forbidden')).toContainText('does not have the administrator role');
  await expect(page.getByTestId('error')).toHaveText(/Listing users failed: this needs the administrator role of your tenant, and you do not have it\..*\(server answered 403 insufficient_scope: "role `admin` required"\)/);
  await expect(page.getByTestId('users-table')).toHaveCount(0);
  // His own detail page, where an admin would set MFA: refused too, no MFA controls shown.
  await page.goto(`${state().serviceUrl}/console/?tenant=acme#admin/users/bob`);
  await expect(page.getByTestId('admin-forbidden')).toBeVisible();
  await expect(page.getByTestId('mfa-save')).toHaveCount(0);
  const bob = await getUser(moto(), acme, 'bob');
  expect(bob.UserMFASettingList).toEqual(['SOFTWARE_TOKEN_MFA']);
  expect(bob.PreferredMfaSetting).toBe('SOFTWARE_TOKEN_MFA');
});

test('3b. bob sees his MFA read only and cannot change it through the page (issue 21)', async ({ page }) => {
  const { acme } = state();
  await resetUser(acme, 'bob', { totp: true, sms: false });
  await signIn(page, 'acme', 'bob', PASSWORD, TOTP_CODE);
  await expect(page.getByTestId('my-mfa')).toHaveText('Enabled: authenticator app (TOTP). Preferred: authenticator app (TOTP).');
  await expect(page.getByTestId('profile')).toContainText('ask an administrator to change it');
  for (const id of ['mfa-sms', 'mfa-totp', 'mfa-email', 'mfa-save']) await expect(page.getByTestId(id)).toHaveCount(0);
  await expect(page.getByTestId('profile').locator('select')).toHaveCount(0);
  await expect(page.getByTestId('error')).toBeHidden();
});

test('4a. the acme admin invites carol, who signs in with the temporary password and sets her own (issue 21)', async ({ page, browser }) => {
  const { acme } = state();
  await deleteIfPresent(acme, 'carol');
  await signIn(page, 'acme', 'alice', PASSWORD);
  await page.getByTestId('nav-admin').click();
  await page.getByTestId('invite-username').fill('carol');
  await page.getByTestId('invite-email').fill('carol@acme.example');
  await page.getByTestId('invite-submit').click();
  await expect(page.getByTestId('notice')).toHaveText('Invited carol: Cognito emails them a temporary password.');
  const carol = await getUser(moto(), acme, 'carol');
  expect(carol.UserStatus).toBe('FORCE_CHANGE_PASSWORD');
  expect(attribute(carol, 'email')).toBe('carol@acme.example');

  // Cognito would email the temporary password; moto sends nothing, so the test sets one.
  const temporary = 'Temp!Passw0rd-carol';
  await setPassword(moto(), acme, 'carol', temporary, false);
  const carolPage = await (await browser.newContext()).newPage();
  await openConsole(carolPage, 'acme');
  await fillSignIn(carolPage, 'carol', temporary);
  await carolPage.getByTestId('sign-in-new-password').fill('Carol!Own-Passw0rd');
  await carolPage.getByTestId('sign-in-new-password-submit').click();
  await expect(carolPage.getByTestId('signed-in-as')).toHaveText('Signed in as carol (tenant acme)');
  expect((await getUser(moto(), acme, 'carol')).UserStatus).toBe('CONFIRMED');
  await carolPage.context().close();
});

test('4b. a user created with a temporary password signs in and sets a new one', async ({ page }) => {
  const { acme } = state();
  await resetUser(acme, 'erin', { totp: false, sms: false });
  const temporary = 'Temp!Passw0rd-erin';
  await setPassword(moto(), acme, 'erin', temporary, false);
  await openConsole(page, 'acme');
  await fillSignIn(page, 'erin', temporary);
  await expect(page.getByTestId('sign-in-step')).toContainText('temporary password');
  await page.getByTestId('sign-in-new-password').fill('Erin!Own-Passw0rd');
  await page.getByTestId('sign-in-new-password-submit').click();
  await expect(page.getByTestId('signed-in-as')).toHaveText('Signed in as erin (tenant acme)');
  expect((await getUser(moto(), acme, 'erin')).UserStatus).toBe('CONFIRMED');
  await expect(initiateAuth(moto(), acme, 'erin', temporary)).rejects.toThrow(/NotAuthorizedException/);
  expect((await initiateAuth(moto(), acme, 'erin', 'Erin!Own-Passw0rd')).AuthenticationResult).toBeTruthy();
});

test("5. globex's admin sees no acme user, and acme's user names give 404", async ({ page }) => {
  await signIn(page, 'globex', 'gina', PASSWORD);
  await page.getByTestId('nav-admin').click();
  const rows = page.getByTestId('users-table').locator('[data-testid^="user-row-"]');
  await expect(rows).toHaveCount(2);
  await expect(page.getByTestId('user-row-gina')).toBeVisible();
  await expect(page.getByTestId('user-row-gus')).toBeVisible();
  for (const acmeUser of ['alice', 'bob', 'dave']) await expect(page.getByTestId(`user-row-${acmeUser}`)).toHaveCount(0);
  await page.getByTestId('users-filter').fill('bob');
  await page.getByTestId('users-filter-submit').click();
  await expect(rows).toHaveCount(0);

  await page.goto(`${state().serviceUrl}/console/?tenant=globex#admin/users/bob`);
  await expect(page.getByTestId('user-missing')).toBeVisible();
  await expect(page.getByTestId('error')).toHaveText(/Loading user bob failed: there is no such user in your tenant\. \(server answered 404 user_not_found/);
  await expect(page.getByTestId('mfa-save')).toHaveCount(0);

  // An unknown tenant is refused before any sign-in.
  await page.getByTestId('sign-out').click();
  await page.getByTestId('tenant').fill('initech');
  await fillSignIn(page, 'gina', PASSWORD);
  await expect(page.getByTestId('error')).toHaveText(/Finding tenant "initech" failed: not found\. \(server answered 404 tenant_not_found/);
});

test('6. sign out everywhere: the old access token is refused afterwards (issue 21)', async ({ page, request }) => {
  const { acme, serviceUrl } = state();
  await resetUser(acme, 'dave', { totp: false, sms: false });
  await signIn(page, 'acme', 'dave', PASSWORD);
  const token = await storedAccessToken(page, acme, 'dave');
  const replay = () =>
    request.patch(`${serviceUrl}/me/attributes`, {
      headers: { Authorization: `Bearer ${token}` },
      data: { attributes: { nickname: 'replayed' } },
    });
  expect((await replay()).status()).toBe(200);

  await page.getByTestId('signout-everywhere').click();
  await expect(page.getByTestId('notice')).toHaveText('You were signed out on every device.');
  await expect(page.getByTestId('sign-in')).toBeVisible();
  expect((await replay()).status()).toBe(401);
  await expect(cognito(moto(), 'GetUser', { AccessToken: token })).rejects.toThrow(/NotAuthorizedException/);
});

test('7a. the acme admin disables, enables and signs out a user', async ({ page }) => {
  const { acme } = state();
  await resetUser(acme, 'frank', { totp: false, sms: false });
  await signIn(page, 'acme', 'alice', PASSWORD);
  await page.goto(`${state().serviceUrl}/console/?tenant=acme#admin/users/frank`);
  await page.getByTestId('user-disable').click();
  await expect(page.getByTestId('notice')).toHaveText('frank is disabled and signed out.');
  expect((await getUser(moto(), acme, 'frank')).Enabled).toBe(false);
  await page.getByTestId('user-enable').click();
  await expect(page.getByTestId('notice')).toHaveText('frank is enabled.');
  expect((await getUser(moto(), acme, 'frank')).Enabled).toBe(true);
  await page.getByTestId('user-signout').click();
  await expect(page.getByTestId('notice')).toHaveText('frank is signed out everywhere.');
  // An admin cannot lock themselves out: the 409 is explained.
  await page.goto(`${state().serviceUrl}/console/?tenant=acme#admin/users/alice`);
  await page.getByTestId('user-disable').click();
  await expect(page.getByTestId('error')).toHaveText(/Disabling alice failed: you cannot do this to your own account .*\(server answered 409 self_lockout/);
  expect((await getUser(moto(), acme, 'alice')).Enabled).toBe(true);
});

test('7b. the acme admin resets a password, removes a group and deletes a user (issue 21)', async ({ page }) => {
  const { acme } = state();
  await deleteIfPresent(acme, 'gone');
  await cognito(moto(), 'AdminCreateUser', { UserPoolId: acme.id, Username: 'gone', MessageAction: 'SUPPRESS' });
  await resetUser(acme, 'frank', { totp: false, sms: false });
  await cognito(moto(), 'AdminAddUserToGroup', { UserPoolId: acme.id, Username: 'frank', GroupName: 'support' });
  // Cognito resets only a password it can deliver a code for: a verified email.
  await cognito(moto(), 'AdminUpdateUserAttributes', {
    UserPoolId: acme.id,
    Username: 'frank',
    UserAttributes: [{ Name: 'email_verified', Value: 'true' }],
  });
  await signIn(page, 'acme', 'alice', PASSWORD);
  await page.goto(`${state().serviceUrl}/console/?tenant=acme#admin/users/frank`);
  await expect(page.getByTestId('user-group-support')).toBeVisible();
  await page.getByTestId('group-remove-support').click();
  await expect(page.getByTestId('notice')).toHaveText('frank removed from group support.');
  expect(await groupsOf(moto(), acme, 'frank')).toEqual([]);
  await page.getByTestId('user-reset-password').click();
  await expect(page.getByTestId('error')).toBeHidden();
  await expect(page.getByTestId('notice')).toHaveText('frank must set a new password at the next sign-in.');
  expect((await getUser(moto(), acme, 'frank')).UserStatus).toBe('RESET_REQUIRED');

  await page.goto(`${state().serviceUrl}/console/?tenant=acme#admin/users/gone`);
  await page.getByTestId('user-delete').click();
  await page.getByTestId('user-delete-confirm').click();
  await expect(page.getByTestId('notice')).toHaveText('gone was deleted.');
  await expect(page.getByTestId('users-table')).toBeVisible();
  await expect(page.getByTestId('user-row-gone')).toHaveCount(0);
  await expect(getUser(moto(), acme, 'gone')).rejects.toThrow(/UserNotFoundException/);
});
