"""Scoped solver defaults and presets: ``with dsla.config(method="cg", rtol=1e-10): ...``.

A :class:`config` sets the defaults of the solve keywords (``method``, ``precond``, ``rtol``,
``atol``, ``maxiter``, ``restart``, ``check_every``, ``ordering``, ``raise_on_failure``,
``history``, ``verbose``) for the code inside its ``with`` block (or the function it decorates):

- it is read by :func:`dsla.solve`, :class:`dsla.Solver`, ``SparseTensor.solve`` and
  :func:`dsla.distributed.solve` / :class:`dsla.distributed.Solver` (each takes the keys its
  signature has: a distributed solve has no ``ordering`` or ``verbose``);
- a keyword passed explicitly to those functions always wins, whatever its value (also
  ``maxiter=None``, which then means "the built-in default");
- scopes nest: an inner ``config`` overrides the keys it sets and inherits the others;
- scopes are thread-local (and follow ``contextvars``, so asyncio tasks keep their own): a new
  thread starts from the built-in defaults, and a scope in one thread never changes another.

Presets (:data:`dsla.presets`) name a method and preconditioner for a problem class and a
target: ``"spd-cpu"``, ``"general-gpu"``, ``"convection-direct"``, ... ``dsla.config("spd-gpu",
rtol=1e-10)`` applies one with keyword overrides; a preset sets ``method``, ``precond``,
``restart`` and ``ordering`` together, so an inner preset replaces the whole choice of
algorithm of an outer scope. The table is the C++ library's (``dsla::solve_presets``), the one the
command line's ``dsla solve --preset NAME`` reads.

``dsla.config()`` with no argument changes nothing; its repr (what the REPL prints) is the table
of settings in force in this thread and where each comes from.
"""
import contextlib
import contextvars
import functools
import inspect
import math
import operator
import threading
from collections.abc import Mapping

from . import _C
from ._util import as_float

# Solve keywords a config may set, in the order the table prints them.
KEYS = ("method", "precond", "rtol", "atol", "maxiter", "restart", "check_every", "ordering",
        "raise_on_failure", "history", "verbose")

# Every method name dsla.solve takes (aliases last) and the preconditioner kinds.
METHODS = ("auto", "cg", "bicgstab", "gmres", "fgmres", "minres", "lsqr", "lsmr", "cholesky",
           "ldlt", "lu")
METHOD_ALIASES = ("chol", "cholmod", "umfpack", "spsolve")
PRECONDS = ("auto", "none", "jacobi", "block_jacobi", "sgs", "ssor", "mc_sgs", "mc_ssor", "dilu",
            "asm", "chebyshev", "ic0", "ilu0", "amg")
ORDERINGS = ("auto", "amd", "metis", "natural", "nesdis", "nd")

# The scopes in force: a tuple of layers, innermost last; a layer maps key -> (value, source).
_layers = contextvars.ContextVar("dsla_config", default=())
# Built-in defaults, read from the signature of the first function decorated by configurable
# (dsla.solve): the signature is the one source of the defaults.
_builtin = {}
_readers = []


def _err(key, msg, exc=ValueError):
    return exc(f"dsla: argument '{key}': {msg}")


def _as_bool(key, v):
    if not isinstance(v, bool):
        raise _err(key, f"expected True or False, got {type(v).__name__} {v!r}", TypeError)
    return v


def _as_int(key, v, minimum, allow_none):
    if v is None and allow_none:
        return None
    if isinstance(v, bool):
        raise _err(key, "expected an integer, got a bool", TypeError)
    try:
        v = operator.index(v)
    except TypeError:
        what = "an integer or None" if allow_none else "an integer"
        raise _err(key, f"expected {what}, got {type(v).__name__} {v!r}", TypeError) from None
    if v < minimum:
        raise _err(key, f"must be >= {minimum}, got {v}")
    return v


def _as_tol(key, v):
    v = as_float(v, key, 0.0)
    if not math.isfinite(v):
        raise _err(key, f"must be a finite number >= 0, got {v}")
    return v


def _as_choice(key, v, choices, allow_none=False):
    if v is None and allow_none:
        return None
    if not isinstance(v, str):
        raise _err(key, f"expected a string, one of {', '.join(choices)}; got "
                   f"{type(v).__name__} {v!r}", TypeError)
    return v.lower()


