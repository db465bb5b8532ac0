"""The fake CuPy keeps CuPy's rules: what breaks on a GPU breaks on it too."""

from __future__ import annotations

import numpy as np
import pytest

from tests.fake_cupy import IMPLICIT, cupy, cupyx


def device(*shape: int):
    return cupy.asarray(np.arange(np.prod(shape), dtype=np.float32).reshape(shape))


def test_implicit_conversion_to_numpy_raises_cupys_error():
    a = device(2, 3)
    for convert in (np.asarray, np.array, lambda x: np.float32(x), lambda x: np.zeros(6)[:] + x):
        with pytest.raises(TypeError, match="Implicit conversion|Unsupported type"):
            convert(a)
    with pytest.raises(TypeError, match=IMPLICIT.split(".")[0]):
        np.asarray(a)


@pytest.mark.parametrize(
    "mix",
    [
        lambda a, h: a + h,
        lambda a, h: h * a,
        lambda a, h: cupy.maximum(a, h),
        lambda a, h: cupy.concatenate([a, h]),
        lambda a, h: cupy.where(a > 0, a, h),
        lambda a, h: a.__setitem__(slice(None), h),
        lambda a, h: cupyx.scatter_add(a, 0, h[0]),
    ],
)
def test_mixing_with_numpy_arrays_raises_type_error(mix):
    with pytest.raises(TypeError, match="Unsupported type"):
        mix(device(2, 3), np.ones((2, 3), np.float32))


def test_results_stay_on_the_device_and_reductions_are_0d_arrays():
    a = device(2, 3)
    for out in (a + 1, np.exp(a), np.concatenate([a, a]), a.sum(), a[0, 1], a.max(axis=0)):
        assert isinstance(out, cupy.ndarray) and not isinstance(out, np.ndarray)
    assert a.sum().shape == () and float(a.sum()) == 15.0 and a[1, 2].item() == 5.0
    assert isinstance(cupy.linalg.norm(a), cupy.ndarray)


def test_host_data_crosses_only_as_copies():
    host = np.zeros(3, np.float32)
    a = cupy.asarray(host)
    host[0] = 1
    assert a[0].item() == 0.0  # asarray copied
    back = a.get()
    back[1] = 5
    assert cupy.asnumpy(a).tolist() == [0, 0, 0]  # get copied
    assert cupy.asarray(a) is a and type(back) is np.ndarray
    assert a[np.array([0, 2])].shape == (2,)  # a NumPy index is moved over, as CuPy does


def test_in_place_ops_views_and_out_keep_device_identity():
    a = device(2, 3)
    view = a[0]
    view += 10
    assert a[0, 0].item() == 10.0
    out = cupy.empty((2, 3), np.float32)
    assert cupy.add(a, 1, out=out) is out
    cupyx.scatter_add(a, (np.array([1, 1]),), cupy.ones((2, 3), np.float32))
    assert a[1].tolist() == [5.0, 6.0, 7.0]


def test_unsupported_dtypes_and_the_cuda_module():
    with pytest.raises(ValueError, match="Unsupported dtype"):
        cupy.asarray(np.array(["a"]))
    assert cupy.cuda.runtime.getDeviceCount() == 1
    cupy.cuda.Device().synchronize()
    erf = cupyx.scipy.special.erf(device(3))
    assert erf.dtype == np.float32 and erf[0].item() == 0.0
