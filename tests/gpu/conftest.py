"""The ``device`` fixture of the GPU suite: each test taking it runs against the NumPy
stand-in, the stand-in with a stand-in cuDNN, and the real GPU backend (skipped, with the
reason, without CuPy or a CUDA device); see gpu_support.py."""

import pytest

from gpu_support import DEVICES, make_backend


@pytest.fixture(params=DEVICES)
def device(request):
    """A fresh GPU backend per test (the real one is shared)."""
    return make_backend(request.param)
