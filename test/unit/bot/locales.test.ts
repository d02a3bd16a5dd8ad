import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { normalizeWords } from '../../../core/engine/normalize.ts';
import { type Language, LANGUAGES } from '../../../core/language.ts';
import { detectRedFlags } from '../../../core/redflags/index.ts';

/**
 * Completeness and safety of the bot's locale files: `locales/<lng>/bot.json`
 * (system texts), `commands.json` (stop/start/language words) and
 * `redflags.json` (red-flag word lists, see core/redflags and docs/safety.md).
 * German is the source of truth for bot.json.
 */
const LOCALES = join(import.meta.dirname, '../../../locales');

function readJson(language: string, file: string): unknown {
  return JSON.parse(readFileSync(join(LOCALES, language, file), 'utf8')) as unknown;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Key path → value for every leaf of a nested object. */
function flatten(value: unknown, prefix = '', out: Map<string, unknown> = new Map()): Map<string, unknown> {
  if (isRecord(value)) {
    for (const [key, child] of Object.entries(value)) flatten(child, prefix ? `${prefix}.${key}` : key, out);
  } else {
    out.set(prefix, value);
  }
  return out;
}

function placeholders(text: string): string[] {
  return [...new Set([...text.matchAll(/\{\{\s*([^}\s]+)\s*\}\}/g)].map((m) => m[1] ?? ''))].sort();
}

interface Commands {
  stop: string[];
  start: string[];
  languageName: string[];
}
interface RedFlags {
  sources: string[];
  concepts: Record<string, string[]>;
}

const COMMAND_KEYS = ['stop', 'start', 'languageName'] as const;

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function commandsOf(language: Language): Commands {
  const json = readJson(language, 'commands.json');
  if (!isRecord(json)) throw new Error(`${language}/commands.json is not an object`);
  const out: Partial<Commands> = {};
  for (const key of COMMAND_KEYS) {
    const list = json[key];
    if (!isStringList(list)) throw new Error(`${language}/commands.json: ${key} is not a list of strings`);
    out[key] = list;
  }
  return out as Commands;
}

function redFlagsOf(language: Language): RedFlags {
  const json = readJson(language, 'redflags.json');
  if (!isRecord(json) || !isRecord(json['concepts'])) throw new Error(`${language}/redflags.json has no concepts object`);
  const concepts: Record<string, string[]> = {};
  for (const [concept, list] of Object.entries(json['concepts'])) {
    if (!isStringList(list)) throw new Error(`${language}/redflags.json: ${concept} is not a list of strings`);
    concepts[concept] = list;
  }
  const sources = json['sources'];
  if (!isStringList(sources)) throw new Error(`${language}/redflags.json: sources is not a list of strings`);
  return { sources, concepts };
}

function duplicates(list: readonly string[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const item of list) {
    if (seen.has(item)) dup.add(item);
    seen.add(item);
  }
  return [...dup];
}

/** The red-flag detector's verdict, as the bot sees it: the category when urgent. */
function urgentCategory(text: string, language: Language): string | null {
  const finding = detectRedFlags(text, { language });
  return finding.severity === 'urgent' ? finding.category : null;
}

describe('locale files', () => {
  it('every JSON file under locales/ parses', () => {
    for (const language of readdirSync(LOCALES)) {
      for (const file of readdirSync(join(LOCALES, language)).filter((f) => f.endsWith('.json'))) {
        expect(() => readJson(language, file), `${language}/${file}`).not.toThrow();
      }
    }
  });
});

describe('bot.json system texts', () => {
  const german = flatten(readJson('de', 'bot.json'));

  it('German has texts at all', () => {
    expect(german.size).toBeGreaterThan(0);
  });

  it.each(LANGUAGES)('%s has exactly the German keys, each a non-empty string', (language) => {
    const texts = flatten(readJson(language, 'bot.json'));
    expect(
      [...texts.keys()].filter((key) => !german.has(key)),
      'extra keys',
    ).toEqual([]);
    for (const key of german.keys()) {
      const text = texts.get(key);
      expect(typeof text, `${language} ${key}`).toBe('string');
      expect(String(text).trim(), `${language} ${key}`).not.toBe('');
    }
  });

  it.each(LANGUAGES)('%s uses the same {{placeholders}} as German', (language) => {
    const texts = flatten(readJson(language, 'bot.json'));
    for (const [key, text] of german) {
      expect(placeholders(String(texts.get(key) ?? '')), `${language} ${key}`).toEqual(placeholders(String(text)));
    }
  });

  it.each(LANGUAGES)('%s names 112 wherever German does, and the crisis line for suicidal thoughts', (language) => {
    const texts = flatten(readJson(language, 'bot.json'));
    for (const [key, text] of german) {
      if (String(text).includes('112')) expect(String(texts.get(key) ?? ''), `${language} ${key}`).toContain('112');
    }
    expect(String(texts.get('redflag.suicidal') ?? '')).toContain('0800 111 0 111');
  });
});

