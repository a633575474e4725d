/*
 * log.h — the server's own diagnostic log (stderr, one line per event:
 * time, level, message). Thread-safe; a line is written with one write().
 */
#ifndef OCL_LOG_H
#define OCL_LOG_H

enum { OCL_LOG_DEBUG, OCL_LOG_INFO, OCL_LOG_WARN, OCL_LOG_ERROR };

extern int ocl_log_level; /* minimum level printed; default OCL_LOG_INFO */

void ocl_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define ocl_debug(...) ocl_log(OCL_LOG_DEBUG, __VA_ARGS__)
#define ocl_info(...) ocl_log(OCL_LOG_INFO, __VA_ARGS__)
#define ocl_warn(...) ocl_log(OCL_LOG_WARN, __VA_ARGS__)
#define ocl_error(...) ocl_log(OCL_LOG_ERROR, __VA_ARGS__)

#endif
