#include "mailauth/dkim_keys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "auth/sasl.h"
#include "util/fsutil.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define ACTIVE_MAX 4096

EVP_PKEY *
dkim_keys_generate(enum dkim_alg alg)
{
	int id =
	    alg == DKIM_ALG_ED25519_SHA256 ? EVP_PKEY_ED25519 : EVP_PKEY_RSA;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(id, NULL);
	EVP_PKEY *key = NULL;

	if (!ctx || EVP_PKEY_keygen_init(ctx) != 1 ||
	    (id == EVP_PKEY_RSA &&
	     EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048) != 1) ||
	    EVP_PKEY_keygen(ctx, &key) != 1)
		key = NULL;
	EVP_PKEY_CTX_free(ctx);
	return key;
}

char *
dkim_keys_record(EVP_PKEY *key)
{
	unsigned char raw[32], *der = NULL;
	const unsigned char *pub = raw;
	size_t len = sizeof(raw);
	const char *type = "rsa";

	if (EVP_PKEY_get_id(key) == EVP_PKEY_ED25519) {
		/* RFC 8463 §4.2: p= is the bare 32-octet public key. */
		if (EVP_PKEY_get_raw_public_key(key, raw, &len) != 1)
			return NULL;
		type = "ed25519";
	} else {
		/* RFC 6376 §3.6.1: an RSAPublicKey in SubjectPublicKeyInfo. */
		int n = i2d_PUBKEY(key, &der);
		if (n <= 0)
			return NULL;
		pub = der;
		len = (size_t)n;
	}
	char *b64 = xmalloc(len * 2 + 8);
	sasl_base64_encode(pub, len, b64, len * 2 + 8);
	char *rec = xasprintf("v=DKIM1; k=%s; p=%s", type, b64);
	OPENSSL_free(der);
	free(b64);
	return rec;
}

/* ---- paths ------------------------------------------------------------ */

static int
check_names(const char *domain, const char *selector,
	    char d[MAUTH_NAME_MAX + 1], char s[MAUTH_NAME_MAX + 1], char *err,
	    size_t errlen)
{
	if (!mauth_name_copy(domain, strlen(domain), d)) {
		snprintf(err, errlen, "malformed domain '%.80s'", domain);
		return -1;
	}
	if (selector && !mauth_name_copy(selector, strlen(selector), s)) {
		snprintf(err, errlen, "malformed selector '%.80s'", selector);
		return -1;
	}
	return 0;
}

static void
key_path(char *out, size_t n, const char *data_dir, const char *d,
	 const char *s)
{
	snprintf(out, n, "%s/dkim/%s/%s.pem", data_dir, d, s);
}

/* read_active - the active file's selectors as one string ("" if none). */
static char *
read_active(const char *data_dir, const char *d)
{
	char path[PATH_MAX];
	size_t len;

	snprintf(path, sizeof(path), "%s/dkim/%s/active", data_dir, d);
	char *t = fsutil_read_file(path, ACTIVE_MAX, &len);
	return t ? t : xstrdup("");
}

static bool
in_active(const char *active, const char *s)
{
	size_t n = strlen(s);

	for (const char *p = active; *p;) {
		const char *e = strchr(p, '\n');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == n && memcmp(p, s, n) == 0)
			return true;
		p += l + (e ? 1 : 0);
	}
	return false;
}

