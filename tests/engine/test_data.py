"""engine.utils.data: datasets, samplers, collation, random_split and the DataLoader."""

from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np
import pytest

import engine
from engine.tensor import Tensor
from engine.utils.data import (
    ConcatDataset,
    DataLoader,
    Dataset,
    RandomSampler,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)


def arange_dataset(n: int = 10) -> TensorDataset:
    x = Tensor._make(np.arange(n * 2, dtype=np.float32).reshape(n, 2), False, None)
    y = Tensor._make(np.arange(n, dtype=np.int64), False, None)
    return TensorDataset(x, y)


class Squares(Dataset):
    """A plain map-style dataset: no fast path, samples of Python numbers."""

    def __init__(self, n: int):
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        return i, float(i) ** 2


def labels_of(loader) -> list[int]:
    return [int(v) for _, y in loader for v in y.tolist()]


class TestTensorDataset:
    def test_items_and_len(self):
        ds = arange_dataset(5)
        x, y = ds[3]
        assert len(ds) == 5
        assert x.tolist() == [6.0, 7.0] and int(y) == 3

    def test_mismatched_first_dims_name_the_sizes(self):
        with pytest.raises(ValueError, match=r"\[3, 4\]"):
            TensorDataset(engine.zeros(3, 2), engine.zeros(4))

    def test_rejects_non_tensors(self):
        with pytest.raises(TypeError, match="argument 1"):
            TensorDataset(engine.zeros(3), [1, 2, 3])

    def test_accepts_numpy_arrays(self):
        ds = TensorDataset(np.ones((3, 2), dtype=np.float32), np.arange(3))
        assert isinstance(ds[0][0], Tensor)

    def test_get_batch_fancy_indexes(self):
        x, y = arange_dataset(6).get_batch([4, 0, 4])
        assert x.tolist() == [[8.0, 9.0], [0.0, 1.0], [8.0, 9.0]]
        assert y.tolist() == [4, 0, 4]


