"""A tiny test harness that runs the same way on MicroPython 1.29 and CPython.

Test modules define top-level functions named ``test_*`` that take no
arguments. ``run(module_name)`` imports the module, runs every test in
definition order and prints one line per test::

    PASS test_name
    FAIL test_name: ValueError('boom',)
    <traceback from sys.print_exception>

followed by a final summary line ``N passed, M failed``. Anything a test
prints appears just before its PASS/FAIL line.

Helpers for the tests themselves:

* ``assert_raises(exc_type, fn, *args)`` -- fn(*args) must raise exc_type;
  returns the exception.
* ``no_alloc(fn, *args)`` -- fn must not allocate on the heap (checked with
  ``micropython.heap_lock()``).
* ``alloc_bytes(fn, *args)`` -- heap bytes allocated by one call (MicroPython
  only).

From a shell on CPython (the project root must be importable)::

    python tests/micropython/mptest.py tests/micropython/test_x.py [...]

The code sticks to what MicroPython supports: no typing, no dataclasses,
no f-strings, no traceback module at import time.
"""

import gc
import sys

try:
    import micropython
except ImportError:
    micropython = None

IS_MICROPYTHON = sys.implementation.name == "micropython"


def _print_exception(exc):
    if IS_MICROPYTHON:
        sys.print_exception(exc)
    else:
        import traceback

        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stdout)


def _fn_name(fn):
    try:
        return fn.__name__
    except AttributeError:
        return repr(fn)


def _call(fn, args):
    # ``fn(*args)`` builds a heap object on MicroPython (16 bytes for the
    # star-args call), which would make no_alloc/alloc_bytes blame the
    # function under test. Spelling out the common arities avoids that.
    n = len(args)
    if n == 0:
        return fn()
    if n == 1:
        return fn(args[0])
    if n == 2:
        return fn(args[0], args[1])
    if n == 3:
        return fn(args[0], args[1], args[2])
    if n == 4:
        return fn(args[0], args[1], args[2], args[3])
    if n == 5:
        return fn(args[0], args[1], args[2], args[3], args[4])
    if n == 6:
        return fn(args[0], args[1], args[2], args[3], args[4], args[5])
    return fn(*args)


# ---------------------------------------------------------------------------
# Helpers for test modules
# ---------------------------------------------------------------------------


def assert_raises(exc_type, fn, *args):
    """Call fn(*args) and require it to raise exc_type (or a subclass).

    Returns the exception so the caller can check its arguments.
    """
    try:
        _call(fn, args)
    except exc_type as exc:
        return exc
    raise AssertionError("%s did not raise %s" % (_fn_name(fn), exc_type.__name__))


def no_alloc(fn, *args):
    """Require that fn(*args) does not allocate on the heap.

    fn is called twice, on both interpreters: once to warm up (first calls
    may legitimately create caches), then once more with the MicroPython heap
    locked, where any allocation raises MemoryError. That MemoryError becomes
    an AssertionError naming the function. Returns the second call's result.

    Up to six positional arguments are passed without allocating. A function
    that raises any exception while the heap is locked is also reported as
    allocating: building the exception needs the heap. On CPython there is no
    heap lock, so this only checks that fn runs.
    """
    _call(fn, args)
    if micropython is None or not IS_MICROPYTHON:
        return _call(fn, args)
    gc.collect()
    try:
        micropython.heap_lock()
        try:
            result = _call(fn, args)
        finally:
            micropython.heap_unlock()
    except MemoryError:
        raise AssertionError(
            "%s allocated on the heap (MemoryError under micropython.heap_lock())" % _fn_name(fn)
        )
    return result


def alloc_bytes(fn, *args):
    """Return the heap bytes allocated by one call of fn(*args) (an int >= 0).

    Measured with gc.mem_alloc() before and after the call, with the GC
    disabled so a collection cannot hide allocations. The result is rounded to
    whole GC blocks (16 bytes on a 32-bit board). There is no warm-up call:
    call fn once beforehand if first-call costs should be excluded.
    Raises NotImplementedError on CPython, which has no gc.mem_alloc().
    """
    if not IS_MICROPYTHON or not hasattr(gc, "mem_alloc"):
        raise NotImplementedError("alloc_bytes needs MicroPython's gc.mem_alloc()")
    gc.collect()
    was_enabled = gc.isenabled() if hasattr(gc, "isenabled") else True
    gc.disable()
    try:
        before = gc.mem_alloc()
        _call(fn, args)
        after = gc.mem_alloc()
    finally:
        if was_enabled:
            gc.enable()
    return after - before


