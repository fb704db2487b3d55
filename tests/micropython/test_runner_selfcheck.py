"""Checks that the MicroPython test runner and the mptest helpers do their job.

If these fail, every other MicroPython test result is suspect. MicroPython
only: on CPython the heap checks have nothing to check and most of these fail.
"""

import sys

from mptest import IS_MICROPYTHON, alloc_bytes, assert_raises, no_alloc

_BUF = bytearray(64)
for _i in range(len(_BUF)):
    _BUF[_i] = (_i * 7) & 0xFF


def _build_list(n):
    return [n, n + 1, n + 2]


def _small_int_math(i):
    # Small ints (< 2**30) and bytearray indexing stay off the heap.
    acc = 0
    for k in range(8):
        acc = (acc * 31 + _BUF[(i + k) & 63]) & 0xFFFF
    _BUF[i & 63] = acc & 0xFF
    return acc


def _big_int(i):
    # 2**30 and above is a heap object on a 32-bit MicroPython.
    return (i + 1) << 30


def _raise_value_error(x):
    raise ValueError(x)


def test_runs_on_micropython():
    assert sys.implementation.name == "micropython", sys.implementation.name
    assert IS_MICROPYTHON
    assert sys.implementation.version[:2] == (1, 29), sys.implementation.version


def test_small_ints_are_31_bit():
    # The webassembly port is 32-bit like the board: 2**30 no longer fits.
    assert alloc_bytes(_big_int, 0) > 0
    assert alloc_bytes(_small_int_math, 5) == 0


def test_no_alloc_passes_small_int_arithmetic():
    result = no_alloc(_small_int_math, 3)
    assert isinstance(result, int) and 0 <= result <= 0xFFFF, result


def test_no_alloc_catches_list_building():
    exc = assert_raises(AssertionError, no_alloc, _build_list, 1)
    assert "allocated" in str(exc), str(exc)
    assert "_build_list" in str(exc), str(exc)


def test_heap_unlocked_after_no_alloc_failure():
    assert_raises(AssertionError, no_alloc, _build_list, 1)
    # The heap must be usable again.
    data = [bytearray(100) for _ in range(10)]
    assert len(data) == 10


def test_alloc_bytes_counts_a_list():
    n = alloc_bytes(_build_list, 1)
    assert isinstance(n, int)
    assert n >= 16, n
    assert alloc_bytes(bytearray, 1000) >= 1000


def test_alloc_bytes_zero_for_bytearray_find():
    needle = b"\x07"
    _BUF.find(needle)
    assert alloc_bytes(_BUF.find, needle) == 0


def test_memoryview_slice_allocates():
    mv = memoryview(_BUF)
    assert alloc_bytes(lambda: mv[1:5]) > 0


def test_assert_raises_returns_the_exception():
    exc = assert_raises(ValueError, _raise_value_error, 42)
    assert exc.args == (42,), exc.args


def test_assert_raises_fails_when_nothing_raised():
    try:
        assert_raises(ValueError, len, b"abc")
    except AssertionError as exc:
        assert "did not raise ValueError" in str(exc), str(exc)
    else:
        raise AssertionError("assert_raises let a non-raising call pass")


def test_project_packages_are_importable():
    import protocol

    assert protocol.__name__ == "protocol"
