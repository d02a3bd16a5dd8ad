import type { Concept } from './concepts.ts';
import type { RedFlagCategory, Severity } from './types.ts';

/**
 * Which combinations of concepts are red flags. Language-independent: the
 * words come from the per-language lists. A rule matches when each slot has a
 * concept in the same sentence, within WINDOW words of the first slot (or
 * anywhere in the message for `message` rules, e.g. an anticoagulant named in
 * another sentence). A slot `{ any, negated: true }` wants the concept denied:
 * "kein Stuhlgang" + "Bauch aufgebläht" is the symptom.
 *
 * Sources (what a nurse on a post-operative ward or NHS 111 treats as urgent):
 * - NHS 111 / NHS.uk "When to call 999" and condition pages (chest pain,
 *   breathing, heavy bleeding, vomiting blood, black stools, blood in urine,
 *   collapse, seizure, stroke, anaphylaxis, sepsis, DVT, urinary retention).
 * - Manchester Triage System (Mackway-Jones et al., 3rd ed.) general
 *   discriminators: airway compromise, inadequate breathing, exsanguinating
 *   haemorrhage, shock, unresponsive, acute onset, severe pain.
 * - BE-FAST (Balance, Eyes, Face, Arms, Speech, Time; Aroor et al., Stroke 2017).
 * - UK Sepsis Trust red flags / "TIME" (Temperature, Infection, Mental
 *   decline, Extremely ill) and NICE NG51 (sepsis).
 * - NICE NG158 (venous thromboembolism: DVT and PE), Wells criteria signs.
 * - NICE NG125 (surgical site infection), wound dehiscence.
 * - Resuscitation Council UK, anaphylaxis (2021).
 * - NICE CKS anticoagulation (bleeding on DOAC/VKA), BNF warfarin INR advice.
 * - NICE NG225 / CG16 (self-harm), Telefonseelsorge (indirect wording).
 */
export type Slot = Concept | readonly Concept[] | { readonly any: readonly Concept[]; readonly negated: true };

export interface Rule {
  id: string;
  category: RedFlagCategory;
  severity: Severity;
  all: readonly Slot[];
  /** Anywhere in the message, not one sentence. */
  message?: boolean;
  /** Words around the first slot to look in (default WINDOW). */
  window?: number;
  /** Present (not denied) in the same sentence, these turn an urgent match into a warning ("etwas kurzatmig"). */
  unless?: readonly Concept[];
  /** The same, but only in a sentence that asks (ends in "?"): "wenn am Wochenende was ist, ruf ich die 112?" */
  unlessAsked?: readonly Concept[];
}

export const WINDOW = 20;

const PAIN: Concept[] = ['pain', 'pressure', 'stabbing'];
const BLEEDING: Concept[] = ['bleed', 'blood'];
const FEVER: Concept[] = ['fever', 'low_temp', 'temp_high', 'temp_very_low'];
const LIMB: Concept[] = ['arm', 'leg', 'calf'];
const SWOLLEN_SITE: Concept[] = ['tongue', 'lips', 'throat', 'face', 'mouth', 'eye'];

