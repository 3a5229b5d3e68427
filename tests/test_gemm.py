"""The GEMM kernels through the raw entry point lib.pa_gemm: every transpose
combination, edge sizes, strided leading dimensions and alpha/beta (beta = 0 with NaN in
C), on each micro-kernel ISA the CPU has, against NumPy in float64 and against the
portable reference kernel; and bit-identical results for 1 and 2 threads."""
import itertools
import os
import subprocess
import sys

import numpy as np
import pytest

import pyautodiff
from pyautodiff._ffi import ffi, lib

ISAS = {"generic": 0, "avx2": 1, "avx512": 2}
DTYPES = {np.float32: 0, np.float64: 1}
SIZES = (1, 2, 7, 15, 16, 17, 33, 64, 100, 257)
ALPHA_BETA = ((1.0, 0.0), (2.5, 0.0), (1.0, 1.0), (-0.5, 0.75))
SENTINEL = 12345.0


@pytest.fixture
def isa(request):
    """Forces one ISA for the test (skipped if the CPU lacks it), then restores auto."""
    code = ISAS[request.param]
    if lib.pa_set_gemm_isa(code) != 0:
        lib.pa_clear_error()
        pytest.skip(f"this CPU does not support {request.param}")
    yield code
    lib.pa_set_gemm_isa(-1)


@pytest.fixture
def threads():
    saved = pyautodiff.get_num_threads()
    yield
    pyautodiff.set_num_threads(saved)


def stored(rng, rows, cols, pad, dtype):
    """A rows x cols matrix inside a buffer with leading dimension cols + pad."""
    buf = np.full((rows, cols + pad), SENTINEL, dtype=dtype)
    buf[:, :cols] = rng.uniform(-1, 1, (rows, cols))
    return buf


def gemm(dtype, ta, tb, a, b, c, m, n, k, alpha, beta):
    """C = alpha * op(A) @ op(B) + beta * C on the buffers, in place."""
    ld = lambda x: max(x.shape[1], 1)  # noqa: E731
    lib.pa_clear_error()
    status = lib.pa_gemm(DTYPES[dtype], ta, tb, m, n, k, alpha,
                         ffi.from_buffer(a), ld(a), a.size, ffi.from_buffer(b), ld(b), b.size,
                         beta, ffi.from_buffer(c, require_writable=True), ld(c), c.size)
    assert status == 0, ffi.string(lib.pa_last_error_message()).decode()


def run_case(rng, dtype, ta, tb, m, n, k, pad, alpha, beta, isa_code=None):
    a = stored(rng, k if ta else m, m if ta else k, pad, dtype)
    b = stored(rng, n if tb else k, k if tb else n, (pad * 3) % 4, dtype)
    c0 = stored(rng, m, n, pad, dtype)
    if beta == 0:
        c0[:, :n] = np.nan  # must never be read
    c = c0.copy()
    if isa_code is not None:
        lib.pa_set_gemm_isa(isa_code)
    gemm(dtype, ta, tb, a, b, c, m, n, k, alpha, beta)
    return a, b, c0, c


def check_against_numpy(dtype, ta, tb, m, n, k, a, b, c0, c, alpha, beta):
    opa = (a[:, :m].T if ta else a[:, :k]).astype(np.float64)
    opb = (b[:, :k].T if tb else b[:, :n]).astype(np.float64)
    cin = np.zeros((m, n)) if beta == 0 else c0[:, :n].astype(np.float64)
    ref = alpha * (opa @ opb) + beta * cin
    scale = abs(alpha) * (np.abs(opa) @ np.abs(opb)) + abs(beta) * np.abs(cin)
    eps = np.finfo(dtype).eps
    err = np.abs(c[:, :n] - ref)
    assert np.all(err <= (k + 4) * eps * scale + 1e-30), (
        f"max error {err.max():.3g} for {dtype.__name__} ta={ta} tb={tb} m={m} n={n} k={k}")
    assert np.all(c[:, n:] == SENTINEL), "wrote past the row end into the leading-dimension pad"