/* write_file - tmp, fsync, rename: a reader sees the old or the new. */
static int
write_file(const char *path, const char *data, size_t len, mode_t mode,
	   bool excl, char *err, size_t errlen)
{
	char tmp[PATH_MAX + 8];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0 || fchmod(fd, mode) < 0 ||
	    fsutil_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	/* excl: link() fails on an existing name, so no key is replaced. */
	if (excl ? link(tmp, path) < 0 : rename(tmp, path) < 0) {
		snprintf(err, errlen, "%s: %s", path,
			 errno == EEXIST ? "already exists" : strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (excl)
		unlink(tmp);
	return 0;
}

static EVP_PKEY *
read_key(const char *path)
{
	FILE *f = fopen(path, "re");
	EVP_PKEY *k;

	if (!f)
		return NULL;
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k && EVP_PKEY_get_id(k) != EVP_PKEY_RSA &&
	    EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(k);
		k = NULL;
	}
	return k;
}

static enum dkim_alg
key_alg(EVP_PKEY *k)
{
	return EVP_PKEY_get_id(k) == EVP_PKEY_ED25519 ? DKIM_ALG_ED25519_SHA256
						      : DKIM_ALG_RSA_SHA256;
}

/* ---- list ------------------------------------------------------------- */

static int
info_cmp(const void *a, const void *b)
{
	const struct dkim_key_info *x = a, *y = b;
	int c = strcmp(x->domain, y->domain);

	return c ? c : strcmp(x->selector, y->selector);
}

static void
list_domain(const char *data_dir, const char *d, struct dkim_key_list *out)
{
	char dir[PATH_MAX];
	DIR *dp;
	struct dirent *de;
	char *active = read_active(data_dir, d);

	snprintf(dir, sizeof(dir), "%s/dkim/%s", data_dir, d);
	dp = opendir(dir);
	while (dp && (de = readdir(dp))) {
		size_t n = strlen(de->d_name);
		char s[MAUTH_NAME_MAX + 1], path[PATH_MAX];
		struct stat st;
		if (n < 5 || strcmp(de->d_name + n - 4, ".pem") != 0 ||
		    !mauth_name_copy(de->d_name, n - 4, s) ||
		    strncmp(s, de->d_name, n - 4) != 0)
			continue;
		key_path(path, sizeof(path), data_dir, d, s);
		EVP_PKEY *k = read_key(path);
		if (!k || stat(path, &st) < 0) {
			EVP_PKEY_free(k);
			continue;
		}
		out->items =
		    xrealloc(out->items, (out->n + 1) * sizeof(*out->items));
		struct dkim_key_info *i = &out->items[out->n++];
		memset(i, 0, sizeof(*i));
		memcpy(i->domain, d, strlen(d) + 1);
		memcpy(i->selector, s, strlen(s) + 1);
		i->alg = key_alg(k);
		i->bits = EVP_PKEY_get_bits(k);
		i->active = in_active(active, s);
		i->created = st.st_mtime;
		i->record = dkim_keys_record(k);
		if (!i->record)
			i->record = xstrdup("");
		EVP_PKEY_free(k);
	}
	if (dp)
		closedir(dp);
	free(active);
}

int
dkim_keys_list(const char *data_dir, const char *domain,
	       struct dkim_key_list *out, char *err, size_t errlen)
{
	char d[MAUTH_NAME_MAX + 1], s[MAUTH_NAME_MAX + 1];
	size_t first = out->n;

	if (domain) {
		if (check_names(domain, NULL, d, s, err, errlen) < 0)
			return -1;
		list_domain(data_dir, d, out);
	} else {
		char dir[PATH_MAX];
		DIR *dp;
		struct dirent *de;
		snprintf(dir, sizeof(dir), "%s/dkim", data_dir);
		dp = opendir(dir);
		while (dp && (de = readdir(dp)))
			if (de->d_name[0] != '.' &&
			    mauth_name_copy(de->d_name, strlen(de->d_name),
					    d) &&
			    strcmp(d, de->d_name) == 0)
				list_domain(data_dir, d, out);
		if (dp)
			closedir(dp);
	}
	if (out->n > first)
		qsort(out->items + first, out->n - first, sizeof(*out->items),
		      info_cmp);
	return 0;
}

void
dkim_key_list_free(struct dkim_key_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i].record);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

/* ---- changes ---------------------------------------------------------- */

/*
 * set_active - rewrite the active file: selector in, and any other
 * active key of the same algorithm out.
 */
static int
set_active(const char *data_dir, const char *d, const char *s,
	   enum dkim_alg alg, char *err, size_t errlen)
{
	struct dkim_key_list l = {0};
	struct strbuf sb = {0};
	char path[PATH_MAX];
	int r;

	list_domain(data_dir, d, &l);
	for (size_t i = 0; i < l.n; i++) {
		bool keep = l.items[i].active && l.items[i].alg != alg;
		if (keep || strcmp(l.items[i].selector, s) == 0) {
			strbuf_adds(&sb, l.items[i].selector);
			strbuf_adds(&sb, "\n");
		}
	}
	snprintf(path, sizeof(path), "%s/dkim/%s/active", data_dir, d);
	r = write_file(path, sb.p ? sb.p : "", sb.len, 0600, false, err,
		       errlen);
	free(sb.p);
	dkim_key_list_free(&l);
	return r;
}

int
dkim_keys_create(const char *data_dir, const char *domain, const char *selector,
		 enum dkim_alg alg, bool *active_r, char *err, size_t errlen)
{
	char d[MAUTH_NAME_MAX + 1], s[MAUTH_NAME_MAX + 1];
	char dir[PATH_MAX], path[PATH_MAX];
	struct dkim_key_list l = {0};
	bool have_alg = false;