class TestDataLoader:
    def test_batches_in_order(self):
        loader = DataLoader(arange_dataset(10), batch_size=4)
        batches = list(loader)
        assert [tuple(x.shape) for x, _ in batches] == [(4, 2), (4, 2), (2, 2)]
        assert labels_of(loader) == list(range(10))
        assert batches[0][1].dtype == engine.int64 and batches[0][0].dtype == engine.float32

    def test_len_with_and_without_drop_last(self):
        assert len(DataLoader(arange_dataset(10), batch_size=4)) == 3
        assert len(DataLoader(arange_dataset(10), batch_size=4, drop_last=True)) == 2
        assert len(DataLoader(arange_dataset(8), batch_size=4, drop_last=True)) == 2

    def test_drop_last_drops_the_short_batch(self):
        loader = DataLoader(arange_dataset(10), batch_size=4, drop_last=True)
        assert [len(y) for _, y in loader] == [4, 4]

    def test_shuffle_is_a_permutation_and_seeded(self):
        a = labels_of(DataLoader(arange_dataset(50), batch_size=8, shuffle=True, seed=3))
        b = labels_of(DataLoader(arange_dataset(50), batch_size=8, shuffle=True, seed=3))
        c = labels_of(DataLoader(arange_dataset(50), batch_size=8, shuffle=True, seed=4))
        assert sorted(a) == list(range(50))
        assert a == b and a != c and a != list(range(50))

    def test_each_epoch_draws_a_new_order(self):
        loader = DataLoader(arange_dataset(50), batch_size=8, shuffle=True, seed=0)
        assert labels_of(loader) != labels_of(loader)

    def test_generator_and_global_seed_give_reproducible_orders(self):
        def run(**kwargs):
            return labels_of(DataLoader(arange_dataset(30), batch_size=7, shuffle=True, **kwargs))

        gen_a = run(generator=engine.Generator().manual_seed(11))
        gen_b = run(generator=engine.Generator().manual_seed(11))
        engine.manual_seed(5)
        global_a = run()
        engine.manual_seed(5)
        global_b = run()
        assert gen_a == gen_b and global_a == global_b

    def test_fast_and_slow_paths_agree(self):
        ds = arange_dataset(9)
        fast = list(DataLoader(ds, batch_size=4, shuffle=True, seed=1))
        slow = list(DataLoader(ds, batch_size=4, shuffle=True, seed=1, collate_fn=default_collate))
        assert type(fast[0]) is type(slow[0]) is list
        for (fx, fy), (sx, sy) in zip(fast, slow, strict=True):
            assert fx.tolist() == sx.tolist() and fy.tolist() == sy.tolist()

    def test_fast_path_calls_get_batch_once_per_batch(self):
        calls = []

        class Counting(TensorDataset):
            def __getitem__(self, index):
                raise AssertionError("the fast path must not fetch sample by sample")

            def get_batch(self, indices):
                calls.append(list(indices))
                return super().get_batch(indices)

        ds = Counting(engine.zeros(10, 3), engine.zeros(10))
        assert len(list(DataLoader(ds, batch_size=4))) == 3
        assert calls == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]

    def test_plain_dataset_collates_python_numbers(self):
        i, sq = next(iter(DataLoader(Squares(5), batch_size=5)))
        # Python floats collate to float64, as in PyTorch
        assert i.dtype == engine.int64 and i.tolist() == [0, 1, 2, 3, 4]
        assert sq.dtype == engine.float64 and sq.tolist() == [0.0, 1.0, 4.0, 9.0, 16.0]

    def test_custom_collate_fn_gets_the_samples(self):
        loader = DataLoader(Squares(4), batch_size=2, collate_fn=lambda samples: samples)
        assert list(loader) == [[(0, 0.0), (1, 1.0)], [(2, 4.0), (3, 9.0)]]

    def test_pytorch_getitems_protocol_is_collated(self):
        class Batched(Squares):
            def __getitems__(self, indices):
                return [self[i] for i in indices]

        i, _ = next(iter(DataLoader(Batched(6), batch_size=3)))
        assert i.tolist() == [0, 1, 2]

    def test_batch_size_none_yields_samples(self):
        samples = list(DataLoader(Squares(3), batch_size=None))
        assert samples == [[0, 0.0], [1, 1.0], [2, 4.0]]  # tuples become lists, as in PyTorch

    def test_subset_uses_parent_fast_path(self):
        sub = Subset(arange_dataset(10), [9, 2, 5])
        x, y = next(iter(DataLoader(sub, batch_size=3)))
        assert y.tolist() == [9, 2, 5] and x.shape == (3, 2)

    def test_workers_and_pin_memory_are_accepted(self):
        loader = DataLoader(arange_dataset(4), batch_size=2, num_workers=2, pin_memory=True)
        assert len(list(loader)) == 2

    @pytest.mark.parametrize("bad", [0, -1, 2.5, True])
    def test_batch_size_must_be_positive_int(self, bad):
        with pytest.raises(ValueError, match=f"positive integer value, but got batch_size={bad}"):
            DataLoader(arange_dataset(4), batch_size=bad)

    def test_argument_conflicts(self):
        ds = arange_dataset(4)
        with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
            DataLoader(ds, sampler=RandomSampler(ds), shuffle=True)
        with pytest.raises(ValueError, match="generator or seed"):
            DataLoader(ds, shuffle=True, seed=1, generator=engine.Generator())
        with pytest.raises(ValueError, match="num_workers"):
            DataLoader(ds, num_workers=-1)
        with pytest.raises(ValueError, match="drop_last should be a boolean"):
            DataLoader(ds, drop_last="yes")