def check_option(key, value):
    """``value`` for solve keyword ``key``, checked (and lower-cased for names), as a config
    stores it. Errors name the key and what it accepts."""
    if key == "method":
        v = _as_choice(key, value, METHODS)
        if v not in METHODS + METHOD_ALIASES:
            raise _err(key, f"unknown method {value!r}; use one of {', '.join(METHODS)}")
        return v
    if key == "precond":
        v = _as_choice(key, value, PRECONDS, allow_none=True)
        if v is not None:
            base, _, local = v.partition(":")
            ok = base in PRECONDS and (not local or (base == "block_jacobi"
                                                     and local in PRECONDS[1:]))
            if not ok:
                raise _err(key, f"unknown preconditioner {value!r}; use None or one of "
                           f"{', '.join(PRECONDS)} (distributed: 'block_jacobi:<kind>')")
        return v
    if key in ("rtol", "atol"):
        return _as_tol(key, value)
    if key == "maxiter":
        return _as_int(key, value, 0, allow_none=True)
    if key == "check_every":
        return _as_int(key, value, 1, allow_none=True)
    if key == "restart":
        return _as_int(key, value, 1, allow_none=False)
    if key == "ordering":
        v = _as_choice(key, value, ORDERINGS)
        if v not in ORDERINGS:
            raise _err(key, f"unknown ordering {value!r}; use one of {', '.join(ORDERINGS)}")
        return v
    if key in ("raise_on_failure", "history", "verbose"):
        return _as_bool(key, value)
    raise TypeError(f"dsla: dsla.config got an unexpected keyword argument {key!r}; it sets "
                    f"the solve keywords {', '.join(KEYS)} (and takes a preset name first)")


# ------------------------------------------------------------------------------ presets
class _Presets(Mapping):
    """The solver presets, read-only: ``dsla.presets["spd-cpu"]`` is a dict of the keywords
    the preset sets (``method``, ``precond``, ``restart``, ``ordering``), usable as
    ``dsla.solve(A, b, **dsla.presets["spd-cpu"])`` or through ``dsla.config("spd-cpu")``.
    Names are ``"<class>-<target>"``: class ``spd`` (symmetric / Hermitian positive definite),
    ``general`` (nonsymmetric, diffusion-like), ``indefinite`` (symmetric indefinite) or
    ``convection`` (convection-dominated); target ``cpu``, ``gpu`` (iterative, chosen for the
    device) or ``direct`` (sparse factorization: SuiteSparse on the CPU, cuDSS on CUDA).
    ``dsla.presets.description(name)`` says what a preset is; the repr lists them all."""

    def __init__(self):
        self._table = None

    def _load(self):
        if self._table is None:
            self._table = {p["name"]: p for p in _C.solve_presets()}
        return self._table

    def __getitem__(self, name):
        p = self._load().get(name) if isinstance(name, str) else None
        if p is None:
            raise KeyError(f"dsla: unknown preset {name!r}; use one of {', '.join(self)}")
        return {k: p[k] for k in ("method", "precond", "restart", "ordering")}

    def __iter__(self):
        return iter(self._load())

    def __len__(self):
        return len(self._load())

    def description(self, name):
        """What preset ``name`` is for and what it runs."""
        self[name]  # noqa: B018  (KeyError for an unknown name)
        return self._load()[name]["description"]

    def __repr__(self):
        rows = [f"  {name:<18} {p['description']}" for name, p in self._load().items()]
        return "dsla.presets:\n" + "\n".join(rows)


presets = _Presets()


def _preset_table_doc():
    """The table of presets for the docstring (from the C++ table, so the docs list what the
    build has)."""
    rows = [(p["name"], p["method"], p["precond"] if p["method"] not in ("cholesky", "ldlt", "lu")
             else "-", str(p["restart"]) if p["method"] in ("gmres", "fgmres") else "-",
             p["description"]) for p in _C.solve_presets()]
    head = ("name", "method", "precond", "restart", "what for")
    w = [max(len(r[i]) for r in rows + [head]) for i in range(5)]
    rule = " ".join("=" * x for x in w)
    fmt = " ".join("{:<%d}" % x for x in w)
    lines = [rule, fmt.format(*head), rule] + [fmt.format(*r) for r in rows] + [rule]
    return "\n".join("    " + ln.rstrip() for ln in lines)


_Presets.__doc__ += "\n\n" + _preset_table_doc() + "\n"


def _preset_layer(name):
    if not isinstance(name, str):
        raise _err("preset", f"expected a preset name (a string), got {type(name).__name__} "
                   f"{name!r}; keywords go by name: dsla.config(rtol=1e-10)", TypeError)
    if name.lower() not in presets:
        raise _err("preset", f"unknown preset {name!r}; use one of {', '.join(presets)}")
    name = name.lower()
    return {k: (check_option(k, v), f"preset {name!r}") for k, v in presets[name].items()}


# ------------------------------------------------------------------------------- scopes
def _lookup(layers, key):
    for layer in reversed(layers):
        if key in layer:
            return layer[key]
    return None