	*active_r = false;
	if (check_names(domain, selector, d, s, err, errlen) < 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s/dkim/%s", data_dir, d);
	if (fsutil_mkdirs(dir, 0700) < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	key_path(path, sizeof(path), data_dir, d, s);
	if (access(path, F_OK) == 0) {
		snprintf(err, errlen, "%s: selector %s already exists", d, s);
		return -1;
	}
	EVP_PKEY *key = dkim_keys_generate(alg);
	if (!key) {
		snprintf(err, errlen, "key generation failed");
		return -1;
	}
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem = NULL;
	long pem_len = 0;
	int r = -1;
	if (bio && PEM_write_bio_PKCS8PrivateKey(bio, key, NULL, NULL, 0, NULL,
						 NULL) == 1)
		pem_len = BIO_get_mem_data(bio, &pem);
	if (pem_len <= 0)
		snprintf(err, errlen, "cannot encode the key");
	else
		r = write_file(path, pem, (size_t)pem_len, 0600, true, err,
			       errlen);
	BIO_free(bio);
	EVP_PKEY_free(key);
	if (r < 0)
		return -1;

	list_domain(data_dir, d, &l);
	for (size_t i = 0; i < l.n; i++)
		if (l.items[i].active && l.items[i].alg == alg)
			have_alg = true;
	dkim_key_list_free(&l);
	if (!have_alg) {
		if (set_active(data_dir, d, s, alg, err, errlen) < 0)
			return -1;
		*active_r = true;
	}
	fsutil_fsync_dir(dir);
	return 0;
}

/* find - the listed key d/s, or NULL with err. */
static const struct dkim_key_info *
find(const struct dkim_key_list *l, const char *d, const char *s, char *err,
     size_t errlen)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->items[i].selector, s) == 0)
			return &l->items[i];
	snprintf(err, errlen, "%s has no DKIM key with selector %s", d, s);
	return NULL;
}

/*
 * with_key - check the names, list the domain's keys, find selector and
 * run op on it. Returns op's result, or -1 with err.
 */
static int
with_key(const char *data_dir, const char *domain, const char *selector,
	 int (*op)(const char *data_dir, const char *d,
		   const struct dkim_key_info *k, char *err, size_t errlen),
	 char *err, size_t errlen)
{
	char d[MAUTH_NAME_MAX + 1], s[MAUTH_NAME_MAX + 1];
	struct dkim_key_list l = {0};
	const struct dkim_key_info *k;
	int r = -1;

	if (check_names(domain, selector, d, s, err, errlen) < 0)
		return -1;
	list_domain(data_dir, d, &l);
	if ((k = find(&l, d, s, err, errlen)))
		r = op(data_dir, d, k, err, errlen);
	dkim_key_list_free(&l);
	return r;
}

static int
op_activate(const char *data_dir, const char *d, const struct dkim_key_info *k,
	    char *err, size_t errlen)
{
	return set_active(data_dir, d, k->selector, k->alg, err, errlen);
}

static int
op_delete(const char *data_dir, const char *d, const struct dkim_key_info *k,
	  char *err, size_t errlen)
{
	char path[PATH_MAX];

	if (k->active) {
		snprintf(err, errlen,
			 "%s: selector %s signs; activate another key first", d,
			 k->selector);
		return -1;
	}
	key_path(path, sizeof(path), data_dir, d, k->selector);
	if (unlink(path) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
dkim_keys_activate(const char *data_dir, const char *domain,
		   const char *selector, char *err, size_t errlen)
{
	return with_key(data_dir, domain, selector, op_activate, err, errlen);
}

int
dkim_keys_delete(const char *data_dir, const char *domain, const char *selector,
		 char *err, size_t errlen)
{
	return with_key(data_dir, domain, selector, op_delete, err, errlen);
}

size_t
dkim_keys_load(const char *data_dir, const char *domain,
	       struct dkim_sign_key keys_r[2])
{
	char d[MAUTH_NAME_MAX + 1];
	char *active;
	size_t n = 0;

	if (!mauth_name_copy(domain, strlen(domain), d))
		return 0;
	active = read_active(data_dir, d);
	for (int want = 0; want < 2; want++) {
		enum dkim_alg alg =
		    want == 0 ? DKIM_ALG_RSA_SHA256 : DKIM_ALG_ED25519_SHA256;
		for (const char *p = active; *p && n < 2;) {
			const char *e = strchr(p, '\n');
			size_t l = e ? (size_t)(e - p) : strlen(p);
			char s[MAUTH_NAME_MAX + 1], path[PATH_MAX];
			p += l + (e ? 1 : 0);
			if (!mauth_name_copy(p - l - (e ? 1 : 0), l, s))
				continue;
			key_path(path, sizeof(path), data_dir, d, s);
			EVP_PKEY *k = read_key(path);
			if (!k || key_alg(k) != alg) {
				EVP_PKEY_free(k);
				continue;
			}
			struct dkim_sign_key *sk = &keys_r[n++];
			memcpy(sk->domain, d, strlen(d) + 1);
			memcpy(sk->selector, s, strlen(s) + 1);
			sk->alg = alg;
			sk->pkey = k;
			break;
		}
	}
	free(active);
	return n;
}

void
dkim_keys_unload(struct dkim_sign_key *keys, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		EVP_PKEY_free(keys[i].pkey);
		keys[i].pkey = NULL;
	}
}
