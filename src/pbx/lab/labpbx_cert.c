/* A self-signed certificate for the lab PBX's TLS listener (lab-pbx
 * --self-signed, docs/user-guide.md "A BroadWorks lab (XSP)"): an EC P-256
 * key and a SHA-256 certificate valid for a year, whose subjectAltName
 * names 127.0.0.1, ::1, localhost and the listening host, so a client that
 * trusts the certificate file (a connection's TLS CA file) verifies it. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provdesk/dl_ssl.h"
#include "provdesk/labpbx.h"
#include "provdesk/util.h"

static bool add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return false;
	bool ok = X509_add_ext(x, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	return ok;
}

/* Opens path for writing with mode (created or truncated). */
static FILE *open_mode(const char *path, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return NULL;
	fchmod(fd, mode);
	FILE *f = fdopen(fd, "w");
	if (!f)
		close(fd);
	return f;
}

pd_status labpbx_make_cert(const char *host, const char *cert_path, const char *key_path, pd_err *e)
{
	if (!pd_ssl_load(e))
		return PD_E_UNAVAILABLE;
	pd_status st = PD_OK;
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	unsigned char serial[16];
	char san[600];
	unsigned char addr[16];
	bool ip =
	    host && (inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1);
	bool extra = host && *host && strcmp(host, "127.0.0.1") && strcmp(host, "::1") &&
	             strcmp(host, "localhost") && strlen(host) < 256 && !strchr(host, ',');
	snprintf(san, sizeof san, "IP:127.0.0.1,IP:::1,DNS:localhost%s%s%s", extra ? "," : "",
	         extra ? (ip ? "IP:" : "DNS:") : "", extra ? host : "");
	BIGNUM *bn = NULL;
	if (!key || !x || RAND_bytes(serial, sizeof serial) != 1) {
		st = pd_fail(e, PD_E_INTERNAL, "tls", "TLS: cannot make a key");
		goto out;
	}
	serial[0] &= 0x7f; /* a positive serial */
	bn = BN_bin2bn(serial, sizeof serial, NULL);
	X509_NAME *name = X509_get_subject_name(x);
	if (!bn || X509_set_version(x, 2) != 1 ||
	    !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400) || X509_set_pubkey(x, key) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	                               (const unsigned char *)"provdesk lab PBX", -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 ||
	    !add_ext(x, NID_basic_constraints, "critical,CA:TRUE") ||
	    !add_ext(x, NID_subject_alt_name, san) || X509_sign(x, key, EVP_sha256()) <= 0) {
		st = pd_fail(e, PD_E_INTERNAL, "tls", "TLS: cannot make the certificate");
		goto out;
	}
	FILE *kf = open_mode(key_path, 0600);
	if (!kf) {
		st = pd_fail(e, PD_E_CANTCREATE, "tls_key", "cannot write %s: %s", key_path,
		             strerror(errno));
		goto out;
	}
	bool ok = PEM_write_PrivateKey(kf, key, NULL, NULL, 0, NULL, NULL) == 1;
	ok = fclose(kf) == 0 && ok;
	FILE *cf = ok ? open_mode(cert_path, 0644) : NULL;
	if (!ok || !cf) {
		st = pd_fail(e, PD_E_CANTCREATE, ok ? "tls_cert" : "tls_key", "cannot write %s: %s",
		             ok ? cert_path : key_path, strerror(errno));
		goto out;
	}
	ok = PEM_write_X509(cf, x) == 1;
	if (fclose(cf) != 0 || !ok)
		st = pd_fail(e, PD_E_CANTCREATE, "tls_cert", "cannot write %s", cert_path);
out:
	BN_free(bn);
	X509_free(x);
	EVP_PKEY_free(key);
	ERR_clear_error();
	return st;
}
