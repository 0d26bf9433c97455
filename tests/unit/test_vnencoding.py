"""Tests of the TCVN3 / VNI legacy encodings (hotich.vnencoding)."""

from __future__ import annotations

import random
import unicodedata

import pytest

from hotich.vnencoding import (
    TCVN3_DECODE,
    VIETNAMESE_LETTERS,
    VIETNAMESE_LETTERS_LOWER,
    VNI_DECODE,
    decode_legacy,
    detect_legacy,
    encode_tcvn3,
    encode_vni,
    is_vietnamese_syllable,
)

SURNAMES = (
    "Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý Đào Đinh "
    "Trịnh Lâm Hà Tô Lương Thái Kiều Quách Ông Ứng Âu Tạ Lại Châu Khổng Triệu Đoàn Trương"
).split()
MIDDLES = "Văn Thị Hữu Đức Minh Ngọc Thanh Quốc Xuân Bảo Phương Diệu Trọng Hồng Ánh Đình".split()
GIVENS = (
    "An Anh Ánh Bình Chi Cường Dũng Dung Đạt Giang Hà Hải Hạnh Hiếu Hoa Hòa Hoà Hùng "
    "Hương Huy Khánh Lan Linh Loan Long Mai Minh My Nam Nga Ngọc Nhung Oanh Phúc Phương "
    "Quang Quân Quỳnh Sơn Tâm Thảo Thủy Thuỷ Trang Trung Tuấn Tú Uyên Vân Việt Vy Xuân "
    "Yến Ước Ý Ích Khuê Thoa Lụa Nguyệt Khuyến Chuyên Ngoan Quyết Trường Người Giữa"
).split()


def random_names(n: int, seed: int = 7) -> list[str]:
    """Title-Case Vietnamese full names: surname, one or two middle names, given name."""
    rng = random.Random(seed)
    return [
        " ".join(
            [rng.choice(SURNAMES)]
            + [rng.choice(MIDDLES) for _ in range(rng.choice((1, 1, 2)))]
            + [rng.choice(GIVENS)]
        )
        for _ in range(n)
    ]


# --- the contract's examples ----------------------------------------------------------------
def test_contract_examples() -> None:
    assert encode_tcvn3("Nguyễn Văn") == "NguyÔn V¨n"
    assert encode_vni("Nguyễn Văn") == "Nguyeãn Vaên"
    assert decode_legacy("NguyÔn V¨n") == ("Nguyễn Văn", True)
    assert decode_legacy("Nguyeãn Vaên") == ("Nguyễn Văn", True)
    assert detect_legacy("NguyÔn V¨n") == "tcvn3"
    assert detect_legacy("Nguyeãn Vaên") == "vni"


def test_tcvn3_nu() -> None:
    assert encode_tcvn3("Nữ") == "N÷"
    assert decode_legacy("N÷") == ("Nữ", True)
    assert decode_legacy("Nöõ") == ("Nữ", True)  # VNI


# --- tables ---------------------------------------------------------------------------------
def test_alphabet_has_134_letters() -> None:
    assert len(VIETNAMESE_LETTERS) == len(set(VIETNAMESE_LETTERS)) == 134
    assert all(unicodedata.is_normalized("NFC", c) and len(c) == 1 for c in VIETNAMESE_LETTERS)


def test_tcvn3_table_is_latin1_single_bytes() -> None:
    assert len(TCVN3_DECODE) == 67 + 7  # all lower-case letters, 7 upper-case ones
    assert all(len(c) == 1 and 0xA1 <= ord(c) <= 0xFE for c in TCVN3_DECODE)
    assert set(TCVN3_DECODE.values()) >= set(VIETNAMESE_LETTERS_LOWER)


def test_vni_table_is_latin1() -> None:
    assert len(VNI_DECODE) == 134
    assert all(c.encode("latin-1") and 1 <= len(c) <= 2 for c in VNI_DECODE)


@pytest.mark.parametrize("letter", VIETNAMESE_LETTERS)
def test_every_letter_round_trips_vni(letter: str) -> None:
    encoded = encode_vni(letter)
    assert encoded.encode("latin-1")  # storable as Latin-1
    assert VNI_DECODE[encoded] == letter


@pytest.mark.parametrize("letter", VIETNAMESE_LETTERS)
def test_every_letter_round_trips_tcvn3(letter: str) -> None:
    encoded = encode_tcvn3(letter)
    assert len(encoded) == 1 and encoded.encode("latin-1")
    # Upper-case toned letters share the lower-case byte: the case is not in the byte.
    expected = letter if letter in "ĂÂÊÔƠƯĐ" or letter.islower() else letter.lower()
    assert TCVN3_DECODE[encoded] == expected


