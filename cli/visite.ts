#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { adminCommand } from './commands/admin.ts';
import { exportCommand } from './commands/export.ts';
import { importCommand } from './commands/import.ts';
import { redflagsCommand } from './commands/redflags.ts';
import { publishCommand, pushCommand, submitCommand } from './commands/remote.ts';
import { testCommand } from './commands/test.ts';
import { tryCommand } from './commands/try.ts';
import { validateCommand } from './commands/validate.ts';
import { CliError } from './output.ts';

const HELP = `visite — questionnaire check-ins for the TI-Messenger

Usage:
  visite flows validate FILE…                 check flow files (exit 1 on errors)
  visite flows export FILE                    print the FHIR R4 Questionnaire (JSON)
  visite flows import QUESTIONNAIRE.json      print a flow (YAML) from a Questionnaire
  visite flows try FILE [--lang LL]           chat with a flow in the terminal
        [--answers FILE|-] [--now ISO] [--patient Patient/ID]
                                              with --answers: NDJSON events on stdout
  visite flows test [FILE…]                   run golden transcripts (default: flows/)

  Against a running Visite (--url or VISITE_URL, --key or VISITE_API_KEY):
  visite flows push FILE --url URL --key KEY  make the file (and its transcripts) the flow's draft
  visite flows submit ID --url URL --key KEY  submit the draft for review
  visite flows publish ID --url URL --key KEY publish the version in review (another person
                                              than its author: org_admin or flow_reviewer)
  visite admin create-org --name NAME [--retention-days N]
                                              create an organisation and print its first
                                              org-admin API key (uses DATABASE_URL)
  visite admin login-link --org ID --name NAME --role ROLE[,ROLE] [--minutes N] [--url BASE]
                                              print a single-use sign-in link to the web app
                                              (for installations without an OIDC provider)
  visite admin add-bot --org ID --user @bot:HS --homeserver URL (--password-env VAR | --token-env VAR)
        [--display-name NAME] [--inviter ID]…
                                              register an organisation's own Matrix bot account;
                                              the secret is read from the environment variable
                                              VAR (never from the command line) and sealed with
                                              VISITE_SECRET_KEY (else VISITE_CRYPTO_PASSPHRASE);
                                              a token is checked with the homeserver first
  visite admin rotate-bot --account ID (--password-env VAR | --token-env VAR)
                                              new credentials for a bot account
  visite admin list-bots [--org ID]           bot accounts as JSON (never their credentials)
  visite redflags scan [--lang LL]            red-flag check of each stdin line (NDJSON)
  visite redflags eval FILE… [--min-recall R] [--no-list]
                                              recall/precision on corpus files (JSONL)

Options:
  -h, --help   show this help
Docs: docs/flows.md, docs/safety.md`;

async function main(argv: string[]): Promise<number> {
  // Own options and exit codes (2 on a usage error), so parsed on its own.
  if (argv[0] === 'redflags') return redflagsCommand(argv.slice(1));
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      lang: { type: 'string', short: 'l' },
      answers: { type: 'string', short: 'a' },
      now: { type: 'string' },
      patient: { type: 'string' },
      name: { type: 'string' },
      'retention-days': { type: 'string' },
      org: { type: 'string' },
      role: { type: 'string' },
      minutes: { type: 'string' },
      url: { type: 'string' },
      key: { type: 'string' },
      user: { type: 'string' },
      homeserver: { type: 'string' },
      'password-env': { type: 'string' },
      'token-env': { type: 'string' },
      'display-name': { type: 'string' },
      inviter: { type: 'string', multiple: true },
      account: { type: 'string' },
    },
  });
  const [group, command, ...files] = positionals;
  if (values.help || group === undefined || group === 'help' || (group === 'flows' && command === undefined)) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (group === 'admin') {
    return adminCommand(command, {
      name: values.name,
      retention: values['retention-days'],
      org: values.org,
      role: values.role,
      minutes: values.minutes,
      url: values.url,
      user: values.user,
      homeserver: values.homeserver,
      passwordEnv: values['password-env'],
      tokenEnv: values['token-env'],
      displayName: values['display-name'],
      inviter: values.inviter,
      account: values.account,
    });
  }
  if (group !== 'flows') throw new CliError(`unknown command "${group}"; try: visite --help`);
  switch (command) {
    case 'validate':
      return validateCommand(files);
    case 'export':
      return exportCommand(files);
    case 'import':
      return importCommand(files);
    case 'try':
      return tryCommand(files, { lang: values.lang, answers: values.answers, now: values.now, patient: values.patient });
    case 'test':
      return testCommand(files);
    case 'push':
      return pushCommand(files, { url: values.url, key: values.key });
    case 'submit':
      return submitCommand(files, { url: values.url, key: values.key });
    case 'publish':
      return publishCommand(files, { url: values.url, key: values.key });
    default:
      throw new CliError(`unknown flows command "${command ?? ''}"; one of validate, export, import, try, test, push, submit, publish (visite --help)`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // One clear line for users; the stack only on request.
    const lines = err instanceof CliError ? err.lines : [`${err instanceof Error ? err.message : String(err)}`];
    for (const line of lines) process.stderr.write(`visite: ${line}\n`);
    if (process.env['VISITE_DEBUG'] && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    process.exitCode = err instanceof CliError && 'exitCode' in err && typeof err.exitCode === 'number' ? err.exitCode : 1;
  },
);
