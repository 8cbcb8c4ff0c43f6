/*
 * bench_mime - throughput of the MIME parser and cost of the cache, for
 * the README and the IMAP benchmark's budget. Not part of make test:
 *
 *   make build/libpetrel.a
 *   cc -O2 -std=c17 -D_GNU_SOURCE -Isrc tests/mime/bench_mime.c \
 *      build/libpetrel.a -lz -o build/bench_mime && build/bench_mime
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "imap/imap_msg.h"
#include "imap/imap_msg_search.h"
#include "mime/mime_parse.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* a typical client message: multipart/alternative + a small base64
 * attachment, 8 recipients, encoded-word subject (about 6 KiB) */
static void
typical(struct strbuf *m, int i)
{
	char b[512];

	snprintf(
	    b, sizeof(b),
	    "Return-Path: <alice@example.org>\r\n"
	    "Received: from mx.example.org (mx.example.org [192.0.2.1])\r\n"
	    "\tby mail.example.net with ESMTPS id %08X\r\n"
	    "\tfor <bob@example.net>; Mon, 1 Jan 2024 10:00:00 +0100\r\n"
	    "Date: Mon, 1 Jan 2024 10:%02d:00 +0100\r\n"
	    "From: Alice Example <alice@example.org>\r\n"
	    "To: Bob <bob@example.net>, carol@example.com, "
	    "\"Dave, Jr.\" <dave@example.com>\r\n"
	    "Cc: team: e@example.com, f@example.com;, g@example.com\r\n"
	    "Subject: =?UTF-8?Q?Caf=C3=A9_meeting_number_%d?=\r\n"
	    "Message-ID: <%d.1234@example.org>\r\n",
	    (unsigned)i, i % 60, i, i);
	strbuf_adds(m, b);
	strbuf_adds(m,
		    "In-Reply-To: <0.1234@example.org>\r\n"
		    "MIME-Version: 1.0\r\n"
		    "Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n"
		    "--outer\r\n"
		    "Content-Type: multipart/alternative; boundary=\"alt\"\r\n"
		    "\r\n--alt\r\n"
		    "Content-Type: text/plain; charset=UTF-8; format=flowed\r\n"
		    "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
	for (int k = 0; k < 20; k++)
		strbuf_adds(m, "Some text of the message, line after line, as "
			       "people write it. caf=C3=A9\r\n");
	strbuf_adds(m,
		    "--alt\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n");
	for (int k = 0; k < 20; k++)
		strbuf_adds(m, "<p>Some text of the message, line after line, "
			       "as people write it.</p>\r\n");
	strbuf_adds(
	    m, "--alt--\r\n--outer\r\n"
	       "Content-Type: application/pdf; name=\"report.pdf\"\r\n"
	       "Content-Disposition: attachment; filename=\"report.pdf\"\r\n"
	       "Content-Transfer-Encoding: base64\r\n\r\n");
	for (int k = 0; k < 30; k++)
		strbuf_adds(
		    m, "JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFIv"
		       "RmlsdGVyIC9GbGF0ZURlY29kZT4+\r\n");
	strbuf_adds(m, "--outer--\r\n");
}

int
main(int argc, char **argv)
{
	int N = argc > 1 ? atoi(argv[1]) : 10000;
	struct strbuf *msgs = calloc(N, sizeof(*msgs));
	struct strbuf *enc = calloc(N, sizeof(*enc));
	size_t total = 0;
	double t0, t1;

	for (int i = 0; i < N; i++) {
		typical(&msgs[i], i);
		total += msgs[i].len;
	}
	/* 1. parse only */
	t0 = now();
	for (int i = 0; i < N; i++) {
		struct mime_tree *t = mime_parse(msgs[i].p, msgs[i].len, NULL);
		mime_tree_free(&t);
	}
	t1 = now();
	printf("parse, %d typical messages of %zu B: %.0f MB/s, %.1f us/msg\n",
	       N, total / N, total / (t1 - t0) / 1e6, (t1 - t0) / N * 1e6);
	/* 2. parse + ENVELOPE/BODY/BODYSTRUCTURE + encode (what the store
	 * does once per message) */
	t0 = now();
	for (int i = 0; i < N; i++) {
		struct imap_msg *m = imap_msg_parse(msgs[i].p, msgs[i].len);
		imap_msg_encode(m, &enc[i]);
		imap_msg_free(&m);
	}
	t1 = now();
	size_t enc_total = 0;
	for (int i = 0; i < N; i++)
		enc_total += enc[i].len;
	printf("parse + build + encode: %.1f us/msg; cache entry %zu B\n",
	       (t1 - t0) / N * 1e6, enc_total / N);
	/* 3. FETCH from the cache: decode + copy the string out */
	struct strbuf out = {0};
	for (int rep = 0; rep < 2; rep++) {
		t0 = now();
		for (int r = 0; r < 10; r++)
			for (int i = 0; i < N; i++) {
				struct imap_msg *m =
				    imap_msg_decode(enc[i].p, enc[i].len);
				out.len = 0;
				if (rep == 0)
					strbuf_add(&out, m->envelope,
						   m->envelope_len);
				else
					strbuf_add(&out, m->bodystructure,
						   m->bodystructure_len);
				imap_msg_free(&m);
			}
		t1 = now();
		printf("%s from the cache (decode + copy): %.3f us/msg\n",
		       rep == 0 ? "ENVELOPE" : "BODYSTRUCTURE",
		       (t1 - t0) / (10.0 * N) * 1e6);
	}
	/* 4. SEARCH BODY over all messages (no match: everything read) */
	struct mime_needle *nd = mime_needle_new("nowhere-to-be-found", 19);
	struct imap_msg **ms = calloc(N, sizeof(*ms));
	for (int i = 0; i < N; i++)
		ms[i] = imap_msg_decode(enc[i].p, enc[i].len);
	t0 = now();
	int hits = 0;
	for (int i = 0; i < N; i++)
		hits += imap_msg_search_body(msgs[i].p, msgs[i].len, ms[i], nd);
	t1 = now();
	printf("SEARCH BODY (miss) over %d messages: %.1f ms (%.1f us/msg)\n",
	       N, (t1 - t0) * 1e3, (t1 - t0) / N * 1e6);
	t0 = now();
	for (int i = 0; i < N; i++)
		hits += imap_msg_search_header(msgs[i].p, msgs[i].len, ms[i],
					       "Subject", nd);
	t1 = now();
	printf("SEARCH SUBJECT (miss) over %d messages: %.1f ms\n", N,
	       (t1 - t0) * 1e3);
	/* 5. one 50 MB attachment, fed in 64 KiB chunks */
	size_t big = 50u << 20;
	char *chunk = malloc(65536);
	for (int i = 0; i < 65536; i++)
		chunk[i] = i % 78 == 76 ? '\r' : i % 78 == 77 ? '\n' : 'Q';
	struct rusage ru0, ru1;
	getrusage(RUSAGE_SELF, &ru0);
	t0 = now();
	struct mime_parser *p = mime_parser_new(NULL);
	const char *h =
	    "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n"
	    "Content-Type: application/octet-stream\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n";
	mime_parser_feed(p, h, strlen(h));
	for (size_t d = 0; d < big; d += 65536)
		mime_parser_feed(p, chunk, 65536);
	mime_parser_feed(p, "\r\n--x--\r\n", 9);
	struct mime_tree *t = mime_parser_finish(&p);
	t1 = now();
	getrusage(RUSAGE_SELF, &ru1);
	printf(
	    "parse, one 50 MB attachment: %.0f MB/s, max RSS grew by %ld KiB "
	    "(%u parts)\n",
	    big / (t1 - t0) / 1e6, ru1.ru_maxrss - ru0.ru_maxrss, t->nparts);
	mime_tree_free(&t);
	if (argc > 2) {
		/* dump one typical message (for instruction counts) */
		FILE *f = fopen(argv[2], "wb");
		fwrite(msgs[0].p, 1, msgs[0].len, f);
		fclose(f);
	}
	printf("(%d)\n", hits);
	return 0;
}
