import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../server/config.ts';

const valid = {
  VISITE_HOMESERVER_URL: 'http://127.0.0.1:8008/',
  VISITE_BOT_USER_ID: '@visite:localhost',
  VISITE_BOT_PASSWORD: 'secret',
};

function problem(env: Record<string, string | undefined>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected the configuration to be rejected');
}

describe('loadConfig', () => {
  it('gives each instance an id and a lease TTL, and names bad instance settings on one line', () => {
    const config = loadConfig({ ...valid, VISITE_INSTANCE_ID: 'visite-1' });
    expect(config.instance).toEqual({ id: 'visite-1', leaseTtlMs: 15_000, roomCreationConcurrency: 4, accounts: 'all' });
    // Without one: host, pid and a random part, so two processes on one host never share an id.
    expect(loadConfig(valid).instance.id).not.toBe(loadConfig(valid).instance.id);
    expect(problem({ ...valid, VISITE_LEASE_TTL_MS: '500' })).toMatch(/VISITE_LEASE_TTL_MS: expected at least 1000 ms/);
    expect(problem({ ...valid, VISITE_INSTANCE_ID: 'a b' })).toMatch(/VISITE_INSTANCE_ID: expected letters/);
    expect(problem({ ...valid, VISITE_BOT_ACCOUNTS: 'some' })).toMatch(/VISITE_BOT_ACCOUNTS: expected all or environment/);
    expect(problem({ ...valid, VISITE_ROOM_CREATION_CONCURRENCY: '0' })).toMatch(/VISITE_ROOM_CREATION_CONCURRENCY: expected at least 1/);
  });

  it('applies defaults: embedded PGlite in the data folder, loopback HTTP on 8080', () => {
    const config = loadConfig(valid);
    expect(config.homeserverUrl).toBe('http://127.0.0.1:8008');
    expect(config.database).toEqual({ dataDir: 'var/data/pglite' });
    expect(config.http).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(config.allowedInviters).toEqual([]);
    expect(config.bot.displayName).toBe('Visite (Chatbot)');
  });

  it('uses Postgres when DATABASE_URL is set and parses the allow-list', () => {
    const config = loadConfig({
      ...valid,
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/visite',
      VISITE_ALLOWED_INVITERS: '@dr.berg:klinik.de, @*:praxis.example',
    });
    expect(config.database).toEqual({ url: 'postgres://postgres@127.0.0.1:5432/visite' });
    expect(config.allowedInviters).toEqual(['@dr.berg:klinik.de', '@*:praxis.example']);
  });

  it("accepts Matrix ids up to the spec's limits: 255 bytes, port 65535", () => {
    const longest = `@${'v'.repeat(249)}:a.de`;
    expect(longest).toHaveLength(255);
    expect(loadConfig({ ...valid, VISITE_BOT_USER_ID: longest }).bot.userId).toBe(longest);
    expect(loadConfig({ ...valid, VISITE_BOT_USER_ID: '@visite:localhost:65535', VISITE_ALLOWED_INVITERS: '@*:klinik.de:8448' }).allowedInviters).toEqual([
      '@*:klinik.de:8448',
    ]);
  });

  it('reads the OIDC settings with a maximum token age of 24 h unless set', () => {
    const oidc = { ...valid, VISITE_OIDC_ISSUER: 'https://login.klinik.example/realms/visite', VISITE_OIDC_AUDIENCE: 'visite-api' };
    expect(loadConfig(oidc).oidc?.maxTokenAgeSeconds).toBe(86_400);
    expect(loadConfig({ ...oidc, VISITE_OIDC_MAX_TOKEN_AGE_SECONDS: '3600' }).oidc?.maxTokenAgeSeconds).toBe(3600);
    expect(problem({ ...oidc, VISITE_OIDC_MAX_TOKEN_AGE_SECONDS: '10' })).toMatch(/VISITE_OIDC_MAX_TOKEN_AGE_SECONDS: expected seconds from 60/);
  });

  it('accepts an access token instead of a password', () => {
    const config = loadConfig({ ...valid, VISITE_BOT_PASSWORD: undefined, VISITE_BOT_ACCESS_TOKEN: 'syt_abc' });
    expect(config.bot.accessToken).toBe('syt_abc');
    expect(config.bot.password).toBeUndefined();
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ ...valid, DATABASE_URL: '', VISITE_HTTP_PORT: '' }).http.port).toBe(8080);
  });

  it.each([
    [{ VISITE_HOMESERVER_URL: undefined }, /VISITE_HOMESERVER_URL: required/],
    [{ VISITE_HOMESERVER_URL: 'matrix.example.org' }, /VISITE_HOMESERVER_URL: expected an http\(s\) URL/],
    [{ VISITE_BOT_USER_ID: 'visite' }, /VISITE_BOT_USER_ID: expected a Matrix user id/],
    [{ VISITE_BOT_PASSWORD: undefined }, /VISITE_BOT_PASSWORD: required/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL: expected a postgres:\/\/ URL/],
    [{ VISITE_HTTP_PORT: '70000' }, /VISITE_HTTP_PORT: expected a TCP port/],
    [{ VISITE_HTTP_PORT: 'eighty' }, /VISITE_HTTP_PORT: expected a TCP port/],
    [{ VISITE_LOG_LEVEL: 'verbose' }, /VISITE_LOG_LEVEL: expected one of debug, info, warn, error/],
    [{ VISITE_ALLOWED_INVITERS: 'dr.berg' }, /VISITE_ALLOWED_INVITERS: expected comma-separated Matrix user ids/],
    // The spec's limits for Matrix ids: 255 bytes, and a TCP port.
    [{ VISITE_BOT_USER_ID: `@${'v'.repeat(250)}:a.de` }, /VISITE_BOT_USER_ID: expected a Matrix user id/],
    [{ VISITE_BOT_USER_ID: '@visite:localhost:99999' }, /VISITE_BOT_USER_ID: expected a Matrix user id/],
    [{ VISITE_BOT_USER_ID: '@visite:localhost:0' }, /VISITE_BOT_USER_ID: expected a Matrix user id/],
    [{ VISITE_ALLOWED_INVITERS: '@*:klinik.de:65536' }, /VISITE_ALLOWED_INVITERS: expected comma-separated Matrix user ids/],
    [{ VISITE_ALLOWED_INVITERS: `@dr:${'k'.repeat(260)}.de` }, /VISITE_ALLOWED_INVITERS: expected comma-separated Matrix user ids/],
  ])('rejects %j on one line naming the variable', (override, expected) => {
    expect(problem({ ...valid, ...override })).toMatch(expected);
  });
});
