"""`common.metrics` stays light for COCO-only users: torch and scipy load only with the metrics needing them."""

from __future__ import annotations

import subprocess
import sys

import common.metrics


def test_coco_only_import_loads_neither_torch_nor_scipy() -> None:
    code = ("import sys; from common.metrics import coco_keypoint_eval, mpjpe, mpii_pckh, aggregate; "
            "heavy = [m for m in ('torch', 'scipy') if m in sys.modules]; print(heavy); "
            "import numpy as np; from common.metrics import pa_mpjpe; "
            "pa_mpjpe(np.ones((1, 4, 3)), np.ones((1, 4, 3))); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["[]", "True"]


def test_every_exported_name_resolves() -> None:
    missing = [name for name in common.metrics.__all__ if not hasattr(common.metrics, name)]
    assert not missing and set(common.metrics.__all__) <= set(dir(common.metrics))
