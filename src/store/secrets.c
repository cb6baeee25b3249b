/* PBX secrets at rest (docs/architecture.md, Secrets at rest): sealed with
 * AES-256-GCM under a key kept apart from the database, in "<database>.key"
 * beside it: 32 random bytes, created with the database's own mode (0600 as
 * provdesk creates it; 0660 when its admin shared the database, so the team
 * that shares the database shares the key) and refused when others may read
 * it. A copy of the database alone
 * (a backup, a stolen file) holds no usable secret. A stored value is
 * "enc1:" + base64(nonce 12 | ciphertext | tag 16); a value without the
 * prefix (written before this) is read as is and sealed on the next
 * read-write open. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provdesk/dl_ssl.h"
#include "provdesk/i18n.h"
#include "secrets.h"
#include "store_internal.h"

#define PREFIX "enc1:"
#define NONCE 12
#define TAG 16
static const unsigned char aad[] = "provdesk pbx secret v1";

static pd_status read_key(pd_store *s, const char *kp, int fd, pd_err *e)
{
	struct stat sb;
	if (fstat(fd, &sb) == 0 && (sb.st_mode & 0004)) {
		close(fd);
		return pd_fail(e, PD_E_CONFIG, "db",
		               _("%s: mode %04o, must not be readable by others (chmod o-r)"), kp,
		               (unsigned)(sb.st_mode & 07777));
	}
	unsigned char k[sizeof s->key + 1]; /* one more: a longer file is not a key */
	ssize_t n = read(fd, k, sizeof k);
	close(fd);
	if (n != (ssize_t)sizeof s->key) {
		explicit_bzero(k, sizeof k);
		return pd_fail(
		    e, PD_E_CONFIG, "db",
		    _("%s: not a provdesk key (%zd bytes, expected %zu); the PBX secrets "
		      "need the key they were sealed with"),
		    kp, n, sizeof s->key);
	}
	memcpy(s->key, k, sizeof s->key);
	explicit_bzero(k, sizeof k);
	s->have_key = true;
	return PD_OK;
}

/* Seals the secrets stored before keys existed. */
static pd_status seal_legacy(pd_store *s, pd_err *e)
{
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db,
	                       "SELECT id, secret FROM pbx WHERE secret IS NOT NULL AND"
	                       " secret <> '' AND substr(secret, 1, 5) <> 'enc1:'",
	                       -1, &q, NULL) != SQLITE_OK)
		return st_fail(s, sqlite3_errcode(s->db), e, "secrets");
	pd_status st = PD_OK;
	bool began = false;
	while (st == PD_OK && sqlite3_step(q) == SQLITE_ROW) {
		if (!began) {
			if ((st = store_begin(s, e)) != PD_OK)
				break;
			began = true;
		}
		char *sealed = secret_seal(s, (const char *)sqlite3_column_text(q, 1));
		sqlite3_stmt *u = st_get(s, "UPDATE pbx SET secret = ?1 WHERE id = ?2", e);
		if (!u || !sealed) {
			free(sealed);
			st = u ? pd_fail(e, PD_E_INTERNAL, "db", _("cannot seal a PBX secret"))
			       : PD_E_INTERNAL;
			break;
		}
		sqlite3_bind_text(u, 1, sealed, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(u, 2, sqlite3_column_int64(q, 0));
		st = st_exec(s, u, e);
		free(sealed);
	}
	sqlite3_finalize(q);
	if (began) {
		if (st == PD_OK)
			st = store_commit(s, e);
		else
			store_rollback(s);
	}
	return st;
}

