#include "deliver/dns_wire.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

static unsigned
get16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/*
 * name_at - decode the (maybe compressed) name at off into out (256
 * bytes); *end_r: the offset past it in place. false if malformed.
 */
static bool
name_at(const uint8_t *p, size_t len, size_t off, char out[256], size_t *end_r)
{
	size_t o = 0;
	unsigned jumps = 0;
	bool jumped = false;

	for (;;) {
		if (off >= len)
			return false;
		uint8_t c = p[off];
		if ((c & 0xc0) == 0xc0) {
			if (off + 1 >= len || ++jumps > 64)
				return false;
			if (!jumped)
				*end_r = off + 2;
			jumped = true;
			off = (size_t)(c & 0x3f) << 8 | p[off + 1];
			continue;
		}
		if (c & 0xc0)
			return false;
		if (c == 0) {
			if (!jumped)
				*end_r = off + 1;
			out[o] = '\0';
			return true;
		}
		if (off + 1 + c > len || o + c + 1 > 255)
			return false;
		if (o > 0)
			out[o++] = '.';
		for (size_t i = 0; i < c; i++) {
			uint8_t b = p[off + 1 + i];
			out[o++] =
			    b > 0x20 && b < 0x7f && b != '.' ? (char)b : '?';
		}
		off += 1 + (size_t)c;
	}
}

struct rr {
	char owner[256];
	unsigned type, klass;
	size_t rd, rdlen;
};

/* rr_at - the record at *off; advances it. */
static bool
rr_at(const uint8_t *p, size_t len, size_t *off, struct rr *rr)
{
	size_t end;

	if (!name_at(p, len, *off, rr->owner, &end) || end + 10 > len)
		return false;
	rr->type = get16(p + end);
	rr->klass = get16(p + end + 2);
	rr->rdlen = get16(p + end + 8);
	rr->rd = end + 10;
	if (rr->rd + rr->rdlen > len)
		return false;
	*off = rr->rd + rr->rdlen;
	return true;
}

int
dns_wire_rcode(const uint8_t *pkt, size_t len)
{
	return len < 12 ? -1 : pkt[3] & 0x0f;
}

static bool
put(char *buf, size_t cap, size_t *w, const void *src, size_t n)
{
	if (*w + n + 1 > cap)
		return false;
	memcpy(buf + *w, src, n);
	*w += n;
	return true;
}

int
dns_wire_records(const uint8_t *pkt, size_t len, int type,
		 struct dns_wire_rr *rrs, size_t max, char *buf, size_t cap)
{
	char owner[256], name[256];
	size_t off, end, answers_at, w = 0;
	unsigned n_an;
	int n = 0;

	if (len < 12 || get16(pkt + 4) != 1)
		return -1;
	n_an = get16(pkt + 6);
	if (!name_at(pkt, len, 12, owner, &end) || end + 4 > len)
		return -1;
	answers_at = end + 4;

	/* Follow the CNAME chain from the question (at most 16 links). */
	for (int hops = 0; hops < 16; hops++) {
		struct rr rr;
		bool moved = false;
		off = answers_at;
		for (unsigned i = 0; i < n_an; i++) {
			if (!rr_at(pkt, len, &off, &rr))
				return -1;
			if (rr.type == DNS_T_CNAME && rr.klass == 1 &&
			    strcasecmp(rr.owner, owner) == 0) {
				if (!name_at(pkt, len, rr.rd, name, &end))
					return -1;
				memcpy(owner, name, sizeof(name));
				moved = true;
				break;
			}
		}
		if (!moved)
			break;
	}

	off = answers_at;
	for (unsigned i = 0; i < n_an; i++) {
		struct rr rr;
		if (!rr_at(pkt, len, &off, &rr))
			return -1;
		if (rr.type != (unsigned)type || rr.klass != 1 ||
		    strcasecmp(rr.owner, owner) != 0)
			continue;
		if ((size_t)n == max)
			continue;
		size_t start = w;
		unsigned pref = 0;
		const uint8_t *rd = pkt + rr.rd;
		switch (type) {
		case DNS_T_A:
		case DNS_T_AAAA:
			if (rr.rdlen != (type == DNS_T_A ? 4u : 16u))
				return -1;
			if (!put(buf, cap, &w, rd, rr.rdlen))
				return -1;
			break;
		case DNS_T_TXT:
			for (size_t k = 0; k < rr.rdlen;) {
				size_t sl = rd[k];
				if (k + 1 + sl > rr.rdlen)
					return -1;
				if (!put(buf, cap, &w, rd + k + 1, sl))
					return -1;
				k += 1 + sl;
			}
			break;
		case DNS_T_MX:
		case DNS_T_PTR: {
			size_t at = rr.rd;
			if (type == DNS_T_MX) {
				if (rr.rdlen < 3)
					return -1;
				pref = get16(rd);
				at += 2;
			}
			if (!name_at(pkt, len, at, name, &end) ||
			    end != rr.rd + rr.rdlen)
				return -1;
			if (!put(buf, cap, &w, name, strlen(name)))
				return -1;
			break;
		}
		default:
			if (!put(buf, cap, &w, rd, rr.rdlen))
				return -1;
		}
		if (w + 1 > cap)
			return -1;
		buf[w++] = '\0';
		rrs[n].data = buf + start;
		rrs[n].len = w - 1 - start;
		rrs[n].pref = pref;
		n++;
	}
	return n;
}
