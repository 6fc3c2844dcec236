// The admin view (role admin): users with a filter and pages, user detail with MFA
// preference, groups, disable/enable, sign out, password reset, delete; and invitations.
// Everything goes through the server's /admin routes, on the caller's own tenant only.

import { ApiError, api, explain, path } from './api';
import { field, h, inputValue, replace } from './dom';
import { clearMessages, noticeAfterNavigation, showError, showNotice } from './messages';

interface User {
  username: string;
  enabled: boolean;
  status: string | null;
  attributes: Record<string, string>;
  mfa?: { enabled: string[]; preferred: string | null };
  created_at: string | null;
  modified_at: string | null;
}

interface UserPage {
  users: User[];
  pagination_token: string | null;
}

/// `GET /admin/users/{u}/groups` lists names; `GET /admin/groups` lists
/// `{"name", "description", "roles": [...]}`.
type Group = string | { name: string; description?: string | null; roles?: string[] };

const groupName = (g: Group): string => (typeof g === 'string' ? g : g.name);
const groupRoles = (g: Group): string => (typeof g === 'object' && g.roles?.length ? `role ${g.roles.join(', ')}` : '');

const PAGE_SIZE = 10;

/// A 403 on the admin routes, explained: who is signed in, which tenant, what is missing.
function forbidden(view: HTMLElement, who: string, tenant: string, err: ApiError): void {
  replace(
    view,
    h(
      'section',
      { 'data-testid': 'admin-forbidden', class: 'card' },
      h('h2', {}, 'Administrators only'),
      h('p', {}, `You are signed in as ${who} of tenant ${tenant}. The user list and user changes are for administrators of ${tenant}, and your account does not have the administrator role, so the server refused (403${err.code ? ` ${err.code}` : ''}${err.serverMessage ? `: ${err.serverMessage}` : ''}).`),
      h('p', {}, 'Your own profile, password and sessions are under "My profile". Ask an administrator if something about your account must change.'),
    ),
  );
  showError(err.explain());
}

/// Runs a change, then `after` (which redraws the view), then shows `done`; or the error in
/// words. The notice comes last, so whoever sees it sees the redrawn view.
async function change(what: string, method: string, url: string, body: unknown, done: string, after: () => unknown): Promise<void> {
  clearMessages();
  try {
    await api(what, method, url, body);
  } catch (err) {
    showError(explain(err));
    return;
  }
  await after();
  showNotice(done);
}

