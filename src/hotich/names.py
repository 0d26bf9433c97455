"""Names in the two forms the linkage compares: *exact* and *folded* (docs/ledger.md).

exact: NFC, lower case, runs of Unicode whitespace made one space, trimmed; folded: the
same with diacritics removed (NFD, combining marks dropped) and đ→d, which does not
decompose under NFD. The one implementation of both in the platform, vectorized over
Arrow; the register simulator uses it too. The synthetic province's oracle keeps its own,
on purpose, and a test runs both on the same edge cases (tests/unit/test_names.py).
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: Whitespace as the platform trims and collapses it in source text: Unicode's (on which
#: ``str.isspace``, ``re``'s ``\s`` and Arrow's utf8 functions agree), less the control
#: characters the contract forbids (U+000B, U+000C, U+001C-U+001F, U+0085): those must reach
#: validation as they are (``VALUE_INVALID``). Names compared by the linkage have passed
#: validation, so splitting them on Unicode whitespace (Arrow) is the same rule.
WHITESPACE = "".join(
    ch
    for ch in map(chr, range(0x3001))
    if ch.isspace() and not (ord(ch) < 0x20 and ch not in "\t\n\r" or 0x7F <= ord(ch) <= 0x9F)
)

_SPACE = pa.scalar(" ", pa.large_string())


def arrow_strings(values: object) -> pa.Array:
    """Values (a Series, array or sequence) as one Arrow large_string array, nulls for
    None/NaN; zero-copy when the Series is already Arrow-backed in one chunk.

    An Arrow-backed Series made by ``pd.concat`` (births, deaths and spouses in
    ``pipeline.persons_of``) holds several chunks, and Arrow gives it back as a
    ``ChunkedArray``: its chunks are combined, since callers need an ``Array``.
    """
    if isinstance(values, pd.Series) and isinstance(values.array, pd.arrays.ArrowStringArray):
        values = pa.array(values.array)  # a ChunkedArray when the Series has several chunks
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        return values.cast(pa.large_string())
    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    return pa.array(series.astype(object), type=pa.large_string(), from_pandas=True)


def keys_in(values: object, among: object) -> np.ndarray:
    """Which of ``values`` (text keys: a Series, array or sequence) are in ``among`` (any
    collection of text keys, a set too), as a NumPy bool array; a null is in nothing.

    Arrow's hash lookup. pandas' ``isin`` on an Arrow-backed string Series (pandas 3's
    default ``str``) builds one Arrow scalar per value of ``among`` in Python: with a
    district's keys as ``among``, the top self line of the load and reconcile tasks'
    profile (benchmarks/RESULTS.md, issue 16).
    """
    if isinstance(among, set | frozenset | dict):
        among = list(among)
    hit = pc.is_in(arrow_strings(values), value_set=arrow_strings(among), skip_nulls=True)
    return hit.fill_null(False).to_numpy(zero_copy_only=False)


def _fold_word(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("đ", "d")


def name_forms(values: object) -> tuple[pa.Array, pa.Array]:
    """The *exact* and *folded* forms of names (docs/ledger.md), nulls kept.

    exact: NFC, lower case, runs of whitespace made one space, trimmed; folded: the same
    with diacritics removed (NFD, combining marks dropped) and đ→d. Names are split on
    Unicode whitespace and each distinct *word* is normalized once in Python: names share
    a few thousand words, so this is far cheaper than normalizing each name. Word by word
    is equivalent, as neither NFC nor lower case acts across whitespace.
    """
    arr = arrow_strings(values)
    lists = pc.utf8_split_whitespace(arr)  # runs collapse; a leading/trailing run gives ''
    encoded = pc.dictionary_encode(pc.list_flatten(lists))
    words = encoded.dictionary.to_pylist()
    exact_words = [unicodedata.normalize("NFC", w).lower() for w in words]
    folded_words = [_fold_word(w) for w in exact_words]
    list_type = type(lists)
    out = []
    for forms in (exact_words, folded_words):
        taken = pa.array(forms, type=pa.large_string()).take(encoded.indices)
        rebuilt = list_type.from_arrays(lists.offsets, taken, mask=lists.is_null())
        joined = pc.utf8_trim(pc.binary_join(rebuilt, _SPACE), " ")
        if pc.any(pc.match_substring(joined, "  ")).as_py():
            # A word made only of combining marks folds to '': collapse its spaces.
            joined = pc.replace_substring_regex(joined, " {2,}", " ")
        out.append(joined)
    return out[0], out[1]


def exact_keys(values: object) -> pa.Array:
    """Names in the contract's *exact* form: NFC, lower case, whitespace runs → one space,
    trimmed. Vectorized; nulls stay null."""
    return name_forms(values)[0]


def fold_keys(values: object) -> pa.Array:
    """Names *folded* as the contract defines it: NFC, lower case, diacritics removed (NFD,
    combining marks dropped) with đ→d, whitespace runs → one space, trimmed."""
    return name_forms(values)[1]