# ---------------------------------------------------------------------------
# Runner
# ---------------------------------------------------------------------------


def _import(module_name):
    module = __import__(module_name)
    # __import__("a.b") returns package a; walk down to the leaf module.
    for part in module_name.split(".")[1:]:
        module = getattr(module, part)
    return module


def _source_order(module):
    """Names of ``def test_*`` lines at column 0, in file order."""
    names = []
    path = getattr(module, "__file__", None)
    if not path:
        return names
    try:
        f = open(path)
    except OSError:
        return names
    try:
        for line in f:
            if line.startswith("def test_"):
                end = line.find("(")
                if end > 4:
                    names.append(line[4:end].strip())
    finally:
        f.close()
    return names


def _is_test(obj):
    return callable(obj) and not isinstance(obj, type)


def list_tests(module_name):
    """Return the test function names of a module, in definition order.

    Functions found in the source come first, in file order; any other
    callable ``test_*`` attribute (e.g. made by a loop) follows, sorted.
    """
    module = _import(module_name)
    attrs = module.__dict__
    names = []
    for name in _source_order(module):
        if name in attrs and _is_test(attrs[name]) and name not in names:
            names.append(name)
    extra = []
    for name in attrs:
        if name.startswith("test_") and name not in names and _is_test(attrs[name]):
            extra.append(name)
    extra.sort()
    return names + extra


def _heap_lock_depth():
    # heap_lock() returns nothing; heap_unlock() returns the depth left after
    # unlocking. Lock-then-unlock therefore reads the depth without changing it.
    if micropython is None or not hasattr(micropython, "heap_lock"):
        return 0
    micropython.heap_lock()
    return micropython.heap_unlock()


def _reset_heap_lock():
    depth = _heap_lock_depth()
    while depth > 0:
        depth = micropython.heap_unlock()


def run(module_name, only=None):
    """Run the tests of one module; print the results; return (passed, failed).

    only: optional list of test names to run (others are not run).
    """
    module = _import(module_name)
    names = list_tests(module_name)
    if only:
        for name in only:
            if name not in names:
                raise ValueError("no test named %s in %s" % (name, module_name))
        names = [name for name in names if name in only]
    passed = 0
    failed = 0
    for name in names:
        fn = getattr(module, name)
        error = None
        try:
            fn()
        except Exception as exc:
            error = exc
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # SystemExit and friends count as failures
            error = exc
        # A test that leaves the heap locked would break everything after it.
        if _heap_lock_depth() > 0:
            _reset_heap_lock()
            if error is None:
                error = AssertionError("test left micropython.heap_lock() engaged")
        if error is None:
            passed += 1
            print("PASS %s" % name)
        else:
            failed += 1
            print("FAIL %s: %r" % (name, error))
            _print_exception(error)
        gc.collect()
    print("%d passed, %d failed" % (passed, failed))
    return passed, failed


def main(argv):
    """CPython entry point: run test module files given as paths."""
    paths = [a for a in argv if not a.startswith("-")]
    if not paths:
        print("usage: mptest.py FILE.py [FILE.py ...]")
        return 2
    here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
    root = here + "/../.."
    for p in (root, here):
        if p not in sys.path:
            sys.path.insert(0, p)
    total_passed = 0
    total_failed = 0
    for path in paths:
        directory = path.rsplit("/", 1)[0] if "/" in path else "."
        if directory not in sys.path:
            sys.path.insert(0, directory)
        name = path.rsplit("/", 1)[-1]
        if name.endswith(".py"):
            name = name[:-3]
        if len(paths) > 1:
            print("== %s" % path)
        try:
            p, f = run(name)
        except Exception as exc:
            print("ERROR loading %s: %r" % (path, exc))
            _print_exception(exc)
            return 2
        total_passed += p
        total_failed += f
    if len(paths) > 1:
        print("%d passed, %d failed" % (total_passed, total_failed))
    return 0 if total_failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
