/* Thread-local last error (code + message).  Every public function returns 0 on success
 * or one of these codes, after recording a message that names the op and the offending
 * shapes, dtypes or values. */
#ifndef PA_ERROR_H
#define PA_ERROR_H

#include "pyautodiff.h"

/* Records the error and returns `code`, so callers can write
 *     return pa_error(PA_ERR_VALUE, "matmul: shapes %s and %s ...", ...); */
int pa_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
