/* Thread-local last error: a code and a message naming the op and what was wrong. */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

static _Thread_local int last_code;
static _Thread_local char last_message[512];

int pa_error(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_message, sizeof last_message, fmt, ap);
    va_end(ap);
    last_code = code;
    return code;
}

int pa_last_error_code(void) { return last_code; }
const char *pa_last_error_message(void) { return last_message; }

void pa_clear_error(void) {
    last_code = PA_OK;
    last_message[0] = '\0';
}
