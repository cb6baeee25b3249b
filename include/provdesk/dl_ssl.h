/* OpenSSL (libssl and libcrypto), opened on first use (include/provdesk/dl.h).
 *
 * Loading libcrypto and libssl costs ~1.1 ms of relocations in every
 * command, though most (`customer list`, `--version`, the console until a
 * PBX link speaks TLS) never seal a secret, hash a token or open TLS. A file
 * that calls OpenSSL includes this header instead of <openssl/…>: each
 * function below is then a pointer filled by dlopen("libssl.so.3") (which
 * brings libcrypto) with the declaration's own type (__typeof__), so calls
 * read as OpenSSL's and are type-checked. Call pd_ssl_load (an error to
 * report) or pd_ssl_need (exit 69 with the reason) before the first call:
 * a function called before either is a NULL pointer. A function missing
 * from the list fails the link, since nothing links OpenSSL any more. */
#ifndef PROVDESK_DL_SSL_H
#define PROVDESK_DL_SSL_H

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdbool.h>

#include "provdesk/error.h"

#define PD_SSL_FUNCTIONS(X)                                                                        \
	X(BN_bin2bn)                                                                               \
	X(BN_free)                                                                                 \
	X(BN_to_ASN1_INTEGER)                                                                      \
	X(ERR_clear_error)                                                                         \
	X(ERR_error_string_n)                                                                      \
	X(ERR_get_error)                                                                           \
	X(EVP_CIPHER_CTX_ctrl)                                                                     \
	X(EVP_CIPHER_CTX_free)                                                                     \
	X(EVP_CIPHER_CTX_new)                                                                      \
	X(EVP_DecodeBlock)                                                                         \
	X(EVP_DecryptFinal_ex)                                                                     \
	X(EVP_DecryptInit_ex)                                                                      \
	X(EVP_DecryptUpdate)                                                                       \
	X(EVP_Digest)                                                                              \
	X(EVP_EncodeBlock)                                                                         \
	X(EVP_EncryptFinal_ex)                                                                     \
	X(EVP_EncryptInit_ex)                                                                      \
	X(EVP_EncryptUpdate)                                                                       \
	X(EVP_PKEY_Q_keygen)                                                                       \
	X(EVP_PKEY_free)                                                                           \
	X(EVP_aes_256_gcm)                                                                         \
	X(EVP_sha256)                                                                              \
	X(OPENSSL_cleanse)                                                                         \
	X(PEM_write_PrivateKey)                                                                    \
	X(PEM_write_X509)                                                                          \
	X(RAND_bytes)                                                                              \
	X(SSL_CTX_check_private_key)                                                               \
	X(SSL_CTX_ctrl)                                                                            \
	X(SSL_CTX_free)                                                                            \
	X(SSL_CTX_load_verify_locations)                                                           \
	X(SSL_CTX_new)                                                                             \
	X(SSL_CTX_set_default_verify_paths)                                                        \
	X(SSL_CTX_set_verify)                                                                      \
	X(SSL_CTX_use_PrivateKey_file)                                                             \
	X(SSL_CTX_use_certificate_chain_file)                                                      \
	X(SSL_ctrl)                                                                                \
	X(SSL_do_handshake)                                                                        \
	X(SSL_free)                                                                                \
	X(SSL_get0_param)                                                                          \
	X(SSL_get_error)                                                                           \
	X(SSL_get_verify_result)                                                                   \
	X(SSL_new)                                                                                 \
	X(SSL_pending)                                                                             \
	X(SSL_read)                                                                                \
	X(SSL_set_accept_state)                                                                    \
	X(SSL_set_connect_state)                                                                   \
	X(SSL_set_fd)                                                                              \
	X(SSL_write)                                                                               \
	X(TLS_client_method)                                                                       \
	X(TLS_server_method)                                                                       \
	X(X509V3_EXT_conf_nid)                                                                     \
	X(X509V3_set_ctx)                                                                          \
	X(X509_EXTENSION_free)                                                                     \
	X(X509_NAME_add_entry_by_txt)                                                              \
	X(X509_VERIFY_PARAM_set1_host)                                                             \
	X(X509_VERIFY_PARAM_set1_ip_asc)                                                           \
	X(X509_add_ext)                                                                            \
	X(X509_free)                                                                               \
	X(X509_get_serialNumber)                                                                   \
	X(X509_get_subject_name)                                                                   \
	X(X509_getm_notAfter)                                                                      \
	X(X509_getm_notBefore)                                                                     \
	X(X509_gmtime_adj)                                                                         \
	X(X509_new)                                                                                \
	X(X509_set_issuer_name)                                                                    \
	X(X509_set_pubkey)                                                                         \
	X(X509_set_version)                                                                        \
	X(X509_sign)                                                                               \
	X(X509_verify_cert_error_string)

