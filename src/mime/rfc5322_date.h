/*
 * rfc5322_date - the Date: field (RFC 5322 §3.3) to time_t, for IMAP
 * SENTBEFORE/SENTON/SENTSINCE.
 *
 *   [day-of-week ","] day month year hour ":" minute [":" second] zone
 *
 * and the obsolete forms (§4.3): two- and three-digit years (RFC 5322
 * §4.3: 00-49 = 20xx, 50-999 + 1900), the zone names UT, GMT, EST/EDT,
 * CST/CDT, MST/MDT, PST/PDT and military letters (taken as +0000, as
 * §4.3 says they cannot be trusted), comments and folding white space
 * anywhere, case-blind names, a missing zone (+0000), a missing
 * day-of-week, seconds 60 (leap), and full month and day names (real
 * mail has them). Numeric dates ("2024-01-02", "1/2/24") are not RFC
 * 5322 dates and are refused.
 */
#ifndef PETREL_MIME_RFC5322_DATE_H
#define PETREL_MIME_RFC5322_DATE_H

#include <stddef.h>
#include <time.h>

/*
 * rfc5322_date_parse - parse s[0..len). On success returns 0, the UTC
 * time in *t_r and the zone in *tz_r (minutes east of UTC, so that the
 * sender's own calendar date is (*t_r + *tz_r * 60) / 86400 days since
 * the epoch). Returns -1 if s is not a date.
 */
int rfc5322_date_parse(const char *s, size_t len, time_t *t_r, int *tz_r);

/* rfc5322_date_day - the sender's calendar day of t/tz, as days since
 * 1970-01-01 (what SENTON compares: RFC 3501 disregards time and zone). */
long rfc5322_date_day(time_t t, int tz);

#endif
