/* bans.h — keys banned for a while after too many bad events: the table of
 * bans in force, shared by every worker and kept across reloads, with the
 * key as text so that the status pages can show it and an operator can
 * lift it.  Counting the events is done in the shared key table
 * (keytab.h): N events within T seconds of the first of them ban the key
 * for D seconds.  Which events count, for which key, is the caller's. */
#ifndef GH_BANS_H
#define GH_BANS_H

#include <stddef.h>
#include <stdint.h>

struct keytab;

/* A ban rule, as the configuration gives it. */
struct ban_rule {
    const char *name;
    uint32_t count;     /* events that ban */
    uint64_t within_ms; /* counted from the first of them */
    uint64_t ban_ms;    /* how long the ban lasts */
};

/* Sizes the table of bans in force (the first call; later ones change
 * nothing: a restart does).  Bans beyond it replace the one ending soonest. */
void bans_init(unsigned max_bans);

/* Counts one event for key (the rule's name is part of it) in t at now
 * (monotonic ms); `text` names the key for people ("10.0.0.5",
 * "2001:db8:1:2::/64", a user).  Returns 1 when this event bans it. */
int bans_event(struct keytab *t, const struct ban_rule *r, uint64_t key, const char *text,
               uint64_t now);

/* Bans key under rule `rule` for ms from when it was made, age_ms ago,
 * without counting events: a ban another node of the fleet made (fleet.h;
 * age_ms > 0 when read from the fleet's journal).  Nothing when it is
 * over.  A ban in force keeps whichever end is later. */
void bans_put(uint64_t key, const char *rule, const char *text, uint64_t now, uint64_t ms,
              uint64_t age_ms);

/* Milliseconds the key's ban has left, 0 when it is not banned (cheap when
 * no ban is in force: no lock is taken).  Counts a refusal for the ban. */
uint64_t bans_check(uint64_t key, uint64_t now);

/* A ban in force, as the status pages show it. */
struct ban_info {
    char rule[48];
    char key[80];
    uint64_t left_ms;  /* until it ends */
    uint64_t refused;  /* requests refused under it */
};

/* Copies up to max bans in force into out; returns how many there are. */
size_t bans_list(struct ban_info *out, size_t max, uint64_t now);

/* Lifts the bans in force whose key text is `text` (under every rule), or
 * every ban for "*", made (or last renewed) at or before `before`
 * (monotonic ms: now for a lift made now, earlier for one read from the
 * fleet's journal, which must not lift the bans made after it), counting
 * each in its rule's counters (pstats.h).  Returns how many were lifted. */
unsigned bans_lift(const char *text, uint64_t now, uint64_t before);

#endif
