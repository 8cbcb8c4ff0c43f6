/*
 * rfc5322_date - date-time (RFC 5322 §3.3, obsolete syntax §4.3).
 *
 * Pure arithmetic (days from the civil calendar), so neither TZ nor the
 * C library's time functions are involved.
 */
#include "mime/rfc5322_date.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "mime/rfc5322.h"

struct dp {
	const char *p, *e;
};

/* dp_cfws - white space, folding and (nested (comments)). */
static void
dp_cfws(struct dp *d)
{
	d->p = rfc5322_skip_cfws(d->p, d->e);
}

/* dp_num - up to max digits; -1 if none. */
static long
dp_num(struct dp *d, int max, int *ndigits)
{
	long v = 0;
	int n = 0;

	while (d->p < d->e && n < max && *d->p >= '0' && *d->p <= '9') {
		v = v * 10 + (*d->p++ - '0');
		n++;
	}
	if (ndigits != NULL)
		*ndigits = n;
	return n == 0 ? -1 : v;
}

static size_t
dp_word(struct dp *d, const char **w)
{
	*w = d->p;
	while (d->p < d->e && ((*d->p >= 'a' && *d->p <= 'z') ||
			       (*d->p >= 'A' && *d->p <= 'Z')))
		d->p++;
	return (size_t)(d->p - *w);
}

static const char *const dp_months[12] = {
    "january", "february", "march",	"april",   "may",      "june",
    "july",    "august",   "september", "october", "november", "december"};

/* dp_month - "Jan" (or the full name, as some mailers write) -> 1..12. */
static int
dp_month(const char *w, size_t n)
{
	for (int i = 0; i < 12; i++) {
		size_t full = strlen(dp_months[i]);
		if ((n == 3 || n == full) && n <= full &&
		    strncasecmp(w, dp_months[i], n) == 0)
			return i + 1;
	}
	return 0;
}

/* dp_zone_name - obs-zone (RFC 5322 §4.3) -> minutes east, or 1 for
 * unknown. Military letters are +0000: the RFC says their sign was
 * defined backwards in RFC 822 and they cannot be trusted. */
static int
dp_zone_name(const char *w, size_t n, int *tz)
{
	static const struct {
		const char *name;
		int min;
	} z[] = {{"UT", 0},	   {"UTC", 0},	     {"GMT", 0},
		 {"EST", -5 * 60}, {"EDT", -4 * 60}, {"CST", -6 * 60},
		 {"CDT", -5 * 60}, {"MST", -7 * 60}, {"MDT", -6 * 60},
		 {"PST", -8 * 60}, {"PDT", -7 * 60}};

	for (size_t i = 0; i < sizeof(z) / sizeof(z[0]); i++)
		if (strlen(z[i].name) == n &&
		    strncasecmp(w, z[i].name, n) == 0) {
			*tz = z[i].min;
			return 0;
		}
	if (n == 1 && ((*w >= 'a' && *w <= 'z' && *w != 'j') ||
		       (*w >= 'A' && *w <= 'Z' && *w != 'J'))) {
		*tz = 0;
		return 0;
	}
	return -1;
}

/* dp_days - days from 1970-01-01 to y-m-d (proleptic Gregorian; Howard
 * Hinnant's days_from_civil). */
static int64_t
dp_days(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int
dp_mdays(long y, int m)
{
	static const int md[12] = {31, 28, 31, 30, 31, 30,
				   31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : md[m - 1];
}

int
rfc5322_date_parse(const char *s, size_t len, time_t *t_r, int *tz_r)
{
	struct dp d = {s, s + len};
	const char *w;
	size_t n;
	long day, year, hh, mm, ss = 0;
	int month, ny, tz = 0;

	*t_r = 0;
	*tz_r = 0;
	dp_cfws(&d);
	/* [day-of-week ","]: the name is not checked against the date */
	n = dp_word(&d, &w);
	if (n > 0) {
		dp_cfws(&d);
		if (d.p < d.e && *d.p == ',')
			d.p++;
		dp_cfws(&d);
	}
	day = dp_num(&d, 2, NULL);
	dp_cfws(&d);
	n = dp_word(&d, &w);
	month = dp_month(w, n);
	dp_cfws(&d);
	year = dp_num(&d, 4, &ny);
	if (day < 1 || month == 0 || year < 0)
		return -1;
	/* obs-year (§4.3): 2 digits, < 50 is 20xx; 3 digits + 1900 */
	if (ny == 2)
		year += year < 50 ? 2000 : 1900;
	else if (ny == 3)
		year += 1900;
	if (year < 1 || day > dp_mdays(year, month))
		return -1;
	dp_cfws(&d);
	hh = dp_num(&d, 2, NULL);
	dp_cfws(&d);
	if (hh < 0 || d.p == d.e || *d.p != ':')
		return -1;
	d.p++;
	dp_cfws(&d);
	mm = dp_num(&d, 2, NULL);
	dp_cfws(&d);
	if (d.p < d.e && *d.p == ':') {
		d.p++;
		dp_cfws(&d);
		ss = dp_num(&d, 2, NULL);
		dp_cfws(&d);
	}
	if (hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60)
		return -1;
	/* zone: (+/-)hhmm, a name, or nothing (taken as +0000) */
	if (d.p < d.e && (*d.p == '+' || *d.p == '-')) {
		int sign = *d.p++ == '-' ? -1 : 1, nz;
		long z = dp_num(&d, 4, &nz);
		if (nz != 4 || z % 100 > 59)
			return -1;
		tz = sign * (int)(z / 100 * 60 + z % 100);
	} else if (d.p < d.e) {
		n = dp_word(&d, &w);
		if (n == 0 || dp_zone_name(w, n, &tz) < 0)
			return -1;
	}
	/* Anything after the zone ("+0100 CET", as some mailers write)
	 * is ignored. */
	int64_t t = dp_days(year, (unsigned)month, (unsigned)day) * 86400 +
		    hh * 3600 + mm * 60 + ss - (int64_t)tz * 60;
	*t_r = (time_t)t;
	*tz_r = tz;
	return 0;
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