pd_status secrets_open(pd_store *s, bool read_only, pd_err *e)
{
	if (!strcmp(s->path, ":memory:") || !strncmp(s->path, "file::memory:", 13)) {
		if (!pd_ssl_load(e))
			return PD_E_UNAVAILABLE;
		RAND_bytes(s->key, sizeof s->key);
		s->have_key = true;
		return PD_OK;
	}
	char *kp = xasprintf("%s.key", s->path);
	pd_status st = PD_OK;
	int fd = open(kp, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		st = read_key(s, kp, fd, e);
	} else if (errno != ENOENT) {
		st = pd_fail(e, PD_E_CONFIG, "db", _("%s: cannot read the key: %s"), kp,
		             strerror(errno));
	} else if (!read_only) {
		/* the database's own mode: the team that shares it shares the key */
		struct stat sb;
		mode_t mode = stat(s->path, &sb) == 0 ? (sb.st_mode & 0660) | 0600 : 0600;
		unsigned char k[sizeof s->key];
		if (!pd_ssl_load(e)) {
			free(kp);
			return PD_E_UNAVAILABLE;
		}
		if (RAND_bytes(k, sizeof k) != 1) {
			free(kp);
			return pd_fail(e, PD_E_INTERNAL, "db", _("no random bytes for the key"));
		}
		fd = open(kp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
		if (fd >= 0) {
			bool ok = fchmod(fd, mode) == 0 &&
			          write(fd, k, sizeof k) == (ssize_t)sizeof k && fsync(fd) == 0;
			close(fd);
			if (ok) {
				memcpy(s->key, k, sizeof k);
				s->have_key = true;
			} else {
				unlink(kp);
				st = pd_fail(e, PD_E_CANTCREATE, "db",
				             _("%s: cannot write the key"), kp);
			}
		} else if (errno == EEXIST && (fd = open(kp, O_RDONLY | O_CLOEXEC)) >= 0) {
			st = read_key(s, kp, fd, e); /* another process made it first */
		} else {
			st = pd_fail(e, PD_E_CANTCREATE, "db", _("%s: cannot create the key: %s"),
			             kp, strerror(errno));
		}
		explicit_bzero(k, sizeof k);
	}
	free(kp);
	if (st == PD_OK && s->have_key && !read_only)
		st = seal_legacy(s, e);
	return st;
}

bool secrets_ready(pd_err *e)
{
	return pd_ssl_load(e);
}

char *secret_seal(pd_store *s, const char *plain)
{
	if (!plain || !s->have_key || !pd_ssl_load(NULL))
		return NULL;
	size_t n = strlen(plain);
	unsigned char *buf = xmalloc(NONCE + n + TAG);
	int len = 0, fin = 0;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	bool ok =
	    c && RAND_bytes(buf, NONCE) == 1 &&
	    EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE, NULL) == 1 &&
	    EVP_EncryptInit_ex(c, NULL, NULL, s->key, buf) == 1 &&
	    EVP_EncryptUpdate(c, NULL, &len, aad, (int)sizeof aad - 1) == 1 &&
	    EVP_EncryptUpdate(c, buf + NONCE, &len, (const unsigned char *)plain, (int)n) == 1 &&
	    EVP_EncryptFinal_ex(c, buf + NONCE + len, &fin) == 1 &&
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG, buf + NONCE + n) == 1;
	EVP_CIPHER_CTX_free(c);
	char *out = NULL;
	if (ok) {
		size_t raw = NONCE + n + TAG;
		out = xmalloc(sizeof PREFIX + 4 * ((raw + 2) / 3) + 1);
		memcpy(out, PREFIX, sizeof PREFIX - 1);
		EVP_EncodeBlock((unsigned char *)out + sizeof PREFIX - 1, buf, (int)raw);
	}
	OPENSSL_cleanse(buf, NONCE + n + TAG);
	free(buf);
	return out;
}

char *secret_unseal(pd_store *s, const char *stored)
{
	if (!stored)
		return NULL;
	if (strncmp(stored, PREFIX, sizeof PREFIX - 1) != 0)
		return xstrdup(stored); /* written before secrets were sealed */
	if (!s->have_key || !pd_ssl_load(NULL))
		return NULL;
	const char *b64 = stored + sizeof PREFIX - 1;
	size_t bl = strlen(b64);
	if (bl % 4 || bl < 4)
		return NULL;
	unsigned char *raw = xmalloc(bl / 4 * 3 + 1);
	int rn = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)bl);
	size_t pad = (b64[bl - 1] == '=') + (b64[bl - 2] == '=');
	char *out = NULL;
	if (rn >= (int)(NONCE + TAG + pad)) {
		size_t n = (size_t)rn - pad - NONCE - TAG;
		out = xmalloc(n + 1);
		int len = 0, fin = 0;
		EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
		bool ok =
		    c && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
		    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE, NULL) == 1 &&
		    EVP_DecryptInit_ex(c, NULL, NULL, s->key, raw) == 1 &&
		    EVP_DecryptUpdate(c, NULL, &len, aad, (int)sizeof aad - 1) == 1 &&
		    EVP_DecryptUpdate(c, (unsigned char *)out, &len, raw + NONCE, (int)n) == 1 &&
		    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG, raw + NONCE + n) == 1 &&
		    EVP_DecryptFinal_ex(c, (unsigned char *)out + len, &fin) == 1;
		EVP_CIPHER_CTX_free(c);
		if (ok)
			out[n] = 0;
		else {
			OPENSSL_cleanse(out, n + 1);
			free(out);
			out = NULL;
		}
	}
	OPENSSL_cleanse(raw, bl / 4 * 3 + 1);
	free(raw);
	return out;
}