export const RULES: readonly Rule[] = [
  // Crisis first. Every one of these words or phrases is a red flag alone.
  { id: 'suicidal.statement', category: 'suicidal', severity: 'urgent', all: [['suicide', 'self_harm', 'want_die', 'burden', 'no_point']] },
  {
    id: 'suicidal.farewell',
    category: 'suicidal',
    severity: 'urgent',
    all: ['farewell', ['want_die', 'burden', 'no_point', 'suicide', 'give_up']],
    message: true,
  },
  // Weighing taking all the pills, in despair: "thinking of taking the lot tonight. can't do this anymore".
  {
    id: 'suicidal.pills-considered',
    category: 'suicidal',
    severity: 'urgent',
    all: ['new_drug', 'at_once', 'considering', ['give_up', 'want_die', 'no_point', 'burden']],
    message: true,
  },
  // Goodbyes that add up: a will written, a pet given away, "I won't write again", "thank you for everything".
  { id: 'suicidal.farewells', category: 'suicidal', severity: 'urgent', all: ['farewell', ['farewell', 'farewell_soft']], message: true },
  // A plan with the means: all the pills at once "and then it's over"; pills laid out beside despair.
  { id: 'suicidal.pills-plan', category: 'suicidal', severity: 'urgent', all: ['new_drug', ['at_once', 'everything'], 'ending'], window: 15 },
  {
    id: 'suicidal.pills-hoarded',
    category: 'suicidal',
    severity: 'urgent',
    all: ['new_drug', ['hoarded', 'laid_out'], ['give_up', 'want_die', 'burden', 'no_point', 'suicide', 'ending', 'at_once']],
    message: true,
  },
  // Stockpiling: painkillers or sleeping pills kept instead of taken, or laid out beside goodbye letters.
  { id: 'suicidal.stockpile', category: 'suicidal', severity: 'urgent', all: ['new_drug', 'hoarded', 'not_taking'], window: 15 },
  { id: 'suicidal.stockpile-farewell', category: 'suicidal', severity: 'urgent', all: ['new_drug', 'hoarded', ['farewell', 'farewell_soft']], message: true },
  // Pills laid out are a dosette, unless goodbyes stand beside them.
  { id: 'suicidal.laid-out-farewell', category: 'suicidal', severity: 'urgent', all: ['new_drug', 'laid_out', 'farewell'], message: true },
  {
    id: 'suicidal.laid-out-goodbyes',
    category: 'suicidal',
    severity: 'urgent',
    all: ['new_drug', 'laid_out', 'farewell_soft', 'farewell_soft'],
    message: true,
  },
  // Worn out by everything and wanting it over "for good": "will nur noch, dass es aufhört. Für immer".
  { id: 'suicidal.give-up-for-good', category: 'suicidal', severity: 'urgent', all: ['give_up', 'ending'], message: true },
  // "Ich will nicht mehr" alone may be exhaustion or despair: a human should ask.
  { id: 'suicidal.give-up', category: 'suicidal', severity: 'warning', all: ['give_up'] },
  { id: 'suicidal.farewell-alone', category: 'suicidal', severity: 'warning', all: ['farewell'] },

  // Unconscious, collapse, seizure (999).
  { id: 'unconscious.fainted', category: 'unconscious', severity: 'urgent', all: [['fainted', 'unresponsive', 'seizure']] },
  // "Schwarz vor Augen … lag auf dem Boden": a blackout with a fall is a faint (NHS: collapse).
  { id: 'unconscious.blackout-fall', category: 'unconscious', severity: 'urgent', all: ['dizzy', 'fell'], window: 15, unless: ['mild'] },

  // Breathing (airway, inadequate breathing).
  { id: 'breathing.no-air', category: 'breathing', severity: 'urgent', all: [['no_air', 'gasping']] },
  {
    id: 'breathing.cannot',
    category: 'breathing',
    severity: 'urgent',
    all: [
      ['breathe', 'air'],
      ['cant', 'hard'],
    ],
    window: 6,
  },
  { id: 'breathing.dyspnea', category: 'breathing', severity: 'urgent', all: ['dyspnea'], unless: ['mild'] },
  { id: 'breathing.fast', category: 'breathing', severity: 'urgent', all: ['breathe', 'fast'], window: 5 },
  { id: 'breathing.blue', category: 'breathing', severity: 'urgent', all: ['blue', ['lips', 'face', 'mouth', 'skin']], window: 6 },
  { id: 'breathing.spo2', category: 'breathing', severity: 'urgent', all: [['spo2_low', 'rr_high']] },
  { id: 'breathing.wheeze', category: 'breathing', severity: 'urgent', all: ['wheeze', ['chest', 'breathe', 'dyspnea', 'new_drug']] },

  // Chest pain (999: possible heart attack).
  { id: 'chest_pain.site', category: 'chest_pain', severity: 'urgent', all: [['chest', 'heart'], PAIN], window: 8 },
  { id: 'chest_pain.radiating', category: 'chest_pain', severity: 'urgent', all: [PAIN, 'radiates', ['arm', 'jaw']], window: 10 },
  { id: 'chest_pain.radiating-arm', category: 'chest_pain', severity: 'urgent', all: ['chest', ['arm', 'jaw'], ['weak', 'radiates', 'sweat']], window: 12 },
  { id: 'chest_pain.infarct', category: 'chest_pain', severity: 'urgent', all: ['infarct'] },
  { id: 'chest_pain.sweating', category: 'chest_pain', severity: 'urgent', all: [['chest', 'heart'], 'sweat'], window: 10 },

  // Stroke: BE-FAST and sudden confusion.
  { id: 'stroke.named', category: 'stroke', severity: 'urgent', all: ['stroke_word'] },
  { id: 'stroke.face', category: 'stroke', severity: 'urgent', all: [['face', 'mouth'], 'droop'], window: 6 },
  {
    id: 'stroke.limb',
    category: 'stroke',
    severity: 'urgent',
    all: [
      ['arm', 'leg', 'one_side'],
      ['weak', 'cant_move'],
      ['sudden', 'one_side'],
    ],
    window: 10,
  },
  { id: 'stroke.limb-cannot', category: 'stroke', severity: 'urgent', all: [['arm', 'leg'], 'cant_move'], window: 8 },
  { id: 'stroke.speech', category: 'stroke', severity: 'urgent', all: ['speech'], unless: ['language_name'] },
  { id: 'stroke.vision', category: 'stroke', severity: 'urgent', all: ['vision_loss'] },
  { id: 'stroke.eye', category: 'stroke', severity: 'urgent', all: ['cant_see', ['eye', 'sudden']], window: 8 },
  {
    id: 'stroke.headache',
    category: 'stroke',
    severity: 'urgent',
    all: [
      ['headache', 'head'],
      ['worst', 'sudden'],
    ],
    window: 10,
  },
  { id: 'stroke.confusion', category: 'stroke', severity: 'urgent', all: ['disoriented'] },
  {
    id: 'stroke.sudden-confusion',
    category: 'stroke',
    severity: 'urgent',
    all: ['confused', ['sudden', 'very']],
    window: 6,
    unless: ['fever', 'temp_high', 'rigors'],
  },
  { id: 'stroke.bp', category: 'stroke', severity: 'urgent', all: ['bp_very_high'] },

  // Anaphylaxis.
  { id: 'allergic_reaction.named', category: 'allergic_reaction', severity: 'urgent', all: ['anaphylaxis'] },
  { id: 'allergic_reaction.swelling', category: 'allergic_reaction', severity: 'urgent', all: [SWOLLEN_SITE, 'swelling'], window: 6 },
  { id: 'allergic_reaction.throat', category: 'allergic_reaction', severity: 'urgent', all: ['throat', 'pressure'], window: 6 },
  { id: 'allergic_reaction.swallow', category: 'allergic_reaction', severity: 'urgent', all: ['swallow', ['cant', 'hard']], window: 5 },
  {
    id: 'allergic_reaction.hives',
    category: 'allergic_reaction',
    severity: 'urgent',
    all: [
      ['hives', 'rash'],
      ['whole_body', 'breathe', 'dyspnea', 'wheeze', 'swelling', 'dizzy'],
    ],
    window: 12,
  },

  // Bleeding: heavy, from the gut or the urinary tract, on anticoagulants.
  { id: 'bleeding.heavy', category: 'bleeding', severity: 'urgent', all: [BLEEDING, 'heavy'], window: 3 },
  { id: 'bleeding.wont-stop', category: 'bleeding', severity: 'urgent', all: [BLEEDING, ['wont_stop', 'hours']], window: 10 },
  { id: 'bleeding.vomit', category: 'bleeding', severity: 'urgent', all: [BLEEDING, 'vomit'], window: 8 },
  { id: 'bleeding.coffee-grounds', category: 'bleeding', severity: 'urgent', all: ['coffee_grounds', ['vomit', 'blood']], window: 10 },
  { id: 'bleeding.cough', category: 'bleeding', severity: 'urgent', all: [BLEEDING, ['cough', 'spit']], window: 6 },
  {
    id: 'bleeding.stool',
    category: 'bleeding',
    severity: 'urgent',
    all: [
      ['stool', 'toilet'],
      ['blood', 'bleed', 'black', 'tar'],
    ],
    window: 8,
  },
  { id: 'bleeding.urine', category: 'bleeding', severity: 'urgent', all: ['urine', ['blood', 'bleed', 'red', 'clots']], window: 8 },
  // A little gum or nose bleeding on a blood thinner is for the team to look at, not an alarm (NICE CKS: minor bleeding).
  { id: 'bleeding.anticoagulant', category: 'bleeding', severity: 'urgent', all: [BLEEDING, ['anticoag', 'inr_high']], message: true, unless: ['mild'] },

  // Sepsis: temperature with rigors, confusion, fast pulse or breathing, mottled skin.
  {
    id: 'sepsis.fever-plus',
    category: 'sepsis',
    severity: 'urgent',
    all: [FEVER, ['rigors', 'shiver', 'confused', 'disoriented', 'fast', 'mottled', 'dying', 'pulse_high', 'rr_high', 'very_unwell']],
    window: 25,
  },
  { id: 'sepsis.shaking', category: 'sepsis', severity: 'urgent', all: ['shiver', ['whole_body', 'heavy', 'worst', 'very']], window: 6, unless: ['mild'] },
  { id: 'sepsis.rigors', category: 'sepsis', severity: 'urgent', all: ['rigors'], unless: ['mild'] },
  { id: 'sepsis.mottled', category: 'sepsis', severity: 'urgent', all: ['mottled'] },
  { id: 'sepsis.value', category: 'sepsis', severity: 'urgent', all: [['temp_high', 'temp_very_low', 'pulse_high', 'pulse_low', 'bp_low']] },
  { id: 'sepsis.named', category: 'sepsis', severity: 'urgent', all: ['sepsis_word'] },

  // Thrombosis: DVT (one leg swollen, hot, red, painful) and PE.
  {
    id: 'thrombosis.calf',
    category: 'thrombosis',
    severity: 'urgent',
    all: [
      ['calf', 'leg'],
      ['swelling', 'bloated'],
      ['hot', 'red', 'pain', 'one_side', 'bigger', 'sudden'],
    ],
    window: 12,
    unless: ['mild'],
  },
  { id: 'thrombosis.calf-hot', category: 'thrombosis', severity: 'urgent', all: ['calf', ['hot', 'red'], ['pain', 'hot', 'red', 'swelling']], window: 10 },
  // The calf itself (not a knee after knee surgery): tense or hard, or swollen/hot and can't be stood on.
  {
    id: 'thrombosis.calf-hard',
    category: 'thrombosis',
    severity: 'urgent',
    all: ['calf', 'rigid', ['pain', 'hot', 'red', 'swelling', 'cant_walk']],
    window: 10,
    unless: ['mild'],
  },
  {
    id: 'thrombosis.calf-walk',
    category: 'thrombosis',
    severity: 'urgent',
    all: ['calf', ['swelling', 'bloated', 'hot', 'red', 'rigid'], 'cant_walk'],
    window: 12,
    unless: ['mild'],
  },
  { id: 'thrombosis.bigger', category: 'thrombosis', severity: 'urgent', all: [['calf', 'leg'], 'bigger'], window: 8 },
  { id: 'thrombosis.named', category: 'thrombosis', severity: 'urgent', all: ['thrombosis_word'] },
  { id: 'thrombosis.clot', category: 'thrombosis', severity: 'urgent', all: [['calf', 'leg'], 'clots'], window: 6 },
  { id: 'thrombosis.pleuritic', category: 'thrombosis', severity: 'urgent', all: [['chest', 'pain', 'stabbing'], 'inhale'], window: 8 },
  { id: 'thrombosis.sudden-breathless', category: 'thrombosis', severity: 'urgent', all: ['sudden', ['dyspnea', 'no_air', 'air']], window: 6 },

  // Wound: dehiscence, pus, necrosis, spreading redness, infection with fever.
  { id: 'wound.opened', category: 'wound', severity: 'urgent', all: ['wound', 'opened'], window: 10, unless: ['mild'] },
  { id: 'wound.pus', category: 'wound', severity: 'urgent', all: ['pus'] },
  { id: 'wound.smell', category: 'wound', severity: 'urgent', all: [['wound', 'pus', 'black', 'oozing'], 'smell'], window: 12 },
  { id: 'warning.oozing', category: 'wound', severity: 'warning', all: ['oozing'] },
  { id: 'wound.necrosis', category: 'wound', severity: 'urgent', all: ['wound', ['black', 'necrosis']], window: 8 },
  { id: 'wound.spreading', category: 'wound', severity: 'urgent', all: [['red', 'wound'], 'spreading'], window: 12 },
  { id: 'wound.infected', category: 'wound', severity: 'urgent', all: ['wound', ['hot', 'swelling', 'red'], FEVER], message: true },

  // Acute abdomen.
  { id: 'abdomen.severe-pain', category: 'abdomen', severity: 'urgent', all: ['abdomen', 'pain', ['worst', 'sudden', 'heavy']], window: 10 },
  { id: 'abdomen.rigid', category: 'abdomen', severity: 'urgent', all: ['abdomen', 'rigid'], window: 6 },
  { id: 'abdomen.vomit-all', category: 'abdomen', severity: 'urgent', all: ['vomit_all'] },
  { id: 'abdomen.vomit-constant', category: 'abdomen', severity: 'urgent', all: ['vomit', ['everything', 'wont_stop']], window: 6 },
  {
    id: 'abdomen.obstruction',
    category: 'abdomen',
    severity: 'urgent',
    all: [{ any: ['stool', 'gas', 'toilet'], negated: true }, ['bloated', 'vomit', 'swelling']],
    window: 20,
  },
  { id: 'abdomen.no-stool', category: 'abdomen', severity: 'urgent', all: ['no_stool', ['bloated', 'vomit', 'swelling', 'pain', 'abdomen']], window: 20 },
  { id: 'abdomen.bloated', category: 'abdomen', severity: 'urgent', all: ['bloated', ['sudden', 'worst', 'vomit']], window: 10 },
  { id: 'abdomen.swollen-vomiting', category: 'abdomen', severity: 'urgent', all: ['abdomen', ['bloated', 'swelling', 'rigid'], 'vomit'], window: 15 },

  // Urinary retention.
  { id: 'urinary_retention.cannot', category: 'urinary_retention', severity: 'urgent', all: [['cant_pee', 'nothing_out']] },
  { id: 'urinary_retention.cannot-words', category: 'urinary_retention', severity: 'urgent', all: ['urine', 'cant'], window: 6 },
  {
    id: 'urinary_retention.not-since',
    category: 'urinary_retention',
    severity: 'urgent',
    all: [{ any: ['urine'], negated: true }, ['duration', 'hours', 'bladder', 'pain', 'abdomen']],
    window: 12,
  },
  { id: 'urinary_retention.bladder', category: 'urinary_retention', severity: 'urgent', all: ['bladder', ['pressure', 'opened', 'worst', 'heavy']], window: 8 },
  { id: 'urinary_retention.catheter', category: 'urinary_retention', severity: 'urgent', all: ['catheter', 'blocked'], window: 8 },

  // General emergency.
  {
    id: 'emergency.named',
    category: 'emergency',
    severity: 'urgent',
    all: [['emergency', 'overdose']],
    unless: ['hypothetical'],
    unlessAsked: ['conditional', 'emergency_number'],
  },
  { id: 'emergency.dying', category: 'emergency', severity: 'urgent', all: ['dying'] },
  {
    id: 'emergency.call',
    category: 'emergency',
    severity: 'urgent',
    all: ['emergency_number', 'call'],
    window: 6,
    unless: ['hypothetical'],
    unlessAsked: ['conditional'],
  },
  {
    id: 'emergency.help',
    category: 'emergency',
    severity: 'urgent',
    all: ['help', ['quick', 'emergency', 'very_unwell', 'help']],
    window: 8,
    unless: ['hypothetical'],
    unlessAsked: ['conditional', 'emergency_number'],
  },
  {
    id: 'emergency.come',
    category: 'emergency',
    severity: 'urgent',
    all: ['come', ['quick', 'very_unwell', 'emergency', 'help']],
    window: 10,
    unless: ['hypothetical'],
    unlessAsked: ['conditional', 'emergency_number'],
  },
  // "Sehr schlecht … ich weiß nicht, was ich tun soll. Kommen Sie bitte": the plea may stand in the next sentence.
  {
    id: 'emergency.unwell-come',
    category: 'emergency',
    severity: 'urgent',
    all: ['very_unwell', 'come'],
    message: true,
    unless: ['hypothetical'],
    unlessAsked: ['conditional'],
  },
  { id: 'emergency.unwell-urgent', category: 'emergency', severity: 'urgent', all: ['very_unwell', 'quick'], message: true, unless: ['hypothetical'] },
  { id: 'emergency.very-unwell', category: 'emergency', severity: 'urgent', all: ['very_unwell', ['quick', 'please', 'help', 'come']], window: 10 },
  { id: 'emergency.sugar', category: 'emergency', severity: 'urgent', all: ['sugar_low'] },

  // Warnings: a symptom or a body concern worth a human look, below a red flag.
  { id: 'warning.pain-chest', category: 'chest_pain', severity: 'warning', all: ['chest'] },
  { id: 'warning.abdomen', category: 'abdomen', severity: 'warning', all: [['abdomen', 'vomit', 'nausea', 'bloated', 'vomit_all', 'blocked']] },
  { id: 'warning.constipation', category: 'abdomen', severity: 'warning', all: [{ any: ['stool', 'gas'], negated: true }] },
  { id: 'warning.no-stool', category: 'abdomen', severity: 'warning', all: ['no_stool'] },
  {
    id: 'warning.wound',
    category: 'wound',
    severity: 'warning',
    all: ['wound', ['pain', 'red', 'swelling', 'hot', 'bleed', 'blood', 'opened', 'smell', 'spreading', 'oozing']],
    window: 10,
  },
  {
    id: 'warning.leg',
    category: 'thrombosis',
    severity: 'warning',
    all: [
      ['calf', 'leg'],
      ['swelling', 'pain', 'hot', 'red'],
    ],
    window: 8,
  },
  { id: 'warning.bleeding', category: 'bleeding', severity: 'warning', all: [BLEEDING] },
  { id: 'warning.fever', category: 'sepsis', severity: 'warning', all: [['fever', 'low_temp', 'rigors', 'shiver', 'pulse_raised', 'fast']] },
  { id: 'warning.breathing', category: 'breathing', severity: 'warning', all: [['dyspnea', 'wheeze', 'cough', 'spo2_lowish']] },
  { id: 'warning.stroke', category: 'stroke', severity: 'warning', all: [['confused', 'weak', 'headache', 'droop', 'cant_see', 'bp_high']] },
  { id: 'warning.dizzy', category: 'unconscious', severity: 'warning', all: ['dizzy'] },
  { id: 'warning.allergy', category: 'allergic_reaction', severity: 'warning', all: [['rash', 'hives', 'itch']] },
  { id: 'warning.urine', category: 'urinary_retention', severity: 'warning', all: [['urine', 'bladder', 'catheter']] },
  { id: 'warning.swelling', category: 'wound', severity: 'warning', all: ['swelling'] },
  { id: 'warning.pain', category: 'emergency', severity: 'warning', all: [['pain', 'stabbing', 'pressure', 'worst']] },
  { id: 'warning.unwell', category: 'emergency', severity: 'warning', all: [['unwell', 'very_unwell', 'help', 'sugar_high', 'inr_high', 'dying']] },
];
