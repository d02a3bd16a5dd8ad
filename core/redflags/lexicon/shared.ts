/**
 * Language-neutral words: drug names, emoji, abbreviations and numbers that
 * mean the same in every language. Matched like any word list; a hit takes
 * its language from the other words of the match or from the patient.
 */
export const SHARED = {
  sources: [
    'Anticoagulants marketed in Germany and the EU (DOAC: rivaroxaban Xarelto, apixaban Eliquis, dabigatran Pradaxa, edoxaban Lixiana/Savaysa; VKA: phenprocoumon Marcumar/Falithrom, warfarin Coumadin; heparins: enoxaparin Clexane/Lovenox, dalteparin Fragmin, tinzaparin Innohep, certoparin Mono-Embolex, nadroparin Fraxiparin, fondaparinux Arixtra; antiplatelets: ASS/aspirin, clopidogrel Plavix/Iscover, prasugrel Efient, ticagrelor Brilique) — NICE CKS "Anticoagulation - oral", Rote Liste',
    'Emergency numbers: 112 (EU), 999 (UK), 911 (US), 103 (Ukraine, Russia ambulance), 997/999 (Poland)',
  ],
  concepts: {
    anticoag: [
      'xarelto', 'rivaroxaban*', 'eliquis', 'apixaban*', 'pradaxa', 'dabigatran*', 'lixiana', 'savaysa', 'edoxaban*',
      'marcumar*', 'marcoumar*', 'falithrom*', 'phenprocoumon*', 'warfarin*', 'coumadin*', 'heparin*', 'clexane', 'enoxaparin*', 'lovenox',
      'fragmin', 'dalteparin*', 'innohep', 'tinzaparin*', 'embolex', 'certoparin*', 'fraxiparin*', 'arixtra', 'fondaparinux*',
      'clopidogrel*', 'plavix', 'iscover', 'prasugrel*', 'efient', 'ticagrelor*', 'brilique', 'brilinta',
      // Cyrillic and Arabic spellings patients type
      'ксарелто', 'эликвис', 'еліквіс', 'прадакса', 'варфарин*', 'гепарин*', 'клексан*', 'маркумар*', 'фраксипарин*',
      'زاريلتو', 'اليكويس', 'ماركومار', 'وارفارين', 'هيبارين', 'كليكسان',
    ],
    // "I can't speak German" is about a language, not a stroke.
    language_name: [
      'deutsch*', 'german*', 'englisch*', 'english', 'türkisch*', 'turkish', 'arabisch*', 'arabic', 'russisch*', 'russian', 'ukrainisch*', 'ukrainian', 'polnisch*', 'polish',
      'almanca', 'ingilizce', 'türkçe', 'arapça', 'rusça', 'lehçe',
      'немецк*', 'немецки', 'английск*', 'русск*', 'украинск*', 'польск*', 'німецьк*', 'англійськ*', 'українськ*', 'російськ*', 'польськ*',
      'niemiecku', 'niemiecki*', 'angielsku', 'angielski*', 'polsku', 'rosyjsku', 'ukraińsku',
      'الالمانيه', 'بالالمانيه', 'الماني', 'بالالماني', 'الانجليزي', 'بالانجليزي', 'العربي', 'العربيه',
    ],
    inr_kw: ['inr'],
    spo2_kw: ['spo2', 'sp02', 'o2'],
    emergency_number: ['112', '999', '911', '103', '997', '144', '1414'],
    emergency: ['sos', '🆘', '🚑', '🚨'],
    blood: ['🩸'],
    joke: ['😂', '🤣', '😆', '😹', 'lol', 'lool', 'haha*', 'hehe*', 'xd', 'jaja*', 'хаха*', 'ахах*', 'hahaha*'],
    smalltalk: ['👍', '🙏', '😊', '🙂', '👌', '❤', '♥', '😀', '😃', '😁', '☺', '🤗', '👋', '💐', '🌸', '😘', '✌', '💪', '🤝', '✔', '✅', 'ok', 'okay', 'okey', 'oki', 'okidoki', 'k', 'thx', 'thx!', 'ty', 'top', 'super', 'perfekt', 'bye'],
  },
} as const;
