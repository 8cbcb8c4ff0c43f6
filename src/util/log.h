/*
 * log - one line per event on stderr.
 *
 * Every line about a message starts with its queue id
 * ("3F2A...: to=<a@b>, status=sent (...)") so `grep ID` traces it.
 */
#ifndef PETREL_UTIL_LOG_H
#define PETREL_UTIL_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERR
};

void log_set_level(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap);

#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_err(...)   log_msg(LOG_LEVEL_ERR, __VA_ARGS__)

/* fatal - log and exit(1): for errors the process cannot continue from. */
_Noreturn void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

#endif
