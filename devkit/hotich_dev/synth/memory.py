"""Keeping the generator's memory small: shared values, and freed memory handed back."""

from __future__ import annotations

import ctypes
import gc
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa


def release_memory() -> None:
    """Collect, and return the freed heap to the system.

    glibc keeps freed blocks for reuse and Arrow's memory pool keeps freed buffers, so
    without this a process's resident size stays at its highest point; the synthetic
    province runs several processes at once and their sum is what has to stay small.
    """
    gc.collect()
    pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def shared_objects(
    values: pd.Series | np.ndarray, convert: Callable[[Any], Any] | None = None
) -> np.ndarray:
    """``values`` as an object array in which equal values are one Python object.

    Missing values become None; ``convert`` maps each distinct value once. A column of
    a million names converted cell by cell holds a million string objects; this holds one
    per distinct name, and a pointer per row.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table = np.empty(len(uniques) + 1, dtype=object)
    items = np.asarray(uniques, dtype=object).tolist()
    table[1:] = [convert(u) for u in items] if convert else items
    return table[codes + 1]
