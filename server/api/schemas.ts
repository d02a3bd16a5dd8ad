import { z } from '@hono/zod-openapi';
import { LANGUAGES } from '../../core/language.ts';
import { isMatrixUserId } from '../../core/matrix-id.ts';
import { ERROR_STATUS, type ErrorCode } from '../errors.ts';

export const SECURITY_SCHEMES = {
  bearer: {
    type: 'http' as const,
    scheme: 'bearer',
    description: 'An organisation API key (`vk_…`) or an OIDC access token (JWT) from the configured issuer.',
  },
};

export const security = [{ bearer: [] }];

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]).openapi({ description: 'Machine-readable error code' }),
      message: z.string(),
      details: z.record(z.string(), z.unknown()).optional().openapi({ description: 'For 400: `fields`, a list of `{ path, message }`' }),
    }),
  })
  .openapi('Error');

const errorResponse = (description: string) => ({ content: { 'application/json': { schema: ErrorSchema } }, description });

/** The error responses every authenticated route can give. */
export const commonErrors = {
  400: errorResponse('Malformed JSON, unknown fields or invalid values; `details.fields` names them'),
  401: errorResponse('Missing, invalid, expired or revoked credentials'),
  403: errorResponse('Authenticated, but the role does not allow this'),
  413: errorResponse('Request body too large'),
  415: errorResponse('Request body is not JSON'),
  429: errorResponse('Too many failed authentication attempts from this address'),
} as const;

export const notFound = { 404: errorResponse('No such object in your organisation') } as const;
export const conflict = (what: string) => ({ 409: errorResponse(what) }) as const;

export const IdParam = z.object({
  id: z.uuid({ error: 'expected a UUID' }).openapi({ param: { name: 'id', in: 'path' }, example: '7f1d2c9e-3b4a-4c5d-8e6f-0a1b2c3d4e5f' }),
});

/** A UTC instant in a query, e.g. `2026-12-01T08:00:00Z`, within the years 0001–9999 Postgres and JavaScript share. */
export const InstantQuery = z.iso.datetime({ error: 'expected a UTC time, e.g. 2026-12-01T08:00:00Z' }).refine(
  (value) => {
    const year = new Date(value).getUTCFullYear();
    return year >= 1 && year <= 9999;
  },
  { error: 'expected a time within the years 0001–9999' },
);

/** Paging of a list: `limit` (1…max, default 100) and `offset` (default 0). */
export const pageQuery = (max = 500) => ({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(max)
    .default(100)
    .openapi({ description: `At most this many (1–${max})` }),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0).openapi({ description: 'Skip this many (for the next page)' }),
});

export const LanguageSchema = z.enum(LANGUAGES).openapi({ description: 'Patient-facing language' });

export const MatrixUserId = z
  .string()
  .refine(isMatrixUserId, { error: 'expected a Matrix user id (at most 255 bytes, port at most 65535), e.g. @erika:klinik.de' })
  .openapi({ example: '@erika.muster:klinik.de' });

export const TimeZoneSchema = z
  .string()
  .refine(
    (tz) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    },
    { error: 'expected an IANA time zone, e.g. Europe/Berlin' },
  )
  .openapi({ example: 'Europe/Berlin' });

export const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });
export const jsonBody = <T extends z.ZodType>(schema: T) => ({ body: { content: { 'application/json': { schema } }, required: true } });
