import { createServer } from 'node:net';
import { and, eq } from 'drizzle-orm';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openDatabase, type Database } from '../../db/database.ts';
import { createOrganisation } from '../../db/organisations.ts';
import { auditLog, careTeams, clinicians, enrollments, escalations, patients } from '../../db/schema.ts';
import { createLoginLink } from '../../db/web-sessions.ts';
import { createApiKey } from '../../server/api/auth.ts';
import { axeViolations, launchBrowser, newContext, screenshot } from '../harness/browser.ts';
import { careTeamPatient } from '../harness/care-team.ts';
import { startTestProvider, type TestProvider } from '../harness/oidc-provider.ts';
import { eventually } from '../harness/process.ts';
import { newUser, startTestVisite, stopE2eeClients, type RunningVisite } from '../harness/visite.ts';

/**
 * The care team's web app in a real browser: Debian's headless Chromium
 * against a running Visite on the run's Postgres and Synapse, signing in
 * through a real OpenID Connect provider (oidc-provider) or a sign-in link.
 * Patients and clinicians in Matrix are independent matrix-js-sdk clients.
 * Every page is screenshotted into var/screenshots and checked with axe-core.
 */
const suite = {} as { running: RunningVisite; database: Database; provider: TestProvider; browser: Browser; url: string };

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  const port = await freePort();
  suite.url = `http://127.0.0.1:${port}`;
  suite.provider = await startTestProvider({ redirectUri: `${suite.url}/app/auth/callback` });
  suite.database = await openDatabase({ url: inject('databaseUrl') });
  suite.running = await startTestVisite({
    VISITE_HTTP_PORT: String(port),
    VISITE_PUBLIC_URL: suite.url,
    VISITE_OIDC_ISSUER: suite.provider.issuer,
    VISITE_OIDC_AUDIENCE: suite.provider.audience,
    VISITE_OIDC_CLIENT_ID: suite.provider.clientId,
    VISITE_OIDC_CLIENT_SECRET: suite.provider.clientSecret,
    VISITE_OIDC_SCOPES: 'openid profile visite',
  });
  await suite.running.visite.botStarted;
  suite.browser = await launchBrowser();
});

afterAll(async () => {
  await suite.browser?.close();
  await suite.running?.visite.stop();
  await suite.provider?.close();
  await suite.database?.close();
  await stopE2eeClients();
});

async function expectAccessible(page: Page, name: string): Promise<void> {
  await screenshot(page, name);
  expect(await axeViolations(page), `axe-core on ${name}`).toEqual([]);
}

async function signInWithLink(
  page: Page,
  orgId: string,
  name: string,
  roles: Array<'clinician' | 'org_admin' | 'flow_author' | 'flow_reviewer'>,
): Promise<void> {
  const { token } = await createLoginLink(suite.database.db, { orgId, name, roles, lifetimeMs: 10 * 60_000 });
  await page.goto(`${suite.url}/app/auth/link?token=${token}`);
  await page.getByRole('button', { name: /anmelden|sign in/i }).click();
  await page.waitForURL(/\/app\/(worklist|flows|patients)/);
}

