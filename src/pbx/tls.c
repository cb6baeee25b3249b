/* TLS for the PBX transport (and the lab PBX): see include/provdesk/pbx_transport.h. Non-blocking
 * throughout: every OpenSSL call that would block returns WANT_READ/WANT_WRITE, which is turned
 * into errno EAGAIN plus the direction to poll for, so the callers' poll()
 * loops stay as they are for plain TCP. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provdesk/dl_ssl.h"
#include "provdesk/i18n.h"
#include "provdesk/pbx_transport.h"

struct pd_tls {
	SSL_CTX *ctx; /* owned for a client, borrowed (ref counted) for a server */
	SSL *ssl;
	bool want_write, client;
};

struct pd_tls_server {
	SSL_CTX *ctx;
};

pd_status pd_tls_client_new(int fd, const char *host, bool verify, const char *ca_file,
                            pd_tls **out, pd_err *e)
{
	*out = NULL;
	if (!pd_ssl_load(e))
		return PD_E_UNAVAILABLE;
	ERR_clear_error();
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		return pd_fail(e, PD_E_INTERNAL, "tls", _("TLS: cannot create a context"));
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (verify) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		SSL_CTX_set_default_verify_paths(ctx);
		if (ca_file && *ca_file && SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
			SSL_CTX_free(ctx);
			ERR_clear_error();
			return pd_fail(e, PD_E_CONFIG, "tls_ca_file",
			               _("TLS: cannot read the CA file %s"), ca_file);
		}
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	SSL *ssl = SSL_new(ctx);
	if (!ssl) {
		SSL_CTX_free(ctx);
		return pd_fail(e, PD_E_INTERNAL, "tls", _("TLS: cannot create a session"));
	}
	SSL_set_fd(ssl, fd);
	SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	unsigned char ip[16];
	bool is_ip =
	    host && (inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1);
	if (host && *host && !is_ip)
		SSL_set_tlsext_host_name(ssl, host); /* SNI takes names only */
	if (verify && host && *host) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
		if (is_ip)
			X509_VERIFY_PARAM_set1_ip_asc(vp, host);
		else
			X509_VERIFY_PARAM_set1_host(vp, host, 0);
	}
	SSL_set_connect_state(ssl);
	pd_tls *t = xcalloc(1, sizeof *t);
	t->ctx = ctx;
	t->ssl = ssl;
	t->client = true;
	*out = t;
	return PD_OK;
}

pd_status pd_tls_server_new(const char *cert_file, const char *key_file, pd_tls_server **out,
                            pd_err *e)
{
	*out = NULL;
	if (!pd_ssl_load(e))
		return PD_E_UNAVAILABLE;
	ERR_clear_error();
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx)
		return pd_fail(e, PD_E_INTERNAL, "tls", _("TLS: cannot create a context"));
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		SSL_CTX_free(ctx);
		ERR_clear_error();
		return pd_fail(e, PD_E_USAGE, "tls_cert", _("TLS: cannot read the certificate %s"),
		               cert_file);
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		SSL_CTX_free(ctx);
		ERR_clear_error();
		return pd_fail(
		    e, PD_E_USAGE, "tls_key",
		    _("TLS: cannot read the key %s, or it does not match the certificate"),
		    key_file);
	}
	pd_tls_server *s = xcalloc(1, sizeof *s);
	s->ctx = ctx;
	*out = s;
	return PD_OK;
}

void pd_tls_server_free(pd_tls_server *s)
{
	if (!s)
		return;
	SSL_CTX_free(s->ctx);
	free(s);
}

pd_tls *pd_tls_accept_new(pd_tls_server *s, int fd)
{
	SSL *ssl = SSL_new(s->ctx);
	if (!ssl)
		return NULL;
	SSL_set_fd(ssl, fd);
	SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_set_accept_state(ssl);
	pd_tls *t = xcalloc(1, sizeof *t);
	t->ssl = ssl;
	return t;
}

/* Maps an OpenSSL result to recv/send conventions; returns the value to give back. */
static ssize_t io_result(pd_tls *t, int r)
{
	int err = SSL_get_error(t->ssl, r);
	t->want_write = false;
	switch (err) {
	case SSL_ERROR_WANT_READ:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		t->want_write = true;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0; /* close_notify: an orderly end */
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		if (errno == 0 || errno == EAGAIN)
			return 0; /* EOF without close_notify: the peer went away */
		return -1;
	default:
		ERR_clear_error();
		errno = EPROTO;
		return -1;
	}
}

int pd_tls_handshake(pd_tls *t, char *why, size_t whyn)
{
	ERR_clear_error();
	errno = 0;
	int r = SSL_do_handshake(t->ssl);
	if (r == 1) {
		t->want_write = false;
		return 1;
	}
	int err = SSL_get_error(t->ssl, r);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
		t->want_write = err == SSL_ERROR_WANT_WRITE;
		return 0;
	}
	long vr = t->client ? SSL_get_verify_result(t->ssl) : X509_V_OK;
	unsigned long e;
	if (vr != X509_V_OK) {
		pd_msg(why, whyn, N_("TLS: certificate verify failed (%s)"),
		       X509_verify_cert_error_string(vr));
		ERR_clear_error();
	} else if ((e = ERR_get_error()) != 0) { /* OpenSSL's own words */
		char detail[256];
		ERR_error_string_n(e, detail, sizeof detail);
		ERR_clear_error();
		pd_msg(why, whyn, N_("TLS handshake failed: %s"), detail);
	} else { /* the system's: read in the reader's language */
		pd_msg(why, whyn, N_("TLS handshake failed: %s"),
		       errno ? pd_msg_errno(errno) : pd_msg_word(N_("connection closed")));
	}
	return -1;
}

ssize_t pd_tls_read(pd_tls *t, void *buf, size_t n)
{
	ERR_clear_error();
	errno = 0;
	int r = SSL_read(t->ssl, buf, n > 0x7fffffff ? 0x7fffffff : (int)n);
	if (r > 0) {
		t->want_write = false;
		return r;
	}
	return io_result(t, r);
}

ssize_t pd_tls_write(pd_tls *t, const void *buf, size_t n)
{
	ERR_clear_error();
	errno = 0;
	int r = SSL_write(t->ssl, buf, n > 0x7fffffff ? 0x7fffffff : (int)n);
	if (r > 0) {
		t->want_write = false;
		return r;
	}
	ssize_t v = io_result(t, r);
	if (v == 0) {
		errno = EPIPE; /* writing to a closed session is an error, not EOF */
		return -1;
	}
	return v;
}

bool pd_tls_wants_write(const pd_tls *t)
{
	return t && t->want_write;
}

size_t pd_tls_pending(const pd_tls *t)
{
	return t ? (size_t)SSL_pending(t->ssl) : 0;
}

void pd_tls_free(pd_tls *t)
{
	if (!t)
		return;
	SSL_free(t->ssl);
	if (t->client)
		SSL_CTX_free(t->ctx);
	free(t);
}
