"""Sequential, ModuleList and Residual."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator

from engine.nn.module import Module


class Sequential(Module):
    """Runs its modules one after another; indexable, sliceable and appendable."""

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), module)

    def forward(self, input):
        for module in self._modules.values():
            input = module(input)
        return input

    def __getitem__(self, index):
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))
        return items[_index(index, len(items), "Sequential")][1]

    def __setitem__(self, index: int, module: Module) -> None:
        name = list(self._modules)[_index(index, len(self._modules), "Sequential")]
        self.add_module(name, module)

    def __delitem__(self, index) -> None:
        names = list(self._modules)
        for name in (
            names[index]
            if isinstance(index, slice)
            else [names[_index(index, len(names), "Sequential")]]
        ):
            del self._modules[name]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> Sequential:
        self.add_module(str(len(self)), module)
        return self


class ModuleList(Module):
    """A list of modules whose parameters the parent sees."""

    def __init__(self, modules: Iterable[Module] | None = None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, index):
        values = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(values[index])
        return values[_index(index, len(values), "ModuleList")]

    def __setitem__(self, index: int, module: Module) -> None:
        self.add_module(str(_index(index, len(self), "ModuleList")), module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        values = list(self._modules.values())
        values.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(values):
            self.add_module(str(i), m)


class Residual(Module):
    """output = input + body(input): a skip connection around `body`.

    stepgrad's own layer (PyTorch has none); exported designs define it for PyTorch.
    """

    def __init__(self, *body: Module):
        super().__init__()
        if not body:
            raise ValueError("Residual: needs a body (one module, or several to run in sequence)")
        self.body = body[0] if len(body) == 1 else Sequential(*body)

    def forward(self, input):
        out = self.body(input)
        if tuple(out.shape) != tuple(input.shape):
            raise ValueError(
                f"Residual: the body's output {tuple(out.shape)} must have the shape of its input "
                f"{tuple(input.shape)} to be added to it"
            )
        return input + out


def _index(index: int, length: int, kind: str) -> int:
    if not -length <= index < length:
        raise IndexError(f"{kind}: index {index} is out of range for {length} modules")
    return index % length
