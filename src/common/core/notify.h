/* notify.h — telling the service manager how the daemon is doing, and
 * telling `systemctl reload` how a reload ended.
 *
 * systemd (Type=notify): READY=1 once the listeners are bound and root is
 * dropped, RELOADING=1 (with MONOTONIC_USEC, which systemd 253 and later
 * want) then READY=1 around each reload, STOPPING=1 at shutdown, through
 * libsystemd's sd_notify (nothing is sent outside systemd).
 *
 * The outcome of each reload is also written to the file `reload` in
 * $RUNTIME_DIRECTORY (systemd's RuntimeDirectory=gatehouse), opened
 * before root is dropped: "<count> ok" or "<count> refused: <why>"; and
 * the process id to `gatehouse.pid` there (logrotate outside systemd).
 * `gatehouse -r PID` (the unit's ExecReload) sends SIGHUP to PID and waits
 * for that line, so `systemctl reload` fails on a refused reload. */
#ifndef GH_NOTIFY_H
#define GH_NOTIFY_H

#include <sys/types.h>

/* Opens the outcome file (root, before the drop); no-op without
 * $RUNTIME_DIRECTORY. */
void notify_init(void);

void notify_ready(void);
void notify_reloading(void);
void notify_stopping(void);

/* A reload ended: ok, or refused for `why`.  Writes the outcome file, then
 * tells systemd READY=1 (with a STATUS= naming a refusal). */
void notify_reloaded(int ok, const char *why);

/* Sends SIGHUP to pid and waits (up to 90 s) for the outcome of that
 * reload.  Returns 0 when it was applied, 1 when refused or unknown
 * (the reason on stderr). */
int notify_reload_and_wait(pid_t pid);

#endif
