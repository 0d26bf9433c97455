"""Vietnamese name distributions: family name, middle name(s) and given name, by sex.

Surname shares follow the commonly cited national distribution (Nguyễn ≈38 %, Trần ≈11 %,
Lê ≈9.5 %, ...). Middle and given names have Zipf-like weights and change a little with
the era of birth (``Văn``/``Thị`` were more common for older generations). The lists
deliberately include pairs that fold to the same letters (Hùng/Hưng, Thủy/Thúy,
Hương/Hường) because the linkage must handle them.
"""

from __future__ import annotations

import numpy as np

# (surname, share in percent); the long tail shares the remainder.
SURNAMES: tuple[tuple[str, float], ...] = (
    ("Nguyễn", 38.0), ("Trần", 11.0), ("Lê", 9.5), ("Phạm", 7.0), ("Hoàng", 3.6),
    ("Huỳnh", 1.4), ("Phan", 4.5), ("Vũ", 2.9), ("Võ", 1.1), ("Đặng", 2.1), ("Bùi", 2.0),
    ("Đỗ", 1.4), ("Hồ", 1.3), ("Ngô", 1.3), ("Dương", 1.0), ("Lý", 0.5),
    ("Đào", 0.6), ("Đoàn", 0.6), ("Vương", 0.3), ("Trịnh", 0.6), ("Trương", 0.5),
    ("Lâm", 0.3), ("Phùng", 0.4), ("Mai", 0.4), ("Tô", 0.3), ("Hà", 0.5), ("Tạ", 0.4),
    ("Lương", 0.4), ("Cao", 0.5), ("Chu", 0.4), ("Đinh", 0.6), ("Kiều", 0.3), ("Lưu", 0.3),
    ("Thái", 0.2), ("Khổng", 0.1), ("Quách", 0.1), ("Nghiêm", 0.2), ("Triệu", 0.2),
    ("Hán", 0.1), ("Ninh", 0.1), ("Tăng", 0.1), ("Lại", 0.3),
    ("Văn", 0.1), ("Từ", 0.1), ("Giáp", 0.2), ("Thân", 0.3),
)  # fmt: skip

# Target shares the tests check (the grouped ones are asserted as groups).
SURNAME_TARGETS: dict[str, float] = {
    "Nguyễn": 38.0, "Trần": 11.0, "Lê": 9.5, "Phạm": 7.0, "Hoàng|Huỳnh": 5.0,
}  # fmt: skip

MIDDLE_MALE: tuple[tuple[str, float, float], ...] = (
    # (name, weight before 1980, weight from 1980)
    ("Văn", 45, 18), ("Đức", 9, 10), ("Minh", 5, 10), ("Quang", 5, 7), ("Hữu", 6, 5),
    ("Thanh", 4, 5), ("Ngọc", 3, 4), ("Xuân", 4, 3), ("Tiến", 3, 3), ("Công", 4, 4),
    ("Duy", 1, 6), ("Anh", 1, 4), ("Mạnh", 2, 3), ("Trọng", 3, 3), ("Bá", 2, 1),
    ("Đình", 5, 4), ("Việt", 1, 3), ("Gia", 0.5, 4), ("Hoàng", 1, 3), ("Thế", 2, 2),
)  # fmt: skip
MIDDLE_FEMALE: tuple[tuple[str, float, float], ...] = (
    ("Thị", 55, 30), ("Ngọc", 4, 8), ("Thanh", 4, 5), ("Thu", 4, 5), ("Minh", 1, 5),
    ("Phương", 2, 5), ("Hồng", 3, 3), ("Kim", 3, 3), ("Mai", 2, 3), ("Diệu", 1, 2),
    ("Bảo", 0.5, 4), ("Khánh", 0.5, 4), ("Hải", 1, 2), ("Xuân", 2, 2), ("Lan", 1, 1),
    ("Thùy", 1, 4), ("Hà", 1, 2), ("Quỳnh", 0.5, 3),
)  # fmt: skip

