/* checker.h — active health checks of the reverse-mode pools.
 *
 * One thread with its own loop and resolver checks every upstream server of
 * every pool whose health_check is set, each every check.interval_ms, and
 * feeds the results to pool_check_result(); a change of verdict is logged.
 * Static servers are never checked.  A server that a newer generation's
 * checker has taken over (pool_adopt, at a reload) is no longer checked
 * here.  The probing itself is probe.c's. */
#ifndef GH_CHECKER_H
#define GH_CHECKER_H

struct checker;
struct pool_set;
struct resolver_conf;

/* Starts checking the pools of ps in a thread of its own, all signals
 * blocked in it (they belong to the main thread).  The first checks are
 * spread over each pool's interval.  Returns NULL when no pool has checks,
 * or when the thread cannot start (logged).  ps must outlive the checker;
 * dns is read here only.  Start it after fork() and after privileges are
 * dropped: a thread does not survive the one and should not run before the
 * other. */
struct checker *checker_start(struct pool_set *ps, const struct resolver_conf *dns);

/* Stops the thread promptly (checks in flight are abandoned, their results
 * dropped), joins it and frees everything.  Safe with NULL.  Not from the
 * checker's own thread. */
void checker_stop(struct checker *c);

#endif
