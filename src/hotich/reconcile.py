"""Reconcile persons against the national population register (docs/ledger.md).

Two paths, both set-based over frames (no per-person Python loop on the hot path):

* a person whose record gives a personal ID is *checked*: the register's citizen is
  fetched with ``batch_get`` and compared (``check_ids``) giving the review codes
  ``ID_NOT_FOUND``/``NAME_MISMATCH``/``DOB_MISMATCH``/``SEX_MISMATCH`` and the information
  code ``NAME_DIACRITICS``;
* a person without an ID is *linked*: one ``match`` query per distinct
  (folded name, sex, date of birth) yields candidates, and ``link`` applies the linkage
  rule (docs/ledger.md, "Linking a person without an ID") to the person x candidate pair
  frame, giving ``LINKED``/``LINK_AMBIGUOUS``/``LINK_NONE`` (and ``NAME_DIACRITICS``).

The rule is written as tables, the way Splink writes comparisons, in the ledger's order:
``EXCLUSIONS``, ``CORROBORATIONS``, ``NAME_LEVELS``, ``DATE_LEVELS``, ``FITS`` and
``RANK``. Each level has the label lineage and the review desk show and a predicate
evaluated over the whole pair frame at once; ``link`` is the pipeline
``pair_candidates`` → ``compare`` → ``decide`` → ``linked_verdicts`` /
``ambiguous_candidates``.

Names are compared through integer codes of their *exact* form (NFC, lower case, runs of
whitespace made one space, trimmed) and *folded* form (the same, diacritics removed,
đ→d); the typing-slip distance (true Damerau-Levenshtein) is computed with rapidfuzz on
the pairs whose folded names differ by at most one in length. ``reconcile`` wires it all
to a ``RegisterLookup``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler, Levenshtein
from rapidfuzz.process import cpdist

from hotich import model
from hotich.names import arrow_strings, exact_keys, fold_keys, keys_in, name_forms
from hotich.normalize import date_parts

log = logging.getLogger(__name__)

#: The register answers at most this many candidates a query; a full answer may be cut.
MAX_CANDIDATES = model.MATCH_MAX_CANDIDATES
CITIZEN_COLUMNS = model.CITIZEN_COLUMNS
CANDIDATE_COLUMNS: tuple[str, ...] = ("ref", *CITIZEN_COLUMNS)
QUERY_COLUMNS: tuple[str, ...] = ("ref", "ho_ten", "gioi_tinh", "ngay_sinh")
#: Separates the parts of a query key (a control character no valid name holds).
KEY_SEP = "\x1f"


def query_keys(queries: pd.DataFrame) -> pd.Series:
    """Each match query's key: folded name, sex and date (``ngay_sinh`` as sent, 'yyyy-mm-dd'
    or 'yyyy'), joined by :data:`KEY_SEP`. Vectorized."""
    parts = [
        fold_keys(queries["ho_ten"]),
        pa.array(queries["gioi_tinh"].astype(str), type=pa.large_string()),
        pa.array(queries["ngay_sinh"].astype(str), type=pa.large_string()),
    ]
    joined = pc.binary_join_element_wise(*parts, pa.scalar(KEY_SEP, pa.large_string()))
    return pd.Series(joined.to_numpy(zero_copy_only=False), index=queries.index, dtype=object)


#: One row per person: the reconciliation verdict.
VERDICT_COLUMNS: tuple[str, ...] = (
    "source_key",
    "record_type",
    "role",
    "reasons",  # list of codes, sorted by code point
    "loaded_personal_id",  # the given ID, the linked citizen's, or None
    "loaded_name",  # the register's spelling when NAME_DIACRITICS, else the source's
    "source_name",  # the record's spelling, for lineage
    "link_name_level",  # 'exact' / 'folded' / 'slip' for a linked person, else None
    "link_date_level",  # 'agrees' / 'swapped' for a linked person, else None
    "link_corroborated",  # boolean for a linked person, else <NA>
)
#: One row per candidate of a LINK_AMBIGUOUS person (contradicted candidates left out).
AMBIGUOUS_COLUMNS: tuple[str, ...] = (
    "source_key",
    "role",
    "candidate_order",  # 1 = first to show; by fits, rank, then score
    "so_dinh_danh",
    "ho_ten",
    "gioi_tinh",
    "ngay_sinh",
    "trang_thai",
    "ngay_chet",
    "name_level",  # 'exact' / 'folded' / 'slip' / None
    "date_level",  # 'agrees' / 'swapped' / None
    "corroborated",
    "fits",
    "best",  # holds the best rank among those that fit
    "score",  # 0..1, orders candidates for humans; never changes a verdict
)

ALIVE, DEAD = "con_song", "da_chet"

# Reason codes this module emits, as bits in code point order (the ledger's C collation),
# so that a row's sorted list is a lookup on its bit mask.
_CODES: tuple[str, ...] = tuple(
    sorted(
        {
            model.ID_NOT_FOUND,
            model.NAME_MISMATCH,
            model.DOB_MISMATCH,
            model.SEX_MISMATCH,
            model.NAME_DIACRITICS,
            model.LINKED,
            model.LINK_AMBIGUOUS,
            model.LINK_NONE,
        }
    )
)
_BIT = {code: np.int64(1) << i for i, code in enumerate(_CODES)}


class RegisterLookup(Protocol):
    """What reconciliation needs from the population register (the HTTP client, a fake)."""

    def batch_get(self, ids: Iterable[str]) -> tuple[pd.DataFrame, set[str]]:
        """Citizens by personal ID: the found ones (``CITIZEN_COLUMNS``, ``ngay_sinh`` and
        ``ngay_chet`` ISO strings) and the set of IDs the register does not know."""
        ...

    def match(self, queries: pd.DataFrame) -> pd.DataFrame:
        """Candidates for ID-less queries (``QUERY_COLUMNS``; ``ngay_sinh`` 'yyyy-mm-dd' or
        'yyyy'): one row per (ref, citizen) with ``CANDIDATE_COLUMNS``; at most
        ``MAX_CANDIDATES`` a ref; refs without a candidate absent."""
        ...


@dataclass
class AskedBefore:
    """The distinct IDs and match queries (by :func:`query_keys`)
    earlier chunks of a district asked, so that the counters of a district reconciled
    chunk by chunk count each once, as if the district were one chunk. Keys only."""

    ids: set[str] = field(default_factory=set)
    queries: set[str] = field(default_factory=set)


@dataclass
class ReconcileResult:
    """What ``reconcile`` returns."""

    persons: pd.DataFrame  # VERDICT_COLUMNS, one row per input person, input order
    ambiguous: pd.DataFrame  # AMBIGUOUS_COLUMNS
    counters: dict[str, int] = field(default_factory=dict)


# --- names --------------------------------------------------------------------------------
@dataclass
class _Names:
    """Integer codes of names: ``exact[i]``/``fold[i]`` per input column, -1 when absent
    or empty; ``vocab[fold code]`` is the folded text, ``lengths`` its length."""

    exact: list[np.ndarray]
    fold: list[np.ndarray]
    vocab: np.ndarray
    lengths: np.ndarray


def _encode_names(*columns: object) -> _Names:
    """Code several name columns in one shared vocabulary, normalizing each distinct
    spelling once (all in Arrow: no Python object per row)."""
    encoded = [pc.dictionary_encode(arrow_strings(col)) for col in columns]
    dictionaries = [e.dictionary.cast(pa.large_string()) for e in encoded]
    distinct = pa.concat_arrays(dictionaries) if dictionaries else pa.array([], pa.large_string())
    exact, folded = name_forms(distinct)
    empty = pc.equal(pc.utf8_length(exact), 0).to_numpy(zero_copy_only=False)
    e_enc, f_enc = pc.dictionary_encode(exact), pc.dictionary_encode(folded)
    e_code = np.where(empty, -1, e_enc.indices.to_numpy(zero_copy_only=False))
    f_code = np.where(empty, -1, f_enc.indices.to_numpy(zero_copy_only=False))
    out_e, out_f, offset = [], [], 0
    for enc, dictionary in zip(encoded, dictionaries, strict=True):
        idx = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        present = idx >= 0
        take = offset + np.maximum(idx, 0)
        if len(dictionary):
            out_e.append(np.where(present, e_code[np.minimum(take, len(e_code) - 1)], -1))
            out_f.append(np.where(present, f_code[np.minimum(take, len(f_code) - 1)], -1))
        else:
            out_e.append(np.full(len(idx), -1, dtype=np.int64))
            out_f.append(np.full(len(idx), -1, dtype=np.int64))
        offset += len(dictionary)
    vocab = f_enc.dictionary
    lengths = pc.utf8_length(vocab).to_numpy(zero_copy_only=False).astype(np.int64)
    return _Names(out_e, out_f, np.asarray(vocab.to_pylist(), dtype=object), lengths)


def _codes_of(values: object, mapping: dict[str, int]) -> np.ndarray:
    """Map a low-cardinality text column (sex, status) to small ints via its distinct
    values' exact form; -1 for anything else."""
    enc = pc.dictionary_encode(arrow_strings(values))
    keys = exact_keys(enc.dictionary).to_pylist()
    table = np.array([mapping.get(k or "", -1) for k in keys] + [-1], dtype=np.int64)
    idx = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return table[idx]  # -1 indexes the trailing -1