export function renderUserList(view: HTMLElement, who: string, tenant: string): Promise<void> {
  const tokens: (string | null)[] = [null];
  let page = 0;
  let filter = '';
  const table = h('table', { 'data-testid': 'users-table' });
  const pager = h('div', { class: 'pager' });

  const load = async (): Promise<void> => {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    const token = tokens[page];
    if (token) query.set('pagination_token', token);
    // Cognito's ListUsers filter syntax; quotes and backslashes escaped.
    if (filter) query.set('filter', `username ^= "${filter.replace(/[\\"]/g, (c) => `\\${c}`)}"`);
    let result: UserPage;
    try {
      result = await api<UserPage>('Listing users', 'GET', `/admin/users?${query}`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 403) return forbidden(view, who, tenant, err);
      showError(explain(err));
      return;
    }
    tokens[page + 1] = result.pagination_token;
    replace(
      table,
      h('tr', {}, h('th', {}, 'user'), h('th', {}, 'email'), h('th', {}, 'status'), h('th', {}, 'enabled')),
      ...result.users.map((u) =>
        h(
          'tr',
          { 'data-testid': `user-row-${u.username}` },
          h('td', {}, h('a', { href: `#admin/users/${encodeURIComponent(u.username)}` }, u.username)),
          h('td', {}, u.attributes.email ?? ''),
          h('td', {}, u.status ?? ''),
          h('td', {}, u.enabled ? 'yes' : 'no'),
        ),
      ),
    );
    if (result.users.length === 0) table.append(h('tr', {}, h('td', { colspan: '4' }, 'No users match.')));
    replace(
      pager,
      h('button', { type: 'button', 'data-testid': 'users-prev', disabled: page === 0, onclick: () => { page -= 1; void load(); } }, '← Previous'),
      h('span', { 'data-testid': 'users-page' }, ` page ${page + 1} `),
      h('button', { type: 'button', 'data-testid': 'users-next', disabled: !result.pagination_token, onclick: () => { page += 1; void load(); } }, 'Next →'),
    );
  };

  const filterForm = h(
    'form',
    { class: 'inline' },
    field('User name starts with', 'users-filter'),
    h('button', { type: 'submit', 'data-testid': 'users-filter-submit' }, 'Filter'),
  );
  filterForm.addEventListener('submit', (e) => {
    e.preventDefault();
    clearMessages();
    filter = inputValue('users-filter').trim();
    tokens.length = 1;
    page = 0;
    void load();
  });

  const invite = h(
    'form',
    { class: 'card' },
    h('h3', {}, 'Invite a user'),
    h('p', { class: 'hint' }, 'Cognito emails them a temporary password; they choose their own at first sign-in.'),
    field('User name', 'invite-username', { autocomplete: 'off' }),
    field('Email', 'invite-email', { type: 'email', autocomplete: 'off' }),
    field('Groups (comma separated, optional)', 'invite-groups', { autocomplete: 'off' }),
    h('button', { type: 'submit', 'data-testid': 'invite-submit' }, 'Invite'),
  );
  invite.addEventListener('submit', (e) => {
    e.preventDefault();
    const username = inputValue('invite-username').trim();
    const groups = inputValue('invite-groups').split(',').map((g) => g.trim()).filter(Boolean);
    void change(
      `Inviting ${username}`,
      'POST',
      '/admin/users',
      { username, email: inputValue('invite-email').trim(), groups },
      `Invited ${username}: Cognito emails them a temporary password.`,
      () => {
        invite.reset();
        return load();
      },
    );
  });

  replace(view, h('section', { 'data-testid': 'admin' }, h('h2', {}, `Users of ${tenant}`), filterForm, table, pager, invite));
  return load();
}

