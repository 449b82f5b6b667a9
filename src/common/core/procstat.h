/* procstat.h — the process as /metrics shows it: resident memory, open
 * descriptors and their limit, CPU time, start time, the version, and the
 * outcome and time of the last configuration load (start-up or reload). */
#ifndef GH_PROCSTAT_H
#define GH_PROCSTAT_H

/* Registers the collector and records the start time (once, at start-up,
 * after the first configuration loaded). */
void procstat_init(const char *version);

/* A reload ended: ok (1) or refused (0); its wall-clock time is kept. */
void procstat_reloaded(int ok);

#endif
