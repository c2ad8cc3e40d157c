"""A search space over ``nndl train``'s options, and how a trial samples a point of it.

A space is written in a small TOML (or JSON) file, or with ``--param`` and ``--set`` on
the command line::

    [fixed]                          # nndl train options every trial gets
    epochs = 30
    layers = "784,{hidden},10"       # {name}: a sampled value put into the text

    [params]                         # what the sampler chooses
    eta = "log(0.05, 5)"             # a real number, uniform in log η
    lmbda = { low = 0.5, high = 20, log = true }     # the same, as a table
    hidden = "int(30, 200, 10)"      # a whole number in steps of 10
    batch_size = "choice(10, 20, 50)"

    [params.optimizer]               # a conditional choice: what a choice brings with it
    choices = ["sgd", "adam"]
    when.sgd = { eta = "log(0.05, 5)" }
    when.adam = { eta = "log(1e-4, 1e-2)", net = "dense({h}) relu softmax(10)" }

The forms are ``float(a, b)``, ``log(a, b)``, ``int(a, b[, step])``, ``logint(a, b)``,
``choice(x, y, ...)`` (and ``float(a, b, step)``).  A name is either an option of
``nndl train`` (``eta``, ``lmbda``, ``batch_size``, ``layers``, ``net``, ...: the
option without its dashes, ``-`` or ``_``), a *switch* (a choice with ``when``
branches, e.g. ``depth``), or a *placeholder*, a name used as ``{name}`` in the text of
another setting; a placeholder is sampled only when a trial's
settings use it, so ``net = "choice('dense({h}) ...', 'dense({h}) ... dense({h2}) ...')"``
samples ``h2`` only for the deeper net.  A parameter inside ``when.X`` is sampled only
in the trials whose choice is X, under the name ``param[choice=X]``.

Sampling is define-by-run (Optuna's style): :meth:`Space.sample` asks the trial for each
value as it goes, so the samplers see exactly the parameters a trial used.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from nndl.errors import NndlError

#: ``nndl train`` options the sweep sets itself (a trial's output, its log, its quietness).
MANAGED = ("out", "checkpoint", "resume", "json", "quiet", "list_presets")
_FORM = re.compile(r"^\s*(float|log|int|logint|choice)\s*\((.*)\)\s*$", re.S)
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def train_options() -> set[str]:
    """The settings of ``nndl train`` a search space may name."""
    from nndl.cli.train_cmd import DEFAULTS

    return set(DEFAULTS) | {"preset"}


@dataclass
class Param:
    """One sampled value: a range (``kind`` float or int, maybe on a log scale, maybe in steps)
    or a choice among ``choices`` (each of which may bring parameters of its own, ``when``)."""

    name: str
    kind: str                                  # "float", "int" or "categorical"
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: list = field(default_factory=list)
    when: dict = field(default_factory=dict)   # str(choice) -> {name: Param or fixed value}

    def suggest(self, trial, qualified: str):
        """The value of this parameter in ``trial`` (an Optuna trial), under Optuna's name ``qualified``."""
        if self.kind == "categorical":
            return trial.suggest_categorical(qualified, self.choices)
        if self.kind == "int":
            return trial.suggest_int(qualified, int(self.low), int(self.high), step=int(self.step or 1), log=self.log)
        return trial.suggest_float(qualified, self.low, self.high, step=self.step, log=self.log)

    def grid(self) -> list:
        """Every value of this parameter, for the grid sampler (a range needs a step)."""
        if self.kind == "categorical":
            return list(self.choices)
        if self.step is None and self.kind == "float" or self.log:
            raise NndlError(f"search space: the grid sampler needs every range in steps; {self.name} is "
                            f"{self.describe()} (write e.g. float(0.1, 1.0, 0.1), int(30, 100, 10) or a choice)")
        count = int(math.floor((self.high - self.low) / (self.step or 1) + 1e-9)) + 1
        values = [self.low + k * (self.step or 1) for k in range(count)]
        return [int(v) for v in values] if self.kind == "int" else [round(v, 12) for v in values]

    def describe(self) -> str:
        if self.kind == "categorical":
            return "choice(" + ", ".join(map(repr, self.choices)) + ")"
        form = ("log" if self.kind == "float" else "logint") if self.log else self.kind
        step = f", {self.step:g}" if self.step is not None else ""
        return f"{form}({self.low:g}, {self.high:g}{step})"

    def as_json(self) -> dict:
        out = {"kind": self.kind, "low": self.low, "high": self.high, "log": self.log, "step": self.step,
               "choices": self.choices}
        if self.when:
            out["when"] = {k: {n: (p.as_json() if isinstance(p, Param) else p) for n, p in v.items()}
                           for k, v in self.when.items()}
        return out


