"""Run the function and class definitions of a notebook's paired .py file, to test the notebook's
own code.

Notebooks write their models out in full (the model is the lesson), so tests take
the definitions from the notebook source instead of keeping copies that could drift.
Call :func:`notebook_functions` inside a fixture, never at import time: a notebook
that no longer defines a name, or whose definitions need a global the test did not
provide, then fails the tests that use it with a message naming what is missing,
and the rest of the module still runs.
"""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class _FreeNames(ast.NodeVisitor):
    """Names a set of definitions reads from the module's globals (not bound inside them)."""

    def __init__(self):
        self.free: set[str] = set()
        self.scopes: list[set[str]] = []

    @staticmethod
    def _bound(node) -> set[str]:
        bound = set()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            a = node.args
            bound |= {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs}
            bound |= {x.arg for x in (a.vararg, a.kwarg) if x is not None}
        for sub in ast.walk(node):
            if sub is node:
                continue
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del)):
                bound.add(sub.id)
            elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound.add(sub.name)
            elif isinstance(sub, (ast.Import, ast.ImportFrom)):
                bound |= {(al.asname or al.name).split(".")[0] for al in sub.names}
            elif isinstance(sub, ast.ExceptHandler) and sub.name:
                bound.add(sub.name)
        return bound

    def _scoped(self, node, children):
        self.scopes.append(self._bound(node))
        for child in children:
            self.visit(child)
        self.scopes.pop()

    def visit_FunctionDef(self, node):
        kw_defaults = [d for d in node.args.kw_defaults if d]
        for expr in node.decorator_list + node.args.defaults + kw_defaults:
            self.visit(expr)
        for arg in node.args.posonlyargs + node.args.args + node.args.kwonlyargs:
            if arg.annotation is not None:
                self.visit(arg.annotation)
        self._scoped(node, node.body)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node):
        for expr in node.args.defaults:
            self.visit(expr)
        self._scoped(node, [node.body])

    def visit_ClassDef(self, node):
        for expr in node.decorator_list + node.bases + [k.value for k in node.keywords]:
            self.visit(expr)
        self._scoped(node, node.body)

    def _visit_comprehension(self, node):
        # a comprehension binds its targets in its own scope; its first iterable is read outside it
        bound = {sub.id for gen in node.generators for sub in ast.walk(gen.target)
                 if isinstance(sub, ast.Name)}
        self.visit(node.generators[0].iter)
        self.scopes.append(bound)
        for i, gen in enumerate(node.generators):
            if i:
                self.visit(gen.iter)
            for cond in gen.ifs:
                self.visit(cond)
        for expr in (node.key, node.value) if isinstance(node, ast.DictComp) else (node.elt,):
            self.visit(expr)
        self.scopes.pop()

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _visit_comprehension

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load) and not any(node.id in scope for scope in self.scopes):
            self.free.add(node.id)


def _defined_name(node) -> str:
    return node.targets[0].id if isinstance(node, ast.Assign) else node.name


def free_names(defs) -> set[str]:
    """The global names that the definitions ``defs`` (AST nodes) read, less builtins and each
    other."""
    finder = _FreeNames()
    for node in defs:
        finder.visit(node)
    return finder.free - {_defined_name(d) for d in defs} - set(dir(builtins))


def notebook_functions(relpath: str, names, namespace: dict) -> dict:
    """Execute the top-level functions, classes and assignments called ``names`` of
    ``ROOT/relpath`` in ``namespace``.

    Args:
        relpath: the notebook's paired .py file, relative to the repository root.
        names: the functions and classes to take.
        namespace: the globals they run with (modules, the notebook's ``config``, ...);
            it is filled with the definitions and returned.

    Raises:
        AssertionError: when the notebook no longer defines one of ``names``, or when
            the definitions read a global name that ``namespace`` does not provide
            (checked here, at extraction, instead of as a ``NameError`` later).
    """
    path = ROOT / relpath
    tree = ast.parse(path.read_text())
    defs = [node for node in tree.body
            if (isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in names)
            or (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id in names)]
    found = {_defined_name(d) for d in defs}
    assert found == set(names), f"{relpath} no longer defines {sorted(set(names) - found)}"
    missing = sorted(free_names(defs) - set(namespace))
    assert not missing, (
        f"{relpath}: {sorted(names)} read the global names {missing}, which the test does not "
        "provide; pass them in the namespace (e.g. the notebook's config) or make them arguments "
        "in the notebook"
    )
    exec(compile(ast.Module(body=defs, type_ignores=[]), str(path), "exec"), namespace)
    return namespace


def notebook_constant(relpath: str, name: str):
    """The value of a top-level constant ``name = <literal>`` of a notebook's .py file (e.g.
    ``NOTEBOOK``)."""
    tree = ast.parse((ROOT / relpath).read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name
                                                for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{relpath} defines no top-level constant {name}")


def notebook_config(relpath: str, *, scale: str = "quick"):
    """The notebook's ``config = genmod.Config(...)`` evaluated at ``scale``, with ``pick`` and
    literals only.

    Settings that need the notebook's data (e.g. ``len(x_train)``) are evaluated with
    ``x_train`` and ``x_test`` standing for the offline MNIST split sizes.
    """
    import os

    import genmod

    tree = ast.parse((ROOT / relpath).read_text())
    for node in ast.walk(tree):
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id == "config"):
            old = os.environ.get("GENMOD_SCALE")
            os.environ["GENMOD_SCALE"] = scale
            try:
                env = {"genmod": genmod, "pick": genmod.pick, "x_train": range(8000),
                       "x_test": range(2000)}
                return eval(compile(ast.Expression(node.value), relpath, "eval"), env)
            finally:
                if old is None:
                    os.environ.pop("GENMOD_SCALE")
                else:
                    os.environ["GENMOD_SCALE"] = old
    raise AssertionError(f"{relpath} builds no `config = genmod.Config(...)`")


def notebook_builder(relpath: str, name: str, namespace: dict):
    """The notebook's builder ``name`` (a checkpoint provenance's ``builder``), together with the
    notebook's own functions and classes that it uses (e.g. a network's blocks), from its .py."""
    tree = ast.parse((ROOT / relpath).read_text())
    defs = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    names = {name}
    while True:
        more = (free_names([defs[n] for n in names if n in defs]) - set(namespace)) & set(defs)
        if more <= names:
            break
        names |= more
    return notebook_functions(relpath, sorted(names), namespace)[name]
