"""One registry mechanism for everything the config names: readers, models, estimators, losses,
splits, windowing variants, input measures, latent classifiers, preprocessing steps.

A :class:`Registry` maps a name to an object (a class, function or module). Looking up an unknown
name, or passing a parameter the object's signature does not take, raises
:class:`~myoflow.errors.ConfigError` with a message that lists what is known, so every "unknown
..., known: ..." message in the project is written once, here. The config schema's enums are checked
against the registries by a test (``tests/test_registry.py``).
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Generic, Iterator, Mapping, TypeVar

from .errors import ConfigError

T = TypeVar("T")

#: parameters a registered callable receives from the caller, never from the config
_CALLER_PARAMS = frozenset({"self", "input_shape", "n_classes"})


class Registry(Generic[T]):
    """Named objects of one kind (``kind`` appears in every error message).

    >>> LOSSES = Registry("loss")
    >>> @LOSSES.register("ce")
    ... def ce(logits, labels, *, label_smoothing=0.0): ...
    >>> LOSSES.get("ce") is ce
    True
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T] = {}

    # ---- registration ------------------------------------------------------------------------
    def register(self, name: str, obj: T | None = None):
        """Register ``obj`` as ``name``; without ``obj``, a decorator that registers what it wraps."""

        def add(target: T) -> T:
            if name in self._entries and self._entries[name] is not target:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = target
            return target

        return add if obj is None else add(obj)

    # ---- lookup ------------------------------------------------------------------------------
    def get(self, name: str) -> T:
        """The object registered as ``name``; an unknown name raises ConfigError listing the known."""
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise ConfigError(f"unknown {self.kind} {name!r}; known: {', '.join(self.names())}") from None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def items(self) -> list[tuple[str, T]]:
        return sorted(self._entries.items())

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)

    # ---- parameters --------------------------------------------------------------------------
    def parameters(self, name: str, exclude: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
        """Configurable parameters of ``name`` (keyword parameters of its signature) -> default.

        Parameters the caller supplies (``input_shape``, ``n_classes``, ``self``), positional-only
        ones and ``*args``/``**kwargs`` are not configurable. A parameter without a default maps to
        :data:`inspect.Parameter.empty`. A class whose ``__init__`` passes ``**kwargs`` on to its
        base takes the base's parameters too (its own defaults win), so a subclass that only
        reshapes its input need not copy the base's signature.
        """
        obj = self.get(name)
        skip = _CALLER_PARAMS | set(exclude)
        if not inspect.isclass(obj):
            return _keyword_params(obj, skip)
        found: dict[str, Any] = {}
        for cls in obj.__mro__:
            if "__init__" not in vars(cls):
                continue
            init = vars(cls)["__init__"]
            for key, default in _keyword_params(init, skip).items():
                found.setdefault(key, default)
            if not any(p.kind is p.VAR_KEYWORD for p in inspect.signature(init).parameters.values()):
                break
        return found

    def check_params(self, name: str, params: Mapping[str, Any], exclude=frozenset(),
                     where: str = "") -> dict[str, Any]:
        """``params`` as a dict, or ConfigError naming the unknown ones and the known parameters."""
        known = self.parameters(name, exclude)
        unknown = sorted(set(params) - set(known))
        if unknown:
            at = f"{where}: " if where else ""
            raise ConfigError(
                f"{at}unknown parameter(s) {', '.join(map(repr, unknown))} for {self.kind} {name!r}; "
                f"known parameters: {', '.join(sorted(known)) or '(none)'}"
            )
        return dict(params)

    def build(self, name: str, *args: Any, where: str = "", **params: Any) -> Any:
        """Call (instantiate) ``name`` with ``args`` and checked keyword ``params``."""
        factory: Callable[..., Any] = self.get(name)  # type: ignore[assignment]
        self.check_params(name, params, where=where)
        return factory(*args, **params)


def _keyword_params(target: Callable[..., Any], skip: set[str]) -> dict[str, Any]:
    """Keyword parameters of ``target``'s signature not in ``skip`` -> default."""
    return {
        p.name: p.default
        for p in inspect.signature(target).parameters.values()
        if p.name not in skip and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }
