/* log.h — leveled logging to stderr as "<program>: [level: ]message".
 * The level and program name are the one piece of process-wide state, set once by main. */
#ifndef EVM_LOG_H
#define EVM_LOG_H

#include "err.h"

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

void log_init(const char *program, enum log_level level);
enum log_level log_get_level(void);
/* Parses "error", "warn"/"warning", "info", "debug"; returns -EINVAL otherwise. */
int log_level_parse(const char *s, enum log_level *out);
void log_msg(enum log_level level, const char *fmt, ...) EVM_PRINTF(2, 3);

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