_SEX = {model.SEX_MALE.lower(): 0, model.SEX_FEMALE.lower(): 1}


def _slip_distance(
    vocab: np.ndarray,
    lengths: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    where: np.ndarray | None = None,
) -> np.ndarray:
    """Folded-name distance per pair, capped: 0 equal, 1 one slip (true Damerau-Levenshtein),
    2 more than one slip, -1 when a side is absent (or ``where`` is False)."""
    out = np.full(len(a), 2, dtype=np.int8)
    present = (a >= 0) & (b >= 0)
    if where is not None:
        present &= where
    out[~present] = -1
    out[present & (a == b)] = 0
    todo = present & (a != b)
    if todo.any():
        # Lengths differing by two or more cannot be one slip apart: skip the DP.
        todo &= np.abs(lengths[np.maximum(a, 0)] - lengths[np.maximum(b, 0)]) <= 1
    idx = np.flatnonzero(todo)
    if len(idx):
        left, right = vocab[a[idx]], vocab[b[idx]]
        # True DL <= 1 iff Levenshtein <= 1, or an adjacent swap (Levenshtein 2, same
        # length). Levenshtein with a small cutoff is several times faster than DL, so the
        # DL DP runs only on those few same-length pairs at Levenshtein 2.
        lev = cpdist(
            left, right, scorer=Levenshtein.distance, score_cutoff=2, workers=-1, dtype=np.int32
        )
        dist = np.minimum(lev, 2).astype(np.int8)
        swap = np.flatnonzero((lev == 2) & (lengths[a[idx]] == lengths[b[idx]]))
        if len(swap):
            dl = cpdist(
                left[swap],
                right[swap],
                scorer=DamerauLevenshtein.distance,  # true DL, not OSA
                score_cutoff=1,
                workers=-1,
                dtype=np.int32,
            )
            dist[swap] = np.minimum(dl, 2)
        out[idx] = dist
    return out


# --- dates --------------------------------------------------------------------------------
_NAT = np.datetime64("NaT", "D")


def _days(values: pd.Series) -> np.ndarray:
    """A date column as ``datetime64[D]`` (NaT when absent)."""
    s = (
        values
        if pd.api.types.is_datetime64_any_dtype(values)
        else pd.to_datetime(pd.Series(values, dtype=object), errors="coerce")
    )
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_localize(None)
    return s.to_numpy(dtype="datetime64[D]")


def _parse_iso(values: pd.Series) -> np.ndarray:
    """ISO 'yyyy-mm-dd' strings as ``datetime64[D]``, parsing each distinct string once."""
    enc = pc.dictionary_encode(arrow_strings(values))
    codes = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    parsed = pd.to_datetime(
        pd.Series(enc.dictionary.to_pylist(), dtype=object), format="%Y-%m-%d", errors="coerce"
    ).to_numpy(dtype="datetime64[D]")
    parsed = np.append(parsed, _NAT)  # code -1 picks NaT
    return parsed[codes]


