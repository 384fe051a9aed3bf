"""Typing stub of the compiled turn-curve kernel (same functions as ``_turns_ref.py``)."""
from typing import Sequence

import numpy as np
import numpy.typing as npt

DUBINS_WORDS: tuple[str, ...]
SEGMENT_TINY: float

_F64 = npt.NDArray[np.float64]
_Pose = tuple[float, float, float]

def dubins_shortest(q0: _F64, q1: _F64, radius_m: float) -> tuple[_F64, npt.NDArray[np.int8], _F64]: ...
def dubins_one(start: Sequence[float], goal: Sequence[float], radius_m: float
               ) -> tuple[_Pose, float, int, tuple[float, float, float]]: ...
def sample_dubins(q0: Sequence[float], word: int, params: Sequence[float], radius_m: float,
                  step_m: float) -> _F64: ...
def sample_dubins_many(q0: _F64, words: npt.NDArray[np.int8], params: _F64, radius_m: float,
                       step_m: float) -> tuple[_F64, npt.NDArray[np.int64]]: ...
def dubins_end(q0: Sequence[float], word: int, params: Sequence[float], radius_m: float) -> _Pose: ...
