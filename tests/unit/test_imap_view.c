/*
 * test_imap_view - what each session is told of a shared folder: message
 * sequence numbers that stay put across other sessions' expunges until
 * EXPUNGE may be sent, EXISTS/RECENT for new mail, FETCH FLAGS for other
 * sessions' changes (never one's own), VANISHED with QRESYNC, the
 * tombstones each view still needs, and sequence sets resolved against
 * a view.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "imap/imap_folder.h"
#include "imap/imap_view.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

static struct folder f;
static struct imap_folder fo;

static void
add_msg(uint32_t uid, unsigned flags, uint64_t modseq)
{
	f.msgs = xrealloc(f.msgs, (f.n + 1) * sizeof(*f.msgs));
	struct folder_msg *m = &f.msgs[f.n++];
	memset(m, 0, sizeof(*m));
	m->uid = uid;
	m->flags = (uint8_t)flags;
	m->modseq = modseq;
	m->name = xasprintf("%u.test", uid);
	f.n_live++;
	f.uidnext = uid + 1;
	if (modseq > f.highestmodseq)
		f.highestmodseq = modseq;
	fo.version++;
}

static void
expunge(uint32_t uid)
{
	long k = folder_find(&f, uid);
	assert_true(k >= 0);
	f.msgs[k].expunged = ++f.highestmodseq;
	f.n_live--;
	fo.version++;
}

static void
set_flags(uint32_t uid, unsigned flags, uint32_t by)
{
	long k = folder_find(&f, uid);
	f.msgs[k].flags = (uint8_t)flags;
	f.msgs[k].modseq = ++f.highestmodseq;
	f.msgs[k].changed_by = by;
}

static bool
keep(const struct folder_msg *m, void *arg)
{
	return imap_view_needs(arg, m);
}

static char *
update(struct imap_view *v, bool allow_expunge, bool qresync)
{
	struct strbuf sb = {0};
	imap_view_update(v, &sb, allow_expunge, false, qresync);
	return sb.p ? sb.p : xstrdup("");
}

static void
check(struct imap_view *v, bool allow, bool qresync, const char *want)
{
	char *got = update(v, allow, qresync);
	if (strcmp(got, want) != 0)
		fail_msg("got\n%s\nwant\n%s", got, want);
	free(got);
}

static int
setup(void **state)
{
	(void)state;
	memset(&f, 0, sizeof(f));
	memset(&fo, 0, sizeof(fo));
	f.cache_fd = -1;
	f.uidvalidity = 7;
	fo.f = &f;
	for (uint32_t uid = 1; uid <= 5; uid++)
		add_msg(uid, 0, uid);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < f.n; i++)
		free(f.msgs[i].name);
	free(f.msgs);
	return 0;
}

static void
test_two_views(void **state)
{
	struct imap_view a, b;
	(void)state;
	imap_view_attach(&a, &fo, NULL, 1, false);
	imap_view_attach(&b, &fo, NULL, 2, false);
	assert_int_equal(a.exists, 5);
	/* The first read-write view got the messages as \Recent. */
	assert_int_equal(imap_view_recent_count(&a), 5);
	assert_int_equal(imap_view_recent_count(&b), 0);

	/* a expunges 2: b keeps its numbering during a FETCH... */
	expunge(2);
	check(&b, false, false, "");
	assert_int_equal(b.exists, 5);
	assert_int_equal(imap_view_msg(&b, 3)->uid, 3);
	/* ... and a, told at once, counts without it. */
	check(&a, true, false, "* 2 EXPUNGE\r\n");
	assert_int_equal(a.exists, 4);
	assert_int_equal(imap_view_msg(&a, 2)->uid, 3);
	assert_int_equal(imap_view_seq(&a, 2), 2); /* index 2 is UID 3 */
	/* The tombstone stays while b needs it. */
	folder_drop_tombstones(&f, keep, &fo);
	assert_int_equal(f.n, 5);

	/* Another expunge and new mail while b waits. */
	expunge(4);
	add_msg(6, 0, ++f.highestmodseq);
	/* During FETCH b hears of the new message, not the expunges. */
	check(&b, false, false, "* 6 EXISTS\r\n* 0 RECENT\r\n");
	assert_int_equal(imap_view_msg(&b, 6)->uid, 6);
	assert_int_equal(imap_view_msg(&b, 4)->uid, 4);
	/* Then both expunges, numbered as they happen. */
	check(&b, true, false, "* 2 EXPUNGE\r\n* 3 EXPUNGE\r\n");
	assert_int_equal(b.exists, 4);
	check(&a, true, false, "* 3 EXPUNGE\r\n* 4 EXISTS\r\n* 4 RECENT\r\n");
	/* Nobody needs the tombstones now. */
	folder_drop_tombstones(&f, keep, &fo);
	fo.version++;
	assert_int_equal(f.n, 4);
	assert_int_equal(imap_view_msg(&a, 3)->uid, 5);

	/* Flag changes: b hears of a's, a not of its own. */
	set_flags(3, FOLDER_SEEN, 1);
	check(&b, true, false, "* 2 FETCH (FLAGS (\\Seen))\r\n");
	check(&a, true, false, "");
	/* With QRESYNC: VANISHED, UID in FETCH. */
	set_flags(5, FOLDER_FLAGGED, 1);
	char want[128];
	snprintf(want, sizeof(want),
		 "* VANISHED 1\r\n* 2 FETCH (UID 5 FLAGS (\\Flagged) MODSEQ "
		 "(%llu))\r\n",
		 (unsigned long long)f.highestmodseq);
	expunge(1);
	check(&b, true, true, want);
	imap_view_detach(&a);
	imap_view_detach(&b);
}

