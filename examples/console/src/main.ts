// The console's shell: sign-in first, then the profile (#profile) and admin (#admin,
// #admin/users/<name>) views, switched by the location hash.

import { getCurrentUser, signOut } from 'aws-amplify/auth';

import { renderUserDetail, renderUserList } from './admin';
import { explain } from './api';
import { byTestId, h, replace } from './dom';
import { clearMessages, messagesForNewView, showError, showNotice } from './messages';
import { renderProfile } from './profile';
import { configureTenant, rememberedTenant, renderSignIn } from './signin';

const header = byTestId('header');
const view = byTestId('view');
let session: { tenant: string; username: string } | null = null;

function route(): void {
  if (!session) return;
  const { tenant, username } = session;
  const hash = decodeURIComponent(location.hash.replace(/^#/, ''));
  const userMatch = /^admin\/users\/(.+)$/.exec(hash);
  for (const link of header.querySelectorAll('nav a')) link.classList.remove('current');
  if (userMatch) {
    byTestId('nav-admin').classList.add('current');
    void renderUserDetail(view, username, tenant, userMatch[1]);
  } else if (hash === 'admin') {
    byTestId('nav-admin').classList.add('current');
    void renderUserList(view, username, tenant);
  } else {
    byTestId('nav-profile').classList.add('current');
    renderProfile(view, () => void signedOut('You were signed out on every device.'));
  }
}

async function signedIn(tenant: string): Promise<void> {
  const { username } = await getCurrentUser();
  session = { tenant, username };
  replace(
    header,
    h('span', { 'data-testid': 'signed-in-as' }, `Signed in as ${username} (tenant ${tenant})`),
    h(
      'nav',
      {},
      h('a', { href: '#profile', 'data-testid': 'nav-profile' }, 'My profile'),
      h('a', { href: '#admin', 'data-testid': 'nav-admin' }, 'Users (administrators)'),
    ),
    h('button', { type: 'button', 'data-testid': 'sign-out', onclick: () => void signedOut('You are signed out on this browser.') }, 'Sign out'),
  );
  route();
}

/// Forgets this browser's tokens (Amplify's local sign-out) and shows the sign-in form.
async function signedOut(notice: string): Promise<void> {
  const tenant = session?.tenant ?? rememberedTenant() ?? '';
  session = null;
  try {
    await signOut();
  } catch (err) {
    showError(explain(err));
  }
  replace(header);
  if (location.hash) history.replaceState(null, '', location.pathname + location.search);
  renderSignIn(view, tenant, (t) => void signedIn(t));
  showNotice(notice);
}

async function start(): Promise<void> {
  clearMessages();
  const fromUrl = new URLSearchParams(location.search).get('tenant');
  const remembered = rememberedTenant();
  // A tenant remembered from an earlier sign-in resumes that session (Amplify keeps its tokens
  // in localStorage), unless the URL names another tenant.
  if (remembered && (!fromUrl || fromUrl === remembered)) {
    try {
      await configureTenant(remembered);
      await getCurrentUser();
      await signedIn(remembered);
      return;
    } catch {
      // Not signed in (or the tenant is gone): sign in again.
    }
  }
  renderSignIn(view, fromUrl ?? remembered ?? '', (t) => void signedIn(t));
}

window.addEventListener('hashchange', () => {
  messagesForNewView();
  route();
});
void start();
