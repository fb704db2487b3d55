"""Proves a firmware module's arithmetic stays in MicroPython's small ints (below 2**30).

On a 32-bit board any int of 2**30 or more is a heap object, and every float result
is one too, so the per-sample code of the barometer drivers must stay below that.
`checked_module(path)` compiles the module with every arithmetic result passed
through a `Tracker`, which fails on a float or a big int and records the largest
value seen.
"""

import ast

SMALL_INT = 1 << 30


class _Checked(ast.NodeTransformer):
    """Wraps every arithmetic result in _chk(...)."""

    def _wrap(self, node):
        self.generic_visit(node)
        return ast.copy_location(
            ast.Call(func=ast.Name(id="_chk", ctx=ast.Load()), args=[node], keywords=[]), node
        )

    visit_BinOp = _wrap
    visit_UnaryOp = _wrap

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        load = ast.parse(ast.unparse(node.target), mode="eval").body
        value = ast.BinOp(left=load, op=node.op, right=node.value)
        return ast.copy_location(ast.Assign(targets=[node.target], value=self._wrap(value)), node)


class Tracker:
    def __init__(self):
        self.count = 0
        self.largest = 0

    def __call__(self, value):
        assert not isinstance(value, float), "a float on the sample path: %r" % value
        if isinstance(value, int):
            assert -SMALL_INT < value < SMALL_INT, "intermediate %d is not a small int" % value
            self.count += 1
            self.largest = max(self.largest, abs(value))
        return value


def checked_module(path, tracker, name):
    """The module at `path` compiled with every arithmetic result checked by `tracker`;
    returns its namespace."""
    tree = _Checked().visit(ast.parse(path.read_text(), str(path)))
    ast.fix_missing_locations(tree)
    namespace = {"_chk": tracker, "__name__": name}
    exec(compile(tree, str(path), "exec"), namespace)
    return namespace
