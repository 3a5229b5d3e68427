"""Generates the C source of the cffi extension `pyautodiff._C` (API mode).

The declarations cffi sees are the part of csrc/include/pyautodiff.h between the
CFFI_BEGIN and CFFI_END markers.  Usage: gen_cffi.py HEADER OUTPUT.c
"""
import re
import sys

import cffi


def extract_cdef(header_text: str) -> str:
    match = re.search(r"/\* CFFI_BEGIN \*/(.*?)/\* CFFI_END \*/", header_text, re.S)
    if not match:
        raise SystemExit("gen_cffi: CFFI_BEGIN/CFFI_END markers not found in the header")
    body = match.group(1)
    # cffi wants plain declarations: drop comments and GCC attributes.
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    body = re.sub(r"__attribute__\s*\(\(.*?\)\)", "", body)
    return body


# Callbacks the core calls back into Python (defined with @ffi.def_extern in pyautodiff).
PYTHON_CALLBACKS = """
extern "Python" void pa_py_release_handle(void *ctx);
extern "Python" int pa_py_hook(void *ctx, pa_tensor *grad, pa_tensor **replacement);
extern "Python" int pa_py_custom_backward(void *ctx, pa_tensor *grad_output, int n_inputs,
                                          pa_tensor **grad_inputs);
"""


# Calls that only do bookkeeping (reference counts, flags, O(1) views, scalar queries)
# keep the GIL: for them, cffi's release and re-acquire of the GIL (and its errno
# save/restore) costs more than the call.  Every other call -- anything that computes,
# allocates data or runs backward -- releases it, so separate models run concurrently
# from several Python threads.  pa_tensor_release may free a whole graph, but freeing
# is short next to the op that built it, and the release callback takes the GIL anyway.
KEEP_GIL = frozenset("""
    pa_last_error_code pa_last_error_message pa_clear_error pa_tensor_retain
    pa_tensor_release pa_dtype_size pa_tensor_is_contiguous pa_tensor_version
    pa_initial_seed pa_get_num_threads pa_set_grad_enabled pa_is_grad_enabled
    pa_set_requires_grad pa_get_grad pa_set_grad pa_detach pa_node_name pa_retain_grad
    pa_live_tensors pa_live_nodes pa_live_storage_bytes pa_view pa_permute pa_transpose
    pa_expand pa_slice pa_select pa_unsqueeze pa_squeeze pa_item pa_get_gemm_isa
""".split())

_GIL_BLOCK = re.compile(
    r"  Py_BEGIN_ALLOW_THREADS\n  _cffi_restore_errno\(\);\n  (\{ (?:result = )?(\w+)\(.*?\); \})\n"
    r"  _cffi_save_errno\(\);\n  Py_END_ALLOW_THREADS\n")


def keep_gil(source: str) -> str:
    """Drops the GIL release around the calls named in KEEP_GIL."""
    found = set()

    def edit(match):
        if match.group(2) not in KEEP_GIL:
            return match.group(0)
        found.add(match.group(2))
        return "  " + match.group(1) + "\n"

    source = _GIL_BLOCK.sub(edit, source)
    missing = KEEP_GIL - found
    if missing:
        raise SystemExit(f"gen_cffi: no GIL-releasing call found for {sorted(missing)}")
    return source


def main() -> None:
    header, output = sys.argv[1], sys.argv[2]
    with open(header, encoding="utf-8") as f:
        cdef = extract_cdef(f.read())
    ffi = cffi.FFI()
    ffi.cdef(cdef + PYTHON_CALLBACKS)
    ffi.set_source("pyautodiff._C", '#include "pyautodiff.h"')
    ffi.emit_c_code(output)
    with open(output, encoding="utf-8") as f:
        source = keep_gil(f.read())
    with open(output, "w", encoding="utf-8") as f:
        f.write(source)


if __name__ == "__main__":
    main()
