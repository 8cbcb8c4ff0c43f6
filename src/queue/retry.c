#include "queue/retry.h"

time_t
retry_next(const unsigned *intervals, size_t n, unsigned attempts, time_t now)
{
	if (n == 0)
		return now + 300;
	size_t i = attempts == 0 ? 0 : attempts - 1;
	if (i >= n)
		i = n - 1;
	return now + (time_t)intervals[i];
}

bool
retry_expired(time_t arrival, unsigned lifetime, time_t now)
{
	return now >= arrival + (time_t)lifetime;
}