static void
test_resolve(void **state)
{
	struct imap_view v;
	uint32_t *seqs;
	size_t n;
	(void)state;
	imap_view_attach(&v, &fo, NULL, 1, true);
	struct imap_range r1[] = {{2, 0}}; /* 2:* */
	struct imap_seqset s1 = {1, r1, false};
	assert_int_equal(imap_view_resolve(&v, &s1, false, NULL, 0, &seqs, &n),
			 0);
	assert_int_equal(n, v.exists - 1);
	free(seqs);
	/* UIDs: 3:1 is 1:3; 9:* is the last one; absent ones are skipped. */
	uint32_t last = imap_view_msg(&v, v.exists)->uid;
	struct imap_range r2[] = {{3, 1}, {last + 3, 0}};
	struct imap_seqset s2 = {2, r2, false};
	assert_int_equal(imap_view_resolve(&v, &s2, true, NULL, 0, &seqs, &n),
			 0);
	assert_true(n >= 1);
	assert_int_equal(imap_view_msg(&v, seqs[n - 1])->uid, last);
	free(seqs);
	/* A sequence number past EXISTS is an error (BAD). */
	struct imap_range r3[] = {{v.exists + 1, v.exists + 1}};
	struct imap_seqset s3 = {1, r3, false};
	assert_int_equal(imap_view_resolve(&v, &s3, false, NULL, 0, &seqs, &n),
			 -1);
	/* "$": the saved UIDs. */
	uint32_t saved[] = {last, 999};
	struct imap_seqset s4 = {0, NULL, true};
	assert_int_equal(imap_view_resolve(&v, &s4, false, saved, 2, &seqs, &n),
			 0);
	assert_int_equal(n, 1);
	assert_int_equal(seqs[0], v.exists);
	free(seqs);
	struct strbuf sb = {0};
	uint32_t uids[] = {1, 2, 3, 5, 7, 8};
	imap_view_uidset(uids, 6, &sb);
	assert_string_equal(sb.p, "1:3,5,7:8");
	free(sb.p);
	imap_view_detach(&v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_two_views, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resolve, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
