"""Vietnamese legacy font encodings (TCVN3/ABC and VNI-Windows) to and from Unicode.

District software of the 2000s stored text typed with legacy Vietnamese fonts in
Latin-1 columns. Read back, such a value is Latin-1 "mojibake": ``Nguyễn Văn`` reads
``NguyÔn V¨n`` (TCVN3) or ``Nguyeãn Vaên`` (VNI). Nothing marks these values, so
:func:`detect_legacy` decides per value. No PyPI package handles the font encodings
(Python ships only ``cp1258``), so the tables below are written from the standards.

Encodings
---------
*TCVN3* (TCVN 5712:1993, the "VN3"/ABC ``.VnTime`` font): one byte per letter. The
font has every lower-case precomposed letter but only seven upper-case ones
(``Ă Â Ê Ô Ơ Ư Đ`` at 0xA1-0xA7); upper-case letters with a tone mark were typed with
the separate ``.VnTimeH`` font, which draws the *same* bytes as capitals. The byte
therefore does not say the case: :func:`encode_tcvn3` writes such a letter as its
lower-case code (what the typist's bytes were), and :func:`decode_legacy` restores
the case only from context (see :func:`_restore_tcvn3_case`): a word whose other
letters are capitals is upper-cased, and in a value whose words are all Title Case a
word starting with such a letter is capitalized (Vietnamese names and places are Title
Case). A single word like ``¸nh`` decodes as ``ánh``: the case is lost.

*VNI* (VNI-Windows): the base letter followed by one trailing byte giving the vowel
quality and/or tone (``ễ`` = ``e`` + ``ã``), plus single bytes for ``đ ơ ư`` and the
``i``/``ỵ`` letters. Upper and lower case both exist, so VNI round-trips exactly.

Detection
---------
A value can only be legacy when every character is in Latin-1 (it was stored as
Latin-1 bytes) and some character is non-ASCII. Such a value is *not* legacy when it
already reads as valid Vietnamese (Unicode ``Hà Thái Tú`` is all Latin-1, for
example). Otherwise each encoding decodes it strictly (every non-ASCII character must
be a code of that encoding); a decoding is accepted when its words with diacritics are
valid Vietnamese syllables (onset + rhyme + tone placement rules, see
:func:`is_vietnamese_syllable`), at least half of them and more than in the original.
When both readings are valid Vietnamese (VNI ``Mai Thò Hoa`` is ``Mai Thị Hoa``, and
``thò`` is a word), the decoding wins only if more of its words are syllables common
in names and places (``_COMMON_SYLLABLES``); a tie keeps the value as it is. So a VNI
value whose only marks are ``oà`` (``Hoà`` = ``Hồ``, ``Hoàng`` = ``Hồng``) with
otherwise plain ASCII words stays unconverted: it is also ordinary Unicode.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from typing import Literal

import numpy as np
import pandas as pd

LegacyEncoding = Literal["tcvn3", "vni"]

# --- the Vietnamese alphabet ------------------------------------------------------------
_BASE_VOWELS = "aăâeêioôơuưy"
# Tone marks as combining characters, in the usual order: huyền, sắc, hỏi, ngã, nặng.
_GRAVE, _ACUTE, _HOOK, _TILDE, _DOT = "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"
_TONES = (_GRAVE, _ACUTE, _HOOK, _TILDE, _DOT)
_TONE_SET = frozenset(_TONES)


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _toned(base: str, tone: str) -> str:
    return _nfc(base + tone)


# The 134 precomposed Vietnamese letters: 12 vowels x 5 tones, ă â ê ô ơ ư and đ, both cases.
VIETNAMESE_LETTERS_LOWER: tuple[str, ...] = tuple(
    [_toned(v, t) for v in _BASE_VOWELS for t in _TONES] + list("ăâêôơư") + ["đ"]
)
VIETNAMESE_LETTERS: tuple[str, ...] = VIETNAMESE_LETTERS_LOWER + tuple(
    c.upper() for c in VIETNAMESE_LETTERS_LOWER
)
_VIET_LETTER_SET = frozenset(VIETNAMESE_LETTERS)

# --- TCVN3 (TCVN 5712:1993 VN3) -----------------------------------------------------------
# Byte -> letter; bytes read as Latin-1 characters. Per base vowel the five tones are
# listed in the order grave, hook, tilde, acute, dot (the standard's own order).
_TCVN3_ROWS: dict[str, tuple[int, int, int, int, int]] = {
    "a": (0xB5, 0xB6, 0xB7, 0xB8, 0xB9),
    "ă": (0xBB, 0xBC, 0xBD, 0xBE, 0xC6),
    "â": (0xC7, 0xC8, 0xC9, 0xCA, 0xCB),
    "e": (0xCC, 0xCE, 0xCF, 0xD0, 0xD1),
    "ê": (0xD2, 0xD3, 0xD4, 0xD5, 0xD6),
    "i": (0xD7, 0xD8, 0xDC, 0xDD, 0xDE),
    "o": (0xDF, 0xE1, 0xE2, 0xE3, 0xE4),
    "ô": (0xE5, 0xE6, 0xE7, 0xE8, 0xE9),
    "ơ": (0xEA, 0xEB, 0xEC, 0xED, 0xEE),
    "u": (0xEF, 0xF1, 0xF2, 0xF3, 0xF4),
    "ư": (0xF5, 0xF6, 0xF7, 0xF8, 0xF9),
    "y": (0xFA, 0xFB, 0xFC, 0xFD, 0xFE),
}
_TCVN3_TONE_ORDER = (_GRAVE, _HOOK, _TILDE, _ACUTE, _DOT)
_TCVN3_SINGLES: dict[int, str] = {
    0xA8: "ă", 0xA9: "â", 0xAA: "ê", 0xAB: "ô", 0xAC: "ơ", 0xAD: "ư", 0xAE: "đ",
    0xA1: "Ă", 0xA2: "Â", 0xA3: "Ê", 0xA4: "Ô", 0xA5: "Ơ", 0xA6: "Ư", 0xA7: "Đ",
}  # fmt: skip

TCVN3_DECODE: dict[str, str] = {chr(b): letter for b, letter in _TCVN3_SINGLES.items()}
for _base, _codes in _TCVN3_ROWS.items():
    for _tone, _code in zip(_TCVN3_TONE_ORDER, _codes, strict=True):
        TCVN3_DECODE[chr(_code)] = _toned(_base, _tone)
# Letters whose byte is shared by both cases (toned letters: VN3 has lower case only).
_TCVN3_CASELESS = frozenset(c for c, letter in TCVN3_DECODE.items() if ord(c) >= 0xB5)

TCVN3_ENCODE: dict[str, str] = {letter: code for code, letter in TCVN3_DECODE.items()}
for _letter in list(TCVN3_ENCODE):
    # Upper-case toned letters have no code: typists used the lower-case byte.
    TCVN3_ENCODE.setdefault(_letter.upper(), TCVN3_ENCODE[_letter])

# --- VNI-Windows ------------------------------------------------------------------------
# Trailing bytes (as Latin-1 characters) for lower-case bases; upper-case bases take the
# upper-case character of the same byte pair (e.g. 'ù' 0xF9 -> 'Ù' 0xD9).
_VNI_TONE = {_ACUTE: "ù", _GRAVE: "ø", _HOOK: "û", _TILDE: "õ", _DOT: "ï"}
_VNI_CIRC_TONE = {"": "â", _ACUTE: "á", _GRAVE: "à", _HOOK: "å", _TILDE: "ã", _DOT: "ä"}
_VNI_BREVE_TONE = {"": "ê", _ACUTE: "é", _GRAVE: "è", _HOOK: "ú", _TILDE: "ü", _DOT: "ë"}
# Letters written as one byte of their own.
_VNI_SINGLE: dict[str, str] = {
    "đ": "ñ", "ơ": "ô", "ư": "ö",
    _toned("i", _ACUTE): "í", _toned("i", _GRAVE): "ì", _toned("i", _HOOK): "æ",
    _toned("i", _TILDE): "ó", _toned("i", _DOT): "ò", _toned("y", _DOT): "î",
}  # fmt: skip


def _build_vni_encode() -> dict[str, str]:
    table: dict[str, str] = {}
    for letter in VIETNAMESE_LETTERS_LOWER:
        if letter in _VNI_SINGLE:
            code = _VNI_SINGLE[letter]
        else:
            decomposed = unicodedata.normalize("NFD", letter)
            base, marks = decomposed[0], decomposed[1:]
            tone = next((m for m in marks if m in _TONE_SET), "")
            quality = "".join(m for m in marks if m not in _TONE_SET)
            if quality == "\u0302":  # circumflex: â ê ô
                code = base + _VNI_CIRC_TONE[tone]
            elif quality == "\u0306":  # breve: ă
                code = base + _VNI_BREVE_TONE[tone]
            elif quality == "\u031b":  # horn: ơ ư are single bytes, then the tone
                code = _VNI_SINGLE[_nfc(base + quality)] + _VNI_TONE[tone]
            else:
                code = base + _VNI_TONE[tone]
        table[letter] = code
        table[letter.upper()] = code.upper()
    return table


VNI_ENCODE: dict[str, str] = _build_vni_encode()
VNI_DECODE: dict[str, str] = {code: letter for letter, code in VNI_ENCODE.items()}
# Longest codes first: a base followed by a mark is one letter.
_VNI_TOKEN = re.compile("|".join(re.escape(c) for c in sorted(VNI_DECODE, key=len, reverse=True)))

# --- Vietnamese syllables -----------------------------------------------------------------
_ONSETS = (
    "", "b", "c", "ch", "d", "đ", "g", "gh", "gi", "h", "k", "kh", "l", "m", "n", "ng",
    "ngh", "nh", "p", "ph", "qu", "r", "s", "t", "th", "tr", "v", "x",
)  # fmt: skip
_RHYMES = frozenset(
    """
    a ai ao au ay ac ach am an ang anh ap at
    ăc ăm ăn ăng ăp ăt
    âu ây âc âm ân âng âp ât
    e eo ec em en eng ep et
    ê êu êch êm ên ênh êp êt
    i ia iu ich im in inh ip it iêu iêc iêm iên iêng iêp iêt
    o oi oc om on ong op ot ooc oong
    oa oai oao oay oac oach oam oan oang oanh oap oat oăc oăm oăn oăng oăt
    oe oeo oem oen oet
    ô ôi ôc ôm ôn ông ôp ôt
    ơ ơi ơm ơn ơp ơt
    u ua ui uc um un ung up ut uôi uôc uôm uôn uông uôt
    uân uâng uât uây uê uêch uênh uơ
    uy uya uyu uych uynh uyt uyên uyêt
    ư ưa ưi ưu ưc ưm ưn ưng ưt ươi ươu ươc ươm ươn ương ươp ươt
    y yêu yêm yên yêt
    """.split()
)
_VOWEL_CHARS = frozenset(_BASE_VOWELS)
_MARKED_VOWELS = frozenset("ăâêôơư")
_STOP_CODAS = ("c", "ch", "p", "t")
_WORD = re.compile(r"[^\W\d_]+")


def _split_tone(syllable: str) -> tuple[str, str, int] | None:
    """``(toneless NFC syllable, tone mark or '', index of the toned letter)``; None if >1 tone."""
    tone, tone_at = "", -1
    letters: list[str] = []
    for ch in unicodedata.normalize("NFD", syllable):
        if ch in _TONE_SET:
            if tone or not letters:
                return None
            tone, tone_at = ch, len(letters) - 1
        elif unicodedata.combining(ch):
            if not letters:
                return None
            letters[-1] = _nfc(letters[-1] + ch)
        else:
            letters.append(ch)
    return "".join(letters), tone, tone_at


def _tone_position_ok(rhyme: str, tone_at: int) -> bool:
    """Whether the tone sits where Vietnamese spelling puts it (old and new styles)."""
    start = next(i for i, ch in enumerate(rhyme) if ch in _VOWEL_CHARS)
    end = start
    while end < len(rhyme) and rhyme[end] in _VOWEL_CHARS:
        end += 1
    run = range(start, end)  # the vowel run, glide coda (ai, ao, ...) included
    if tone_at not in run:
        return False
    marked = [i for i in run if rhyme[i] in _MARKED_VOWELS]
    if marked:  # a vowel with a quality mark carries the tone (the last: ươ -> ơ)
        return tone_at == marked[-1]
    if len(run) == 1:
        return True
    has_coda = run[-1] < len(rhyme) - 1
    nucleus = rhyme[run[0] : run[-1] + 1]
    if nucleus in ("oa", "oe", "uy"):  # hoà/hòa, khoẻ/khỏe, thuý/thúy: both styles
        return True if not has_coda else tone_at == run[-1]
    if has_coda:
        return tone_at == run[-1]
    if len(run) == 3:  # oai oay oao oeo uya uyu: the middle vowel
        return tone_at == run[1]
    return tone_at == run[0]  # ai ao au ay eo ia iu oi ua ui: the first vowel


@lru_cache(maxsize=65536)
def is_vietnamese_syllable(word: str) -> bool:
    """Whether ``word`` (any case, NFC or NFD) spells a Vietnamese syllable.

    Checks onset + rhyme against the Vietnamese spelling inventory, at most one tone
    mark placed on the vowel that carries it (old and new styles both accepted), and
    that a syllable ending in c/ch/p/t has no grave, hook or tilde tone.
    """
    split = _split_tone(word.lower())
    if split is None:
        return False
    bare, tone, tone_at = split
    for onset in _ONSETS:
        if not bare.startswith(onset):
            continue
        rest = bare[len(onset) :]
        # 'gi' and 'qu' absorb the i/u that would otherwise start the rhyme.
        if onset == "qu" and rest[:1] in ("o", "u"):
            continue  # 'qu' already holds the u glide: no "quoa", "quu"
        ok = rest in _RHYMES or (onset == "qu" and rest != "" and "u" + rest in _RHYMES)
        if not ok:
            continue
        if rest.endswith(_STOP_CODAS) and tone not in ("", _ACUTE, _DOT):
            continue
        if not tone or _tone_position_ok(rest, tone_at - len(onset)):
            return True
    return False


# Latin-1 characters that cannot occur in Vietnamese text (TCVN3's ¨ ©, VNI's ñ ø, ...).
_NON_VIETNAMESE_LATIN1 = re.compile(
    "["
    + "".join(
        re.escape(chr(c))
        for c in range(0x80, 0x100)
        if chr(c) not in _VIET_LETTER_SET and not chr(c).isspace()
    )
    + "]"
)


def _viet_score(text: str) -> float | None:
    """Share of words with non-ASCII letters that are Vietnamese syllables.

    None when a Latin-1 character that Vietnamese does not use is present (the text
    cannot be Vietnamese as it stands) or when no word has a non-ASCII letter. Only
    called on Latin-1 text or on its decodings (Vietnamese letters plus ASCII).
    """
    if _NON_VIETNAMESE_LATIN1.search(text):
        return None
    words = [w for w in _WORD.findall(text) if not w.isascii()]
    if not words:
        return None
    return sum(is_vietnamese_syllable(w) for w in words) / len(words)


# Syllables common in names, places and register notes. Only breaks ties: when a
# Latin-1 value reads as valid Vietnamese both as it stands and decoded (VNI
# ``Hoà Thò An`` is ``Hồ Thị An``; TCVN3 ``Vò Thu Giang`` is ``Vũ Thu Giang``), the
# decoding wins only if more of its words are common ones; a tie keeps the original.
_COMMON_SYLLABLES = frozenset(
    _nfc(w)
    for w in """
    nguyễn trần lê phạm hoàng huỳnh phan vũ võ đặng bùi đỗ hồ ngô dương lý đào đinh
    mai trịnh lâm hà tô cao chu lương thái kiều quách ông ứng âu ân tạ la lại châu khổng
    mạc triệu tăng lục giang văn vương doãn tống từ phùng thân kim lò lưu đoàn trương vi
    hứa hầu nông quan diệp tôn khúc cù chử đồng nghiêm bạch mạnh lã lạc đàm hoa
    thị hữu đức minh ngọc thanh quốc xuân thu bảo gia phương diệu trọng hồng ánh ý ái
    uyên đình công quang tuấn thế như khánh bích hoài thuỳ thùy ngân thúy thuý thủy thuỷ
    mỹ mĩ cẩm diễm hải việt duy tiến chí trung anh phúc tài tấn nhật thành an bình
    chi cường dũng dung đạt hạnh hiếu hòa hoà hùng hương huy lan linh loan long nam nga
    nhung oanh quân quỳnh sơn tâm thảo trang tú vân vy yến huyền hiền hằng hậu hiệp
    hiển hoan hoàn hội hợp hưng hướng kha khải khang khoa khôi kiên kiệt lập lộc lợi luân
    lực ly my nghĩa nguyên nhân nhàn nhi phát phong phú phụng phước quý quyên
    quyết sang sáng sinh sỹ sĩ tân thắng thạch thi thiện thịnh thơ thông thuận thư
    thương tiên tín toàn trâm trí triều trinh trúc tuệ tùng tuyết tường vinh vượng
    xuyến yên cúc đông hạ lụa nụ tươi mơ tám chín mười năm bảy sáu tư ba hai một huệ
    liên lài lành lệ liễu luyến mận mùi na nết ngà ngoan nhài nhạn nương phấn
    phượng quế sen sương thoa thục thuần trà trầm vui xinh đan điệp đoan duyên giao
    hảo hiên khuê hoè hòe ngọ tý sửu dần mão thìn tỵ mùi thân dậu tuất hợi đạo đại
    định độ đăng đắc điền đông đường ước ẩn ổn ích úy uy ấu ấn ẩm ưng nguyệt khuyến
    chuyên oánh quyền cương chiến thắng toản tráng trường tuyên vĩnh vỹ xương yến
    xã huyện tỉnh thôn làng xóm phường trấn phố bắc ninh tiên du thuận quế võ yên
    phong tài bệnh viện nhà hộ trạm tế kinh tày nùng mường dao khmer việt nam
    già ốm bệnh chết tai nạn tuổi cao
    """.split()
)


def _common_count(text: str) -> int:
    return sum(w.lower() in _COMMON_SYLLABLES for w in _WORD.findall(text))


# --- encode / decode --------------------------------------------------------------------
def encode_tcvn3(text: str) -> str:
    """Unicode text as TCVN3 (ABC) bytes read as Latin-1, e.g. ``Nguyễn Văn`` -> ``NguyÔn V¨n``.

    Upper-case toned letters, which the VN3 font lacks, take their lower-case byte.
    Characters that are not Vietnamese letters are kept as they are.
    """
    return "".join(TCVN3_ENCODE.get(ch, ch) for ch in _nfc(text))


def encode_vni(text: str) -> str:
    """Unicode text as VNI-Windows bytes read as Latin-1, e.g. ``Nguyễn Văn`` -> ``Nguyeãn Vaên``."""
    return "".join(VNI_ENCODE.get(ch, ch) for ch in _nfc(text))


_TCVN3_TRANSLATE = str.maketrans(TCVN3_DECODE)
# Any non-ASCII character that is not a TCVN3 code (NBSP passes as a space).
_NOT_TCVN3 = re.compile("[^\\x00-\\x7f\\xa0" + "".join(re.escape(c) for c in TCVN3_DECODE) + "]")


def _decode_tcvn3_strict(text: str) -> str | None:
    if _NOT_TCVN3.search(text):
        return None
    return _restore_tcvn3_case(text, text.translate(_TCVN3_TRANSLATE))


def _restore_tcvn3_case(raw: str, decoded: str) -> str:
    """Guess the case of TCVN3's caseless (toned) letters from their neighbours.

    All-capital words (their other letters, beyond the first, capitals) get capitals;
    in a value whose words are otherwise all Title Case, a word starting with a
    caseless letter is capitalized. Anything else stays lower case.
    """
    caseless = [ch in _TCVN3_CASELESS for ch in raw]
    if not any(caseless):
        return decoded
    chars = list(decoded)
    words = [(m.start(), m.end()) for m in _WORD.finditer(decoded)]
    # Case evidence: letters with a definite case that do not start a word.
    inner = [chars[i] for s, e in words for i in range(s + 1, e) if not caseless[i]]
    if inner and all(c.isupper() for c in inner):
        return "".join(c.upper() if caseless[i] else c for i, c in enumerate(chars))
    initials = [chars[s] for s, _ in words if not caseless[s]]
    if initials and all(c.isupper() for c in initials):
        for s, _ in words:
            if caseless[s]:
                chars[s] = chars[s].upper()
    return "".join(chars)


def _decode_vni_strict(text: str) -> str | None:
    out, pos = [], 0
    for m in _VNI_TOKEN.finditer(text):
        gap = text[pos : m.start()]
        if not gap.replace("\xa0", " ").isascii():
            return None
        out.append(gap)
        out.append(VNI_DECODE[m.group()])
        pos = m.end()
    tail = text[pos:]
    if not tail.replace("\xa0", " ").isascii():
        return None
    out.append(tail)
    return "".join(out)


_DECODERS = (("tcvn3", _decode_tcvn3_strict), ("vni", _decode_vni_strict))


_BEYOND_LATIN1 = re.compile(r"[^\x00-\xff]")


def _is_latin1_non_ascii(text: str) -> bool:
    return not text.isascii() and _BEYOND_LATIN1.search(text) is None


def _analyse(text: str) -> tuple[str, LegacyEncoding | None]:
    if text.isascii():
        return text, None
    nfc = _nfc(text)
    if not _is_latin1_non_ascii(nfc):
        return nfc, None  # Unicode beyond Latin-1: never a legacy byte string
    return _analyse_latin1(nfc)


@lru_cache(maxsize=65536)
def _analyse_latin1(nfc: str) -> tuple[str, LegacyEncoding | None]:
    original = _viet_score(nfc)
    # Rank readings by (share of valid syllables, number of common syllables); the
    # original reading wins ties, so ordinary Unicode (e.g. "Hà Thái Tú") stays as it is.
    best_rank = (original if original is not None else -1.0, _common_count(nfc))
    best: tuple[str, LegacyEncoding] | None = None
    for name, decoder in _DECODERS:
        decoded = decoder(nfc)
        if decoded is None or decoded == nfc:
            continue
        score = _viet_score(decoded)
        if score is None or score < 0.5:
            continue
        rank = (score, _common_count(decoded))
        if rank > best_rank:
            best_rank, best = rank, (_nfc(decoded), name)  # type: ignore[assignment]
    if best is None:
        return nfc, None
    return best


def detect_legacy(text: str) -> LegacyEncoding | None:
    """The legacy encoding ``text`` is written in (``'tcvn3'`` or ``'vni'``), else None.

    Never fires on ASCII or on Unicode Vietnamese (NFC or NFD); see the module docs.
    """
    if not isinstance(text, str):
        return None
    return _analyse(text)[1]


def decode_legacy(text: str) -> tuple[str, bool]:
    """``(NFC Unicode text, whether it was converted from TCVN3/VNI)``.

    Text that is not legacy comes back NFC-normalized and otherwise unchanged.
    """
    if not isinstance(text, str):
        raise TypeError(f"decode_legacy expects str, got {type(text).__name__}")
    result, encoding = _analyse(text)
    return result, encoding is not None


# --- a row's values decide together ------------------------------------------------------
_PLAIN, _LEGACY, _AMBIGUOUS = 0, 1, 2
_ENCODINGS: tuple[LegacyEncoding, ...] = ("tcvn3", "vni")


@lru_cache(maxsize=65536)
def _classify_latin1(nfc: str) -> tuple[int, str, dict[LegacyEncoding, str]]:
    """``(kind, reading, decodings)`` of a Latin-1, non-ASCII NFC value.

    *legacy*: some decoding reads as Vietnamese better than the value as it stands (more
    of its words with diacritics are syllables: :func:`_analyse_latin1`'s decision on
    validity alone), ``reading`` is that decoding. *ambiguous*: some decoding reads as
    Vietnamese (at least half its words) and the value as it stands reads at least as
    well (TCVN3 ``GÊm`` = ``Gấm``); ``decodings`` holds each such reading, and the row
    decides. *plain*: no decoding reads as Vietnamese.
    """
    original = _viet_score(nfc)
    as_is = original if original is not None else -1.0
    readings: dict[LegacyEncoding, tuple[float, str]] = {}
    for name, decoder in _DECODERS:
        decoded = decoder(nfc)
        if decoded is None or decoded == nfc:
            continue
        score = _viet_score(decoded)
        if score is not None and score >= 0.5:
            readings[name] = (score, _nfc(decoded))  # type: ignore[index]
    if not readings:
        return _PLAIN, nfc, {}
    # The best decoding as :func:`_analyse_latin1` ranks them (tcvn3 first on a tie).
    best = max(readings, key=lambda e: (readings[e][0], _common_count(readings[e][1])))
    if readings[best][0] > as_is:
        return _LEGACY, readings[best][1], {best: readings[best][1]}
    return _AMBIGUOUS, nfc, {e: r for e, (_, r) in readings.items()}


def _classify(value: object) -> tuple[int, object, dict[LegacyEncoding, str]]:
    if not isinstance(value, str) or value.isascii():
        return _PLAIN, value, {}
    nfc = _nfc(value)
    if not _is_latin1_non_ascii(nfc):
        return _PLAIN, nfc, {}
    return _classify_latin1(nfc)


def decode_legacy_rows(
    frame: pd.DataFrame, columns: Sequence[str]
) -> tuple[pd.DataFrame, pd.Series]:
    """Decode the legacy (TCVN3/VNI) text of ``columns`` row by row: ``(frame, converted)``.

    The contract's rule (docs/district-sources.md): a district's software wrote a whole
    row in one encoding. Each distinct value is classified once (:func:`_classify_latin1`);
    a value that is legacy by itself is decoded and votes for its encoding; a row's
    decision is the encoding most of its legacy values are in (none on a tie, or with no
    legacy value). An *ambiguous* value (Vietnamese both as it stands and decoded: TCVN3
    ``Le Minh GÊm``) takes the row's decision when it decodes validly in that encoding,
    and stays as it stands otherwise, so a row with no other legacy value keeps it.

    Text values come back NFC (like :func:`decode_legacy`); other values and the other
    columns are returned as they are. ``converted`` is True for a row any value of which
    was converted. Vectorized: Python runs once per distinct value, not per row.
    """
    n = len(frame)
    columns = [c for c in columns if c in frame.columns]
    out = frame.copy()
    converted = np.zeros(n, dtype=bool)
    votes = np.zeros((len(_ENCODINGS), n), dtype=np.int32)
    # Per column: codes into its distinct values, their reading, kind and decodings.
    parts = []
    for col in columns:
        codes, uniques = pd.factorize(frame[col], use_na_sentinel=True)
        classified = [_classify(v) for v in uniques.tolist()]  # a list: Arrow's __iter__ is slow
        kinds = np.array([k for k, _, _ in classified] + [_PLAIN], dtype=np.int8)
        readings = np.empty(len(classified) + 1, dtype=object)
        readings[:-1] = [r for _, r, _ in classified]
        readings[-1] = None  # the NA sentinel (-1) takes the last slot: restored below
        kind = kinds[codes]
        legacy = kind == _LEGACY
        for i, enc in enumerate(_ENCODINGS):
            is_enc = np.array([enc in d and k == _LEGACY for k, _, d in classified] + [False])
            votes[i] += is_enc[codes]
        parts.append((col, codes, classified, readings, kind, legacy))
    tcvn3, vni = votes
    decision = np.where(tcvn3 > vni, 0, np.where(vni > tcvn3, 1, -1))
    for col, codes, classified, readings, kind, legacy in parts:
        values = readings[codes]
        values[codes == -1] = frame[col].to_numpy(dtype=object)[codes == -1]
        changed = legacy.copy()
        ambiguous = kind == _AMBIGUOUS
        if ambiguous.any():
            for i, enc in enumerate(_ENCODINGS):
                decoded = np.array([d.get(enc) for _, _, d in classified] + [None], dtype=object)
                take = ambiguous & (decision == i) & (decoded[codes] != None)  # noqa: E711
                values[take] = decoded[codes][take]
                changed |= take
        out[col] = pd.Series(values, index=frame.index, dtype=object)
        converted |= changed
    return out, pd.Series(converted, index=frame.index, dtype=bool)