@dataclass
class Space:
    """Fixed settings and sampled parameters (both keyed by option or placeholder name)."""

    fixed: dict
    params: dict
    source: str = "search space"

    # -- sampling ---------------------------------------------------------------------------------
    def sample(self, trial) -> dict:
        """The ``nndl train`` settings of one trial: the fixed ones, each sampled option, and the text
        of every setting with its ``{placeholders}`` filled in (each sampled when first used)."""
        settings, placeholders = {}, {}
        self._apply(self.fixed, "", trial, settings, placeholders)
        self._apply(self.params, "", trial, settings, placeholders)
        values: dict = {}

        def fill(text: str) -> str:
            def value(match):
                name = match.group(1)
                if name not in values:
                    if name not in placeholders:
                        raise NndlError(f"{self.source}: {{{name}}} is used but {name} is not in this trial's "
                                        f"parameters")
                    entry, qualified = placeholders[name]
                    values[name] = entry.suggest(trial, qualified) if isinstance(entry, Param) else entry
                    if isinstance(values[name], str):
                        values[name] = fill(values[name])
                return _text(values[name])
            return _PLACEHOLDER.sub(value, text)

        return {key: fill(value) if isinstance(value, str) else value for key, value in settings.items()}

    def _apply(self, entries: dict, qualifier: str, trial, settings: dict, placeholders: dict) -> None:
        options = train_options()
        for name, entry in entries.items():
            qualified = f"{name}[{qualifier}]" if qualifier else name
            switch = isinstance(entry, Param) and bool(entry.when)
            if name not in options and not switch:
                placeholders[name] = (entry, qualified)
                continue
            value = entry.suggest(trial, qualified) if isinstance(entry, Param) else entry
            if name in options:
                settings[name] = value
            else:
                placeholders[name] = (value, qualified)     # a switch: chooses a branch, and is usable as {name}
            if isinstance(entry, Param) and entry.when.get(_text(value)):
                inner = f"{qualifier},{name}={_text(value)}" if qualifier else f"{name}={_text(value)}"
                self._apply(entry.when[_text(value)], inner, trial, settings, placeholders)

    # -- what it is ---------------------------------------------------------------------------------
    def as_json(self) -> dict:
        return {"fixed": self.fixed,
                "params": {n: (p.as_json() if isinstance(p, Param) else p) for n, p in self.params.items()}}

    def signature(self) -> str:
        """A short hash of the space: a study keeps the one it was created with."""
        text = json.dumps(self.as_json(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def grid(self) -> dict:
        """Optuna's name -> every value, for the grid sampler."""
        out: dict = {}

        def walk(entries, qualifier):
            for name, entry in entries.items():
                if isinstance(entry, Param):
                    qualified = f"{name}[{qualifier}]" if qualifier else name
                    out[qualified] = entry.grid()
                    for choice, inner in entry.when.items():
                        walk(inner, f"{qualifier},{name}={choice}" if qualifier else f"{name}={choice}")
        walk(self.params, "")
        if not out:
            raise NndlError(f"{self.source}: nothing to search (no parameters)")
        return out


class FirstPoint:
    """A stand-in trial that answers every question with the low end of the range or the first choice
    (the point a sweep tries on ``nndl train`` before it starts)."""

    def suggest_categorical(self, name, choices):
        return choices[0]

    def suggest_int(self, name, low, high, step=1, log=False):
        return low

    def suggest_float(self, name, low, high, step=None, log=False):
        return low


def _text(value) -> str:
    """A value as it goes into a setting's text: ``30``, ``0.5``, ``relu``."""
    return str(value).lower() if isinstance(value, bool) else str(value)


# -- reading ----------------------------------------------------------------------------------------------
def load_space(path=None, params=(), fixed=()) -> Space:
    """The space of a TOML/JSON file (if any), with ``--param NAME=FORM`` and ``--set NAME=VALUE`` over it."""
    data: dict = {"fixed": {}, "params": {}}
    source = "search space"
    if path:
        data, source = _read_file(Path(path)), str(path)
    for text in fixed:
        name, value = _assignment(text, "--set")
        data.setdefault("fixed", {})[name] = _scalar(value)
    for text in params:
        name, value = _assignment(text, "--param")
        data.setdefault("params", {})[name] = value
    unknown = set(data) - {"fixed", "params"}
    if unknown:
        raise NndlError(f"{source}: unknown section {sorted(unknown)[0]!r}; a search space has [fixed] and [params]")
    for key in ("fixed", "params"):
        if not isinstance(data.get(key, {}), dict):
            raise NndlError(f"{source}: [{key}] must be a table of name = value")
    fixed_settings = {_name(n, source): _fixed_value(n, v, source) for n, v in data.get("fixed", {}).items()}
    parsed = {_name(n, source): parse_param(_name(n, source), v, source) for n, v in data.get("params", {}).items()}
    if not parsed:
        raise NndlError(f"{source}: no parameters to search; give [params] in the file or --param NAME=FORM")
    space = Space(fixed_settings, parsed, source)
    check_names(space)
    return space


def _read_file(path: Path) -> dict:
    if not path.is_file():
        raise NndlError(f"--space {path}: no such file")
    text = path.read_text(encoding="utf-8")
    if len(text) > 1_000_000:
        raise NndlError(f"--space {path}: {len(text)} characters; a search space is a small file")
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import tomllib

            data = tomllib.loads(text)
    except (ValueError, json.JSONDecodeError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        raise NndlError(f"--space {path}: not valid {kind}: {' '.join(str(exc).split())}") from None
    if not isinstance(data, dict):
        raise NndlError(f"--space {path}: the file must hold a table with [fixed] and [params]")
    return data


def _assignment(text: str, option: str) -> tuple[str, str]:
    name, sep, value = str(text).partition("=")
    if not sep or not name.strip():
        raise NndlError(f"{option} {text!r}: write NAME=VALUE, e.g. {option} eta=log(0.01,1)")
    return name.strip(), value.strip()


def _scalar(text: str):
    """A command-line value as a number or a flag where it is one."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _name(name: str, source: str) -> str:
    clean = str(name).strip().lstrip("-").replace("-", "_")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", clean):
        raise NndlError(f"{source}: {name!r} is not a name (letters, digits and _)")
    if clean in MANAGED:
        raise NndlError(f"{source}: {clean} is set by the sweep for each trial; leave it out of the search space")
    return clean


def _fixed_value(name, value, source):
    if not isinstance(value, (str, int, float, bool)):
        raise NndlError(f"{source}: fixed setting {name} must be a string, number or true/false, got {value!r}")
    return value


def parse_param(name: str, value, source: str) -> Param:
    """A parameter from its form (``"log(0.01, 1)"``) or table (``{low=, high=, log=, step=}`` or ``{choices=}``)."""
    where = f"{source}: parameter {name}"
    if isinstance(value, str):
        match = _FORM.match(value)
        if not match:
            raise NndlError(f"{where} = {value!r}: write float(a,b), log(a,b), int(a,b[,step]), logint(a,b) or "
                            f"choice(x,y,...)")
        form, inside = match.groups()
        items = _arguments(inside, where)
        if form == "choice":
            return _choice(name, items, {}, where)
        if len(items) not in (2, 3) or (form in ("log", "logint") and len(items) != 2):
            raise NndlError(f"{where} = {value!r}: {form}() takes a low and a high end"
                            f"{'' if form in ('log', 'logint') else ' and maybe a step'}")
        kind = "int" if form in ("int", "logint") else "float"
        return _range(name, kind, items[0], items[1], form in ("log", "logint"), items[2] if len(items) == 3 else None,
                      where)
    if isinstance(value, dict):
        unknown = set(value) - {"low", "high", "log", "step", "choices", "when", "int"}
        if unknown:
            raise NndlError(f"{where}: unknown key {sorted(unknown)[0]!r} (use low, high, log, step, or choices "
                            f"and when)")
        if "choices" in value:
            return _choice(name, value["choices"], value.get("when", {}), where)
        if "when" in value:
            raise NndlError(f"{where}: 'when' goes with 'choices'")
        if "low" not in value or "high" not in value:
            raise NndlError(f"{where}: a range needs low and high (or give choices)")
        numbers = [value["low"], value["high"]] + ([value["step"]] if value.get("step") is not None else [])
        whole = value.get("int", all(isinstance(v, int) and not isinstance(v, bool) for v in numbers))
        return _range(name, "int" if whole else "float", value["low"], value["high"], bool(value.get("log", False)),
                      value.get("step"), where)
    if isinstance(value, list):
        return _choice(name, value, {}, where)
    raise NndlError(f"{where}: write a range like log(0.01, 1), a table or a list of choices, not {value!r}")


def _arguments(inside: str, where: str) -> list:
    try:
        items = json.loads("[" + inside.replace("'", '"') + "]")
    except json.JSONDecodeError:
        items = [_scalar(part.strip()) for part in inside.split(",")]
    if any(isinstance(item, (list, dict)) or item is None for item in items):
        raise NndlError(f"{where}: values must be numbers, strings or true/false")
    return items


def _number(value, what: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise NndlError(f"{where}: {what} must be a finite number, got {value!r}")
    return value


def _range(name, kind, low, high, log, step, where) -> Param:
    low, high = _number(low, "low", where), _number(high, "high", where)
    if not low < high:
        raise NndlError(f"{where}: empty range: low {low:g} is not below high {high:g}")
    if log and low <= 0:
        raise NndlError(f"{where}: a log range must start above 0, got low {low:g}")
    if step is not None:
        step = _number(step, "step", where)
        if step <= 0 or step > high - low:
            raise NndlError(f"{where}: step {step:g} must be above 0 and at most high - low = {high - low:g}")
        if log:
            raise NndlError(f"{where}: a range has either a step or a log scale, not both")
    if kind == "int":
        if any(float(v) != int(v) for v in (low, high) + ((step,) if step is not None else ())):
            raise NndlError(f"{where}: int() needs whole numbers, got {low:g}, {high:g}")
        low, high, step = int(low), int(high), None if step is None else int(step)
    return Param(name, kind, float(low) if kind == "float" else low, float(high) if kind == "float" else high,
                 log, step)


def _choice(name, choices, when, where) -> Param:
    if not isinstance(choices, list) or not choices:
        raise NndlError(f"{where}: empty choice; list at least one value")
    if any(not isinstance(c, (str, int, float, bool)) for c in choices):
        raise NndlError(f"{where}: choices must be numbers, strings or true/false")
    if len({_text(c) for c in choices}) != len(choices):
        raise NndlError(f"{where}: a choice is listed twice")
    if not isinstance(when, dict):
        raise NndlError(f"{where}: 'when' must be a table choice = {{name = ...}}")
    texts = {_text(c) for c in choices}
    branches = {}
    for key, entries in when.items():
        if str(key) not in texts:
            raise NndlError(f"{where}: when.{key} names no choice (the choices are {', '.join(sorted(texts))})")
        if not isinstance(entries, dict):
            raise NndlError(f"{where}: when.{key} must be a table of name = value")
        branch = {}
        for inner, value in entries.items():
            inner = _name(inner, where)
            branch[inner] = parse_param(inner, value, f"{where} when {key}") if _is_param(value) else \
                _fixed_value(inner, value, where)
        branches[str(key)] = branch
    return Param(name, "categorical", choices=list(choices), when=branches)


def _is_param(value) -> bool:
    return isinstance(value, (dict, list)) or (isinstance(value, str) and bool(_FORM.match(value)))


def check_names(space: Space) -> None:
    """One line for a name that is neither an option of ``nndl train`` nor a placeholder some text uses,
    and for a placeholder that nothing defines."""
    options = train_options()
    names, texts = [], []

    def walk(entries):
        for name, entry in entries.items():
            names.append(name)
            if isinstance(entry, str):
                texts.append(entry)
            if isinstance(entry, Param):
                texts.extend(c for c in entry.choices if isinstance(c, str))
                for inner in entry.when.values():
                    walk(inner)
    walk(space.fixed)
    walk(space.params)
    used = {m for text in texts for m in _PLACEHOLDER.findall(text)}
    switches = {n for n, e in space.params.items() if isinstance(e, Param) and e.when}
    for name in names:
        if name not in options and name not in used and name not in switches:
            close = difflib.get_close_matches(name, sorted(options), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise NndlError(f"{space.source}: unknown option {name!r}: not an option of nndl train{hint}, and no "
                            f"setting uses it as {{{name}}}")
    for name in sorted(used - set(names)):
        raise NndlError(f"{space.source}: {{{name}}} is used in a setting but no parameter or fixed value is named "
                        f"{name}")
