// Errors and notices, always in words: the one `error` element (role alert) and a `notice`.

import { byTestId } from './dom';

export function showError(text: string): void {
  const el = byTestId('error');
  el.textContent = text;
  el.hidden = false;
}

export function clearMessages(): void {
  const error = byTestId('error');
  error.textContent = '';
  error.hidden = true;
  const notice = byTestId('notice');
  notice.textContent = '';
  notice.hidden = true;
}

export function showNotice(text: string): void {
  const el = byTestId('notice');
  el.textContent = text;
  el.hidden = false;
}

/// Amplify's and the browser's errors, in words. Amplify errors carry Cognito's exception name
/// and message (for example `NotAuthorizedException: Incorrect username or password.`); no
/// token is ever part of them.
export function describeAuthError(err: unknown): string {
  if (err && typeof err === 'object' && 'name' in err) {
    const { name, message } = err as { name: string; message?: string };
    switch (name) {
      case 'NotAuthorizedException':
        return `Sign-in refused: ${message ?? 'incorrect user name or password'}.`.replace('..', '.');
      case 'UserNotFoundException':
        return 'Sign-in refused: incorrect user name or password.';
      case 'CodeMismatchException':
        return 'That code is not right; try again with the newest code.';
      case 'InvalidPasswordException':
        return `The new password does not meet the pool's password policy: ${message ?? ''}`;
      case 'PasswordResetRequiredException':
        return 'An administrator has reset your password: set a new one with "forgot password" (the code is sent to you).';
      case 'UserAlreadyAuthenticatedException':
        return 'Someone is already signed in on this page; sign out first.';
      case 'TooManyRequestsException':
      case 'LimitExceededException':
        return 'Too many attempts: wait a little and try again.';
      case 'NetworkError':
        return 'Cognito could not be reached (network error).';
      default:
        return `${name}: ${message ?? 'sign-in failed'}`;
    }
  }
  return `Unexpected failure: ${String(err)}`;
}

let flash: string | null = null;

/// A notice to show after the next view change (which clears the messages).
export function noticeAfterNavigation(text: string): void {
  flash = text;
}

/// Clears the messages of the previous view, keeping a notice set for this one.
export function messagesForNewView(): void {
  clearMessages();
  if (flash) showNotice(flash);
  flash = null;
}