class TestDefaultCollate:
    def test_tuples_become_lists_of_stacked_tensors(self):
        batch = default_collate(
            [(np.zeros((2, 2), np.float32), 1), (np.ones((2, 2), np.float32), 2)]
        )
        assert isinstance(batch, list) and batch[0].shape == (2, 2, 2)
        assert batch[0].dtype == engine.float32 and batch[1].tolist() == [1, 2]

    def test_dicts_keep_keys_type_and_order(self):
        samples = [OrderedDict(b=i, a=float(i), name=f"s{i}") for i in range(3)]
        batch = default_collate(samples)
        assert isinstance(batch, OrderedDict) and list(batch) == ["b", "a", "name"]
        assert batch["b"].tolist() == [0, 1, 2] and batch["a"].dtype == engine.float64
        assert batch["name"] == ["s0", "s1", "s2"]

    def test_nested_and_namedtuples(self):
        Point = namedtuple("Point", "x y")
        batch = default_collate([{"p": Point(1, 2.0), "v": [engine.ones(2), 3]} for _ in range(4)])
        assert isinstance(batch["p"], Point) and batch["p"].x.tolist() == [1, 1, 1, 1]
        assert batch["v"][0].shape == (4, 2) and batch["v"][1].tolist() == [3, 3, 3, 3]

    def test_strings_inside_a_sample_stay_the_tuple_zip_makes(self):
        batch = default_collate([(1, "u"), (2, "v")])
        assert batch[1] == ("u", "v") and isinstance(batch[1], tuple)
        assert default_collate(["a", "b"]) == ["a", "b"]
        assert default_collate([{"n": "a"}, {"n": "b"}])["n"] == ["a", "b"]

    def test_numpy_dtype_kept_and_bools(self):
        assert default_collate([np.int32(1), np.int32(2)]).dtype == engine.int32
        assert default_collate([True, False]).dtype == engine.bool

    def test_unequal_tensors_and_unknown_types_fail_clearly(self):
        with pytest.raises(RuntimeError, match="equal size"):
            default_collate([engine.zeros(2), engine.zeros(3)])
        with pytest.raises(TypeError, match="found <class 'object'>"):
            default_collate([object(), object()])


class TestRandomSplit:
    def test_int_lengths(self):
        parts = random_split(
            arange_dataset(10), [7, 3], generator=engine.Generator().manual_seed(0)
        )
        assert [len(p) for p in parts] == [7, 3]
        seen = sorted(int(p[i][1]) for p in parts for i in range(len(p)))
        assert seen == list(range(10))

    def test_fractions_hand_out_the_remainder(self):
        assert [len(p) for p in random_split(arange_dataset(10), [0.5, 0.3, 0.2])] == [5, 3, 2]
        assert [len(p) for p in random_split(arange_dataset(11), [0.5, 0.5])] == [6, 5]

    def test_seeded_split_is_reproducible(self):
        def split():
            return random_split(
                arange_dataset(20), [0.8, 0.2], generator=engine.Generator().manual_seed(7)
            )

        assert split()[1].indices == split()[1].indices

    def test_wrong_sum_names_both_numbers(self):
        with pytest.raises(ValueError, match=r"\(9\).*\(10\)"):
            random_split(arange_dataset(10), [5, 4])


def test_concat_dataset_and_add():
    both = arange_dataset(3) + arange_dataset(2)
    assert isinstance(both, ConcatDataset) and len(both) == 5
    assert int(both[3][1]) == 0 and int(both[-1][1]) == 1
    with pytest.raises(IndexError):
        both[5]


@pytest.mark.torch
@pytest.mark.parametrize(
    "n, lengths", [(10, [0.5, 0.3, 0.2]), (11, [0.5, 0.5]), (7, [0.1, 0.9]), (103, [0.7, 0.2, 0.1])]
)
def test_random_split_sizes_match_pytorch(n, lengths):
    import torch

    ours = [len(p) for p in random_split(arange_dataset(n), lengths)]
    theirs = [len(p) for p in torch.utils.data.random_split(range(n), lengths)]
    assert ours == theirs


