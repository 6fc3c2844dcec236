// What every signed-in user sees: their profile and self-service attributes, their MFA (read
// only), password change with MFA step-up, and sign out everywhere. All through the server's
// /me routes: under the Pre Token Generation trigger a non-admin's access token cannot call
// Cognito's own self-service APIs any more.

import { ApiError, api, explain } from './api';
import { field, h, inputValue, replace } from './dom';
import { clearMessages, showError, showNotice } from './messages';

/// The server's default self-service attributes (DEFAULT_SELF_SERVICE_ATTRIBUTES); a server
/// configured otherwise refuses the others with 403 protected_attribute, shown in words.
const EDITABLE = ['name', 'given_name', 'family_name', 'nickname', 'preferred_username', 'locale', 'zoneinfo', 'website', 'birthdate'];

const CHALLENGE_WORDS: Record<string, string> = {
  SOFTWARE_TOKEN_MFA: 'the code from your authenticator app',
  SMS_MFA: 'the code just sent to you by SMS',
  EMAIL_OTP: 'the code just sent to you by email',
};

const FACTOR_WORDS: Record<string, string> = { totp: 'authenticator app (TOTP)', sms: 'SMS', email: 'email' };

interface MeAttributes {
  username: string;
  attributes: Record<string, string>;
}

interface MeMfa {
  enabled: string[];
  preferred: string | null;
}

export function renderProfile(view: HTMLElement, onSignedOutEverywhere: () => void): void {
  const attributesTable = h('table', { 'data-testid': 'profile-attributes' });
  const editForm = h('form', { class: 'card' }, h('h3', {}, 'Edit your profile'));
  const mfa = h('p', { 'data-testid': 'my-mfa' }, 'Loading…');
  const codeRow = h('div', { hidden: true });
  const passwordForm = h(
    'form',
    { class: 'card', 'data-testid': 'password-form' },
    h('h3', {}, 'Change password'),
    field('Current password', 'password-current', { type: 'password', autocomplete: 'current-password' }),
    field('New password', 'password-new', { type: 'password', autocomplete: 'new-password' }),
    codeRow,
    h('button', { type: 'submit', 'data-testid': 'password-submit' }, 'Change password'),
  );
  const codeLabel = h('span', {}, 'MFA code');
  codeRow.append(
    h('label', { for: 'password-mfa-code' }, codeLabel, h('input', { id: 'password-mfa-code', 'data-testid': 'password-mfa-code', autocomplete: 'one-time-code' })),
  );

  replace(
    view,
    h(
      'section',
      { 'data-testid': 'profile' },
      h('h2', {}, 'Your profile'),
      attributesTable,
      editForm,
      h('div', { class: 'card' }, h('h3', {}, 'Multi-factor authentication'), mfa, h('p', { class: 'hint' }, 'You cannot change this yourself: ask an administrator to change it.')),
      passwordForm,
      h(
        'div',
        { class: 'card' },
        h('h3', {}, 'Sessions'),
        h('p', {}, 'End every session of your account, on every device. Tokens already issued are refused at once.'),
        h('button', { type: 'button', 'data-testid': 'signout-everywhere', onclick: () => void signOutEverywhere() }, 'Sign out everywhere'),
      ),
    ),
  );

  const load = async (): Promise<void> => {
    let current: Record<string, string> = {};
    try {
      const me = await api<MeAttributes>('Loading your profile', 'GET', '/me/attributes');
      current = me.attributes;
      replace(
        attributesTable,
        h('tr', {}, h('th', {}, 'user name'), h('td', {}, me.username)),
        ...Object.entries(me.attributes).map(([name, value]) => h('tr', { 'data-testid': `profile-attr-${name}` }, h('th', {}, name), h('td', {}, value))),
      );
    } catch (err) {
      showError(explain(err));
    }
    replace(
      editForm,
      h('h3', {}, 'Edit your profile'),
      ...EDITABLE.map((name) => field(name, `attr-${name}`, { value: current[name] ?? '' })),
      h('button', { type: 'submit', 'data-testid': 'attributes-save' }, 'Save'),
    );
    editForm.onsubmit = (e) => {
      e.preventDefault();
      const changed: Record<string, string> = {};
      for (const name of EDITABLE) {
        const value = inputValue(`attr-${name}`);
        if (value !== (current[name] ?? '')) changed[name] = value;
      }
      if (Object.keys(changed).length === 0) {
        showNotice('Nothing to save: no field was changed.');
        return;
      }
      clearMessages();
      api('Saving your profile', 'PATCH', '/me/attributes', { attributes: changed })
        .then(async () => {
          await load();
          showNotice(`Saved: ${Object.keys(changed).join(', ')}.`);
        })
        .catch((err) => showError(explain(err)));
    };
    try {
      const me = await api<MeMfa>('Loading your MFA settings', 'GET', '/me/mfa');
      const enabled = me.enabled.map((f) => FACTOR_WORDS[f] ?? f);
      mfa.textContent = enabled.length
        ? `Enabled: ${enabled.join(', ')}. Preferred: ${me.preferred ? (FACTOR_WORDS[me.preferred] ?? me.preferred) : 'none'}.`
        : 'No MFA is enabled on your account.';
    } catch (err) {
      mfa.textContent = 'Unknown (could not be loaded).';
      showError(explain(err));
    }
  };

  passwordForm.addEventListener('submit', (e) => {
    e.preventDefault();
    clearMessages();
    const body: Record<string, string> = {
      current_password: inputValue('password-current'),
      new_password: inputValue('password-new'),
    };
    if (!codeRow.hidden) body.mfa_code = inputValue('password-mfa-code').trim();
    api('Changing your password', 'POST', '/me/password', body)
      .then(() => {
        passwordForm.reset();
        codeRow.hidden = true;
        showNotice('Your password was changed. Use the new one from now on.');
      })
      .catch((err) => {
        if (err instanceof ApiError && err.code === 'mfa_code_required') {
          // Step-up: the change is made only once Cognito accepts this code.
          const challenge = String(err.body?.challenge ?? err.body?.challenge_type ?? err.body?.challenge_name ?? '');
          codeLabel.textContent = `MFA code: enter ${CHALLENGE_WORDS[challenge] ?? 'your MFA code'}`;
          codeRow.hidden = false;
          showNotice(`Your account uses MFA: enter ${CHALLENGE_WORDS[challenge] ?? 'your MFA code'}, then submit again.`);
          return;
        }
        showError(explain(err));
      });
  });

  const signOutEverywhere = async (): Promise<void> => {
    clearMessages();
    try {
      await api('Signing out everywhere', 'POST', '/me/signout');
    } catch (err) {
      showError(explain(err));
      return;
    }
    onSignedOutEverywhere();
  };

  void load();
}