describe('the web app in a browser', () => {
  it("signs in through the OIDC provider, shows an alert the patient raises without a reload, acknowledges it and the room's alert is edited, and plots the chart", async () => {
    const { org, doctor, patient, chat, teamView } = await careTeamPatient(suite, {
      org: 'Klinikum Web',
      doctor: 'dr.web',
      doctorName: 'Dr. Web',
      patientName: 'Erika Browser',
      room: 'Station Web',
    });
    await suite.database.db.update(clinicians).set({ oidcSubject: 'dr.web' }).where(eq(clinicians.matrixUserId, doctor.userId));
    suite.provider.account('dr.web', { name: 'Dr. Web', orgId: org.id, roles: ['clinician'] });

    const context = await newContext(suite.browser);
    const page = await context.newPage();
    const errors: string[] = [];
    // Our pages only: the identity provider's own pages are not ours to judge.
    page.on('console', (m) => m.type() === 'error' && m.location().url.startsWith(suite.url) && errors.push(`${m.location().url}: ${m.text()}`));
    page.on('response', (r) => process.env['VISITE_TEST_TRACE'] && console.log('response', r.status(), r.url()));
    await page.goto(`${suite.url}/app/worklist`);
    await expect.poll(() => page.url()).toContain('/app/login');
    await expectAccessible(page, '01-login');
    await page.getByRole('link', { name: 'Mit dem Konto der Einrichtung anmelden' }).click();
    // The identity provider's own login page.
    await page.waitForURL((u) => u.toString().startsWith(suite.provider.issuer));
    await page.fill('input[name="login"]', 'dr.web');
    await page.fill('input[name="password"]', 'any password');
    await page.click('button[type="submit"]');
    await page.waitForURL(`${suite.url}/app/worklist`);
    await expect(page.getByRole('heading', { level: 1 })).toBeTruthy();
    expect(await page.textContent('h1')).toContain('Offene Meldungen');
    expect(await page.textContent('header')).toContain('Angemeldet als Dr. Web');
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'visite_session')!;
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/app' });
    await expectAccessible(page, '02-worklist-empty');

    // The patient answers; the alert appears in the open page, which does not reload.
    await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 42));
    await chat.say('9', /Körpertemperatur/);
    await page.waitForSelector('tr.alert.warning', { timeout: 20_000 });
    await chat.say('Ich habe starke Brustschmerzen', /112/);
    await page.waitForSelector('tr.alert.urgent', { timeout: 20_000 });
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(42);
    // Urgent first; the patient's own words and the values are in the row.
    const rows = page.locator('tbody#worklist-rows tr.alert');
    expect(await rows.count()).toBe(2);
    expect(await rows.nth(0).getAttribute('class')).toContain('urgent');
    expect(await rows.nth(0).textContent()).toContain('Ich habe starke Brustschmerzen');
    expect(await rows.nth(1).textContent()).toMatch(/Schmerzen.*9/);
    await expectAccessible(page, '03-worklist-alerts');

    // One click acknowledges; the room's alert message is edited to say who took it.
    const [urgent] = await suite.database.db
      .select()
      .from(escalations)
      .where(and(eq(escalations.patientId, patient.id), eq(escalations.severity, 'urgent')));
    const posted = await teamView.expectBot(/🔴 DRINGEND · Erika Browser/);
    await rows
      .nth(0)
      .getByRole('button', { name: /Übernehmen/ })
      .click();
    await page.waitForURL(/acked=1/);
    expect(await page.locator('tbody#worklist-rows tr.alert').count()).toBe(1);
    const edit = await teamView.expectBot(/✅ Übernommen von Dr\. Web/);
    expect(edit.content['m.relates_to']).toEqual({ rel_type: 'm.replace', event_id: posted.event_id });
    expect((edit.content['m.new_content'] as { body: string }).body).toMatch(/Brustschmerzen[\s\S]*✅ Übernommen von Dr\. Web/);
    const [acked] = await suite.database.db.select().from(escalations).where(eq(escalations.id, urgent!.id));
    expect(acked!.acknowledgedBy).toBe('user:dr.web');

    // The API's acknowledgement is the same: the warning's room message is edited, naming the key.
    const [warning] = await suite.database.db
      .select()
      .from(escalations)
      .where(and(eq(escalations.patientId, patient.id), eq(escalations.severity, 'warning')));
    const key = await createApiKey(suite.database.db, org.id, 'Stationsrechner', ['clinician']);
    const viaApi = await fetch(`${suite.url}/v1/alerts/${warning!.id}/acknowledge`, { method: 'POST', headers: { authorization: `Bearer ${key.secret}` } });
    expect(viaApi.status).toBe(200);
    const apiEdit = await teamView.expectBot(/✅ Übernommen von Stationsrechner/);
    expect((apiEdit.content['m.relates_to'] as { rel_type: string }).rel_type).toBe('m.replace');
    // … and the open worklist empties itself.
    await page.waitForSelector('tbody#worklist-rows tr.empty', { timeout: 20_000 });

    // The chart: the pain value plotted with the flow's threshold, the alert as a marker.
    await page.getByRole('link', { name: 'Patienten' }).click();
    await page.getByRole('link', { name: 'Erika Browser' }).click();
    await page.waitForURL(`${suite.url}/app/patients/${patient.id}`);
    const plot = page.locator('figure.plot[data-question="pain"]');
    expect(await plot.locator('circle[data-value="9"]').count()).toBe(1);
    expect(await plot.locator('[data-threshold="7"]').count()).toBe(1);
    expect(await plot.locator('[data-threshold="7"] text').textContent()).toContain('≥ 7');
    expect(await plot.locator('[data-alert-value="9"]').count()).toBe(1);
    expect(await page.textContent('details.transcript summary')).toContain('läuft');
    await page.locator('details.transcript summary').first().click();
    expect(await page.textContent('details.transcript')).toMatch(/Wie stark sind Ihre Schmerzen[\s\S]*9/);
    await expectAccessible(page, '05-chart');
    // Every chart view is audited.
    const views = await suite.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'patient.chart.view'), eq(auditLog.resourceId, patient.id)));
    expect(views).toEqual([expect.objectContaining({ actorType: 'user', actorId: 'dr.web', outcome: 'ok', orgId: org.id })]);
    // The FHIR export downloads.
    const download = await page.request.get(`${suite.url}/app/patients/${patient.id}/everything`);
    expect(download.headers()['content-disposition']).toContain('attachment');
    expect(((await download.json()) as { resourceType: string }).resourceType).toBe('Bundle');

    // English, switched in the page; then sign out.
    await page.getByRole('link', { name: 'English' }).click();
    expect(await page.textContent('h1')).toContain('Chart: Erika Browser');
    await expectAccessible(page, '06-chart-en');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/app\/login\?signedOut=1/);
    expect((await context.cookies()).some((c) => c.name === 'visite_session')).toBe(false);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("enrolls a patient through the form with the API's errors next to the field, signed in with a link; another organisation's chart is a 404 and roles are enforced", async () => {
    const org = await createOrganisation(suite.database.db, { name: 'Klinikum Formular' });
    const [team] = await suite.database.db.insert(careTeams).values({ orgId: org.id, name: 'Station Formular', language: 'de' }).returning();
    const { user } = await newUser('patient.form');
    const context = await newContext(suite.browser, { locale: 'en-GB' });
    const page = await context.newPage();
    await signInWithLink(page, org.id, 'Admin Form', ['org_admin']);
    // A used link is worth nothing.
    await page.goto(`${suite.url}/app/enroll`);
    expect(await page.textContent('h1')).toContain('Enroll a patient');
    await page.getByLabel("Patient's Matrix id").fill('erika-without-server');
    await page.getByLabel('Flow').selectOption('post-op');
    await page.getByLabel('Care team').selectOption(team!.id);
    await page.getByLabel('Anchor date').fill('1999-12-31');
    await page.getByRole('button', { name: 'Enroll' }).click();
    expect(await page.locator('#e-matrixUserId').textContent()).toContain('expected a Matrix user id');
    expect(await page.locator('#e-anchorDate').textContent()).toContain('expected a date from 2000-01-01');
    expect(await page.getByLabel("Patient's Matrix id").getAttribute('aria-invalid')).toBe('true');
    await expectAccessible(page, '07-enroll-errors');
    await page.getByLabel("Patient's Matrix id").fill(user.userId);
    await page.getByLabel('Name (shown to the team only)').fill('Paul Formular');
    await page.getByLabel('Anchor date').fill('2026-12-01');
    await page.getByRole('button', { name: 'Enroll' }).click();
    expect(await page.textContent('.notice')).toContain('Enrolled: Paul Formular');
    await expectAccessible(page, '08-enroll-done');
    const [enrolled] = await suite.database.db
      .select()
      .from(patients)
      .innerJoin(enrollments, eq(enrollments.patientId, patients.id))
      .where(eq(patients.matrixUserId, user.userId));
    expect(enrolled).toMatchObject({
      patients: { orgId: org.id, displayName: 'Paul Formular' },
      enrollments: { flowId: 'post-op', anchorDate: '2026-12-01', careTeamId: team!.id },
    });

    // Another organisation's clinician: the patient is not found, exactly like a random id.
    const other = await createOrganisation(suite.database.db, { name: 'Klinikum Fremd' });
    const stranger = await newContext(suite.browser, { locale: 'en-GB' });
    const strangerPage = await stranger.newPage();
    await signInWithLink(strangerPage, other.id, 'Dr. Fremd', ['clinician']);
    const foreign = await strangerPage.goto(`${suite.url}/app/patients/${enrolled!.patients.id}`);
    expect(foreign!.status()).toBe(404);
    const random = await strangerPage.goto(`${suite.url}/app/patients/00000000-0000-4000-8000-000000000000`);
    expect(random!.status()).toBe(404);
    expect(await strangerPage.textContent('main')).toContain('There is no such object in your organisation');
    await screenshot(strangerPage, '09-not-found');
    // A clinician may not enroll; a flow author sees no patients.
    expect((await strangerPage.goto(`${suite.url}/app/enroll`))!.status()).toBe(403);
    const author = await newContext(suite.browser, { locale: 'en-GB' });
    const authorPage = await author.newPage();
    await signInWithLink(authorPage, org.id, 'Author', ['flow_author']);
    expect((await authorPage.goto(`${suite.url}/app/worklist`))!.status()).toBe(403);
    expect((await authorPage.goto(`${suite.url}/app/patients/${enrolled!.patients.id}`))!.status()).toBe(403);
    await screenshot(authorPage, '10-forbidden');
    // The flow author's pages: the flows and every text in every language.
    await authorPage.goto(`${suite.url}/app/flows`);
    await authorPage.click('a[href="/app/flows/post-op"]');
    expect(await authorPage.locator('table.texts thead th[lang="tr"]').count()).toBe(1);
    await expectAccessible(authorPage, '11-flow-texts');
    await Promise.all([context.close(), stranger.close(), author.close()]);
  });

  it('edits a flow: a located error as you type, fixed, previewed in Turkish, submitted by the author and published by a reviewer', async () => {
    const org = await createOrganisation(suite.database.db, { name: 'Klinikum Flows' });
    const authorContext = await newContext(suite.browser);
    const page = await authorContext.newPage();
    await signInWithLink(page, org.id, 'Autorin Kaya', ['flow_author']);
    await page.goto(`${suite.url}/app/flows`);
    await page.click('a[href="/app/flows/post-op"]');
    await page.getByRole('link', { name: 'Bearbeiten' }).click();
    await page.waitForURL(`${suite.url}/app/flows/post-op/edit`);
    const area = page.locator('#flow-yaml');
    const original = await area.inputValue();
    expect(original).toContain('id: post-op');

    // A typo while editing: the check names line and column without saving anything.
    const broken = original.replace('version: "1.0.0"', 'version: "1.1.0"').replace('    type: scale\n', '    type: scael\n');
    const line = broken.split('\n').findIndex((l) => l.includes('type: scael')) + 1;
    await area.fill(broken);
    await page.waitForSelector('#yaml-problems a[data-line]', { timeout: 10_000 });
    expect(await page.locator('#yaml-problems a[data-line]').first().textContent()).toContain(`Zeile ${line}`);
    await expectAccessible(page, '12-editor-error');

    // Fixed, with a new Turkish question text; saved as the draft.
    const oldTurkish = "tr: Şu anda ağrınız ne kadar şiddetli, 0'dan 10'a kadar?";
    expect(broken).toContain(oldTurkish);
    const fixed = broken.replace('type: scael', 'type: scale').replace(oldTurkish, "tr: Bugün ağrınız ne kadar şiddetli, 0'dan 10'a kadar?");
    await area.fill(fixed);
    await page.waitForSelector('#yaml-problems .ok', { timeout: 10_000 });
    await page.getByRole('button', { name: 'Entwurf speichern' }).click();
    expect(await page.textContent('.notice')).toContain('Entwurf gespeichert.');
    expect(await page.textContent('main')).toContain('Entwurf 1.1.0');

    // The chat preview runs the draft in Turkish; the diff shows the changed text.
    await page.selectOption('#try-lang', 'tr');
    await page.fill('#try-answers', '');
    await page.getByRole('button', { name: 'Ausprobieren' }).click();
    expect(await page.locator('#chat').textContent()).toContain('Bugün ağrınız ne kadar şiddetli');
    expect(await page.locator('.diff ins').allTextContents()).toContain("Bugün ağrınız ne kadar şiddetli, 0'dan 10'a kadar?");
    await expectAccessible(page, '13-editor-preview-tr');

    // Submitted by the author, who cannot publish it herself.
    await page.getByRole('button', { name: 'Zur Prüfung einreichen' }).click();
    expect(await page.textContent('.notice')).toContain('Zur Prüfung eingereicht.');
    expect(await page.getByRole('button', { name: 'Veröffentlichen' }).count()).toBe(0);

    // A reviewer publishes it (four eyes).
    const reviewerContext = await newContext(suite.browser);
    const reviewer = await reviewerContext.newPage();
    await signInWithLink(reviewer, org.id, 'Prüfer Demir', ['flow_reviewer']);
    await reviewer.goto(`${suite.url}/app/flows/post-op/edit`);
    expect(await reviewer.textContent('main')).toContain('Version 1.1.0 wartet auf Freigabe');
    await reviewer.getByRole('button', { name: 'Veröffentlichen' }).click();
    expect(await reviewer.textContent('.notice')).toContain('Veröffentlicht: Version 1.1.0');
    await expectAccessible(reviewer, '14-flow-published');
    const published = await suite.running.visite.flows.find(org.id, 'post-op');
    expect(published?.version).toBe('1.1.0');
    expect(published?.questions.find((q) => q.id === 'pain')?.text.tr).toBe("Bugün ağrınız ne kadar şiddetli, 0'dan 10'a kadar?");
    await Promise.all([authorContext.close(), reviewerContext.close()]);
  });
});