enum {
#define PD_SSL_X_(name) PD_SSL_##name,
	PD_SSL_FUNCTIONS(PD_SSL_X_)
#undef PD_SSL_X_
	    PD_SSL__COUNT
};

/* Their addresses once loaded (src/dl/ssl.c). */
extern void *pd_ssl_fn[PD_SSL__COUNT];

/* Open libssl and libcrypto unless done; false with an error naming them. */
bool pd_ssl_load(pd_err *e);
/* The same where no error can be returned: on failure says why on stderr
 * and exits 69 (EX_UNAVAILABLE), as a missing library at start-up would. */
void pd_ssl_need(void);

#ifndef PD_DL_SSL_IMPL
/* A name used inside its own macro is not expanded again: __typeof__ sees
 * OpenSSL's declaration. */
#define PD_SSL_FN(name) ((__typeof__(&name))pd_ssl_fn[PD_SSL_##name])
#define BN_bin2bn PD_SSL_FN(BN_bin2bn)
#define BN_free PD_SSL_FN(BN_free)
#define BN_to_ASN1_INTEGER PD_SSL_FN(BN_to_ASN1_INTEGER)
#define ERR_clear_error PD_SSL_FN(ERR_clear_error)
#define ERR_error_string_n PD_SSL_FN(ERR_error_string_n)
#define ERR_get_error PD_SSL_FN(ERR_get_error)
#define EVP_CIPHER_CTX_ctrl PD_SSL_FN(EVP_CIPHER_CTX_ctrl)
#define EVP_CIPHER_CTX_free PD_SSL_FN(EVP_CIPHER_CTX_free)
#define EVP_CIPHER_CTX_new PD_SSL_FN(EVP_CIPHER_CTX_new)
#define EVP_DecodeBlock PD_SSL_FN(EVP_DecodeBlock)
#define EVP_DecryptFinal_ex PD_SSL_FN(EVP_DecryptFinal_ex)
#define EVP_DecryptInit_ex PD_SSL_FN(EVP_DecryptInit_ex)
#define EVP_DecryptUpdate PD_SSL_FN(EVP_DecryptUpdate)
#define EVP_Digest PD_SSL_FN(EVP_Digest)
#define EVP_EncodeBlock PD_SSL_FN(EVP_EncodeBlock)
#define EVP_EncryptFinal_ex PD_SSL_FN(EVP_EncryptFinal_ex)
#define EVP_EncryptInit_ex PD_SSL_FN(EVP_EncryptInit_ex)
#define EVP_EncryptUpdate PD_SSL_FN(EVP_EncryptUpdate)
#define EVP_PKEY_Q_keygen PD_SSL_FN(EVP_PKEY_Q_keygen)
#define EVP_PKEY_free PD_SSL_FN(EVP_PKEY_free)
#define EVP_aes_256_gcm PD_SSL_FN(EVP_aes_256_gcm)
#define EVP_sha256 PD_SSL_FN(EVP_sha256)
#define OPENSSL_cleanse PD_SSL_FN(OPENSSL_cleanse)
#define PEM_write_PrivateKey PD_SSL_FN(PEM_write_PrivateKey)
#define PEM_write_X509 PD_SSL_FN(PEM_write_X509)
#define RAND_bytes PD_SSL_FN(RAND_bytes)
#define SSL_CTX_check_private_key PD_SSL_FN(SSL_CTX_check_private_key)
#define SSL_CTX_ctrl PD_SSL_FN(SSL_CTX_ctrl)
#define SSL_CTX_free PD_SSL_FN(SSL_CTX_free)
#define SSL_CTX_load_verify_locations PD_SSL_FN(SSL_CTX_load_verify_locations)
#define SSL_CTX_new PD_SSL_FN(SSL_CTX_new)
#define SSL_CTX_set_default_verify_paths PD_SSL_FN(SSL_CTX_set_default_verify_paths)
#define SSL_CTX_set_verify PD_SSL_FN(SSL_CTX_set_verify)
#define SSL_CTX_use_PrivateKey_file PD_SSL_FN(SSL_CTX_use_PrivateKey_file)
#define SSL_CTX_use_certificate_chain_file PD_SSL_FN(SSL_CTX_use_certificate_chain_file)
#define SSL_ctrl PD_SSL_FN(SSL_ctrl)
#define SSL_do_handshake PD_SSL_FN(SSL_do_handshake)
#define SSL_free PD_SSL_FN(SSL_free)
#define SSL_get0_param PD_SSL_FN(SSL_get0_param)
#define SSL_get_error PD_SSL_FN(SSL_get_error)
#define SSL_get_verify_result PD_SSL_FN(SSL_get_verify_result)
#define SSL_new PD_SSL_FN(SSL_new)
#define SSL_pending PD_SSL_FN(SSL_pending)
#define SSL_read PD_SSL_FN(SSL_read)
#define SSL_set_accept_state PD_SSL_FN(SSL_set_accept_state)
#define SSL_set_connect_state PD_SSL_FN(SSL_set_connect_state)
#define SSL_set_fd PD_SSL_FN(SSL_set_fd)
#define SSL_write PD_SSL_FN(SSL_write)
#define TLS_client_method PD_SSL_FN(TLS_client_method)
#define TLS_server_method PD_SSL_FN(TLS_server_method)
#define X509V3_EXT_conf_nid PD_SSL_FN(X509V3_EXT_conf_nid)
#define X509V3_set_ctx PD_SSL_FN(X509V3_set_ctx)
#define X509_EXTENSION_free PD_SSL_FN(X509_EXTENSION_free)
#define X509_NAME_add_entry_by_txt PD_SSL_FN(X509_NAME_add_entry_by_txt)
#define X509_VERIFY_PARAM_set1_host PD_SSL_FN(X509_VERIFY_PARAM_set1_host)
#define X509_VERIFY_PARAM_set1_ip_asc PD_SSL_FN(X509_VERIFY_PARAM_set1_ip_asc)
#define X509_add_ext PD_SSL_FN(X509_add_ext)
#define X509_free PD_SSL_FN(X509_free)
#define X509_get_serialNumber PD_SSL_FN(X509_get_serialNumber)
#define X509_get_subject_name PD_SSL_FN(X509_get_subject_name)
#define X509_getm_notAfter PD_SSL_FN(X509_getm_notAfter)
#define X509_getm_notBefore PD_SSL_FN(X509_getm_notBefore)
#define X509_gmtime_adj PD_SSL_FN(X509_gmtime_adj)
#define X509_new PD_SSL_FN(X509_new)
#define X509_set_issuer_name PD_SSL_FN(X509_set_issuer_name)
#define X509_set_pubkey PD_SSL_FN(X509_set_pubkey)
#define X509_set_version PD_SSL_FN(X509_set_version)
#define X509_sign PD_SSL_FN(X509_sign)
#define X509_verify_cert_error_string PD_SSL_FN(X509_verify_cert_error_string)
#endif

#endif
