import { createHash, randomBytes } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { ACCEPTED_ALGORITHMS, CLOCK_TOLERANCE_SECONDS } from '../api/auth.ts';

/**
 * The web app's side of OpenID Connect: the authorization code flow with PKCE
 * (S256) against the organisation's identity provider — the same issuer whose
 * access tokens the API accepts. The provider's endpoints come from its
 * discovery document. The access token is then checked exactly like an API
 * bearer token (issuer, audience, organisation and role claims); the ID token
 * only proves the sign-in (issuer, our client id as audience, the nonce).
 */
export interface OidcClientOptions {
  issuer: string;
  clientId: string;
  clientSecret?: string;
  scopes: string;
  jwksUrl?: string;
}

interface Discovery {
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  end_session_endpoint?: string;
}

export interface OidcClient {
  /** Where to send the browser, with a fresh state, nonce and PKCE verifier to remember. */
  start(redirectUri: string): Promise<{ url: string; state: string; nonce: string; codeVerifier: string }>;
  /** Code → tokens; the ID token is verified (issuer, audience, nonce, signature). */
  finish(
    code: string,
    redirectUri: string,
    pending: { codeVerifier: string; nonce: string },
  ): Promise<{ accessToken: string; idToken: JWTPayload & { sub: string } }>;
  /** The provider's sign-out endpoint, if it has one. */
  endSessionUrl(postLogoutRedirectUri: string): Promise<string | undefined>;
}

const b64url = (bytes: Buffer) => bytes.toString('base64url');
export const pkceChallenge = (verifier: string): string => b64url(createHash('sha256').update(verifier).digest());

export function createOidcClient(options: OidcClientOptions): OidcClient {
  let discovery: Discovery | undefined;
  let keys: JWTVerifyGetKey | undefined;
  const discover = async (): Promise<Discovery> => {
    if (discovery) return discovery;
    const res = await fetch(`${options.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`OIDC discovery failed: HTTP ${res.status}`);
    const doc = (await res.json()) as Partial<Discovery>;
    if (!doc.authorization_endpoint || !doc.token_endpoint || !doc.jwks_uri) throw new Error('OIDC discovery document lacks an endpoint');
    discovery = doc as Discovery;
    return discovery;
  };

  return {
    async start(redirectUri) {
      const d = await discover();
      const state = b64url(randomBytes(32));
      const nonce = b64url(randomBytes(32));
      const codeVerifier = b64url(randomBytes(32));
      const url = new URL(d.authorization_endpoint);
      url.search = new URLSearchParams({
        response_type: 'code',
        client_id: options.clientId,
        redirect_uri: redirectUri,
        scope: options.scopes,
        state,
        nonce,
        code_challenge: pkceChallenge(codeVerifier),
        code_challenge_method: 'S256',
      }).toString();
      return { url: url.toString(), state, nonce, codeVerifier };
    },

    async finish(code, redirectUri, pending) {
      const d = await discover();
      const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: pending.codeVerifier });
      const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
      if (options.clientSecret) {
        // client_secret_basic: id and secret form-encoded, then base64 (RFC 6749 §2.3.1).
        const encode = (v: string) => encodeURIComponent(v).replace(/%20/g, '+');
        headers['authorization'] = `Basic ${Buffer.from(`${encode(options.clientId)}:${encode(options.clientSecret)}`).toString('base64')}`;
      } else {
        body.set('client_id', options.clientId);
      }
      const res = await fetch(d.token_endpoint, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
      if (!res.ok) throw new Error(`token endpoint answered HTTP ${res.status}`);
      const tokens = (await res.json()) as { access_token?: string; id_token?: string; token_type?: string };
      if (!tokens.access_token || !tokens.id_token) throw new Error('the token response lacks an access or ID token');
      keys ??= createRemoteJWKSet(new URL(options.jwksUrl ?? d.jwks_uri));
      const { payload } = await jwtVerify(tokens.id_token, keys, {
        issuer: options.issuer,
        audience: options.clientId,
        algorithms: ACCEPTED_ALGORITHMS,
        requiredClaims: ['sub', 'exp', 'iat'],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      });
      if (payload['nonce'] !== pending.nonce) throw new Error('ID token nonce does not match');
      return { accessToken: tokens.access_token, idToken: payload as JWTPayload & { sub: string } };
    },

    async endSessionUrl(postLogoutRedirectUri) {
      const d = await discover().catch(() => undefined);
      if (!d?.end_session_endpoint) return undefined;
      const url = new URL(d.end_session_endpoint);
      url.search = new URLSearchParams({ client_id: options.clientId, post_logout_redirect_uri: postLogoutRedirectUri }).toString();
      return url.toString();
    },
  };
}
