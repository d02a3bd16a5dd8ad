import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { Role } from '../../db/schema.ts';
import type { T, UiLanguage } from './i18n.ts';

export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

/**
 * The Content-Security-Policy of every page: scripts and styles only from
 * /app/assets (no inline script or style, no eval), images from Visite itself,
 * connections (fetch, EventSource) only back to Visite, no frames, forms only
 * to Visite.
 */
export const WEB_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export interface PageUser {
  displayName: string;
  roles: readonly Role[];
  csrfToken: string;
}

export interface PageOptions {
  title: string;
  language: UiLanguage;
  t: T;
  /** The signed-in person; absent on the sign-in pages. */
  user?: PageUser;
  /** Which navigation entry is current. */
  current?: 'worklist' | 'patients' | 'enroll' | 'flows';
  /** The path (and query) of this page, for the language switch. */
  path: string;
  /** `data-page` on <body>: which island of script runs. */
  page?: string;
}

export const can = {
  alerts: (roles: readonly Role[]) => roles.includes('clinician') || roles.includes('org_admin'),
  patients: (roles: readonly Role[]) => roles.includes('clinician') || roles.includes('org_admin'),
  enroll: (roles: readonly Role[]) => roles.includes('org_admin'),
  flows: (roles: readonly Role[]) => roles.includes('flow_author') || roles.includes('flow_reviewer') || roles.includes('org_admin'),
};

export function csrfField(user: PageUser | { csrfToken: string }): HtmlEscapedString {
  return html`<input type="hidden" name="_csrf" value="${user.csrfToken}">` as HtmlEscapedString;
}

export function page(options: PageOptions, body: Html): Html {
  const { t, user } = options;
  const nav = (key: NonNullable<PageOptions['current']>, href: string, label: string) =>
    html`<li><a href="${href}"${options.current === key ? raw(' aria-current="page"') : ''}>${label}</a></li>`;
  const other: UiLanguage = options.language === 'de' ? 'en' : 'de';
  return html`<!doctype html>
<html lang="${options.language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · Visite</title>
<link rel="icon" href="/app/assets/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/app/assets/app.css">
<script type="module" src="/app/assets/app.js"></script>
${user ? html`<meta name="csrf-token" content="${user.csrfToken}">` : ''}
</head>
<body data-page="${options.page ?? ''}">
<a class="skip" href="#main">${t('nav.skip')}</a>
<header class="top">
  <a class="brand" href="/app/">Visite</a>
  ${
    user
      ? html`<nav aria-label="${t('nav.main')}"><ul>
      ${can.alerts(user.roles) ? nav('worklist', '/app/worklist', t('nav.worklist')) : ''}
      ${can.patients(user.roles) ? nav('patients', '/app/patients', t('nav.patients')) : ''}
      ${can.enroll(user.roles) ? nav('enroll', '/app/enroll', t('nav.enroll')) : ''}
      ${can.flows(user.roles) ? nav('flows', '/app/flows', t('nav.flows')) : ''}
    </ul></nav>`
      : ''
  }
  <div class="session">
    <a class="lang" href="/app/lang/${other}?back=${encodeURIComponent(options.path)}" lang="${other}" hreflang="${other}">${t(`lang.${other}`)}</a>
    ${
      user
        ? html`<span class="who">${t('auth.signedInAs', { name: user.displayName })}</span>
    <form method="post" action="/app/logout" class="inline">${csrfField(user)}<button type="submit" class="secondary">${t('auth.signOut')}</button></form>`
        : ''
    }
  </div>
</header>
<main id="main" tabindex="-1">
${body}
</main>
</body>
</html>`;
}

export function messagePage(options: PageOptions, heading: string, text: string): Html {
  return page(options, html`<h1>${heading}</h1><p>${text}</p>`);
}

/** A time as people on the ward read it, in Berlin time. */
const timeFormats = new Map<string, Intl.DateTimeFormat>();
export function formatTime(at: Date, language: UiLanguage, withDate = true): string {
  // Formatters are built once: toLocaleString with options builds one per call (slow on long pages).
  const key = `${language}:${withDate}`;
  let format = timeFormats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat(language === 'de' ? 'de-DE' : 'en-GB', {
      ...(withDate ? { day: '2-digit', month: '2-digit', year: 'numeric' } : {}),
      hour: '2-digit',
      minute: '2-digit',
      timeZone: 'Europe/Berlin',
    });
    timeFormats.set(key, format);
  }
  return format.format(at);
}

/** "3 h", "2 d": how long an alert has been waiting. */
export function age(from: Date, now: Date): string {
  const minutes = Math.max(0, Math.round((now.getTime() - from.getTime()) / 60_000));
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h`;
  return `${Math.round(hours / 24)} d`;
}
