"""Chumpy-free reading of the official SMPL, SMPL-H and MANO pickles (and our stand-ins).

The official files store some arrays (v_template, shapedirs, posedirs, weights, ...) as chumpy objects,
and chumpy does not install on Python >= 3.11. `read_model_pickle` unpickles with an allow-list: numpy
arrays, scipy sparse matrices, a few builtins, and the chumpy classes those files contain, which are
rebuilt here as plain numpy arrays from their pickled state (chumpy's `Ch.__getstate__` is its
`__dict__`: `x` for a leaf, `a` plus terms for reorderings). Any other global is refused.
Hand-written because no maintained library reads these files without chumpy.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse


class _ChumpyNode:
    """Stand-in for a pickled chumpy object: keeps its state dict; `value()` gives the numpy array."""

    state: dict[str, Any]

    def __setstate__(self, state: Any) -> None:
        self.state = state[0] if isinstance(state, tuple) else state

    def _term(self, name: str) -> np.ndarray:
        return to_array(self.state[name])

    def value(self) -> np.ndarray:
        """The array this object evaluates to."""
        raise NotImplementedError  # abstract: each chumpy class below rebuilds its own value


class _Ch(_ChumpyNode):
    """chumpy.ch.Ch: a leaf holding its array in `x`."""

    def value(self) -> np.ndarray:
        return self._term("x")


class _Select(_ChumpyNode):
    """chumpy.reordering.Select: a.ravel()[idxs], reshaped to preferred_shape when present."""

    def value(self) -> np.ndarray:
        out = self._term("a").ravel()[np.asarray(self.state["idxs"])].copy()
        shape = self.state.get("preferred_shape")
        return out if shape is None else out.reshape(shape)


class _Reshape(_ChumpyNode):
    """chumpy.reordering.Reshape: a.reshape(newshape)."""

    def value(self) -> np.ndarray:
        return self._term("a").reshape(self.state["newshape"])


class _Transpose(_ChumpyNode):
    """chumpy.reordering.transpose: np.transpose(a, axes)."""

    def value(self) -> np.ndarray:
        return np.ascontiguousarray(np.transpose(self._term("a"), self.state.get("axes")))


class _AtleastNd(_ChumpyNode):
    """chumpy.reordering.AtleastNd: x viewed with at least `ndims` dimensions."""

    def value(self) -> np.ndarray:
        grow = {1: np.atleast_1d, 2: np.atleast_2d, 3: np.atleast_3d}[int(self.state["ndims"])]
        return grow(self._term("x"))


class _Concatenate(_ChumpyNode):
    """chumpy.reordering.Concatenate: its dterms m0, m1, ... joined along `axis`."""

    def value(self) -> np.ndarray:
        return np.concatenate([self._term(name) for name in self.state["dterms"]], axis=self.state["axis"])


CHUMPY_CLASSES: dict[tuple[str, str], type[_ChumpyNode]] = {
    ("chumpy.ch", "Ch"): _Ch,
    ("chumpy.reordering", "Select"): _Select,
    ("chumpy.reordering", "Reshape"): _Reshape,
    ("chumpy.reordering", "transpose"): _Transpose,
    ("chumpy.reordering", "AtleastNd"): _AtleastNd,
    ("chumpy.reordering", "Concatenate"): _Concatenate,
}
"""The chumpy classes the official files contain (leaf arrays and reorderings of them), and their readers."""

_ALLOWED = {
    ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"), ("copy_reg", "_reconstructor"), ("copyreg", "_reconstructor"),
    ("__builtin__", "object"), ("builtins", "object"), ("__builtin__", "set"), ("builtins", "set"),
    ("__builtin__", "frozenset"), ("builtins", "frozenset"), ("collections", "OrderedDict"),
    ("_codecs", "encode"),  # how Python 3 writes bytes at protocols < 3
}
_SPARSE = {"csc_matrix", "csr_matrix", "coo_matrix"}


class _ModelUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the allow-listed globals (see module docstring)."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in CHUMPY_CLASSES:
            return CHUMPY_CLASSES[module, name]
        if module.startswith("scipy.sparse") and name in _SPARSE:
            return getattr(scipy.sparse, name)
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        kind = "chumpy class" if module.startswith("chumpy") else "global"
        raise pickle.UnpicklingError(
            f"{kind} {module}.{name} is not allowed in a body-model pickle (allowed: numpy arrays, scipy "
            f"sparse matrices and the chumpy classes {sorted(f'{m}.{n}' for m, n in CHUMPY_CLASSES)})")


def to_array(obj: Any) -> Any:
    """A chumpy node as its numpy array; anything else unchanged."""
    return obj.value() if isinstance(obj, _ChumpyNode) else obj


def read_model_pickle(path: str | Path) -> dict[str, Any]:
    """The dict stored in an SMPL / SMPL-H / MANO pickle (official or stand-in), chumpy arrays as numpy.

    Reads Python 2 pickles (latin1 strings) too. Sparse matrices (J_regressor) stay scipy.sparse, as smplx
    expects. Raises `pickle.UnpicklingError` for any global outside the allow-list.
    """
    with open(path, "rb") as f:
        data = _ModelUnpickler(f, encoding="latin1").load()
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a dict of model arrays, got {type(data).__name__}")
    return {key: to_array(value) for key, value in data.items()}
