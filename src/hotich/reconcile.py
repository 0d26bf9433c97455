"""Reconcile persons against the national population register (contracts/README.md).

Two paths, both set-based over frames (no per-person Python loop on the hot path):

* a person whose record gives a personal ID is *checked*: the register's citizen is
  fetched with ``batch_get`` and compared (``check_ids``) giving the review codes
  ``ID_NOT_FOUND``/``NAME_MISMATCH``/``DOB_MISMATCH``/``SEX_MISMATCH`` and the information
  code ``NAME_DIACRITICS``;
* a person without an ID is *linked*: one ``match`` query per distinct
  (folded name, sex, date of birth) yields candidates, and ``link`` applies the contract's
  rule ("Linking a person without an ID") to the person x candidate pair frame, giving
  ``LINKED``/``LINK_AMBIGUOUS``/``LINK_NONE`` (and ``NAME_DIACRITICS``).

Names are compared through integer codes of their *exact* form (NFC, lower case, runs of
whitespace made one space, trimmed) and *folded* form (the same, diacritics removed,
đ→d); the typing-slip distance (true Damerau-Levenshtein) is computed once per distinct
pair of folded names with rapidfuzz. ``reconcile`` wires it all to a ``RegisterLookup``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler, Levenshtein
from rapidfuzz.process import cpdist

from hotich import model
from hotich.names import arrow_strings, exact_keys, name_forms
from hotich.normalize import date_parts

log = logging.getLogger(__name__)

#: The register answers at most this many candidates a query; a full answer may be cut.
MAX_CANDIDATES = model.MATCH_MAX_CANDIDATES
CITIZEN_COLUMNS = model.CITIZEN_COLUMNS
CANDIDATE_COLUMNS: tuple[str, ...] = ("ref", *CITIZEN_COLUMNS)
QUERY_COLUMNS: tuple[str, ...] = ("ref", "ho_ten", "gioi_tinh", "ngay_sinh")

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

NAME_EXACT, NAME_FOLDED, NAME_SLIP = "exact", "folded", "slip"
DATE_AGREES, DATE_SWAPPED = "agrees", "swapped"
_NAME_LEVELS = np.array([NAME_EXACT, NAME_FOLDED, NAME_SLIP, None], dtype=object)
_DATE_LEVELS = np.array([DATE_AGREES, DATE_SWAPPED, None], dtype=object)
_LVL_EXACT, _LVL_FOLDED, _LVL_SLIP, _LVL_NONE = 0, 1, 2, 3
_DATE_AGREE, _DATE_SWAP, _DATE_NONE = 0, 1, 2
_NO_RANK = np.int64(1_000)  # rank of a candidate that does not fit

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
    """Sorted reason lists from bit masks (one fresh list per row)."""
    uniq, inverse = np.unique(bits, return_inverse=True)
    tables = [tuple(c for c in _CODES if int(u) & int(_BIT[c])) for u in uniq]
    per_row = np.empty(len(tables), dtype=object)
    for i, entry in enumerate(tables):  # one per distinct set of codes (a handful)
        per_row[i] = entry
    return list(map(list, per_row[inverse]))  # C-level loop; a fresh list per row


def _verdict_frame(
    persons: pd.DataFrame,
    bits: np.ndarray,
    loaded_id: np.ndarray,
    loaded_name: np.ndarray,
    name_level: np.ndarray | None = None,
    date_level: np.ndarray | None = None,
    corroborated: pd.array | None = None,
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
    citizens = citizens if len(citizens) else pd.DataFrame(columns=list(CITIZEN_COLUMNS))
    citizens = citizens.drop_duplicates("so_dinh_danh")
    ids = persons["personal_id"].astype(object).to_numpy()
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
        return pd.Series(np.where(found, picked, None), dtype=object)

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
    person_refs = pd.Series(
        np.where(person_q >= 0, refs[np.maximum(person_q, 0)] if len(refs) else None, None),
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


def link(
    persons_without_id: pd.DataFrame, candidates: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply the contract's linkage rule to each person without an ID.

    ``persons_without_id`` has ``PERSON_COLUMNS`` and a ``ref`` column naming its ``match``
    query (computed with ``build_match_queries`` when absent); ``candidates`` is the
    ``match`` answer (``CANDIDATE_COLUMNS``). Per (person, candidate) pair: name level
    (exact / folded / one true-Damerau-Levenshtein slip), date level (agrees / swapped),
    exclusion and corroboration as the contract defines them; a candidate fits when not
    excluded and (exact name and agreeing date, or, corroborated, folded name and agreeing
    date, slip name and equal full date, or exact/folded name and swapped date). Ranks:
    corroborated, then name level, then date level. ``LINKED`` iff exactly one candidate
    holds the best rank and the query was not answered with ``MAX_CANDIDATES``;
    ``LINK_AMBIGUOUS`` on a tie or a full answer; ``LINK_NONE`` when none fits.

    Returns ``(verdicts, ambiguous)``: ``VERDICT_COLUMNS`` indexed like the input, and
    ``AMBIGUOUS_COLUMNS`` listing each ambiguous person's candidates that the record does
    not contradict, scored for the people who choose later.
    """
    persons = persons_without_id
    if not len(persons):
        return _empty_verdicts(), _empty_ambiguous()
    if "ref" not in persons.columns:
        persons = persons.assign(ref=build_match_queries(persons)[1])
    n_persons = len(persons)
    cands = candidates if len(candidates) else pd.DataFrame(columns=list(CANDIDATE_COLUMNS))

    # Query id per person and per candidate row (hashing in Arrow, not Python objects).
    ref_enc = pc.dictionary_encode(arrow_strings(persons["ref"]))
    person_q = ref_enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    n_queries = len(ref_enc.dictionary)
    cand_q = pc.index_in(arrow_strings(cands["ref"]), value_set=ref_enc.dictionary)
    cand_q = cand_q.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    cand_rows = _dedup_by_query(cand_q, cands["so_dinh_danh"], n_queries)
    per_query = np.bincount(cand_q[cand_rows], minlength=n_queries)
    starts = np.cumsum(per_query) - per_query
    cut = per_query >= MAX_CANDIDATES  # the answer may have been cut

    # The pair frame: person p_idx x candidate row c_idx (positions in ``cands``).
    has_q = person_q >= 0
    q_safe = np.maximum(person_q, 0)
    n_per_person = np.where(has_q, per_query[q_safe] if n_queries else 0, 0)
    first_pair = np.cumsum(n_per_person) - n_per_person
    p_idx = np.repeat(np.arange(n_persons), n_per_person)
    within = np.arange(len(p_idx)) - first_pair[p_idx]
    c_idx = cand_rows[starts[person_q[p_idx]] + within] if len(p_idx) else np.zeros(0, np.int64)

    rtype = persons["record_type"].astype(object).to_numpy()
    is_birth = (rtype == model.RecordType.BIRTH.value)[p_idx]
    is_death = (rtype == model.RecordType.DEATH.value)[p_idx]
    is_marriage = (rtype == model.RecordType.MARRIAGE.value)[p_idx]

    # Registers only return the same sex; a stray other-sex row is no candidate at all.
    p_sex = _codes_of(persons["sex"], _SEX)
    c_sex = _codes_of(cands["gioi_tinh"], _SEX)
    same_sex = (p_sex[p_idx] >= 0) & (p_sex[p_idx] == c_sex[c_idx])

    names = _encode_names(
        persons["full_name"],
        _col(persons, "mother_name"),
        _col(persons, "father_name"),
        cands["ho_ten"],
        _col(cands, "ho_ten_me"),
        _col(cands, "ho_ten_cha"),
    )
    pe, _, _, ce, _, _ = names.exact
    pf, pm, pfa, cf, cm, cfa = names.fold
    vocab, lengths = names.vocab, names.lengths

    # Name level.
    a, b = pf[p_idx], cf[c_idx]
    slip = _slip_distance(vocab, lengths, a, b) == 1
    name_lvl = np.full(len(p_idx), _LVL_NONE, dtype=np.int8)
    name_lvl[slip] = _LVL_SLIP
    name_lvl[(a >= 0) & (a == b)] = _LVL_FOLDED
    name_lvl[(pe[p_idx] >= 0) & (pe[p_idx] == ce[c_idx])] = _LVL_EXACT

    # Date level.
    dob, year, year_only = _dob_parts(persons)
    reg_dob = _parse_iso(cands["ngay_sinh"])
    sy, sm, sd = date_parts(dob)
    ry, rm, rd = date_parts(reg_dob)
    p_full = ~year_only & ~np.isnat(dob)
    equal_full = p_full[p_idx] & (dob[p_idx] == reg_dob[c_idx])
    agrees = equal_full | (year_only[p_idx] & (year[p_idx] == ry[c_idx]))
    # Day and month swapped: only a real, different date. day == month swaps to itself;
    # rm == sd with rm a valid month is what makes the swapped date valid.
    swapped = (
        (p_full & (sd != sm))[p_idx]
        & (sy[p_idx] == ry[c_idx])
        & (sd[p_idx] == rm[c_idx])
        & (sm[p_idx] == rd[c_idx])
    )
    date_lvl = np.where(agrees, _DATE_AGREE, np.where(swapped, _DATE_SWAP, _DATE_NONE))

    # Parents (births): folded names at most one slip apart, where both sides give them.
    mother = _slip_distance(vocab, lengths, pm[p_idx], cm[c_idx], where=is_birth)
    father = _slip_distance(vocab, lengths, pfa[p_idx], cfa[c_idx], where=is_birth)
    mother_agrees, mother_contra = (mother == 0) | (mother == 1), mother == 2
    father_contra = father == 2

    status = _codes_of(cands["trang_thai"], {ALIVE: 0, DEAD: 1})[c_idx]
    alive, dead = status == 0, status == 1
    reg_death = _parse_iso(_col(cands, "ngay_chet"))[c_idx]
    death_date = _days(_col(persons, "death_date"))[p_idx]
    registered = _days(_col(persons, "registration_date"))[p_idx]
    both_deaths = ~np.isnat(reg_death) & ~np.isnat(death_date)
    died_before_registration = (
        ~np.isnat(reg_death) & ~np.isnat(registered) & (reg_death < registered)
    )

    excluded = (
        (is_birth & (mother_contra | father_contra))
        | (is_death & alive)
        | (is_death & dead & both_deaths & (reg_death != death_date))
        | ((is_birth | is_marriage) & died_before_registration)
    )
    corroborated = (is_birth & mother_agrees & ~father_contra) | (
        is_death & dead & both_deaths & (reg_death == death_date)
    )
    fits = (
        same_sex
        & ~excluded
        & (
            ((name_lvl == _LVL_EXACT) & agrees)
            | (
                corroborated
                & (
                    ((name_lvl == _LVL_FOLDED) & agrees)
                    | ((name_lvl == _LVL_SLIP) & equal_full)
                    | ((name_lvl <= _LVL_FOLDED) & swapped)
                )
            )
        )
    )
    rank = np.where(
        fits,
        (~corroborated).astype(np.int64) * 100 + name_lvl.astype(np.int64) * 10 + date_lvl,
        _NO_RANK,
    )

    # Best rank per person (pairs are grouped by person) and how many hold it.
    best = np.full(n_persons, _NO_RANK, dtype=np.int64)
    with_pairs = np.flatnonzero(n_per_person)
    if len(with_pairs):
        best[with_pairs] = np.minimum.reduceat(rank, first_pair[with_pairs])
    holds_best = fits & (rank == best[p_idx])
    n_best = np.bincount(p_idx[holds_best], minlength=n_persons)
    person_cut = has_q & (cut[q_safe] if n_queries else False)
    ambiguous = person_cut | (n_best >= 2)
    linked = ~ambiguous & (n_best == 1)
    none = ~ambiguous & ~linked

    # The linked pair of each linked person.
    link_pair = np.flatnonzero(holds_best & linked[p_idx])
    link_person, link_row = p_idx[link_pair], c_idx[link_pair]
    lvl_of = np.full(n_persons, _LVL_NONE, dtype=np.int8)
    lvl_of[link_person] = name_lvl[link_pair]
    dlvl_of = np.full(n_persons, _DATE_NONE, dtype=np.int64)
    dlvl_of[link_person] = date_lvl[link_pair]
    corr_of = np.zeros(n_persons, dtype=bool)
    corr_of[link_person] = corroborated[link_pair]
    loaded_id = np.full(n_persons, None, dtype=object)
    loaded_id[link_person] = cands["so_dinh_danh"].take(link_row).to_numpy(dtype=object)
    diacritics = linked & (lvl_of == _LVL_FOLDED)
    loaded_name = persons["full_name"].to_numpy(dtype=object).copy()
    reg_name = np.full(n_persons, None, dtype=object)
    reg_name[link_person] = cands["ho_ten"].take(link_row).to_numpy(dtype=object)
    loaded_name[diacritics] = reg_name[diacritics]

    bits = (
        np.where(linked, _BIT[model.LINKED], 0)
        | np.where(ambiguous, _BIT[model.LINK_AMBIGUOUS], 0)
        | np.where(none, _BIT[model.LINK_NONE], 0)
        | np.where(diacritics, _BIT[model.NAME_DIACRITICS], 0)
    )
    corr_arr = pd.array(corr_of, dtype="boolean")
    corr_arr[~linked] = pd.NA
    verdicts = _verdict_frame(
        persons,
        bits,
        loaded_id,
        loaded_name,
        name_level=_NAME_LEVELS[lvl_of],
        date_level=_DATE_LEVELS[dlvl_of],
        corroborated=corr_arr,
    )

    # Candidates of ambiguous persons the record does not contradict, scored for humans.
    show = np.flatnonzero(ambiguous[p_idx] & same_sex & ~excluded)
    amb = _ambiguous_frame(
        persons,
        cands,
        show,
        p_idx,
        c_idx,
        vocab,
        (a, b, pm[p_idx], cm[c_idx], pfa[p_idx], cfa[c_idx]),
        name_lvl,
        date_lvl,
        corroborated,
        fits,
        holds_best,
        rank,
        (year[p_idx] == ry[c_idx]),
        is_birth,
    )
    return verdicts, amb


