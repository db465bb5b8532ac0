"""The differential fuzzer: random programs give the same results on the engine and PyTorch."""

from __future__ import annotations

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from tests.engine.differential import HypothesisChooser, known_mismatch, run_program

pytestmark = pytest.mark.torch


def _check(data) -> None:
    run = run_program(HypothesisChooser(data))
    failure = run.failure
    if failure is None:
        event("match")
        return
    known = known_mismatch(failure)
    if known is not None:  # owned by a fix in flight; its regression test is an xfail
        event(f"known: {known}")
        return
    raise AssertionError(str(failure))


@settings(max_examples=400)
@given(st.data())
def test_random_programs_match_torch(data):
    _check(data)


@pytest.mark.slow
@settings(max_examples=5000)
@given(st.data())
def test_many_random_programs_match_torch(data):
    _check(data)
