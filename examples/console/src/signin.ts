// Tenant first, then Amplify: GET /tenants/{tenant}/client-config, Amplify.configure, signIn,
// and every sign-in step Amplify can return (new password after an invite, MFA codes, TOTP
// setup when the pool requires MFA).

import { Amplify } from 'aws-amplify';
import { type SignInOutput, confirmSignIn, signIn } from 'aws-amplify/auth';

import { explain, path, publicGet } from './api';
import { byTestId, field, h, inputValue, replace } from './dom';
import { clearMessages, describeAuthError, showError } from './messages';

/// The answer of `GET /tenants/{tenant}/client-config`.
export interface ClientConfig {
  userPoolId: string;
  userPoolClientId: string;
  region: string;
  /// Set when the service talks to an emulator (moto): where Amplify sends Cognito calls (the
  /// service's relay, a path on this origin), with password sign-in (moto's SRP fails).
  userPoolEndpoint?: string;
}

const TENANT_KEY = 'cognito-authz-console.tenant';

/// The tenant of the last sign-in on this browser (a tenant id is not a secret).
export function rememberedTenant(): string | null {
  return localStorage.getItem(TENANT_KEY);
}

/// Loads the tenant's client configuration and configures Amplify with it.
export async function configureTenant(tenant: string): Promise<ClientConfig> {
  const config = await publicGet<ClientConfig>(
    `Finding tenant "${tenant}"`,
    path`/tenants/${tenant}/client-config`,
  );
  Amplify.configure({
    Auth: {
      Cognito: {
        userPoolId: config.userPoolId,
        userPoolClientId: config.userPoolClientId,
        // With an emulator the service names its relay (`/cognito-emulator`), on this origin.
        ...(config.userPoolEndpoint ? { userPoolEndpoint: new URL(config.userPoolEndpoint, location.href).href } : {}),
      },
    },
  });
  return config;
}

type Step = SignInOutput['nextStep'];

/// The sign-in view. `onSignedIn` runs once Amplify says DONE.
export function renderSignIn(
  view: HTMLElement,
  initialTenant: string,
  onSignedIn: (tenant: string) => void,
): void {
  let tenant = initialTenant;
  const steps = h('div', { 'data-testid': 'sign-in-step' });

  const run = async (action: () => Promise<SignInOutput>): Promise<void> => {
    clearMessages();
    try {
      await next((await action()).nextStep);
    } catch (err) {
      showError(err instanceof Error && err.name === 'ApiError' ? explain(err) : describeAuthError(err));
    }
  };

  const codeStep = (label: string): void => {
    const form = h(
      'form',
      { class: 'card' },
      field(label, 'sign-in-code', { autocomplete: 'one-time-code', inputmode: 'numeric' }),
      h('button', { type: 'submit', 'data-testid': 'sign-in-code-submit' }, 'Verify'),
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      void run(() => confirmSignIn({ challengeResponse: inputValue('sign-in-code').trim() }));
    });
    replace(steps, form);
    byTestId('sign-in-code').focus();
  };

  const next = async (step: Step): Promise<void> => {
    switch (step.signInStep) {
      case 'DONE':
        replace(steps);
        localStorage.setItem(TENANT_KEY, tenant);
        onSignedIn(tenant);
        return;
      case 'CONFIRM_SIGN_IN_WITH_NEW_PASSWORD_REQUIRED': {
        const form = h(
          'form',
          { class: 'card' },
          h('p', {}, 'Your account was created with a temporary password. Choose your own password now.'),
          field('New password', 'sign-in-new-password', { type: 'password', autocomplete: 'new-password' }),
          h('button', { type: 'submit', 'data-testid': 'sign-in-new-password-submit' }, 'Set password'),
        );
        form.addEventListener('submit', (e) => {
          e.preventDefault();
          void run(() => confirmSignIn({ challengeResponse: inputValue('sign-in-new-password') }));
        });
        replace(steps, form);
        return;
      }
      case 'CONFIRM_SIGN_IN_WITH_TOTP_CODE':
        codeStep('Code from your authenticator app');
        return;
      case 'CONFIRM_SIGN_IN_WITH_SMS_CODE':
        codeStep(`Code sent by SMS to ${step.codeDeliveryDetails?.destination ?? 'your phone'}`);
        return;
      case 'CONFIRM_SIGN_IN_WITH_EMAIL_CODE':
        codeStep(`Code sent by email to ${step.codeDeliveryDetails?.destination ?? 'your address'}`);
        return;
      case 'CONTINUE_SIGN_IN_WITH_MFA_SELECTION':
      case 'CONTINUE_SIGN_IN_WITH_MFA_SETUP_SELECTION': {
        const types = step.allowedMFATypes ?? [];
        replace(
          steps,
          h(
            'div',
            { class: 'card' },
            h('p', {}, 'Choose how to receive your sign-in code:'),
            ...types.map((type) =>
              h(
                'button',
                {
                  type: 'button',
                  'data-testid': `sign-in-mfa-${type.toLowerCase()}`,
                  onclick: () => void run(() => confirmSignIn({ challengeResponse: type })),
                },
                type,
              ),
            ),
          ),
        );
        return;
      }
      case 'CONTINUE_SIGN_IN_WITH_TOTP_SETUP': {
        // Enrollment during sign-in uses the sign-in session, not an access token: it works
        // for users whose tokens lack the self-service scope, and only while signing in.
        const uri = step.totpSetupDetails.getSetupUri('cognito-authz', inputValue('username')).toString();
        replace(
          steps,
          h('p', { class: 'card' }, 'Your administrator requires MFA. Add this account to your authenticator app with this key, then enter the code it shows:'),
          h('code', { 'data-testid': 'sign-in-totp-uri' }, uri),
        );
        const form = h(
          'form',
          { class: 'card' },
          field('Code from your authenticator app', 'sign-in-code', { autocomplete: 'one-time-code' }),
          h('button', { type: 'submit', 'data-testid': 'sign-in-code-submit' }, 'Verify'),
        );
        form.addEventListener('submit', (e) => {
          e.preventDefault();
          void run(() => confirmSignIn({ challengeResponse: inputValue('sign-in-code').trim() }));
        });
        steps.append(form);
        return;
      }
      case 'RESET_PASSWORD':
        showError('An administrator has reset your password. Use "forgot password" in your app to set a new one with the code Cognito sends you.');
        return;
      case 'CONFIRM_SIGN_UP':
        showError('This account is not confirmed yet; confirm it with the code Cognito sent you.');
        return;
      default:
        showError(`This console cannot complete the sign-in step ${step.signInStep}; ask an administrator.`);
    }
  };

  const form = h(
    'form',
    { class: 'card', 'data-testid': 'sign-in-form' },
    h('h2', {}, 'Sign in'),
    field('Tenant', 'tenant', { value: tenant, autocomplete: 'organization', placeholder: 'acme' }),
    field('User name', 'username', { autocomplete: 'username' }),
    field('Password', 'password', { type: 'password', autocomplete: 'current-password' }),
    h('button', { type: 'submit', 'data-testid': 'sign-in' }, 'Sign in'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    tenant = inputValue('tenant').trim();
    if (!tenant) {
      showError('Enter your tenant id first (for example acme).');
      return;
    }
    void run(async () => {
      const config = await configureTenant(tenant);
      return signIn({
        username: inputValue('username').trim(),
        password: inputValue('password'),
        // moto's SRP does not work with Amplify: an emulator endpoint means password auth.
        options: { authFlowType: config.userPoolEndpoint ? 'USER_PASSWORD_AUTH' : 'USER_SRP_AUTH' },
      });
    });
  });
  replace(view, form, steps);
}