@pytest.mark.torch
@pytest.mark.parametrize("n, batch_size, drop_last", [(10, 3, False), (10, 3, True), (9, 3, True)])
def test_loader_batch_sizes_match_pytorch(n, batch_size, drop_last):
    import torch

    ours = DataLoader(arange_dataset(n), batch_size=batch_size, drop_last=drop_last)
    theirs = torch.utils.data.DataLoader(range(n), batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    assert [len(y) for _, y in ours] == [len(b) for b in theirs]


# ----- empty datasets, as PyTorch treats them ---------------------------------
EMPTY_CASES = {
    # name: (what to do with the engine's or torch's utils.data module and an empty dataset)
    "RandomSampler": lambda data, ds: data.RandomSampler(ds),
    "RandomSampler with replacement": lambda data, ds: data.RandomSampler(ds, replacement=True),
    "RandomSampler num_samples=0": lambda data, ds: data.RandomSampler(ds, num_samples=0),
    "DataLoader shuffle": lambda data, ds: data.DataLoader(ds, batch_size=4, shuffle=True),
    "SequentialSampler": lambda data, ds: list(data.SequentialSampler(ds)),
    "SubsetRandomSampler": lambda data, ds: list(data.SubsetRandomSampler([])),
    "BatchSampler": lambda data, ds: list(data.BatchSampler(data.SequentialSampler(ds), 3, False)),
    "BatchSampler len": lambda data, ds: len(
        data.BatchSampler(data.SequentialSampler(ds), 3, True)
    ),
    "DataLoader": lambda data, ds: list(data.DataLoader(ds, batch_size=4)),
    "DataLoader len": lambda data, ds: len(data.DataLoader(ds, batch_size=4)),
    "DataLoader drop_last": lambda data, ds: list(data.DataLoader(ds, 4, drop_last=True)),
    "DataLoader batch_size=None": lambda data, ds: list(data.DataLoader(ds, batch_size=None)),
    "Subset": lambda data, ds: list(data.DataLoader(data.Subset(ds, []), batch_size=2)),
    "random_split": lambda data, ds: [len(s) for s in data.random_split(ds, [0, 0])],
    "ConcatDataset len": lambda data, ds: len(data.ConcatDataset([ds, ds])),
}


def _outcome(make, data, ds):
    """('ok', result) or ('raises', exception type name, message)."""
    try:
        return ("ok", make(data, ds))
    except Exception as err:
        return ("raises", type(err).__name__, str(err))


@pytest.mark.torch
@pytest.mark.parametrize("case", EMPTY_CASES)
def test_empty_datasets_behave_as_in_pytorch(case):
    import torch
    import torch.utils.data

    from engine.utils import data as ours

    empty = TensorDataset(engine.zeros(0, 2), engine.zeros(0))
    theirs = torch.utils.data.TensorDataset(torch.zeros(0, 2), torch.zeros(0))
    assert _outcome(EMPTY_CASES[case], ours, empty) == _outcome(
        EMPTY_CASES[case], torch.utils.data, theirs
    )


def test_random_sampler_on_an_empty_dataset_is_refused_up_front():
    with pytest.raises(ValueError, match="num_samples=0"):
        RandomSampler(arange_dataset(0))
    with pytest.raises(ValueError, match="num_samples=0"):
        DataLoader(arange_dataset(0), batch_size=2, shuffle=True)


@pytest.mark.parametrize("replacement", [False, True])
def test_random_sampler_over_a_dataset_emptied_later_says_so(replacement):
    # PyTorch divides by zero here (or fails in random_); a ValueError naming the cause is kinder
    shrinking = Squares(5)
    sampler = RandomSampler(shrinking, replacement=replacement, num_samples=3)
    shrinking.n = 0
    with pytest.raises(ValueError, match="cannot draw 3 samples from an empty data_source"):
        list(sampler)


def _builtin_error(fn) -> str:
    try:
        fn()
    except Exception as exc:
        return next(c.__name__ for c in type(exc).__mro__ if c.__module__ == "builtins")
    return "no error"


def _streams(lib):
    """What a reader sees of IterableDataset, ChainDataset, StackDataset in `lib`."""
    data = lib.utils.data

    class Stream(data.IterableDataset):
        def __init__(self, n, sized=False):
            self.n, self.sized = n, sized

        def __iter__(self):
            for i in range(self.n):
                yield lib.tensor([float(i)]), i % 2

        def __len__(self):
            if not self.sized:
                raise TypeError("a stream has no length")
            return self.n

    def show(batches):
        return [[b.tolist() if hasattr(b, "tolist") else b for b in batch] for batch in batches]

    out = {
        "batches": show(data.DataLoader(Stream(7), batch_size=3)),
        "drop_last": show(data.DataLoader(Stream(7), batch_size=3, drop_last=True)),
        "one_by_one": show(data.DataLoader(Stream(2), batch_size=None)),
        "len": len(data.DataLoader(Stream(7, sized=True), batch_size=3)),
        "len_drop": len(data.DataLoader(Stream(7, sized=True), batch_size=3, drop_last=True)),
        "len_unbatched": len(data.DataLoader(Stream(7, sized=True), batch_size=None)),
        "no_len": _builtin_error(lambda: len(data.DataLoader(Stream(7)))),
        "chain": [x.tolist() for x, _ in Stream(2) + Stream(3)],
        "chain_len": len(data.ChainDataset([Stream(2, True), Stream(3, True)])),
        "is_dataset": isinstance(Stream(1), data.Dataset),
        "worker": data.get_worker_info(),
        "stack": [v.tolist() for v in data.StackDataset(lib.arange(3), lib.arange(3) * 2)[1]],
        "stack_dict": {
            k: v.tolist()
            for k, v in next(
                iter(data.DataLoader(data.StackDataset(a=lib.arange(3), b=lib.ones(3)), 2))
            ).items()
        },
        "stack_len": len(data.StackDataset(a=[1, 2], b=[3, 4])),
    }
    for name, bad in {
        "shuffle": lambda: data.DataLoader(Stream(3), shuffle=True),
        "sampler": lambda: data.DataLoader(Stream(3), sampler=[0]),
        "batch_sampler": lambda: data.DataLoader(Stream(3), batch_sampler=[[0]]),
        "stack_sizes": lambda: data.StackDataset(lib.arange(3), [1]),
        "stack_none": lambda: data.StackDataset(),
        "stack_both": lambda: data.StackDataset([1], a=[1]),
    }.items():
        out["error_" + name] = _builtin_error(bad)
    return out


@pytest.mark.torch
def test_iterable_chain_and_stack_datasets_as_pytorch():
    torch = pytest.importorskip("torch")
    assert _streams(engine) == _streams(torch)


def test_pytorch_submodule_paths_reach_the_same_names():
    from engine.utils.data.dataloader import DataLoader as ViaLoader
    from engine.utils.data.dataloader import default_collate as via_collate
    from engine.utils.data.dataset import Subset as ViaSubset
    from engine.utils.data.sampler import SubsetRandomSampler

    assert ViaLoader is DataLoader and via_collate is default_collate and ViaSubset is Subset
    assert SubsetRandomSampler is engine.utils.data.SubsetRandomSampler
    assert engine.utils.data.sampler.BatchSampler is engine.utils.data.BatchSampler


def test_dataset_argument_errors_are_also_torchs_assertion_errors():
    for bad in (
        lambda: TensorDataset(engine.zeros(3), engine.zeros(4)),
        lambda: ConcatDataset([]),
    ):
        with pytest.raises(AssertionError):
            bad()
        with pytest.raises(ValueError):
            bad()
