"""torch.backends and torch.accelerator as scripts probe them, against PyTorch's CPU build."""

from __future__ import annotations

import pytest

import engine

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


@pytest.mark.parametrize(
    "probe",
    [
        lambda t: t.backends.mps.is_available(),
        lambda t: t.backends.mps.is_built(),
        lambda t: t.backends.cudnn.is_available(),
        lambda t: t.backends.cudnn.version(),
        lambda t: t.accelerator.is_available(),
        lambda t: t.accelerator.current_accelerator(),
        lambda t: t.accelerator.device_count(),
        lambda t: t.cuda.is_available(),
    ],
)
def test_probes_answer_as_pytorch_without_a_gpu(probe, monkeypatch):
    monkeypatch.setattr(engine.backend, "is_cuda_available", lambda: False)
    assert probe(engine) == probe(torch)


def test_flags_a_script_sets_are_kept():
    engine.backends.cudnn.benchmark = True
    try:
        assert engine.backends.cudnn.benchmark is True
    finally:
        engine.backends.cudnn.benchmark = False
    assert engine.backends.cuda.matmul.allow_tf32 is torch.backends.cuda.matmul.allow_tf32
