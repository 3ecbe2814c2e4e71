/* log.h — leveled logging to stderr, one line per message, as text
 * "<program>: [level: ]message" or as one JSON object per line (LOG_FORMAT_JSON):
 *   {"ts":"2025-01-31T12:00:00Z","level":"info","program":"ephemerd-vmhost","msg":"..."}
 * and, when a file sink is open (log_file_open: the Windows service, which has no stderr),
 * the same lines appended to a file that is rotated by size; text lines there start with
 * the UTC time ("2025-01-31T12:00:00Z ephemerd-vmhost: ...").
 * The program name, threshold and format are the one piece of process-wide state. They are
 * set from the main thread only, and only by: main (log_init), a command's -v
 * (log_set_cli_level), and the agent's `run` each time it loads config.toml (log_configure,
 * its [log] settings). Precedence of the threshold: the command line (-v) wins over
 * [log] level, which wins over main's default. */
#ifndef EVM_LOG_H
#define EVM_LOG_H

#include <stddef.h>

#include "err.h"

/* "trace" (a [log] level value) is LOG_DEBUG: nothing logs below debug. */
enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };
enum log_format { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON = 1 };

/* Resets the state: program (kept when NULL), threshold level, text format, no command-line
 * level. The file sink (below) is left as it is. */
void log_init(const char *program, enum log_level level);
/* The command line's threshold (-v): set now, and kept by later log_configure calls. */
void log_set_cli_level(enum log_level level);
/* A config file's [log] settings: the format, and the threshold unless the command line set
 * one (log_set_cli_level). */
void log_configure(enum log_level level, enum log_format format);
enum log_level log_get_level(void);
enum log_format log_get_format(void);

/* Parses "error", "warn"/"warning", "info", "debug", "trace" (= debug); -EINVAL otherwise. */
int log_level_parse(const char *s, enum log_level *out);
/* Parses "text", "json"; -EINVAL otherwise. */
int log_format_parse(const char *s, enum log_format *out);
/* "error", "warn", "info", "debug". */
const char *log_level_name(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...) EVM_PRINTF(2, 3);

/* ---- the file sink ---------------------------------------------------------------------- */

/* From now on every line is also appended to the file at path (created when missing; its
 * directory must exist). Before a line would take the file past max_bytes, the file is
 * rotated (log_rotate_files) and a new one started: at most keep old files are kept, so the
 * lines take at most (keep + 1) * max_bytes. Replaces an earlier sink. Main thread only, like
 * log_init; the writes themselves may come from any thread (they take a lock). */
int log_file_open(const char *path, unsigned long long max_bytes, unsigned keep,
                  struct evm_err *err);
/* Closes the file sink (nothing when none is open). */
void log_file_close(void);

/* The rotation step, exposed for its test: path.(keep-1) becomes path.keep (the old
 * path.keep is removed), ..., path.1 becomes path.2, and path becomes path.1; with keep 0
 * path is removed. A missing file in the chain is skipped. Works on Windows too, whose
 * rename does not replace an existing file. */
int log_rotate_files(const char *path, unsigned keep, struct evm_err *err);

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* ---- the line formats, exposed for their tests ---------------------------------------- */

/* Writes s as the inside of a JSON string into out (cap bytes, always NUL-terminated when
 * cap > 0): '"' and '\' escaped, control characters (and DEL) as \n \t ... or \u00XX, each
 * byte that is not part of valid UTF-8 as \ufffd; valid UTF-8 is copied. Stops before a
 * character or escape that would not fit whole. Returns the length written. */
size_t log_json_escape(char *out, size_t cap, const char *s);

/* One log line, '\n' included, in out (cap bytes, always NUL-terminated when cap > 0; a
 * line that does not fit is cut, still ending in '\n' and, for JSON, still one valid
 * object). ts: seconds since the epoch (JSON only, as UTC). Returns the length written. */
size_t log_format_line(char *out, size_t cap, enum log_format format, const char *program,
                       enum log_level level, long long ts, const char *msg);

#endif