def shapes():
    """Half the cross product of SIZES (every size still meets every other size in
    each position), thinned further where all three sizes are large."""
    for i, j, l in itertools.product(range(len(SIZES)), repeat=3):
        m, n, k = SIZES[i], SIZES[j], SIZES[l]
        if (i + j + l) % 2 or (m * n * k > 300_000 and (i + j + l) % 3):
            continue
        yield m, n, k
    for k in (0, 1):
        for m in SIZES[::2]:
            yield m, SIZES[-1 - SIZES.index(m)], k
    yield 300, 5000, 40   # several nc blocks
    yield 1000, 37, 700   # several kc and mc blocks


@pytest.mark.parametrize("isa", list(ISAS), indirect=True)
@pytest.mark.parametrize("dtype", list(DTYPES), ids=lambda d: d.__name__)
@pytest.mark.parametrize("ta,tb", list(itertools.product((0, 1), repeat=2)))
def test_gemm_matches_numpy_and_reference(isa, dtype, ta, tb):
    rng = np.random.default_rng(1000 * isa + 10 * ta + tb)
    for case, (m, n, k) in enumerate(shapes()):
        pad = 0 if case % 3 == 0 else case % 5
        alpha, beta = ALPHA_BETA[case % len(ALPHA_BETA)]
        a, b, c0, c = run_case(rng, dtype, ta, tb, m, n, k, pad, alpha, beta)
        check_against_numpy(dtype, ta, tb, m, n, k, a, b, c0, c, alpha, beta)
        if isa != ISAS["generic"] and case % 4 == 0:
            reference = c0.copy()
            lib.pa_set_gemm_isa(ISAS["generic"])
            gemm(dtype, ta, tb, a, b, reference, m, n, k, alpha, beta)
            lib.pa_set_gemm_isa(isa)
            scale = np.abs(reference[:, :n]) + 1
            assert np.all(np.abs(c[:, :n] - reference[:, :n])
                          <= (k + 4) * 2 * np.finfo(dtype).eps * scale * max(1, k)), (m, n, k)


@pytest.mark.parametrize("dtype", list(DTYPES), ids=lambda d: d.__name__)
def test_k_zero_scales_c_by_beta(dtype):
    c = np.array([[1.0, np.inf], [-2.0, 4.0]], dtype=dtype)
    a, b = np.zeros((2, 0), dtype=dtype), np.zeros((0, 2), dtype=dtype)
    gemm(dtype, 0, 0, a, b, c, 2, 2, 0, np.inf, 0.5)  # alpha never multiplies anything
    assert np.array_equal(c, np.array([[0.5, np.inf], [-1.0, 2.0]], dtype=dtype))
    c[:] = np.nan
    gemm(dtype, 0, 0, a, b, c, 2, 2, 0, 1.0, 0.0)
    assert np.array_equal(c, np.zeros((2, 2), dtype=dtype))


THREADED_SHAPES = ((257, 257, 257), (64, 128, 784), (64, 784, 128), (784, 128, 64),
                   (1000, 37, 700), (9, 2000, 300), (130, 70, 1500), (1024, 10, 128),
                   (9, 64, 3000), (20, 40, 2000), (1000, 5, 300), (2000, 16, 90))


@pytest.mark.parametrize("isa", list(ISAS), indirect=True)
@pytest.mark.parametrize("dtype", list(DTYPES), ids=lambda d: d.__name__)
def test_bit_identical_for_any_thread_count(isa, dtype, threads):
    rng = np.random.default_rng(7)
    for (m, n, k), (ta, tb) in itertools.product(THREADED_SHAPES,
                                                 itertools.product((0, 1), repeat=2)):
        a = stored(rng, k if ta else m, m if ta else k, 1, dtype)
        b = stored(rng, n if tb else k, k if tb else n, 3, dtype)
        c0 = stored(rng, m, n, 2, dtype)
        results = []
        for nthreads in (1, 2):
            pyautodiff.set_num_threads(nthreads)
            c = c0.copy()
            gemm(dtype, ta, tb, a, b, c, m, n, k, 0.7, 0.3)
            results.append(c.tobytes())
        assert results[0] == results[1], f"1 vs 2 threads differ: {(m, n, k)} ta={ta} tb={tb}"


