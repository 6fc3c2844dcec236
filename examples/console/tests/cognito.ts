// The few Cognito calls the test makes itself, straight to moto's JSON API: setting up pools
// and users, and reading every change back from Cognito rather than from the page.

export const PASSWORD = 'Passw0rd!Passw0rd';
export const TOTP_CODE = '123456'; // moto accepts any TOTP code unless told to check them

export class CognitoError extends Error {}

export async function cognito<T = Record<string, any>>(endpoint: string, operation: string, body: object): Promise<T> {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-amz-json-1.1',
      'X-Amz-Target': `AWSCognitoIdentityProviderService.${operation}`,
      // moto routes by the credential scope; it does not check the signature.
      Authorization: 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/cognito-idp/aws4_request, SignedHeaders=host, Signature=0',
    },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new CognitoError(`${operation}: ${response.status} ${text}`);
  return (text ? JSON.parse(text) : {}) as T;
}

export interface Pool {
  tenant: string;
  id: string;
  clientId: string;
}

/// A pool like `tenant create` makes it for Amplify (MFA optional with TOTP), with `groups`
/// and `users` (name → groups), each with PASSWORD set permanently.
export async function createPool(endpoint: string, tenant: string, groups: string[], users: Record<string, string[]>): Promise<Pool> {
  const { UserPool } = await cognito(endpoint, 'CreateUserPool', { PoolName: `cognito-authz-${tenant}` });
  const id: string = UserPool.Id;
  const { UserPoolClient } = await cognito(endpoint, 'CreateUserPoolClient', {
    UserPoolId: id,
    ClientName: `cognito-authz-${tenant}`,
    ExplicitAuthFlows: ['ALLOW_USER_SRP_AUTH', 'ALLOW_USER_PASSWORD_AUTH', 'ALLOW_ADMIN_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
    EnableTokenRevocation: true,
  });
  await cognito(endpoint, 'SetUserPoolMfaConfig', {
    UserPoolId: id,
    MfaConfiguration: 'OPTIONAL',
    SoftwareTokenMfaConfiguration: { Enabled: true },
  });
  for (const group of groups) await cognito(endpoint, 'CreateGroup', { UserPoolId: id, GroupName: group });
  const pool = { tenant, id, clientId: UserPoolClient.ClientId as string };
  for (const [user, memberOf] of Object.entries(users)) {
    await cognito(endpoint, 'AdminCreateUser', {
      UserPoolId: id,
      Username: user,
      MessageAction: 'SUPPRESS',
      UserAttributes: [{ Name: 'email', Value: `${user}@${tenant}.example` }],
    });
    await setPassword(endpoint, pool, user, PASSWORD, true);
    for (const group of memberOf) await cognito(endpoint, 'AdminAddUserToGroup', { UserPoolId: id, Username: user, GroupName: group });
  }
  return pool;
}

export async function setPassword(endpoint: string, pool: Pool, user: string, password: string, permanent: boolean): Promise<void> {
  await cognito(endpoint, 'AdminSetUserPassword', { UserPoolId: pool.id, Username: user, Password: password, Permanent: permanent });
}

/// Signs in through the API (no browser): the tokens, or the error Cognito gave.
export async function initiateAuth(endpoint: string, pool: Pool, user: string, password: string): Promise<Record<string, any>> {
  return cognito(endpoint, 'InitiateAuth', {
    ClientId: pool.clientId,
    AuthFlow: 'USER_PASSWORD_AUTH',
    AuthParameters: { USERNAME: user, PASSWORD: password },
  });
}

/// Gives `user` a verified authenticator (as an enrollment would), so TOTP can be enabled.
export async function enrollTotp(endpoint: string, pool: Pool, user: string, password: string): Promise<void> {
  const auth = await initiateAuth(endpoint, pool, user, password);
  const token = auth.AuthenticationResult?.AccessToken;
  if (!token) throw new CognitoError(`enrollTotp: ${user} did not get a token: ${JSON.stringify(auth.ChallengeName)}`);
  await cognito(endpoint, 'AssociateSoftwareToken', { AccessToken: token });
  await cognito(endpoint, 'VerifySoftwareToken', { AccessToken: token, UserCode: TOTP_CODE });
}

export async function getUser(endpoint: string, pool: Pool, user: string): Promise<Record<string, any>> {
  return cognito(endpoint, 'AdminGetUser', { UserPoolId: pool.id, Username: user });
}

export async function groupsOf(endpoint: string, pool: Pool, user: string): Promise<string[]> {
  const { Groups } = await cognito(endpoint, 'AdminListGroupsForUser', { UserPoolId: pool.id, Username: user });
  return (Groups as { GroupName: string }[]).map((g) => g.GroupName).sort();
}

export const attribute = (user: Record<string, any>, name: string): string | undefined =>
  (user.UserAttributes as { Name: string; Value: string }[]).find((a) => a.Name === name)?.Value;
