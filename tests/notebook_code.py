"""Run the function and class definitions of a notebook's paired .py file, to test the notebook's own code.

Notebooks write their models out in full (the model is the lesson), so tests take
the definitions from the notebook source instead of keeping copies that could drift.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def notebook_functions(relpath: str, names, namespace: dict) -> dict:
    """Execute the top-level functions and classes called ``names`` of ``ROOT/relpath`` in ``namespace``.

    Raises AssertionError when the notebook no longer defines one of them.
    """
    path = ROOT / relpath
    tree = ast.parse(path.read_text())
    defs = [node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in names]
    assert sorted(d.name for d in defs) == sorted(names), f"{relpath} no longer defines {sorted(names)}"
    exec(compile(ast.Module(body=defs, type_ignores=[]), str(path), "exec"), namespace)
    return namespace