@pytest.mark.parametrize("letter", VIETNAMESE_LETTERS_LOWER)
def test_every_letter_decodes_in_a_word(letter: str) -> None:
    # Each letter in a context where it is unambiguous: a name beginning "Nguyễn".
    text = f"Nguyễn Văn T{letter}"
    for encode, name in ((encode_tcvn3, "tcvn3"), (encode_vni, "vni")):
        encoded = encode(text)
        decoded, converted = decode_legacy(encoded)
        assert converted and detect_legacy(encoded) == name
        assert decoded.startswith("Nguyễn Văn T") and decoded[-1] == letter


# --- names ----------------------------------------------------------------------------------
NAMES = random_names(3000)


def test_random_names_round_trip_vni() -> None:
    failures = []
    for name in NAMES:
        encoded = encode_vni(name)
        if detect_legacy(encoded) is None:
            # Readable as valid Unicode Vietnamese too (VNI "Hoà" = "Hồ", "Hoàng" = "Hồng")
            # and no word gives it away: must then come back untouched.
            assert decode_legacy(encoded) == (encoded, False)
            failures.append(name)
            continue
        assert decode_legacy(encoded) == (name, True), name
    assert len(failures) < 0.01 * len(NAMES)


def test_random_names_round_trip_tcvn3() -> None:
    undetected = 0
    for name in NAMES:
        encoded = encode_tcvn3(name)
        if detect_legacy(encoded) is None:
            undetected += 1
            continue
        assert decode_legacy(encoded) == (name, True), name
    assert undetected < 0.01 * len(NAMES)


def test_tcvn3_restores_case_from_context() -> None:
    assert decode_legacy(encode_tcvn3("Nguyễn Thị Ánh")) == ("Nguyễn Thị Ánh", True)
    assert decode_legacy(encode_tcvn3("NGUYỄN THỊ ÁNH")) == ("NGUYỄN THỊ ÁNH", True)
    assert decode_legacy(encode_tcvn3("Đặng Ứng Hùng")) == ("Đặng Ứng Hùng", True)
    # No context: the case of a toned capital cannot be restored.
    assert decode_legacy(encode_tcvn3("Ánh")) == ("ánh", True)


def test_lower_case_and_free_text() -> None:
    text = "chết do tai nạn giao thông tại xã Đông Phong"
    for encode in (encode_tcvn3, encode_vni):
        assert decode_legacy(encode(text)) == (text, True)


def test_upper_case_vni() -> None:
    assert decode_legacy(encode_vni("TRƯƠNG THỊ THUỶ")) == ("TRƯƠNG THỊ THUỶ", True)


# --- never on Unicode or ASCII ----------------------------------------------------------------
@pytest.mark.parametrize("form", ["NFC", "NFD"])
def test_unicode_names_not_detected(form: str) -> None:
    for name in NAMES:
        text = unicodedata.normalize(form, name)
        assert detect_legacy(text) is None, name
        assert decode_legacy(text) == (name, False)


def test_ascii_names_not_detected() -> None:
    for name in NAMES:
        ascii_name = (
            unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
            .encode("ascii", "ignore")
            .decode()
        )
        assert detect_legacy(ascii_name) is None
        assert decode_legacy(ascii_name) == (ascii_name, False)


@pytest.mark.parametrize(
    "text",
    [
        "Hà Thái Tú",  # Unicode made of Latin-1 letters only
        "Lê Thanh Tâm",
        "Hoà Bình",
        "Hòa",
        "Tô Hoài Nam",
        "Hélène",  # Latin-1 but neither Vietnamese nor a legacy decoding
        "Nguyen Van An",
        "",
        "12/03/1990",
        "Nam",
    ],
)
def test_not_legacy(text: str) -> None:
    assert detect_legacy(text) is None
    assert decode_legacy(text) == (text, False)


def test_control_characters_survive() -> None:
    decoded, converted = decode_legacy("NguyÔn\x07 V¨n")
    assert converted and decoded == "Nguyễn\x07 Văn"


# --- syllables ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "word",
    "nguyễn văn thị hoàng huỳnh trường đức quốc quyết quỳnh giữa giường già gìn người "
    "rượu hữu khuya khuỷu ngoài thuở hoà hòa thuý thúy khoẻ khỏe việt học tuấn huế mấy "
    "yến tiến muốn oanh hoạch khuếch NGUYỄN".split(),
)
def test_valid_syllables(word: str) -> None:
    assert is_vietnamese_syllable(word)
    assert is_vietnamese_syllable(unicodedata.normalize("NFD", word))


@pytest.mark.parametrize("word", "thaù vaên nguyeãn hàt aê leâ quoác nguyễnn vănn thàis".split())
def test_invalid_syllables(word: str) -> None:
    assert not is_vietnamese_syllable(word)
