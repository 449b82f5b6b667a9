/* process.h — the process: command line, start-up, signals, reload and
 * shutdown.  The program's main() hands it the table of front-ends, so the
 * core never names a mode. */
#ifndef GH_PROCESS_H
#define GH_PROCESS_H

#include "config.h"

#define GATEHOUSE_VERSION "0.1.0"
#define GATEHOUSE_DEFAULT_CONFIG "/etc/gatehouse/gatehouse.conf"

/* Runs gatehouse; returns the process exit status. */
int process_main(int argc, char **argv, const struct frontend *const *fes, unsigned nfes);

#endif