def _jw(vocab: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Jaro-Winkler similarity of folded names per pair (0 where a side is absent)."""
    out = np.zeros(len(a), dtype=np.float64)
    ok = (a >= 0) & (b >= 0)
    if ok.any():
        out[ok] = cpdist(
            vocab[a[ok]], vocab[b[ok]], scorer=JaroWinkler.normalized_similarity, workers=-1
        )
    return out


def _ambiguous_frame(
    persons: pd.DataFrame,
    cands: pd.DataFrame,
    show: np.ndarray,
    p_idx: np.ndarray,
    c_idx: np.ndarray,
    vocab: np.ndarray,
    folded: tuple[np.ndarray, ...],
    name_lvl: np.ndarray,
    date_lvl: np.ndarray,
    corroborated: np.ndarray,
    fits: np.ndarray,
    holds_best: np.ndarray,
    rank: np.ndarray,
    same_year: np.ndarray,
    is_birth: np.ndarray,
) -> pd.DataFrame:
    """The candidate list of ambiguous persons with a similarity score to order them.

    score = 0.6 x name (Jaro-Winkler on folded names) + 0.25 x date (1 agrees, 0.8 swapped,
    0.5 same year) + 0.15 x context (births: mean Jaro-Winkler of the parents both sides
    give; deaths: 1 when dead on the same date; else 0.5).
    """
    if not len(show):
        return _empty_ambiguous()
    a, b, ma, mb, fa, fb = (x[show] for x in folded)
    name_sim = _jw(vocab, a, b)
    date_sim = np.select(
        [date_lvl[show] == _DATE_AGREE, date_lvl[show] == _DATE_SWAP, same_year[show]],
        [1.0, 0.8, 0.5],
        0.0,
    )
    m_ok, f_ok = (ma >= 0) & (mb >= 0), (fa >= 0) & (fb >= 0)
    parents = (_jw(vocab, ma, mb) + _jw(vocab, fa, fb)) / np.maximum(m_ok + f_ok.astype(int), 1)
    context = np.where(
        is_birth[show] & (m_ok | f_ok), parents, np.where(corroborated[show], 1.0, 0.5)
    )
    score = np.round(0.6 * name_sim + 0.25 * date_sim + 0.15 * context, 4)
    rows = c_idx[show]
    frame = pd.DataFrame(
        {
            "_p": p_idx[show],
            "_fits": ~fits[show],
            "_rank": rank[show],
            "source_key": pd.Series(
                persons["source_key"].to_numpy(dtype=object)[p_idx[show]], dtype=object
            ),
            "role": pd.Series(persons["role"].to_numpy(dtype=object)[p_idx[show]], dtype=object),
            "candidate_order": 0,
            **{
                col: pd.Series(_col(cands, col).take(rows).to_numpy(dtype=object), dtype=object)
                for col in (
                    "so_dinh_danh",
                    "ho_ten",
                    "gioi_tinh",
                    "ngay_sinh",
                    "trang_thai",
                    "ngay_chet",
                )
            },
            "name_level": pd.Series(_NAME_LEVELS[name_lvl[show]], dtype=object),
            "date_level": pd.Series(_DATE_LEVELS[date_lvl[show]], dtype=object),
            "corroborated": corroborated[show],
            "fits": fits[show],
            "best": holds_best[show],
            "score": score,
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


def reconcile(persons: pd.DataFrame, register: RegisterLookup) -> ReconcileResult:
    """Reconcile persons (``PERSON_COLUMNS``, records that passed quarantine) with the
    register: one ``batch_get`` for all distinct IDs given, one ``match`` for all distinct
    queries of ID-less persons, then ``check_ids`` and ``link``.
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
    linked, ambiguous = link(without_id.assign(ref=refs), candidates)
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
    counters = {
        "persons": len(persons),
        "with_id": int(has_id.sum()),
        "without_id": int((~has_id).sum()),
        "ids_requested": len(ids),
        "ids_not_found": count(model.ID_NOT_FOUND, checked),
        "review": review,
        "queries": len(queries),
        "candidates": len(candidates),
        "linked": count(model.LINKED, linked),
        "link_ambiguous": count(model.LINK_AMBIGUOUS, linked),
        "link_none": count(model.LINK_NONE, linked),
        "name_diacritics": count(model.NAME_DIACRITICS, verdicts),
    }
    log.info("reconcile: %s", counters)  # counts only: no names or IDs in logs
    return ReconcileResult(verdicts, ambiguous, counters)


def merge_record_verdicts(person_verdicts: pd.DataFrame) -> pd.DataFrame:
    """One row per record from person verdicts (a marriage has two persons).

    ``reasons``: the union of the persons' codes, sorted by code point (C collation);
    ``status``: ``review`` when any review code is among them, else ``loaded``;
    ``personal_id``: the subject's loaded ID for a loaded birth or death, None otherwise
    (always for a marriage), as the ledger wants it.
    """
    cols = ["source_key", "reasons", "status", "personal_id"]
    if not len(person_verdicts):
        return pd.DataFrame(columns=cols)
    pv = person_verdicts.reset_index(drop=True)
    keys, key_uniques = pd.factorize(pv["source_key"].astype(object))
    exploded = pd.DataFrame({"k": keys, "code": pv["reasons"]}).explode("code").dropna()
    exploded = exploded.drop_duplicates()
    codes, code_uniques = pd.factorize(exploded["code"].astype(object))
    names = np.asarray(code_uniques, dtype=object).astype(str)
    if len(names) > 62:
        raise ValueError(f"{len(names)} distinct reason codes: more than a bit mask holds")
    # Bits in code point order (numpy compares str by code point, like C collation).
    order = np.argsort(names, kind="stable")
    bit_of_code = np.zeros(len(names), dtype=np.int64)
    bit_of_code[order] = np.int64(1) << np.arange(len(names), dtype=np.int64)
    mask = np.zeros(len(key_uniques), dtype=np.int64)
    if len(exploded):
        # Codes are unique per record after drop_duplicates, so the sum is the bitwise OR.
        summed = pd.Series(bit_of_code[codes]).groupby(exploded["k"].to_numpy()).sum()
        mask[summed.index.to_numpy()] = summed.to_numpy()
    uniq, inverse = np.unique(mask, return_inverse=True)
    sorted_names = names[order]
    tables = [tuple(str(c) for i, c in enumerate(sorted_names) if int(m) >> i & 1) for m in uniq]
    per_row = np.empty(len(tables), dtype=object)
    for i, entry in enumerate(tables):  # one per distinct set of codes (a handful)
        per_row[i] = entry
    reasons = list(map(list, per_row[inverse]))
    review = np.array([bool(model.REVIEW_CODES.intersection(t)) for t in tables], dtype=bool)
    review = review[inverse] if len(uniq) else np.zeros(0, dtype=bool)
    # The subject's ID of a loaded birth/death; None for marriages (no 'subject' role).
    subject = pv["role"].to_numpy(dtype=object) == model.ROLE_SUBJECT
    pid = np.full(len(key_uniques), None, dtype=object)
    pid[keys[subject]] = pv["loaded_personal_id"].to_numpy(dtype=object)[subject]
    pid[review] = None
    return pd.DataFrame(
        {
            "source_key": pd.Series(np.asarray(key_uniques, dtype=object), dtype=object),
            "reasons": pd.Series(reasons, dtype=object),
            "status": np.where(review, model.Status.REVIEW.value, model.Status.LOADED.value),
            "personal_id": pd.Series(pid, dtype=object),
        },
        columns=cols,
    )