class config(contextlib.ContextDecorator):
    """Solver defaults for a block of code (or a decorated function), thread-local and nested::

        with dsla.config(method="cg", rtol=1e-10):
            x = dsla.solve(A, b)                    # CG to 1e-10
            y = dsla.solve(A, b, rtol=1e-6)         # an explicit keyword wins
            with dsla.config("spd-gpu"):            # a preset (dsla.presets), rtol still 1e-10
                z = dsla.solve(A.cuda(), b.cuda())

        @dsla.config("general-cpu", restart=80)
        def step(A, b):
            return dsla.solve(A, b)

        dsla.config()                               # prints the settings in force (repr)

    preset: a name of :data:`dsla.presets` (it sets ``method``, ``precond``, ``restart`` and
    ``ordering``); options: any of the solve keywords ``method``, ``precond``, ``rtol``,
    ``atol``, ``maxiter``, ``restart``, ``check_every``, ``ordering``, ``raise_on_failure``,
    ``history``, ``verbose``, checked here (a misspelt key or value fails at the ``with``
    statement, naming it). Keywords override the preset's. Read by :func:`dsla.solve`,
    :class:`dsla.Solver`, ``SparseTensor.solve`` and the distributed solve and Solver; see the
    module ``dsla._config`` for the rules (explicit keywords win; new threads start from the
    built-in defaults).
    """

    def __init__(self, preset=None, **options):
        layer = _preset_layer(preset) if preset is not None else {}
        given = {k: check_option(k, v) for k, v in options.items()}
        if given:
            src = "dsla.config(" + ", ".join(f"{k}={v!r}" for k, v in given.items()) + ")"
            layer.update({k: (v, src) for k, v in given.items()})
        self._layer = layer
        self._args = ([repr(preset.lower())] if preset is not None else []) + [
            f"{k}={v!r}" for k, v in given.items()]

    def __enter__(self):
        _layers.set(_layers.get() + (self._layer,))
        return self

    def __exit__(self, *exc):
        layers = _layers.get()
        if not layers or layers[-1] is not self._layer:
            raise RuntimeError("dsla: dsla.config scopes must be left in the order they were "
                               "entered (innermost first)")
        _layers.set(layers[:-1])
        return False

    @property
    def options(self):
        """The keywords this config sets (a preset's included), as a dict."""
        return {k: v for k, (v, _) in self._layer.items()}

    @staticmethod
    def current():
        """The solve defaults in force in this thread: a dict of every key (built-in defaults
        where no scope sets one)."""
        layers = _layers.get()
        out = {}
        for k in KEYS:
            hit = _lookup(layers, k)
            out[k] = hit[0] if hit is not None else _builtin.get(k)
        return out

    @staticmethod
    def table():
        """The settings in force in this thread, one line a key with its source."""
        layers = _layers.get()
        lines = [f"solve settings in force (thread {threading.current_thread().name!r}, "
                 f"{len(layers)} dsla.config scope{'' if len(layers) == 1 else 's'}):"]
        for k in KEYS:
            depth, hit = None, None
            for i in range(len(layers) - 1, -1, -1):
                if k in layers[i]:
                    depth, hit = i + 1, layers[i][k]
                    break
            if hit is None:
                lines.append(f"  {k:<17} {_builtin.get(k)!r:<12} built-in")
            else:
                lines.append(f"  {k:<17} {hit[0]!r:<12} {hit[1]} (scope {depth})")
        names = ", ".join(_readers) or "dsla.solve"
        lines.append(f"read by {names}; keywords passed explicitly win")
        return "\n".join(lines)

    def __repr__(self):
        head = f"dsla.config({', '.join(self._args)})"
        return head + "\n" + self.table()

    __str__ = __repr__


def configurable(f, name=None):
    """Decorates a solve function (or ``__init__``) so that its keywords in :data:`KEYS` that
    the call does not pass take the values of the config scopes in force. The signature (and so
    ``help()``) stays ``f``'s; its defaults are the built-in ones."""
    sig = inspect.signature(f)
    keys = tuple(k for k in KEYS if k in sig.parameters)
    for k in keys:
        _builtin.setdefault(k, sig.parameters[k].default)
    _readers.append(name or f"dsla.{f.__qualname__.replace('.__init__', '')}")

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        layers = _layers.get()
        if not layers:
            return f(*args, **kwargs)
        given = sig.bind_partial(*args, **kwargs).arguments
        filled = {}
        for k in keys:
            if k not in given:
                hit = _lookup(layers, k)
                if hit is not None:
                    kwargs[k] = hit[0]
                    filled[k] = hit
        if not filled:
            return f(*args, **kwargs)
        try:
            return f(*args, **kwargs)
        except (ValueError, TypeError, NotImplementedError) as e:
            # Say where a refused value came from: the caller never wrote it.
            msg = str(e)
            notes = [f"{k}={v!r} came from {src}" for k, (v, src) in filled.items()
                     if f"'{k}'" in msg or f"{v!r}" in msg]
            if notes and e.args and isinstance(e.args[0], str):
                e.args = (e.args[0] + " [" + "; ".join(notes) + "]",) + e.args[1:]
            raise

    return wrapper
