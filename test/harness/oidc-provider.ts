import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

/**
 * A real OpenID Connect provider (the `oidc-provider` package) on loopback,
 * as a hospital's identity provider would be: authorization code + PKCE,
 * discovery, JWKS, and JWT access tokens for the audience `visite-api` that
 * carry the organisation and roles claims. Its own login page (dev
 * interactions) accepts a known account name with any password.
 */
export interface TestAccount {
  name: string;
  orgId: string;
  roles: string[];
}

export interface TestProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  audience: string;
  /** Adds or replaces an account the login page accepts (by login name). */
  account(login: string, account: TestAccount): void;
  close(): Promise<void>;
}

export async function startTestProvider(options: { redirectUri: string }): Promise<TestProvider> {
  const accounts = new Map<string, TestAccount>();
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'test-signing', alg: 'RS256', use: 'sig' };
  const clientId = 'visite-web';
  const clientSecret = 'visite-web-secret-for-tests-only';
  const audience = 'visite-api';
  /** The resource indicator (an absolute URI) of Visite's API; its tokens carry `audience`. */
  const resource = 'urn:visite:api';

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [options.redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [jwk as never] },
    cookies: { keys: ['test-cookie-key-one', 'test-cookie-key-two'] },
    pkce: { required: () => true },
    claims: { openid: ['sub'], profile: ['name'] },
    features: {
      devInteractions: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => resource,
        useGrantedResource: async () => true,
        getResourceServerInfo: async () => ({ scope: 'visite', audience, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } }),
      },
    },
    async findAccount(_ctx, id) {
      const account = accounts.get(id);
      if (!account) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, name: account.name }) };
    },
    // The claims Visite reads from access tokens (VISITE_OIDC_ORG_CLAIM / _ROLES_CLAIM defaults).
    async extraTokenClaims(_ctx, token) {
      const account = accounts.get((token as { accountId?: string }).accountId ?? '');
      return account ? { visite_org: account.orgId, visite_roles: account.roles } : undefined;
    },
    // The person consents by signing in: the grant covers Visite's scopes.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session!.grantIdFor(ctx.oidc.client!.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client!.clientId, accountId: ctx.oidc.session!.accountId! });
      grant.addOIDCScope('openid profile');
      grant.addResourceScope(resource, 'visite');
      await grant.save();
      return grant;
    },
  });
  // Plain http on loopback in tests.
  provider.proxy = false;
  server.on('request', provider.callback());
  return {
    issuer,
    clientId,
    clientSecret,
    audience,
    account: (login, account) => accounts.set(login, account),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
