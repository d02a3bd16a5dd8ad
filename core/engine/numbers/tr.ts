import { HUNDRED, type NumberLanguage, PLUS_HALF, POINT, tens, THOUSAND, unit } from './language.ts';

/**
 * Turkish: "yüz on beş" (115), "iki yüz elli", often written together
 * ("otuzsekiz", "yüzonbeş"); no "and" inside numbers. A half is "buçuk"
 * (38 buçuk = 38,5). Case endings stick to numbers ("sekizdi", "38'di").
 */
export const tr: NumberLanguage = {
  words: {
    sıfır: unit(0),
    bir: unit(1),
    iki: unit(2),
    üç: unit(3),
    dört: unit(4),
    beş: unit(5),
    altı: unit(6),
    yedi: unit(7),
    sekiz: unit(8),
    dokuz: unit(9),
    on: tens(10),
    yirmi: tens(20),
    otuz: tens(30),
    kırk: tens(40),
    elli: tens(50),
    altmış: tens(60),
    yetmiş: tens(70),
    seksen: tens(80),
    doksan: tens(90),
    yüz: HUNDRED,
    bin: THOUSAND,
    'virgül|nokta': POINT,
    'buçuk|½': PLUS_HALF,
  },
  // "on" (10) is a tens word: "on bir" (11) = ten + one, like "otuz bir" (31).
  grammar: {},
  // bir = a/one, on = ten or "ön" (front) typed without accents, yüz = hundred/face,
  // altı = six/under, bin = thousand/"get on", üç → "uc" = tip.
  weak: ['bir', 'on', 'yüz', 'altı', 'bin', 'uc'],
  suffixes: ['ydi', 'ydı', 'ydu', 'ydü', 'tir', 'tır', 'tur', 'tür', 'dir', 'dır', 'dur', 'dür', 'den', 'dan', 'ten', 'tan', 'yle', 'yla', 'di', 'dı', 'du', 'dü', 'ti', 'tı', 'tu', 'tü', 'de', 'da', 'te', 'ta', 'ye', 'ya', 'yi', 'yı', 'yu', 'yü', 'le', 'la', 'e', 'a', 'i', 'ı', 'u', 'ü'],
  about: ['yaklaşık', 'aşağı yukarı', 'civarı', 'civarında', 'civarinda', 'falan', 'filan', 'gibi', 'kadar', 'herhalde', 'galiba', 'sanırım', 'bence', 'tahminen', 'ortalama', 'bi'],
  inexactBefore: ['birkaç', 'birkac', 'kaç', 'bir kaç', 'en az', 'en fazla', 'neredeyse', 'hemen hemen', 'aralık', 'arası'],
  inexactAfter: ['den fazla', 'dan fazla', 'ten fazla', 'tan fazla', 'den az', 'dan az', 'ten az', 'tan az', 'üstü', 'üzeri', 'üzerinde', 'altı', 'altında', 'küsur', 'küsür', 'arası', 'arasında', 've üstü', 'ya da daha fazla', 'fazla', 'biraz fazla', 'bir şey', 'bişey', 'birşey', 'çeyrek', 'buçuk gibi', '+'],
  decades: ['ler', 'lar', 'lerde', 'larda'],
  ordinals: ['inci', 'ıncı', 'uncu', 'üncü', 'nci', 'ncı', 'ncu', 'ncü'],
  outOf: [],
  outOfMaxFirst: ['üzerinden', 'uzerinden', 'üstünden', 'içinden'],
  rangeWords: ['ya da', 'veya', 'yada', 'ila', 'ile', '-', '–'],
  units: {
    degree: ['derece'],
    Cel: ['santigrat', 'santigrad', 'derece santigrat', 'celsius'],
    '[degF]': ['fahrenhayt', 'fahrenheit', 'derece fahrenhayt'],
    kg: ['kilo', 'kilogram', 'kg', 'kilom'],
    '[lb_av]': ['pound', 'paund', 'libre'],
    '/min': ['/dk', '/ dk', 'dk', 'dakikada', 'atım', 'atış', 'vuruş', 'atım dakikada'],
    'mg/dL': ['miligram'],
    '%': ['yüzde'],
  },
  none: {
    general: ['yok', 'hiç', 'hiç yok', 'hiçbir şey', 'hiçbir şey yok', 'yok hiç'],
    pain: ['ağrım yok', 'ağrı yok', 'ağrım hiç yok', 'hiç ağrım yok', 'ağrı hiç yok', 'acımıyor', 'acimiyor', 'ağrımıyor', 'ağrım kalmadı', 'ağrı kalmadı', 'sızı yok', 'hiç ağrı yok', 'ağrısız', 'ağrı hissetmiyorum', 'bir şey hissetmiyorum'],
    almost: ['neredeyse', 'hemen hemen', 'pek', 'çok az', 'az'],
    degree: ['gibi', 'kadar', 'fazla', 'çok', 'eskisi'],
  },
  notTypos: ['yeni', 'elle', 'ele', 'altin', 'altın', 'doku', 'dokun', 'yedim', 'yedin', 'yedik', 'yediler', 'yetti', 'otur'],
};
