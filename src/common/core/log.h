/* log.h — the error log (levels) and the access log (one line per exchange).
 *
 * Both logs are plain descriptors written with one write(2) per line, so
 * lines from several workers never interleave and no lock is taken.
 * Reopening (SIGUSR1, reload) opens the new file and dup2()s it over the old
 * descriptor number, which is atomic for concurrent writers.  The `log`
 * section of the configuration is read by log_conf.c. */
#ifndef GH_LOG_H
#define GH_LOG_H

#include <stddef.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* The access log's formats (`format`). */
#define LOG_FORMAT_GATEHOUSE 0 /* combined + key=value fields */
#define LOG_FORMAT_COMBINED 1
#define LOG_FORMAT_COMMON 2
#define LOG_FORMAT_SQUID 3     /* Squid's native access.log */

/* The `log` section: level, error, access, format, into the generation's
 * log_* fields (log_conf.c). */
struct config_section;
extern const struct config_section log_section;

/* Before configuration: errors to stderr at `level`. */
void log_init(enum log_level level);

/* Parses "error", "warn", "info" or "debug"; returns -1 if unknown. */
int log_level_parse(const char *s);

/* Points the logs at their destinations: a path, "stderr", "stdout" or "off"
 * (access only).  A NULL error_path keeps stderr (foreground).  Opens files
 * with O_APPEND, creating them 0640.  Returns 0, or -1 with a message in err
 * naming the file; on failure the previous destinations stay. */
int log_configure(const char *error_path, const char *access_path, enum log_level level, char *err,
                  size_t errlen);

/* Reopens the configured files (after logrotate moved them). A file that
 * cannot be reopened keeps its old descriptor and the error is logged.
 * Returns the number of files that could not be reopened. */
int log_reopen(void);

/* Gives the log files to the user the daemon is about to become, so it can
 * reopen them after rotation: owner uid; group gid, or kept when the
 * directory is setgid (the package's /var/log/gatehouse is gatehouse:adm
 * 2750, so files stay readable by adm).  Each failure is logged as an
 * error; returns their number. */
int log_chown(unsigned uid, unsigned gid);

/* Under systemd's journal (JOURNAL_STREAM names our stderr), error-log
 * lines written to stderr start with the syslog priority ("<3>" for an
 * error), which journald reads as the line's priority. */
void log_journal_detect(void);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* 1 if messages at `level` are written (to skip formatting work). */
int log_enabled(enum log_level level);

/* Writes one already formatted access-log line (must end in '\n'). */
void log_access_write(const char *line, size_t len);
/* 1 if an access log is configured. */
int log_access_enabled(void);

/* Formats the wall-clock time for the Common Log Format:
 * "22/Nov/2026:21:56:59 +0000" into dst (at least 32 bytes). */
void log_clf_time(char *dst, size_t cap);

#endif