GIVEN_MALE: tuple[str, ...] = (
    "Hùng", "Dũng", "Tuấn", "Minh", "Nam", "Hải", "Long", "Thắng", "Sơn", "Cường",
    "Hưng", "Tùng", "Hoàng", "Đức", "Quang", "Huy", "Phong", "Trung", "Hiếu", "Khánh",
    "Thành", "Bình", "An", "Anh", "Duy", "Hòa", "Hậu", "Lâm", "Lộc", "Phúc", "Quân",
    "Tài", "Tâm", "Thái", "Thiện", "Toàn", "Trí", "Tú", "Việt", "Vinh", "Vũ", "Đạt",
    "Đông", "Giang", "Hào", "Khoa", "Kiên", "Lực", "Mạnh", "Nghĩa", "Nhân", "Phát",
    "Quý", "Sang", "Tiến", "Trọng", "Thanh", "Hiệp", "Định", "Chiến", "Công", "Dương",
    "Hà", "Hợp", "Kỳ", "Linh", "Luân", "Ngọc", "Nhật", "Phú", "Quyết", "Thịnh", "Thuận",
    "Tín", "Trường", "Tuân", "Văn", "Vượng", "Bảo", "Khải", "Bách", "Cảnh", "Chính", "Cương",
    "Doanh", "Dự", "Điệp", "Đoàn", "Hạnh", "Hiển", "Hoan", "Huấn", "Khang", "Khiêm", "Lợi",
    "Nguyên", "Ninh", "Phương", "Quảng", "Sáng", "Tấn", "Thao", "Thọ", "Thông", "Tiệp", "Triều",
    "Tuyên", "Tường", "Uy", "Vĩnh", "Xuân", "Yên", "Hoạt", "Kiểm", "Lượng", "Nhất", "Phụng",
)  # fmt: skip
GIVEN_FEMALE: tuple[str, ...] = (
    "Hương", "Lan", "Linh", "Hoa", "Hà", "Hằng", "Hạnh", "Huyền", "Thủy", "Hiền", "Hồng",
    "Mai", "Ngọc", "Nga", "Nhung", "Oanh", "Phương", "Quỳnh", "Thảo", "Thu", "Thúy",
    "Trang", "Tuyết", "Vân", "Yến", "Anh", "Chi", "Dung", "Giang", "Hải", "Lệ", "Loan",
    "Ly", "My", "Nhi", "Thư", "Trâm", "Uyên", "Vy", "Xuân", "Hân", "Thanh", "Hường",
    "Liên", "Lý", "Nguyệt", "Nhàn", "Ninh", "Phượng", "Sen", "Tâm", "Thắm", "Thơm",
    "Thương", "Tươi", "Vui", "Diệp", "Điệp", "Duyên", "Gấm", "Hậu", "Khánh", "Lụa",
    "Minh", "Ngân", "Quyên", "Thoa", "Trinh", "Bích", "Châu", "Cúc", "Đào", "Hoài",
    "Hòa", "Huệ", "Kiều", "Lài", "Lành", "Mận", "Mơ", "Nụ", "Phúc", "Quế", "Sâm", "Tâm Anh",
    "Thêu", "Thìn", "Thoan", "Thục", "Tình", "Trà", "Tuyền", "Vinh", "Xoan", "Yên", "Ánh",
    "Bình", "Dịu", "Gái", "Hợi", "Khuyên", "Lựu", "Mến", "Nết", "Phấn", "Quý", "Soan", "Thêm",
)  # fmt: skip

# Given names that fold to the same letters, for diacritics-only variants.
FOLD_VARIANTS: dict[str, tuple[str, ...]] = {
    "Hùng": ("Hưng",), "Hưng": ("Hùng",), "Thủy": ("Thúy", "Thuỷ"), "Thúy": ("Thủy",),
    "Hương": ("Hường",), "Hường": ("Hương",), "Hà": ("Hạ",), "Lan": ("Lân",),
    "Tùng": ("Tụng",), "Linh": ("Lình",), "Hiền": ("Hiển",), "Thu": ("Thư",),
    "Thư": ("Thu",), "Vân": ("Văn",), "Tâm": ("Tám",), "Định": ("Đinh",),
    "Lý": ("Ly",), "Ly": ("Lý",), "Hải": ("Hai",), "Anh": ("Ánh",), "Nam": ("Năm",),
}  # fmt: skip

