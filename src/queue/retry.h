/*
 * retry - the queue's back-off arithmetic (pure): when to try a
 * recipient again after a temporary failure, and when a message has been
 * in the queue too long and is given up (interface: retry_intervals,
 * queue_lifetime).
 */
#ifndef PETREL_QUEUE_RETRY_H
#define PETREL_QUEUE_RETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/*
 * retry_next - the time of the next attempt after `attempts` attempts
 * (>= 1) have failed, the last one at now: intervals[attempts - 1], the
 * last interval repeating. n == 0 falls back to 5 minutes.
 */
time_t retry_next(const unsigned *intervals, size_t n, unsigned attempts,
		  time_t now);

/*
 * retry_expired - has a message that arrived at `arrival` outlived
 * lifetime (seconds) at now? A lifetime of 0 means: give up after the
 * first failed attempt.
 */
bool retry_expired(time_t arrival, unsigned lifetime, time_t now);

#endif