describe('commands.json and redflags.json', () => {
  const commands = new Map<Language, Commands>(LANGUAGES.map((l) => [l, commandsOf(l)]));
  const redFlags = new Map<Language, RedFlags>(LANGUAGES.map((l) => [l, redFlagsOf(l)]));

  function listsOf(language: Language): [string, string[]][] {
    const c = commands.get(language);
    const r = redFlags.get(language);
    if (!c || !r) throw new Error(language);
    return [
      ...COMMAND_KEYS.map((key): [string, string[]] => [`commands.${key}`, c[key]]),
      ...Object.entries(r.concepts).map(([key, list]): [string, string[]] => [`redflags.${key}`, list]),
    ];
  }

  it.each(LANGUAGES)('%s: every list is non-empty, lower-case, trimmed and without duplicates', (language) => {
    for (const [name, list] of listsOf(language)) {
      expect(list.length, `${language} ${name}`).toBeGreaterThan(0);
      for (const entry of list) {
        expect(entry, `${language} ${name}`).toBe(entry.toLocaleLowerCase(language).trim());
        expect(normalizeWords(entry), `${language} ${name} ${JSON.stringify(entry)} normalises to nothing`).not.toBe('');
      }
      expect(duplicates(list), `${language} ${name}`).toEqual([]);
    }
  });

  it.each(LANGUAGES)('%s: red-flag word lists name their sources', (language) => {
    expect(redFlags.get(language)?.sources.length, language).toBeGreaterThan(0);
  });

  it('no stop or start word raises an urgent red flag, in any language', () => {
    for (const language of LANGUAGES) {
      for (const word of [...(commands.get(language)?.stop ?? []), ...(commands.get(language)?.start ?? [])]) {
        expect(urgentCategory(word, language), `${language} ${JSON.stringify(word)}`).toBeNull();
      }
    }
  });

  it('no language name belongs to two languages, nor is it a stop or start word', () => {
    const owner = new Map<string, Language>();
    const commandWords = new Set<string>();
    for (const language of LANGUAGES) {
      const c = commands.get(language);
      for (const word of [...(c?.stop ?? []), ...(c?.start ?? [])]) commandWords.add(normalizeWords(word));
    }
    for (const language of LANGUAGES) {
      for (const name of commands.get(language)?.languageName ?? []) {
        const key = normalizeWords(name);
        const previous = owner.get(key);
        expect(previous === undefined || previous === language, `${JSON.stringify(name)} names ${previous} and ${language}`).toBe(true);
        expect(commandWords.has(key), `${JSON.stringify(name)} is a command word`).toBe(false);
        owner.set(key, language);
      }
    }
  });

  it('each language can be switched to by its own name and by its German and English name', () => {
    const names: Record<Language, readonly string[]> = {
      de: ['deutsch', 'german'],
      en: ['english', 'englisch'],
      tr: ['türkçe', 'türkisch', 'turkish'],
      ar: ['العربية', 'arabisch', 'arabic'],
      uk: ['українська', 'ukrainisch', 'ukrainian'],
      ru: ['русский', 'russisch', 'russian'],
      pl: ['polski', 'polnisch', 'polish'],
    };
    for (const language of LANGUAGES) {
      const own = new Set((commands.get(language)?.languageName ?? []).map(normalizeWords));
      for (const name of names[language]) expect(own.has(normalizeWords(name)), `${language} ${name}`).toBe(true);
    }
  });

  it('"stop" and "start" work whatever the language; each language has its own stop word besides', () => {
    for (const language of LANGUAGES) {
      const c = commands.get(language);
      expect(c?.stop, language).toContain('stop');
      expect(c?.start, language).toContain('start');
    }
  });

  it('stop/start words never equal an ordinary answer word, and no answer word is an urgent red flag', () => {
    const answerWords = new Map<string, string>();
    const clashes: string[] = [];
    for (const language of LANGUAGES) {
      const engine = readJson(language, 'engine.json');
      const words = isRecord(engine) && isRecord(engine['words']) ? engine['words'] : {};
      for (const [list, entries] of Object.entries(words)) {
        if (!isStringList(entries)) continue;
        for (const word of entries) {
          answerWords.set(normalizeWords(word), `${language} ${list}`);
          if (urgentCategory(word, language)) clashes.push(`${language} ${list} ${JSON.stringify(word)} is an urgent red flag`);
        }
      }
    }
    for (const language of LANGUAGES) {
      for (const word of [...(commands.get(language)?.stop ?? []), ...(commands.get(language)?.start ?? [])]) {
        const clash = answerWords.get(normalizeWords(word));
        if (clash) clashes.push(`${language} ${JSON.stringify(word)} = ${clash}`);
      }
    }
    expect(clashes).toEqual([]);
  });

  // A few messages each list must catch, and everyday answers none may trip over.
  const urgent: Record<Language, [string, string][]> = {
    de: [
      ['Ich bekomme keine Luft!', 'breathing'],
      ['Starke Brustschmerzen seit heute früh', 'chest_pain'],
      ['Die Wunde blutet stark', 'bleeding'],
      ['Mein Mann ist bewusstlos', 'unconscious'],
      ['Ich will nicht mehr leben', 'suicidal'],
      ['Bitte Krankenwagen', 'emergency'],
    ],
    en: [
      ["I can't breathe", 'breathing'],
      ['bad chest pain', 'chest_pain'],
      ['It won’t stop bleeding', 'bleeding'],
      ['she passed out', 'unconscious'],
      ['I want to kill myself', 'suicidal'],
      ['call an ambulance', 'emergency'],
    ],
    tr: [
      ['Nefes alamıyorum', 'breathing'],
      ['Göğüs ağrım var', 'chest_pain'],
      ['Kanama durmuyor', 'bleeding'],
      ['Annem bayıldı', 'unconscious'],
      ['Artık yaşamak istemiyorum', 'suicidal'],
      ['Ambulans lazım', 'emergency'],
    ],
    ar: [
      ['لا أستطيع التنفس', 'breathing'],
      ['عندي ألم في الصدر', 'chest_pain'],
      ['نزيف شديد من الجرح', 'bleeding'],
      ['فقد الوعي', 'unconscious'],
      ['أريد أن أموت', 'suicidal'],
      ['اطلبوا الإسعاف', 'emergency'],
    ],
    uk: [
      ['Не можу дихати', 'breathing'],
      ['Сильний біль у грудях', 'chest_pain'],
      ['Кровотеча не зупиняється', 'bleeding'],
      ['Він втратив свідомість', 'unconscious'],
      ['Я не хочу жити', 'suicidal'],
      ['Викличте швидку!', 'emergency'],
    ],
    ru: [
      ['Не могу дышать', 'breathing'],
      ['У меня боль в груди', 'chest_pain'],
      ['Кровь не останавливается', 'bleeding'],
      ['Он потерял сознание', 'unconscious'],
      ['Я не хочу жить', 'suicidal'],
      ['Вызовите скорую', 'emergency'],
    ],
    pl: [
      ['Nie mogę oddychać', 'breathing'],
      ['Ból w klatce piersiowej', 'chest_pain'],
      ['Silne krwawienie z rany', 'bleeding'],
      ['Mąż stracił przytomność', 'unconscious'],
      ['Nie chcę żyć', 'suicidal'],
      ['Proszę wezwać karetkę', 'emergency'],
    ],
  };
  const everyday: Record<Language, string[]> = {
    de: [
      'leichte Schmerzen',
      'Mir geht es gut',
      'Die Wunde ist etwas rot',
      'Puls 112',
      'Ich kann nicht gut Deutsch sprechen',
      'Ein bisschen Blut am Pflaster',
      'Wadenkrampf in der Nacht',
      'hilfe',
    ],
    en: ['a little pain', "I'm fine, thanks", "I can't speak German well", 'slight redness', 'some blood on the dressing', 'help'],
    tr: ['Biraz ağrım var', 'İyiyim', 'Almanca konuşamıyorum', 'Yara biraz kızarık', 'Bana sor'],
    ar: ['أنا بخير', 'ألم خفيف', 'لا أستطيع الكلام بالألمانية', 'الجرح أحمر قليلا'],
    uk: ['Трохи болить', 'Усе добре', 'Не можу говорити німецькою', 'Судоми в ногах вночі', 'Трохи крові на пов’язці'],
    ru: ['Немного болит', 'Всё хорошо', 'Не могу говорить по-немецки', 'Судороги в ногах ночью', 'Немного крови на повязке'],
    pl: ['Trochę boli', 'Wszystko dobrze', 'Nie mogę mówić po niemiecku', 'Rana jest lekko zaczerwieniona', 'Skurcze w nogach'],
  };

  it.each(LANGUAGES)('%s: typical urgent messages are caught in the right category', (language) => {
    for (const [text, category] of urgent[language]) expect(urgentCategory(text, language), text).toBe(category);
  });

  it.each(LANGUAGES)('%s: everyday answers raise no red flag in any language', (language) => {
    for (const text of everyday[language]) expect(urgentCategory(text, language), text).toBeNull();
  });
});
