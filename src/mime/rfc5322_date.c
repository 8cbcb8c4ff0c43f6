/*
 * rfc5322_date - Date: parsing (first version: not yet; follows).
 */
#include "mime/rfc5322_date.h"

int
rfc5322_date_parse(const char *s, size_t len, time_t *t_r, int *tz_r)
{
	(void)s;
	(void)len;
	*t_r = 0;
	*tz_r = 0;
	return -1;
}

long
rfc5322_date_day(time_t t, int tz)
{
	long long s = (long long)t + (long long)tz * 60;
	long long d = s / 86400;

	if (s % 86400 < 0)
		d--;
	return (long)d;
}