# Other provinces whose people appear in Bắc Ninh records (neighbours weigh more).
OTHER_PROVINCES: tuple[tuple[str, float], ...] = (
    ("001", 30), ("024", 20), ("030", 12), ("033", 8), ("026", 6), ("019", 5), ("034", 4),
    ("036", 3), ("038", 3), ("040", 3), ("022", 3), ("031", 3), ("079", 2), ("025", 2),
    ("035", 2), ("037", 2), ("020", 1), ("042", 1), ("066", 1), ("048", 1),
)  # fmt: skip

ETHNICITIES: tuple[tuple[str, float], ...] = (
    ("Kinh", 98.6),
    ("Tày", 0.4),
    ("Nùng", 0.4),
    ("Hoa", 0.2),
    ("Sán Dìu", 0.2),
    ("Mường", 0.2),
)


def _zipf_weights(n: int, exponent: float = 0.9) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** exponent
    return w / w.sum()


def _norm(weights: np.ndarray | list[float]) -> np.ndarray:
    arr = np.asarray(weights, dtype=float)
    return arr / arr.sum()


_SURNAME_NAMES = np.array([s for s, w in SURNAMES if w > 0], dtype=object)
_SURNAME_P = _norm([w for _s, w in SURNAMES if w > 0])
# The remainder to 100 % goes to the long tail (everything after Lý), proportionally.
_tail = np.arange(len(_SURNAME_P)) >= 16
_SURNAME_P_RAW = np.array([w for _s, w in SURNAMES if w > 0], dtype=float)
_SURNAME_P_RAW[_tail] *= (100.0 - _SURNAME_P_RAW[~_tail].sum()) / _SURNAME_P_RAW[_tail].sum()
_SURNAME_P = _norm(_SURNAME_P_RAW)


def sample_surnames(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` family names drawn from the national distribution."""
    return _SURNAME_NAMES[rng.choice(len(_SURNAME_NAMES), size=n, p=_SURNAME_P)]


def _pick(rng: np.random.Generator, names: np.ndarray, p: np.ndarray, n: int) -> np.ndarray:
    return names[rng.choice(len(names), size=n, p=p)] if n else names[:0]


def sample_given(
    rng: np.random.Generator, male: np.ndarray, modern: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Middle and given names for people of the given sex (``male``) and era (``modern``).

    About one name in seven carries a second middle name (``Nguyễn Thị Thu Hà``).
    """
    n = len(male)
    middle = np.empty(n, dtype=object)
    given = np.empty(n, dtype=object)
    for is_male, table, givens in (
        (True, MIDDLE_MALE, GIVEN_MALE),
        (False, MIDDLE_FEMALE, GIVEN_FEMALE),
    ):
        mids = np.array([m for m, _a, _b in table], dtype=object)
        p_old = _norm([a for _m, a, _b in table])
        p_new = _norm([b for _m, _a, b in table])
        gnames = np.array(givens, dtype=object)
        gp = _zipf_weights(len(gnames), 0.55)
        for era, p in ((False, p_old), (True, p_new)):
            idx = np.flatnonzero((male == is_male) & (modern == era))
            middle[idx] = _pick(rng, mids, p, len(idx))
            given[idx] = _pick(rng, gnames, gp, len(idx))
        # A second middle name for some (more often for women and the young).
        idx = np.flatnonzero(male == is_male)
        extra = idx[rng.random(len(idx)) < (0.12 if is_male else 0.25)]
        second = _pick(rng, mids[1:], _norm(p_new[1:]), len(extra))
        middle[extra] = middle[extra] + " " + second
    return middle, given


def join_names(*parts: np.ndarray) -> np.ndarray:
    """Element-wise ``' '.join`` of name parts."""
    out = parts[0].astype(object)
    for p in parts[1:]:
        out = out + " " + p
    return out
