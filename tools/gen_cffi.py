"""Generates the C source of the cffi extension `pyautodiff._C` (API mode).

The declarations cffi sees are the part of csrc/include/pyautodiff.h between the
CFFI_BEGIN and CFFI_END markers.  Usage: gen_cffi.py HEADER OUTPUT.c
"""
import os
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


def main() -> None:
    header, output = sys.argv[1], sys.argv[2]
    with open(header, encoding="utf-8") as f:
        cdef = extract_cdef(f.read())
    ffi = cffi.FFI()
    ffi.cdef(cdef + PYTHON_CALLBACKS)
    ffi.set_source("pyautodiff._C", '#include "pyautodiff.h"')
    ffi.emit_c_code(output)
    # emit_c_code leaves an unchanged file untouched; touch it so the build sees it fresh.
    os.utime(output, None)


if __name__ == "__main__":
    main()