export function renderUserDetail(view: HTMLElement, who: string, tenant: string, username: string): Promise<void> {
  const base = path`/admin/users/${username}`;
  const reload = (): Promise<void> => renderUserDetail(view, who, tenant, username);

  const load = async (): Promise<void> => {
    let user: User;
    try {
      user = await api<User>(`Loading user ${username}`, 'GET', base);
    } catch (err) {
      if (err instanceof ApiError && err.status === 403) return forbidden(view, who, tenant, err);
      replace(view, h('section', { 'data-testid': 'user-detail' }, h('a', { href: '#admin' }, '← All users'), h('h2', {}, username), h('p', { 'data-testid': 'user-missing' }, 'This user could not be loaded.')));
      showError(explain(err));
      return;
    }
    const mfa = user.mfa ?? { enabled: [], preferred: null };
    const select = (factor: string, label: string): HTMLLabelElement =>
      h(
        'label',
        { for: `mfa-${factor}` },
        label,
        h(
          'select',
          { id: `mfa-${factor}`, 'data-testid': `mfa-${factor}` },
          h('option', { value: '' }, '(leave as it is)'),
          h('option', { value: 'off' }, 'off'),
          h('option', { value: 'enabled' }, 'enabled'),
          h('option', { value: 'preferred' }, 'preferred'),
        ),
      );
    const mfaForm = h(
      'form',
      { class: 'card' },
      h('h3', {}, 'MFA preference'),
      h('p', { 'data-testid': 'user-mfa' }, mfa.enabled.length ? `Enabled: ${mfa.enabled.join(', ')}. Preferred: ${mfa.preferred ?? 'none'}.` : 'No MFA enabled.'),
      select('sms', 'SMS'),
      select('totp', 'Authenticator app (TOTP)'),
      select('email', 'Email'),
      h('button', { type: 'submit', 'data-testid': 'mfa-save' }, 'Save MFA preference'),
    );
    mfaForm.addEventListener('submit', (e) => {
      e.preventDefault();
      const body: Record<string, string> = {};
      for (const factor of ['sms', 'totp', 'email']) {
        const value = inputValue(`mfa-${factor}`);
        if (value) body[factor] = value;
      }
      void change(`Setting ${username}'s MFA preference`, 'PUT', `${base}/mfa`, body, `MFA preference of ${username} saved.`, reload);
    });

    const groupsList = h('ul', { 'data-testid': 'user-groups' }, h('li', {}, 'Loading…'));
    const groupOptions = h('datalist', { id: 'pool-groups' });
    const groupForm = h(
      'form',
      { class: 'inline' },
      field('Add to group', 'group-add', { list: 'pool-groups', autocomplete: 'off' }),
      groupOptions,
      h('button', { type: 'submit', 'data-testid': 'group-add-submit' }, 'Add'),
    );
    groupForm.addEventListener('submit', (e) => {
      e.preventDefault();
      const group = inputValue('group-add').trim();
      void change(`Adding ${username} to ${group}`, 'POST', `${base}/groups`, { group }, `${username} added to group ${group}.`, reload);
    });

    const confirmDelete = h('span', {});
    const actions = h(
      'div',
      { class: 'card actions' },
      h('h3', {}, 'Account'),
      user.enabled
        ? h('button', { type: 'button', 'data-testid': 'user-disable', onclick: () => void change(`Disabling ${username}`, 'POST', `${base}/disable`, undefined, `${username} is disabled and signed out.`, reload) }, 'Disable')
        : h('button', { type: 'button', 'data-testid': 'user-enable', onclick: () => void change(`Enabling ${username}`, 'POST', `${base}/enable`, undefined, `${username} is enabled.`, reload) }, 'Enable'),
      h('button', { type: 'button', 'data-testid': 'user-signout', onclick: () => void change(`Signing ${username} out`, 'POST', `${base}/signout`, undefined, `${username} is signed out everywhere.`, reload) }, 'Sign out everywhere'),
      h('button', { type: 'button', 'data-testid': 'user-reset-password', onclick: () => void change(`Resetting ${username}'s password`, 'POST', `${base}/password-reset`, undefined, `${username} must set a new password at the next sign-in.`, reload) }, 'Reset password'),
      h('button', {
        type: 'button',
        'data-testid': 'user-delete',
        onclick: () =>
          replace(
            confirmDelete,
            ` Delete ${username} for good? `,
            h('button', {
              type: 'button',
              'data-testid': 'user-delete-confirm',
              onclick: () =>
                void change(`Deleting ${username}`, 'DELETE', base, undefined, `${username} was deleted.`, () => {
                  noticeAfterNavigation(`${username} was deleted.`);
                  location.hash = '#admin';
                }),
            }, 'Yes, delete'),
          ),
      }, 'Delete'),
      confirmDelete,
    );

    replace(
      view,
      h(
        'section',
        { 'data-testid': 'user-detail' },
        h('a', { href: '#admin', 'data-testid': 'back-to-users' }, '← All users'),
        h('h2', {}, user.username),
        h('p', { 'data-testid': 'user-status' }, `Status ${user.status ?? 'unknown'}, ${user.enabled ? 'enabled' : 'disabled'}.`),
        h('table', {}, ...Object.entries(user.attributes).map(([name, value]) => h('tr', {}, h('th', {}, name), h('td', {}, value)))),
        mfaForm,
        h('div', { class: 'card' }, h('h3', {}, 'Groups'), groupsList, groupForm),
        actions,
      ),
    );

    try {
      const { groups } = await api<{ groups: Group[] }>(`Loading ${username}'s groups`, 'GET', `${base}/groups`);
      replace(
        groupsList,
        ...groups.map(groupName).map((g) =>
          h('li', { 'data-testid': `user-group-${g}` }, `${g} `, h('button', {
            type: 'button',
            'data-testid': `group-remove-${g}`,
            onclick: () => void change(`Removing ${username} from ${g}`, 'DELETE', `${base}/groups/${encodeURIComponent(g)}`, undefined, `${username} removed from group ${g}.`, reload),
          }, 'Remove')),
        ),
      );
      if (groups.length === 0) groupsList.append(h('li', {}, 'In no group.'));
    } catch (err) {
      replace(groupsList, h('li', {}, 'Groups could not be loaded.'));
      showError(explain(err));
    }
    try {
      const { groups } = await api<{ groups: Group[] }>('Loading the pool\'s groups', 'GET', '/admin/groups');
      replace(groupOptions, ...groups.map((g) => h('option', { value: groupName(g) }, groupRoles(g))));
    } catch {
      // Only the suggestions are missing; any group name can still be typed.
    }
  };
  return load();
}