def _dob_parts(persons: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per person: full date of birth (NaT when year-only), its year, and whether only the
    year is known."""
    dob = _days(persons["dob"])
    year = persons["dob_year"].astype("Int64").to_numpy(dtype=np.int64, na_value=-1)
    full_year = date_parts(dob)[0]
    year = np.where(year >= 0, year, full_year)
    year_only = persons["dob_year_only"].fillna(False).to_numpy(dtype=bool) | np.isnat(dob)
    dob = np.where(year_only, _NAT, dob)
    return dob, year, year_only & (year >= 0)


def _col(frame: pd.DataFrame, name: str) -> pd.Series:
    """A column, or an all-None one when the frame lacks it (e.g. no death date)."""
    if name in frame.columns:
        return frame[name]
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


# --- reasons ------------------------------------------------------------------------------
def _reason_lists(bits: np.ndarray) -> list[list[str]]:
    """Sorted reason lists from this module's bit masks (one fresh list per row)."""
    return model.reason_lists(bits, _CODES)


def _verdict_frame(
    persons: pd.DataFrame,
    bits: np.ndarray,
    loaded_id: np.ndarray,
    loaded_name: np.ndarray,
    name_level: np.ndarray | None = None,
    date_level: np.ndarray | None = None,
    corroborated: pd.api.extensions.ExtensionArray | None = None,
) -> pd.DataFrame:
    """Assemble the VERDICT_COLUMNS frame, indexed like ``persons``."""
    n = len(persons)
    none = np.full(n, None, dtype=object)

    def obj(values: object) -> pd.Series:
        # Object dtype keeps None as None (pandas 3 would infer str and turn it into NaN).
        return pd.Series(values, index=persons.index, dtype=object)

    return pd.DataFrame(
        {
            "source_key": obj(persons["source_key"].to_numpy(dtype=object)),
            "record_type": obj(persons["record_type"].to_numpy(dtype=object)),
            "role": obj(persons["role"].to_numpy(dtype=object)),
            "reasons": obj(_reason_lists(bits) if n else []),
            "loaded_personal_id": obj(loaded_id),
            "loaded_name": obj(loaded_name),
            "source_name": obj(persons["full_name"].to_numpy(dtype=object)),
            "link_name_level": obj(none if name_level is None else name_level),
            "link_date_level": obj(none if date_level is None else date_level),
            "link_corroborated": pd.Series(
                pd.array([pd.NA] * n, dtype="boolean") if corroborated is None else corroborated,
                index=persons.index,
            ),
        },
        index=persons.index,
        columns=list(VERDICT_COLUMNS),
    )


# --- checking a given ID ------------------------------------------------------------------
def _citizens_of(
    ids: np.ndarray, citizens: pd.DataFrame, not_found: Iterable[str]
) -> tuple[np.ndarray, Callable[[str], pd.Series]]:
    """Per given ID, whether the register found it, and a column of its citizen (None
    where not found) by name."""
    citizens = citizens if len(citizens) else pd.DataFrame(columns=list(CITIZEN_COLUMNS))
    citizens = citizens.drop_duplicates("so_dinh_danh")
    pos = pd.Index(citizens["so_dinh_danh"].astype(object)).get_indexer(ids)
    found = pos >= 0
    # An ID neither found nor reported missing breaks the lookup's contract: say how many.
    reported = pd.Series(ids, dtype=object).isin(list(set(not_found))).to_numpy()
    unexplained = ~found & ~reported
    if unexplained.any():
        log.warning(
            "%d IDs neither found nor reported not found; treated as not found",
            int(unexplained.sum()),
        )
    take = np.maximum(pos, 0)

    def reg(col: str) -> pd.Series:
        values = _col(citizens, col).to_numpy(dtype=object)
        picked = values[take] if len(values) else np.full(len(ids), None, dtype=object)
        out = np.full(len(ids), None, dtype=object)
        out[found] = picked[found]
        return pd.Series(out, dtype=object)

    return found, reg


def check_ids(
    persons_with_id: pd.DataFrame, citizens: pd.DataFrame, not_found: Iterable[str]
) -> pd.DataFrame:
    """Compare each person that gives an ID with the register's citizen of that ID.

    Codes: ``ID_NOT_FOUND`` (the register does not know the ID; nothing else then),
    ``NAME_MISMATCH`` (folded names differ), ``DOB_MISMATCH`` (dates differ; a year-only
    source date is compared by its year), ``SEX_MISMATCH``, and ``NAME_DIACRITICS`` (equal
    folded but not exact; the register's spelling is then ``loaded_name``).
    ``loaded_personal_id`` is the given ID. Returns ``VERDICT_COLUMNS`` indexed like the
    input.
    """
    persons = persons_with_id
    if not len(persons):
        return _empty_verdicts()
    ids = persons["personal_id"].astype(object).to_numpy()
    found, reg = _citizens_of(ids, citizens, not_found)
    names = _encode_names(persons["full_name"], reg("ho_ten"))
    (src_e, reg_e), (src_f, reg_f) = names.exact, names.fold
    name_mismatch = found & (src_f != reg_f)
    diacritics = found & (src_f == reg_f) & (src_e != reg_e)

    dob, year, year_only = _dob_parts(persons)
    reg_dob = _parse_iso(reg("ngay_sinh"))
    reg_year = date_parts(reg_dob)[0]
    dob_ok = np.where(year_only, year == reg_year, dob == reg_dob)
    dob_mismatch = found & ~dob_ok

    sex, reg_sex = _codes_of(persons["sex"], _SEX), _codes_of(reg("gioi_tinh"), _SEX)
    sex_mismatch = found & ((sex != reg_sex) | (sex < 0))

    bits = (
        np.where(~found, _BIT[model.ID_NOT_FOUND], 0)
        | np.where(name_mismatch, _BIT[model.NAME_MISMATCH], 0)
        | np.where(dob_mismatch, _BIT[model.DOB_MISMATCH], 0)
        | np.where(sex_mismatch, _BIT[model.SEX_MISMATCH], 0)
        | np.where(diacritics, _BIT[model.NAME_DIACRITICS], 0)
    )
    loaded_name = np.where(
        diacritics,
        reg("ho_ten").to_numpy(dtype=object),
        persons["full_name"].to_numpy(dtype=object),
    )
    return _verdict_frame(persons, bits, ids, loaded_name)


# --- linking a person without an ID -------------------------------------------------------
def build_match_queries(persons_without_id: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """One ``match`` query per distinct (folded name, sex, date of birth).

    The register compares folded names, so persons whose names fold alike share a query
    (the first spelling is sent). Returns the queries (``QUERY_COLUMNS``; ``ngay_sinh``
    'yyyy-mm-dd' or 'yyyy' for a year-only date) and each person's ``ref`` (None for a
    person with no usable name or date, who then gets no candidate).
    """
    persons = persons_without_id
    n = len(persons)
    if not n:
        return pd.DataFrame(columns=list(QUERY_COLUMNS)), pd.Series([], dtype=object)
    fold = _encode_names(persons["full_name"]).fold[0]
    dob, year, year_only = _dob_parts(persons)
    # A date key: days for a full date, a far offset + year for a year alone.
    dob_key = np.where(
        year_only, np.int64(10_000_000) + year, dob.astype("datetime64[D]").astype(np.int64)
    )
    sex_code = _codes_of(persons["sex"], _SEX)
    usable = (fold >= 0) & (year_only | ~np.isnat(dob)) & (sex_code >= 0)
    dob_code, dob_uniques = pd.factorize(np.where(usable, dob_key, -1))
    key = (fold.astype(np.int64) << 24) | (sex_code.astype(np.int64) << 22) | dob_code
    # Dense query ids in order of first appearance; -1 for an unusable person.
    person_q = np.full(n, -1, dtype=np.int64)
    person_q[usable], _ = pd.factorize(key[usable])
    q_of_usable = person_q[usable]
    _, first_in_usable = np.unique(q_of_usable, return_index=True)
    firsts = np.flatnonzero(usable)[first_in_usable]

    def date_text(k: int) -> str:
        if k >= 10_000_000:
            return f"{k - 10_000_000:04d}"
        return str(np.datetime64(int(k), "D"))

    dob_text = np.array([date_text(int(k)) for k in dob_uniques], dtype=object)  # distinct dates
    refs = np.array([f"q{i}" for i in range(len(firsts))], dtype=object)
    sex_canon = np.array([model.SEX_MALE, model.SEX_FEMALE], dtype=object)
    queries = pd.DataFrame(
        {
            "ref": refs,
            "ho_ten": persons["full_name"].to_numpy(dtype=object)[firsts],
            "gioi_tinh": sex_canon[sex_code[firsts]],
            "ngay_sinh": dob_text[dob_code[firsts]],
        },
        columns=list(QUERY_COLUMNS),
    )
    ref_of_person = np.full(len(person_q), None, dtype=object)
    if len(refs):
        asked = person_q >= 0
        ref_of_person[asked] = np.asarray(refs, dtype=object)[person_q[asked]]
    person_refs = pd.Series(
        ref_of_person,
        index=persons.index,
        dtype=object,
    )
    return queries, person_refs


def _dedup_by_query(cand_q: np.ndarray, ids: pd.Series, n_queries: int) -> np.ndarray:
    """Rows of the candidates that belong to a known query, one per (query, so_dinh_danh),
    ordered by query (so each query's candidates are contiguous)."""
    known = np.flatnonzero(cand_q >= 0)
    try:
        # 12-digit IDs fit in 40 bits: (query, ID) packs into one int64, so a single sort
        # orders by query and puts duplicates side by side.
        id_int = pc.cast(arrow_strings(ids), pa.int64()).fill_null(-1)
        id_int = id_int.to_numpy(zero_copy_only=False)[known]
        packable = n_queries < 2**23 and (id_int >= 0).all() and (id_int < 2**40).all()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        packable = False
    if packable:
        key = (cand_q[known] << 40) | id_int
        order = np.argsort(key, kind="stable")
        key = key[order]
        first = np.ones(len(key), dtype=bool)
        first[1:] = key[1:] != key[:-1]
        return known[order[first]]
    id_code, _ = pd.factorize(ids)
    frame = pd.DataFrame({"q": cand_q[known], "id": id_code[known]})
    rows = known[~frame.duplicated().to_numpy()]
    return rows[np.argsort(cand_q[rows], kind="stable")]


# --- the pair frame -----------------------------------------------------------------------
@dataclass(frozen=True)
class Side:
    """What both sides of the pair frame give, one value per row of that side (a person,
    or a row of the ``match`` answer). Name codes are -1 when absent; folded codes index
    ``PairFrame.vocab``; dates are ``datetime64[D]``, NaT when absent."""

    exact: np.ndarray  # the name's exact form
    folded: np.ndarray  # the name's folded form
    mother: np.ndarray  # the mother's name, folded
    father: np.ndarray  # the father's name, folded
    sex: np.ndarray  # 0 Nam, 1 Nữ, -1 anything else
    dob: np.ndarray  # the full date of birth (NaT when only the year is known)
    year: np.ndarray  # the year of birth, -1 when unknown
    death_date: np.ndarray


@dataclass(frozen=True)
class PersonSide(Side):
    """The persons' side: also the record's type and registration date, and the forms of
    the date of birth the date levels compare."""

    kind: np.ndarray  # the record type's position in _KINDS, -1 for another
    registration_date: np.ndarray
    #: The year of birth when only the year is known, else -2 (equal to no candidate's).
    year_alone: np.ndarray
    #: The date of birth with day and month exchanged when that is another real date,
    #: else NaT.
    swapped_dob: np.ndarray


@dataclass(frozen=True)
class CandidateSide(Side):
    """The candidates' side: also the register's status of the person."""

    status: np.ndarray  # the position in _STATUSES, -1 for another


_KINDS = (
    model.RecordType.BIRTH.value,
    model.RecordType.DEATH.value,
    model.RecordType.MARRIAGE.value,
)
_BIRTH, _DEATH, _MARRIAGE = range(3)
_STATUSES = (ALIVE, DEAD)
_ALIVE, _DEAD = range(2)


@dataclass(frozen=True)
class PairFrame:
    """The person x candidate pair frame: pair ``i`` is person ``person_row[i]`` and the
    candidate at position ``candidate_row[i]`` of the ``match`` answer. Pairs are grouped
    by person (``first_pair``, ``pairs_per_person``); ``cut`` tells, per person, that the
    query was answered with ``MAX_CANDIDATES`` (the list may have been cut)."""

    persons: PersonSide
    candidates: CandidateSide
    person_row: np.ndarray
    candidate_row: np.ndarray
    first_pair: np.ndarray
    pairs_per_person: np.ndarray
    cut: np.ndarray
    vocab: np.ndarray  # folded name text by code
    lengths: np.ndarray  # its length

    def __len__(self) -> int:
        return len(self.person_row)

    def from_person(self, values: np.ndarray) -> np.ndarray:
        """A person-side column, one value per pair."""
        return values[self.person_row]

    def from_candidate(self, values: np.ndarray) -> np.ndarray:
        """A candidate-side column, one value per pair."""
        return values[self.candidate_row]

    @cached_property
    def person_folded(self) -> np.ndarray:
        """The person's folded name code per pair."""
        return self.from_person(self.persons.folded)

    @cached_property
    def candidate_folded(self) -> np.ndarray:
        """The candidate's folded name code per pair."""
        return self.from_candidate(self.candidates.folded)

    @cached_property
    def kind(self) -> np.ndarray:
        """The record type per pair (a position in ``_KINDS``, -1 for another)."""
        return self.from_person(self.persons.kind)

    @cached_property
    def status(self) -> np.ndarray:
        """The register's status per pair (a position in ``_STATUSES``, -1 for another)."""
        return self.from_candidate(self.candidates.status)

    @cached_property
    def same_sex(self) -> np.ndarray:
        """Whether the candidate has the person's sex: the register returns only persons
        of the same sex, so a stray other-sex row is no candidate at all."""
        person_sex = self.from_person(self.persons.sex)
        return (person_sex >= 0) & (person_sex == self.from_candidate(self.candidates.sex))

    @cached_property
    def mother_slips(self) -> np.ndarray:
        """Slips between the mothers' names of a birth (``_slip_distance``: 0, 1, 2 for
        more; -1 where a side does not give it or the record is no birth)."""
        return self._slips_on_births(self.persons.mother, self.candidates.mother)

    @cached_property
    def father_slips(self) -> np.ndarray:
        """Slips between the fathers' names of a birth, as ``mother_slips``."""
        return self._slips_on_births(self.persons.father, self.candidates.father)

    def _slips_on_births(self, person_codes: np.ndarray, candidate_codes: np.ndarray) -> np.ndarray:
        return _slip_distance(
            self.vocab,
            self.lengths,
            self.from_person(person_codes),
            self.from_candidate(candidate_codes),
            where=self.kind == _BIRTH,
        )


def _swapped_dates(dob: np.ndarray) -> np.ndarray:
    """Each date with day and month exchanged; NaT when no date, or the exchange gives no
    other real date (day equal to month, or a day above 12)."""
    year, month, day = date_parts(dob)
    real = (year >= 0) & (day != month) & (day <= 12)
    year, month, day = (np.where(real, part, 1) for part in (year, month, day))
    first_of_month = (year - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (
        day - 1
    ).astype("timedelta64[M]")
    swapped = first_of_month.astype("datetime64[D]") + (month - 1).astype("timedelta64[D]")
    return np.where(real, swapped, _NAT)


def _person_side(persons: pd.DataFrame, names: _Names) -> PersonSide:
    """The persons' side of the pair frame (``names`` coded with the candidates')."""
    person_exact, _, _ = names.exact[:3]
    person_folded, person_mother, person_father = names.fold[:3]
    dob, year, year_only = _dob_parts(persons)
    kind = np.full(len(persons), -1, dtype=np.int8)
    record_type = persons["record_type"].astype(object).to_numpy()
    for position, value in enumerate(_KINDS):
        kind[record_type == value] = position
    return PersonSide(
        exact=person_exact,
        folded=person_folded,
        mother=person_mother,
        father=person_father,
        sex=_codes_of(persons["sex"], _SEX),
        dob=dob,
        year=year,
        death_date=_days(_col(persons, "death_date")),
        kind=kind,
        registration_date=_days(_col(persons, "registration_date")),
        year_alone=np.where(year_only, year, -2),
        swapped_dob=_swapped_dates(dob),
    )


def _candidate_side(cands: pd.DataFrame, names: _Names) -> CandidateSide:
    """The candidates' side of the pair frame (``names`` coded with the persons')."""
    candidate_exact, _, _ = names.exact[3:]
    candidate_folded, candidate_mother, candidate_father = names.fold[3:]
    dob = _parse_iso(cands["ngay_sinh"])
    return CandidateSide(
        exact=candidate_exact,
        folded=candidate_folded,
        mother=candidate_mother,
        father=candidate_father,
        sex=_codes_of(cands["gioi_tinh"], _SEX),
        dob=dob,
        year=date_parts(dob)[0],
        death_date=_parse_iso(_col(cands, "ngay_chet")),
        status=_codes_of(cands["trang_thai"], {s: i for i, s in enumerate(_STATUSES)}),
    )


def pair_candidates(persons: pd.DataFrame, cands: pd.DataFrame) -> PairFrame:
    """The person x candidate pair frame: each person (with its ``ref``) paired with each
    candidate of its query, de-duplicated by ``so_dinh_danh`` (docs/ledger.md, "Candidates").
    """
    # Query id per person and per candidate row (hashing in Arrow, not Python objects).
    ref_enc = pc.dictionary_encode(arrow_strings(persons["ref"]))
    person_q = ref_enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    n_queries = len(ref_enc.dictionary)
    cand_q = pc.index_in(arrow_strings(cands["ref"]), value_set=ref_enc.dictionary)
    cand_q = cand_q.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    cand_rows = _dedup_by_query(cand_q, cands["so_dinh_danh"], n_queries)
    per_query = np.bincount(cand_q[cand_rows], minlength=n_queries)
    starts = np.cumsum(per_query) - per_query

    has_q = person_q >= 0
    q_safe = np.maximum(person_q, 0)
    pairs_per_person = np.where(has_q, per_query[q_safe] if n_queries else 0, 0)
    first_pair = np.cumsum(pairs_per_person) - pairs_per_person
    person_row = np.repeat(np.arange(len(persons)), pairs_per_person)
    within = np.arange(len(person_row)) - first_pair[person_row]
    candidate_row = (
        cand_rows[starts[person_q[person_row]] + within]
        if len(person_row)
        else np.zeros(0, np.int64)
    )
    cut = per_query >= MAX_CANDIDATES  # the answer may have been cut
    names = _encode_names(
        persons["full_name"],
        _col(persons, "mother_name"),
        _col(persons, "father_name"),
        cands["ho_ten"],
        _col(cands, "ho_ten_me"),
        _col(cands, "ho_ten_cha"),
    )
    return PairFrame(
        persons=_person_side(persons, names),
        candidates=_candidate_side(cands, names),
        person_row=person_row,
        candidate_row=candidate_row,
        first_pair=first_pair,
        pairs_per_person=pairs_per_person,
        cut=has_q & (cut[q_safe] if n_queries else False),
        vocab=names.vocab,
        lengths=names.lengths,
    )


# --- the linkage rule, as tables (docs/ledger.md, "The levels, in order") ----------------
@dataclass(frozen=True)
class Level:
    """One labelled level of the linkage rule, written the way Splink writes comparison
    levels: ``label`` is what lineage and the review desk show (name and date levels) or
    names the clause (exclusions, corroborations); ``rule`` is the clause as docs/ledger.md
    words it; ``holds`` evaluates it over the whole pair frame, one boolean per pair."""

    label: str
    rule: str
    holds: Callable[[PairFrame], np.ndarray] = field(repr=False, compare=False)


# 1. Exclusion: any that holds excludes the candidate.
def _parent_contradicts(pairs: PairFrame) -> np.ndarray:
    # Slips are 2 for more than one, -1 where a side does not give the name.
    more_than_a_slip = (pairs.mother_slips == 2) | (pairs.father_slips == 2)
    return (pairs.kind == _BIRTH) & more_than_a_slip


def _alive_at_death(pairs: PairFrame) -> np.ndarray:
    return (pairs.kind == _DEATH) & (pairs.status == _ALIVE)


def _died_another_day(pairs: PairFrame) -> np.ndarray:
    register_death = pairs.from_candidate(pairs.candidates.death_date)
    record_death = pairs.from_person(pairs.persons.death_date)
    both = ~np.isnat(register_death) & ~np.isnat(record_death)
    return (
        (pairs.kind == _DEATH) & (pairs.status == _DEAD) & both & (register_death != record_death)
    )


def _died_before_registration(pairs: PairFrame) -> np.ndarray:
    register_death = pairs.from_candidate(pairs.candidates.death_date)
    registered = pairs.from_person(pairs.persons.registration_date)
    # A comparison with NaT is False: an absent date never excludes.
    return ((pairs.kind == _BIRTH) | (pairs.kind == _MARRIAGE)) & (register_death < registered)


EXCLUSIONS: tuple[Level, ...] = (
    Level(
        "parent_contradicts",
        "birth: a parent's name (mother's or father's) that both the record and the "
        "register give, and that is more than one slip apart",
        _parent_contradicts,
    ),
    Level(
        "alive_at_death",
        "death: the register marks the person alive (con_song): always excluded",
        _alive_at_death,
    ),
    Level(
        "died_another_day",
        "death: the register marks the person dead (da_chet), both dates of death are "
        "present and they differ",
        _died_another_day,
    ),
    Level(
        "died_before_registration",
        "birth or marriage: the register person died before the record's registration date",
        _died_before_registration,
    ),
)


# 2. Corroboration: any that holds corroborates the candidate.
def _parents_agree(pairs: PairFrame) -> np.ndarray:
    mother, father = pairs.mother_slips, pairs.father_slips
    # Slips are 2 for more than one, -1 where a side does not give the name: the mother's
    # must be on both sides, the father's only where both give it.
    return (pairs.kind == _BIRTH) & ((mother == 0) | (mother == 1)) & (father != 2)


def _dead_on_the_day(pairs: PairFrame) -> np.ndarray:
    register_death = pairs.from_candidate(pairs.candidates.death_date)
    record_death = pairs.from_person(pairs.persons.death_date)
    # NaT equals nothing: both dates of death must be present.
    return (pairs.kind == _DEATH) & (pairs.status == _DEAD) & (register_death == record_death)


CORROBORATIONS: tuple[Level, ...] = (
    Level(
        "parents_agree",
        "birth: the mother's name agrees within one slip (at most one slip apart), and "
        "the father's name too where both sides give it",
        _parents_agree,
    ),
    Level(
        "dead_on_the_day",
        "death: the register marks the person dead on the record's date of death",
        _dead_on_the_day,
    ),
    # marriage: a spouse is never corroborated (no level).
)


# 3. Name level, best first: the first that holds is the pair's level (else none).
def _same_exact_name(pairs: PairFrame) -> np.ndarray:
    person_exact = pairs.from_person(pairs.persons.exact)
    return (person_exact >= 0) & (person_exact == pairs.from_candidate(pairs.candidates.exact))


def _same_folded_name(pairs: PairFrame) -> np.ndarray:
    return (pairs.person_folded >= 0) & (pairs.person_folded == pairs.candidate_folded)


def _one_slip_apart(pairs: PairFrame) -> np.ndarray:
    slips = _slip_distance(pairs.vocab, pairs.lengths, pairs.person_folded, pairs.candidate_folded)
    return slips == 1


NAME_EXACT, NAME_FOLDED, NAME_SLIP = "exact", "folded", "slip"
NAME_LEVELS: tuple[Level, ...] = (
    Level(
        NAME_EXACT,
        "equal in exact form (NFC, lower case, runs of whitespace made one space, trimmed)",
        _same_exact_name,
    ),
    Level(NAME_FOLDED, "equal only after folding (diacritics removed, đ→d)", _same_folded_name),
    Level(
        NAME_SLIP,
        "folded names one typing slip apart (true Damerau-Levenshtein distance 1)",
        _one_slip_apart,
    ),
)


# 4. Date level, best first: the first that holds is the pair's level (else none).
def _dates_agree(pairs: PairFrame) -> np.ndarray:
    person, candidate = pairs.persons, pairs.candidates
    equal_full = pairs.from_person(person.dob) == pairs.from_candidate(candidate.dob)
    same_year = pairs.from_person(person.year_alone) == pairs.from_candidate(candidate.year)
    return equal_full | same_year


def _dates_swapped(pairs: PairFrame) -> np.ndarray:
    swapped = pairs.from_person(pairs.persons.swapped_dob)
    return swapped == pairs.from_candidate(pairs.candidates.dob)


DATE_AGREES, DATE_SWAPPED = "agrees", "swapped"
DATE_LEVELS: tuple[Level, ...] = (
    Level(
        DATE_AGREES,
        "dates of birth equal; for a year-only source date, the same year",
        _dates_agree,
    ),
    Level(
        DATE_SWAPPED,
        "the register's date is the source date with day and month exchanged",
        _dates_swapped,
    ),
)


# 5. Fit and rank.
@dataclass(frozen=True)
class Fit:
    """One way a candidate that is not excluded fits (a bullet of docs/ledger.md, "Fit and
    rank"): its name level is one of ``names`` and its date level is ``date``; with
    ``needs_corroboration`` only when corroborated, with ``needs_full_date`` only when the
    source gives a full date of birth (not the year alone)."""

    rule: str
    names: tuple[str, ...]
    date: str
    needs_corroboration: bool
    needs_full_date: bool = False


FITS: tuple[Fit, ...] = (
    Fit(
        "its name is exact and its date agrees",
        (NAME_EXACT,),
        DATE_AGREES,
        needs_corroboration=False,
    ),
    Fit(
        "corroborated: its name is folded and its date agrees",
        (NAME_FOLDED,),
        DATE_AGREES,
        needs_corroboration=True,
    ),
    Fit(
        "corroborated: its name is within a slip and the full dates of birth are equal "
        "(a year-only source date never qualifies)",
        (NAME_SLIP,),
        DATE_AGREES,
        needs_corroboration=True,
        needs_full_date=True,
    ),
    Fit(
        "corroborated: its name is exact or folded and its date is swapped",
        (NAME_EXACT, NAME_FOLDED),
        DATE_SWAPPED,
        needs_corroboration=True,
    ),
)


@dataclass(frozen=True)
class RankKey:
    """One key of the rank of fitting candidates: ``value`` (0 best) per pair, weighted so
    the rank integer orders by the keys in turn; the smallest rank is best."""

    rule: str
    weight: int
    value: Callable[[Comparison], np.ndarray] = field(repr=False, compare=False)


RANK: tuple[RankKey, ...] = (
    RankKey("corroborated before not corroborated", 100, lambda c: ~c.corroborated),
    RankKey("then by name level (exact, folded, slip)", 10, lambda c: c.name_level),
    RankKey("then by date level (agrees, swapped)", 1, lambda c: c.date_level),
)

#: Labels by level position, the last (no level) None: what lineage and the desk show.
_NAME_LABELS = np.array([level.label for level in NAME_LEVELS] + [None], dtype=object)
_DATE_LABELS = np.array([level.label for level in DATE_LEVELS] + [None], dtype=object)
_NO_RANK = np.int64(1_000)  # rank of a candidate that does not fit


def _position(levels: tuple[Level, ...], label: str) -> int:
    return next(i for i, level in enumerate(levels) if level.label == label)


# --- the steps ----------------------------------------------------------------------------
def any_holds(levels: tuple[Level, ...], pairs: PairFrame) -> np.ndarray:
    """Per pair, whether any of ``levels`` holds (exclusions, corroborations)."""
    out = np.zeros(len(pairs), dtype=bool)
    for level in levels:
        out |= level.holds(pairs)
    return out


def first_level(levels: tuple[Level, ...], pairs: PairFrame) -> np.ndarray:
    """Per pair, the position in ``levels`` of the first level that holds, or
    ``len(levels)`` when none does (Splink's ``ElseLevel``)."""
    out = np.full(len(pairs), len(levels), dtype=np.int8)
    for position in reversed(range(len(levels))):  # a better level overwrites a worse
        out[levels[position].holds(pairs)] = position
    return out


@dataclass(frozen=True)
class Comparison:
    """Per pair, the rule's verdict on it: ``contradicted`` (no candidate, or excluded),
    ``corroborated``, the name and date levels (positions in ``NAME_LEVELS`` and
    ``DATE_LEVELS``; their length when no level holds), and whether it ``fits``."""

    contradicted: np.ndarray
    corroborated: np.ndarray
    name_level: np.ndarray
    date_level: np.ndarray
    fits: np.ndarray

    @cached_property
    def rank(self) -> np.ndarray:
        """Per pair, the rank of a fitting pair by ``RANK`` (smallest best); ``_NO_RANK``
        for one that does not fit."""
        rank = sum(key.value(self).astype(np.int64) * key.weight for key in RANK)
        return np.where(self.fits, rank, _NO_RANK)


def _fits(
    pairs: PairFrame, name_level: np.ndarray, date_level: np.ndarray, corroborated: np.ndarray
) -> np.ndarray:
    """Per pair, whether one of ``FITS`` holds (exclusion left aside)."""
    full_date = pairs.from_person(~np.isnat(pairs.persons.dob))
    out = np.zeros(len(pairs), dtype=bool)
    for fit in FITS:
        name_allowed = np.zeros(len(NAME_LEVELS) + 1, dtype=bool)  # by level position
        name_allowed[[_position(NAME_LEVELS, label) for label in fit.names]] = True
        holds = name_allowed[name_level] & (date_level == _position(DATE_LEVELS, fit.date))
        if fit.needs_corroboration:
            holds &= corroborated
        if fit.needs_full_date:
            holds &= full_date
        out |= holds
    return out


def compare(pairs: PairFrame) -> Comparison:
    """Evaluate the rule's tables over the pair frame: exclusion, corroboration, name
    level, date level, then fit and rank (docs/ledger.md, "The levels, in order")."""
    contradicted = ~pairs.same_sex | any_holds(EXCLUSIONS, pairs)
    corroborated = any_holds(CORROBORATIONS, pairs)
    name_level = first_level(NAME_LEVELS, pairs)
    date_level = first_level(DATE_LEVELS, pairs)
    fits = ~contradicted & _fits(pairs, name_level, date_level, corroborated)
    return Comparison(contradicted, corroborated, name_level, date_level, fits)


@dataclass(frozen=True)
class Decision:
    """Per person: the verdict (exactly one of ``linked``, ``ambiguous``, ``none``); per
    pair, whether it fits with the person's best rank."""

    linked: np.ndarray
    ambiguous: np.ndarray
    none: np.ndarray
    holds_best: np.ndarray


def decide(pairs: PairFrame, comparison: Comparison) -> Decision:
    """The verdict (docs/ledger.md, "The verdict"): ``LINK_AMBIGUOUS`` when the answer was
    cut or two or more fitting candidates share the best rank; else ``LINKED`` when one
    holds it; else ``LINK_NONE``."""
    n_persons = len(pairs.pairs_per_person)
    best = np.full(n_persons, _NO_RANK, dtype=np.int64)
    with_pairs = np.flatnonzero(pairs.pairs_per_person)
    if len(with_pairs):  # pairs are grouped by person
        best[with_pairs] = np.minimum.reduceat(comparison.rank, pairs.first_pair[with_pairs])
    holds_best = comparison.fits & (comparison.rank == pairs.from_person(best))
    n_best = np.bincount(pairs.person_row[holds_best], minlength=n_persons)
    ambiguous = pairs.cut | (n_best >= 2)
    linked = ~ambiguous & (n_best == 1)
    return Decision(linked, ambiguous, ~ambiguous & ~linked, holds_best)


def linked_verdicts(
    persons: pd.DataFrame,
    cands: pd.DataFrame,
    pairs: PairFrame,
    comparison: Comparison,
    decision: Decision,
) -> pd.DataFrame:
    """``VERDICT_COLUMNS`` for persons without an ID: the verdict's code, and for a linked
    person the linked ID, the levels it linked on and, when its name agrees folded,
    ``NAME_DIACRITICS`` with the register's spelling as ``loaded_name``."""
    n_persons, linked = len(persons), decision.linked
    link_pair = np.flatnonzero(decision.holds_best & pairs.from_person(linked))
    link_person, link_row = pairs.person_row[link_pair], pairs.candidate_row[link_pair]
    name_level = np.full(n_persons, len(NAME_LEVELS), dtype=np.int8)
    name_level[link_person] = comparison.name_level[link_pair]
    date_level = np.full(n_persons, len(DATE_LEVELS), dtype=np.int8)
    date_level[link_person] = comparison.date_level[link_pair]
    corroborated = pd.array(np.zeros(n_persons, dtype=bool), dtype="boolean")
    corroborated[link_person] = comparison.corroborated[link_pair]
    corroborated[~linked] = pd.NA
    loaded_id = np.full(n_persons, None, dtype=object)
    loaded_id[link_person] = cands["so_dinh_danh"].take(link_row).to_numpy(dtype=object)
    diacritics = linked & (name_level == _position(NAME_LEVELS, NAME_FOLDED))
    loaded_name = persons["full_name"].to_numpy(dtype=object).copy()
    register_name = np.full(n_persons, None, dtype=object)
    register_name[link_person] = cands["ho_ten"].take(link_row).to_numpy(dtype=object)
    loaded_name[diacritics] = register_name[diacritics]
    bits = (
        np.where(linked, _BIT[model.LINKED], 0)
        | np.where(decision.ambiguous, _BIT[model.LINK_AMBIGUOUS], 0)
        | np.where(decision.none, _BIT[model.LINK_NONE], 0)
        | np.where(diacritics, _BIT[model.NAME_DIACRITICS], 0)
    )
    return _verdict_frame(
        persons,
        bits,
        loaded_id,
        loaded_name,
        name_level=_NAME_LABELS[name_level],
        date_level=_DATE_LABELS[date_level],
        corroborated=corroborated,
    )


def link(
    persons_without_id: pd.DataFrame, candidates: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply the linkage rule (docs/ledger.md, "Linking a person without an ID") to each
    person without an ID: ``pair_candidates`` → ``compare`` (``EXCLUSIONS``,
    ``CORROBORATIONS``, ``NAME_LEVELS``, ``DATE_LEVELS``, ``FITS``, ``RANK``) → ``decide``
    → ``linked_verdicts`` and ``ambiguous_candidates``.

    ``persons_without_id`` has ``PERSON_COLUMNS`` and a ``ref`` column naming its ``match``
    query (computed with ``build_match_queries`` when absent); ``candidates`` is the
    ``match`` answer (``CANDIDATE_COLUMNS``). Returns ``(verdicts, ambiguous)``:
    ``VERDICT_COLUMNS`` indexed like the input, and ``AMBIGUOUS_COLUMNS`` listing each
    ambiguous person's candidates that the record does not contradict, scored for the
    people who choose later.
    """
    persons = persons_without_id
    if not len(persons):
        return _empty_verdicts(), _empty_ambiguous()
    if "ref" not in persons.columns:
        persons = persons.assign(ref=build_match_queries(persons)[1])
    cands = candidates if len(candidates) else pd.DataFrame(columns=list(CANDIDATE_COLUMNS))
    pairs = pair_candidates(persons, cands)
    comparison = compare(pairs)
    decision = decide(pairs, comparison)
    verdicts = linked_verdicts(persons, cands, pairs, comparison, decision)
    return verdicts, ambiguous_candidates(persons, cands, pairs, comparison, decision)


def link_in_chunks(
    persons_without_id: pd.DataFrame, candidates: pd.DataFrame, chunk_rows: int | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`link` over ``chunk_rows`` persons at a time (all at once when None), each
    chunk with the candidates of its persons' queries: the same verdicts, with memory
    bounded by the chunk's pairs instead of the district's."""
    persons = persons_without_id
    if chunk_rows is None or len(persons) <= chunk_rows:
        return link(persons, candidates)
    verdicts, ambiguous = [], []
    for first in range(0, len(persons), chunk_rows):
        part = persons.iloc[first : first + chunk_rows]
        cands = candidates[keys_in(candidates["ref"], part["ref"].unique())].reset_index(drop=True)
        v, a = link(part, cands)
        verdicts.append(v)
        if len(a):
            ambiguous.append(a)
    amb = pd.concat(ambiguous, ignore_index=True) if ambiguous else _empty_ambiguous()
    return pd.concat(verdicts), amb


# --- the candidates of an ambiguous person, for the review desk ---------------------------
def _jw(vocab: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Jaro-Winkler similarity of folded names per pair (0 where a side is absent)."""
    out = np.zeros(len(a), dtype=np.float64)
    ok = (a >= 0) & (b >= 0)
    if ok.any():
        out[ok] = cpdist(
            vocab[a[ok]], vocab[b[ok]], scorer=JaroWinkler.normalized_similarity, workers=-1
        )
    return out


def _scores(pairs: PairFrame, comparison: Comparison, show: np.ndarray) -> np.ndarray:
    """The similarity score of the pairs ``show``, to order candidates for humans (never
    changes a verdict):

    score = 0.6 x name (Jaro-Winkler on folded names) + 0.25 x date (1 agrees, 0.8 swapped,
    0.5 same year) + 0.15 x context (births: mean Jaro-Winkler of the parents both sides
    give; deaths: 1 when dead on the same date; else 0.5).
    """
    person_rows, candidate_rows = pairs.person_row[show], pairs.candidate_row[show]
    person, candidate = pairs.persons, pairs.candidates

    def similarity(
        person_codes: np.ndarray, candidate_codes: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        person_code, candidate_code = person_codes[person_rows], candidate_codes[candidate_rows]
        given = (person_code >= 0) & (candidate_code >= 0)
        return _jw(pairs.vocab, person_code, candidate_code), given

    name_sim, _ = similarity(person.folded, candidate.folded)
    date_level = comparison.date_level[show]
    date_sim = np.select(
        [
            date_level == _position(DATE_LEVELS, DATE_AGREES),
            date_level == _position(DATE_LEVELS, DATE_SWAPPED),
            person.year[person_rows] == candidate.year[candidate_rows],
        ],
        [1.0, 0.8, 0.5],
        0.0,
    )
    mother_sim, mother_given = similarity(person.mother, candidate.mother)
    father_sim, father_given = similarity(person.father, candidate.father)
    parents = (mother_sim + father_sim) / np.maximum(mother_given + father_given.astype(int), 1)
    is_birth = person.kind[person_rows] == _BIRTH
    context = np.where(
        is_birth & (mother_given | father_given),
        parents,
        np.where(comparison.corroborated[show], 1.0, 0.5),
    )
    return np.round(0.6 * name_sim + 0.25 * date_sim + 0.15 * context, 4)


def ambiguous_candidates(
    persons: pd.DataFrame,
    cands: pd.DataFrame,
    pairs: PairFrame,
    comparison: Comparison,
    decision: Decision,
) -> pd.DataFrame:
    """``AMBIGUOUS_COLUMNS``: the candidates of each ambiguous person that the record does
    not contradict, ordered by fits, rank, then score (``candidate_order`` 1 first)."""
    show = np.flatnonzero(pairs.from_person(decision.ambiguous) & ~comparison.contradicted)
    if not len(show):
        return _empty_ambiguous()
    person_rows, rows = pairs.person_row[show], pairs.candidate_row[show]

    def obj(values: np.ndarray) -> pd.Series:
        return pd.Series(values, dtype=object)

    frame = pd.DataFrame(
        {
            "_p": person_rows,
            "_fits": ~comparison.fits[show],
            "_rank": comparison.rank[show],
            "source_key": obj(persons["source_key"].to_numpy(dtype=object)[person_rows]),
            "role": obj(persons["role"].to_numpy(dtype=object)[person_rows]),
            "candidate_order": 0,
            **{
                col: obj(_col(cands, col).take(rows).to_numpy(dtype=object))
                for col in (
                    "so_dinh_danh",
                    "ho_ten",
                    "gioi_tinh",
                    "ngay_sinh",
                    "trang_thai",
                    "ngay_chet",
                )
            },
            "name_level": obj(_NAME_LABELS[comparison.name_level[show]]),
            "date_level": obj(_DATE_LABELS[comparison.date_level[show]]),
            "corroborated": comparison.corroborated[show],
            "fits": comparison.fits[show],
            "best": decision.holds_best[show],
            "score": _scores(pairs, comparison, show),
        }
    )
    frame = frame.sort_values(
        ["_p", "_fits", "_rank", "score"], ascending=[True, True, True, False], kind="stable"
    )
    frame["candidate_order"] = frame.groupby("_p").cumcount() + 1
    return frame[list(AMBIGUOUS_COLUMNS)].reset_index(drop=True)


def _empty_verdicts() -> pd.DataFrame:
    return pd.DataFrame(columns=list(VERDICT_COLUMNS))


def _empty_ambiguous() -> pd.DataFrame:
    return pd.DataFrame(columns=list(AMBIGUOUS_COLUMNS))


# --- the whole step -----------------------------------------------------------------------
def _has_id(persons: pd.DataFrame) -> np.ndarray:
    """Whether each person's record gives a personal ID (non-empty after trimming)."""
    ids = persons["personal_id"].astype(object)
    return ids.notna().to_numpy() & (ids.fillna("").astype(str).str.strip() != "").to_numpy()


def reconcile(
    persons: pd.DataFrame,
    register: RegisterLookup,
    chunk_rows: int | None = None,
    asked_before: AskedBefore | None = None,
) -> ReconcileResult:
    """Reconcile persons (``PERSON_COLUMNS``, records that passed quarantine) with the
    register: one ``batch_get`` for all distinct IDs given, one ``match`` for all distinct
    queries of ID-less persons, then ``check_ids`` and ``link``; ``link`` (whose pair frame
    is the largest thing here) by ``chunk_rows`` persons at a time when given, each with
    the candidates of its own queries (a person's verdict depends on them alone).

    A person's verdict depends on its own record and the register's answers alone, so a
    district is reconciled a chunk of records at a time with the same verdicts; given
    ``asked_before`` (updated here), the counters ``ids_requested``, ``queries`` and
    ``candidates`` leave out what an earlier chunk asked, and the chunks' counters add up
    to the district's (:func:`add_counters`).
    """
    persons = persons.reset_index(drop=True)
    has_id = _has_id(persons)
    with_id, without_id = persons[has_id], persons[~has_id]

    ids = list(pd.unique(with_id["personal_id"].astype(object)))
    if ids:
        citizens, not_found = register.batch_get(ids)
    else:
        citizens, not_found = pd.DataFrame(columns=list(CITIZEN_COLUMNS)), set()
    queries, refs = build_match_queries(without_id)
    if len(queries):
        candidates = register.match(queries)
    else:
        candidates = pd.DataFrame(columns=list(CANDIDATE_COLUMNS))

    checked = check_ids(with_id, citizens, not_found)
    linked, ambiguous = link_in_chunks(without_id.assign(ref=refs), candidates, chunk_rows)
    parts = [f for f in (checked, linked) if len(f)]
    verdicts = (pd.concat(parts).sort_index() if parts else _empty_verdicts()).reset_index(
        drop=True
    )

    def count(code: str, frame: pd.DataFrame) -> int:
        return int(frame["reasons"].map(lambda r: code in r).sum()) if len(frame) else 0

    review = (
        int(checked["reasons"].map(lambda r: bool(model.REVIEW_CODES.intersection(r))).sum())
        if len(checked)
        else 0
    )
    ids_requested, n_queries, n_candidates = len(ids), len(queries), len(candidates)
    if asked_before is not None:
        new_ids = set(ids) - asked_before.ids
        asked_before.ids |= new_ids
        keys = query_keys(queries) if len(queries) else pd.Series(dtype=object)
        new_query = ~keys_in(keys, asked_before.queries)
        asked_before.queries.update(keys[new_query])
        new_refs = queries["ref"].to_numpy(dtype=object)[new_query]
        ids_requested, n_queries = len(new_ids), int(new_query.sum())
        n_candidates = int(keys_in(candidates["ref"], new_refs).sum()) if len(candidates) else 0
    counters = {
        "persons": len(persons),
        "with_id": int(has_id.sum()),
        "without_id": int((~has_id).sum()),
        "ids_requested": ids_requested,
        "ids_not_found": count(model.ID_NOT_FOUND, checked),
        "review": review,
        "queries": n_queries,
        "candidates": n_candidates,
        "linked": count(model.LINKED, linked),
        "link_ambiguous": count(model.LINK_AMBIGUOUS, linked),
        "link_none": count(model.LINK_NONE, linked),
        "name_diacritics": count(model.NAME_DIACRITICS, verdicts),
    }
    log.info("reconcile: %s", counters)  # counts only: no names or IDs in logs
    return ReconcileResult(verdicts, ambiguous, counters)


def add_counters(total: dict[str, int], more: dict[str, int]) -> dict[str, int]:
    """The counters of two chunks of a district as one (:func:`reconcile`'s, summed)."""
    return {k: total.get(k, 0) + more.get(k, 0) for k in {**total, **more}}


def merge_record_verdicts(person_verdicts: pd.DataFrame) -> pd.DataFrame:
    """One row per record from person verdicts (a marriage has two persons).

    ``reason_mask``: the union of the persons' codes, as the int64 bit mask over
    ``model.CODE_ORDER`` (:func:`hotich.model.code_masks`; the load decodes it once, with
    the quality codes, :func:`hotich.model.reason_lists`); ``status``: ``review`` when any
    review code is among them, else ``loaded``; ``personal_id``: the subject's loaded ID
    for a loaded birth or death, None otherwise (always for a marriage), as the ledger
    wants it. A code outside the contract raises ValueError, naming it.
    """
    cols = ["source_key", "status", "personal_id", "reason_mask"]
    if not len(person_verdicts):
        return pd.DataFrame(columns=cols)
    pv = person_verdicts.reset_index(drop=True)
    keys, key_uniques = pd.factorize(pv["source_key"].astype(object))
    # Each record's codes as one bit mask over the contract's codes (model.code_masks):
    # the OR of its persons' masks, so that a code two persons share is listed once.
    mask = np.zeros(len(key_uniques), dtype=np.int64)
    np.bitwise_or.at(mask, keys, model.code_masks(pv["reasons"]))
    review = (mask & model.code_bits(model.REVIEW_CODES)) != 0
    # The subject's ID of a loaded birth/death; None for marriages (no 'subject' role).
    subject = pv["role"].to_numpy(dtype=object) == model.ROLE_SUBJECT
    pid = np.full(len(key_uniques), None, dtype=object)
    pid[keys[subject]] = pv["loaded_personal_id"].to_numpy(dtype=object)[subject]
    pid[review] = None
    return pd.DataFrame(
        {
            "source_key": pd.Series(np.asarray(key_uniques, dtype=object), dtype=object),
            "status": np.where(review, model.Status.REVIEW.value, model.Status.LOADED.value),
            "personal_id": pd.Series(pid, dtype=object),
            "reason_mask": mask,
        },
        columns=cols,
    )


def explain_candidates(persons: pd.DataFrame, candidates: pd.DataFrame) -> pd.DataFrame:
    """For the review desk: every candidate of each person's ``match`` answer with how the
    rule sees it: whether the record contradicts it (``excluded``), whether it is
    ``corroborated``, how name and date agree, whether it ``fits`` and holds the ``best``
    rank (several best: the tie of ``LINK_AMBIGUOUS``), and the ordering score. The same
    functions as :func:`link`, so the desk shows exactly why the rule decided as it did."""
    cols = [*CITIZEN_COLUMNS, "name_level", "date_level", "excluded", "corroborated", "fits",
            "best", "score"]  # fmt: skip
    if not len(persons) or not len(candidates):
        return pd.DataFrame(columns=cols)
    if "ref" not in persons.columns:
        persons = persons.assign(ref=build_match_queries(persons)[1])
    pairs = pair_candidates(persons.reset_index(drop=True), candidates)
    if not len(pairs):
        return pd.DataFrame(columns=cols)
    comparison = compare(pairs)
    decision = decide(pairs, comparison)
    every = np.arange(len(pairs))
    rows = pairs.candidate_row
    frame = pd.DataFrame(
        {
            **{
                col: pd.Series(
                    _col(candidates, col).take(rows).to_numpy(dtype=object), dtype=object
                )
                for col in CITIZEN_COLUMNS
            },
            "name_level": pd.Series(_NAME_LABELS[comparison.name_level], dtype=object),
            "date_level": pd.Series(_DATE_LABELS[comparison.date_level], dtype=object),
            "excluded": comparison.contradicted,
            "corroborated": comparison.corroborated,
            "fits": comparison.fits,
            "best": decision.holds_best,
            "score": _scores(pairs, comparison, every),
        }
    )
    return frame.sort_values(["best", "fits", "score"], ascending=False, kind="stable")[
        cols
    ].reset_index(drop=True)