def test_isa_selection_round_trips():
    assert lib.pa_set_gemm_isa(ISAS["generic"]) == 0
    assert lib.pa_get_gemm_isa() == ISAS["generic"]
    assert lib.pa_set_gemm_isa(-1) == 0
    assert lib.pa_get_gemm_isa() in ISAS.values()


def test_isa_forced_by_environment():
    code = "from pyautodiff._ffi import lib; print(lib.pa_get_gemm_isa())"
    env = dict(os.environ, PYAUTODIFF_ISA="generic")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True, cwd=os.path.dirname(os.path.abspath(__file__)))
    assert out.stdout.strip() == str(ISAS["generic"])


def placed(values, offset_bytes, ld):
    """values (rows x cols) copied into a buffer whose first row starts offset_bytes past
    a 64-byte boundary, with leading dimension ld."""
    rows, cols = values.shape
    es = values.itemsize
    raw = np.empty(rows * ld + 128 // es, values.dtype)
    start = ((-raw.ctypes.data) % 64 + offset_bytes) // es
    out = raw[start:start + rows * ld].reshape(rows, ld)
    out[:, :] = SENTINEL
    out[:, :cols] = values
    return out


@pytest.mark.parametrize("isa", list(ISAS), indirect=True)
@pytest.mark.parametrize("dtype", list(DTYPES), ids=lambda d: d.__name__)
def test_op_b_read_in_place_is_bit_identical_to_packed(isa, dtype, threads):
    # A row-major op(B) is read in place when few row tiles reuse it (the weight
    # gradient g^T @ x) and its rows are 64-byte aligned or it is small (<= 256 KiB);
    # otherwise, and always when it is given transposed, it is packed.  Every way must
    # give the same bits: edge panels, several kc blocks, alpha/beta and both thread
    # counts included.
    rng = np.random.default_rng(21)
    lanes = 64 // np.dtype(dtype).itemsize
    for m, n, k in ((128, 784, 1024), (10, 128, 1024), (8, 48, 5), (37, 100, 400),
                    (250, 16 * 33, 50), (300, 64, 70), (64, 9000, 7)):  # last: 3 nc blocks
        ld = -(-n // lanes) * lanes
        a = rng.uniform(-1, 1, (k, m)).astype(dtype)  # op(A) = a^T, packed
        bv = rng.uniform(-1, 1, (k, n)).astype(dtype)
        c0 = rng.uniform(-1, 1, (m, n)).astype(dtype)
        results = []
        for nthreads, offset in ((1, 0), (2, 0), (1, 16), (2, 16)):
            pyautodiff.set_num_threads(nthreads)
            b = placed(bv, offset, ld)
            c = c0.copy()
            lib.pa_clear_error()
            assert lib.pa_gemm(DTYPES[dtype], 1, 0, m, n, k, 0.7, ffi.from_buffer(a), m, a.size,
                               ffi.from_buffer(b), ld, b.size, 0.3,
                               ffi.from_buffer(c, require_writable=True), n, c.size) == 0
            results.append(c.tobytes())
        bt = np.ascontiguousarray(bv.T)  # op(B) = bt^T: the strided pack
        for nthreads in (1, 2):
            pyautodiff.set_num_threads(nthreads)
            c = c0.copy()
            assert lib.pa_gemm(DTYPES[dtype], 1, 1, m, n, k, 0.7, ffi.from_buffer(a), m, a.size,
                               ffi.from_buffer(bt), k, bt.size, 0.3,
                               ffi.from_buffer(c, require_writable=True), n, c.size) == 0
            results.append(c.tobytes())
        check_against_numpy(dtype, 1, 0, m, n, k, a, b, c0, np.frombuffer(results[0], dtype)
                            .reshape(m, n), 0.7, 0.3)
        assert len(set(results)) == 1, f"in place vs packed differ: {(m, n, k)}"


@pytest.mark.parametrize("isa", list(ISAS), indirect=True)
@pytest.mark.parametrize("dtype", list(DTYPES), ids=lambda d: d.__name__)
def test_few_rows_times_a_large_transposed_op_b_is_bit_identical(isa, dtype, threads):
    # A C of at most 32 rows whose op(B) is column-major and at least 512 KiB (h @ W^T in
    # a recurrent layer) is computed transposed, C^T = op(B)^T @ op(A)^T, through a
    # buffer: the same bits as op(B) given row-major, for beta 0 and not, both thread
    # counts, edge tiles and several kc blocks.
    rng = np.random.default_rng(23)
    es = np.dtype(dtype).itemsize
    for m, n, k in ((32, 1024, 256), (2, 600, 500), (17, 2048, 64), (9, 300, 1000), (32, 33, 4000)):
        assert n * k * es >= 512 << 10  # every case takes the transposed path
        a = rng.uniform(-1, 1, (m, k)).astype(dtype)
        w = rng.uniform(-1, 1, (n, k)).astype(dtype)  # op(B) = w^T
        b_rows = np.ascontiguousarray(w.T)             # the same op(B), row-major
        c0 = rng.uniform(-1, 1, (m, n)).astype(dtype)
        for beta in (0.0, 0.3):
            results = []
            for nthreads in (1, 2):
                pyautodiff.set_num_threads(nthreads)
                for trans_b, b, ldb in ((1, w, k), (0, b_rows, n)):
                    c = c0.copy()
                    lib.pa_clear_error()
                    assert lib.pa_gemm(DTYPES[dtype], 0, trans_b, m, n, k, 0.7, ffi.from_buffer(a), k, a.size,
                                       ffi.from_buffer(b), ldb, b.size, beta,
                                       ffi.from_buffer(c, require_writable=True), n, c.size) == 0
                    results.append(c.tobytes())
            check_against_numpy(dtype, 0, 0, m, n, k, a, b_rows, c0, np.frombuffer(results[0], dtype)
                                .reshape(m, n), 0.7, beta)
            assert len(set(results)) == 1, f"transposed product differs: {(m, n, k, beta)}"


GEMV_LENGTHS = (1, 3, 4, 5, 255, 1025, 2100)
GEMV_DEPTHS = (1, 15, 16, 17, 64, 65, 130, 3000)


@pytest.mark.parametrize("dtype", list(DTYPES), ids=lambda d: d.__name__)
@pytest.mark.parametrize("ta,tb", list(itertools.product((0, 1), repeat=2)))
def test_matrix_vector_products_match_numpy_and_any_thread_count(dtype, ta, tb, threads):
    # C with one column or one row goes through the matrix-vector kernels where the CPU
    # has them (the dot form along contiguous rows, the axpy form along contiguous
    # columns, x copied when strided, a strided column of C through a buffer): chunk
    # and span edges of both forms, padded leading dimensions, alpha/beta with NaN in C
    # when beta is 0, and the same bits on 1 and 2 threads.
    rng = np.random.default_rng(31 + 2 * ta + tb)
    case = 0
    for length, k in itertools.product(GEMV_LENGTHS, GEMV_DEPTHS):
        if length * k > 2_000_000:
            continue
        for m, n in ((length, 1), (1, length)):
            case += 1
            pad = case % 4
            alpha, beta = ALPHA_BETA[case % len(ALPHA_BETA)]
            a = stored(rng, k if ta else m, m if ta else k, pad, dtype)
            b = stored(rng, n if tb else k, k if tb else n, (pad * 3) % 4, dtype)
            c0 = stored(rng, m, n, pad, dtype)
            if beta == 0:
                c0[:, :n] = np.nan
            results = []
            for nthreads in (1, 2):
                pyautodiff.set_num_threads(nthreads)
                c = c0.copy()
                gemm(dtype, ta, tb, a, b, c, m, n, k, alpha, beta)
                check_against_numpy(dtype, ta, tb, m, n, k, a, b, c0, c, alpha, beta)
                results.append(c.tobytes())
            assert results[0] == results[1], f"1 vs 2 threads differ: {(m, n, k)} ta={ta} tb={tb}"
