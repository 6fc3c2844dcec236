// Calls to admin_service. The access token comes from Amplify's own store through
// fetchAuthSession() (which refreshes it when needed), goes only into the Authorization
// header, and is never kept, printed or logged here.

import { fetchAuthSession } from 'aws-amplify/auth';

/// An error answer of the API, `{"error": code, "error_description": ...}`, or no answer at all.
export class ApiError extends Error {
  constructor(
    /// What the person was doing, e.g. "Loading your profile".
    readonly what: string,
    /// HTTP status; 0 when the server could not be reached.
    readonly status: number,
    readonly code: string | undefined,
    readonly serverMessage: string | undefined,
    readonly retryAfter: string | null,
    readonly body: Record<string, unknown> | undefined,
  ) {
    super(`${what}: ${status} ${code ?? ''}`);
    this.name = 'ApiError';
  }

  /// The whole story in words: what failed, why in plain language, and the server's answer.
  explain(): string {
    const answer =
      this.status === 0
        ? ''
        : ` (server answered ${this.status}${this.code ? ` ${this.code}` : ''}${
            this.serverMessage ? `: "${this.serverMessage}"` : ''
          })`;
    return `${this.what} failed: ${this.reason()}${answer}`;
  }

  private reason(): string {
    const wait = this.retryAfter ? ` Try again in ${this.retryAfter} seconds.` : '';
    switch (this.status) {
      case 0:
        return 'the server could not be reached. Check that admin_service is running.';
      case 400:
        return 'the server found the request invalid.';
      case 401:
        return 'the server no longer accepts your sign-in (signed out, disabled or expired). Sign in again.';
      case 403:
        switch (this.code) {
          case 'insufficient_scope':
            return 'this needs the administrator role of your tenant, and you do not have it. Ask an administrator if you need this.';
          case 'forbidden':
            // The role a group grants: an administrator can only grant the roles they hold. The
            // server's message names it.
            return 'this needs a role in your tenant that your account does not have (the server names it). Ask an administrator if you need this.';
          case 'not_a_user':
            return 'machine clients have no account of their own.';
          case 'protected_attribute':
            return 'that attribute can only be changed by an administrator.';
          case 'wrong_password':
            return 'the current password is not right.';
          case 'mfa_code_required':
            return 'your account uses MFA: enter the code from your authenticator (or the one just sent to you).';
          default:
            return 'you are not allowed to do this.';
        }
      case 404:
        if (this.code === 'user_not_found') return 'there is no such user in your tenant.';
        if (this.code === 'group_not_found') return 'there is no such group in your tenant.';
        if (this.code) return 'not found.';
        return 'this server has no such route (an older admin_service than this console?).';
      case 405:
        return 'this server does not offer this operation.';
      case 409:
        return this.code === 'self_lockout'
          ? 'you cannot do this to your own account (it would lock you out).'
          : 'it conflicts with the current state (for example, the name or email is taken).';
      case 413:
        return 'the request is too large.';
      case 429:
        return `too many attempts.${wait}`;
      case 500:
        return 'the server is misconfigured for this operation; tell its operator.';
      case 502:
        return 'Cognito gave an answer the server did not expect.';
      case 503:
        return `Cognito or a store the server needs is unavailable right now.${wait}`;
      default:
        return `unexpected HTTP status ${this.status}.`;
    }
  }
}

async function bearer(): Promise<string> {
  const session = await fetchAuthSession();
  const token = session.tokens?.accessToken?.toString();
  if (!token) {
    throw new ApiError('Your session', 401, 'not_signed_in', 'not signed in', null, undefined);
  }
  return `Bearer ${token}`;
}

/// Calls `method path` with the caller's access token; answers the parsed JSON body (or
/// undefined for 204), throws ApiError for every non-2xx answer.
export async function api<T = unknown>(
  what: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const headers: Record<string, string> = { Authorization: await bearer() };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(what, 0, undefined, undefined, null, undefined);
  }
  const text = await response.text();
  let parsed: Record<string, unknown> | undefined;
  try {
    parsed = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    throw new ApiError(
      what,
      response.status,
      typeof parsed?.error === 'string' ? parsed.error : undefined,
      serverMessage(parsed),
      response.headers.get('Retry-After'),
      parsed,
    );
  }
  return parsed as T;
}

/// A public call (no token): the tenant's client configuration.
export async function publicGet<T>(what: string, path: string): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, { cache: 'no-store' });
  } catch {
    throw new ApiError(what, 0, undefined, undefined, null, undefined);
  }
  const parsed = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  if (!response.ok) {
    throw new ApiError(
      what,
      response.status,
      typeof parsed?.error === 'string' ? parsed.error : undefined,
      serverMessage(parsed),
      response.headers.get('Retry-After'),
      parsed,
    );
  }
  return parsed as T;
}

/// Every route of the crate (admin routes and the authentication layer) answers
/// `{"error", "error_description"}` (RFC 6750's names).
function serverMessage(body: Record<string, unknown> | undefined): string | undefined {
  const text = body?.error_description;
  return typeof text === 'string' ? text : undefined;
}

/// Any failure in words: API errors explain themselves, the rest is shown as it is.
export function explain(err: unknown): string {
  if (err instanceof ApiError) return err.explain();
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

export const path = (strings: TemplateStringsArray, ...values: string[]): string =>
  strings.reduce((out, s, i) => out + s + (i < values.length ? encodeURIComponent(values[i]) : ''), '');
