/*
 * totp.h: one-time passwords for the second login factor (等保 2.0 level 3:
 * "two or more combined authentication methods, at least one cryptographic").
 * HOTP (RFC 4226) and TOTP (RFC 6238) as authenticator apps implement them,
 * base32 secrets (RFC 4648) and the otpauth:// enrolment URI.
 *
 * Verification is SHA1, 30-second steps, 6 digits (what every app supports)
 * and refuses replays: the caller stores the step of the last accepted code
 * and passes it back, so a code works once. Secrets are key material: keep
 * them encrypted at rest (pii.h) and wipe them after use.
 */
#ifndef CG_TOTP_H
#define CG_TOTP_H

#include "base/cg.h"
#include "base/err.h"

enum cg_totp_alg { CG_TOTP_SHA1, CG_TOTP_SHA256, CG_TOTP_SHA512 };

#define CG_TOTP_SECRET_LEN 20 /* bytes of a new secret (160 bits, RFC 4226 recommends) */
#define CG_TOTP_STEP 30       /* seconds a code lasts */
#define CG_TOTP_DIGITS 6      /* digits of a code */
#define CG_TOTP_WINDOW_MAX 10 /* largest window cg_totp_verify() accepts */

/*
 * The HOTP value of the counter floor(t / step) under key (HMAC with alg,
 * dynamic truncation), modulo 10^digits. step > 0, digits 1..9. With step 1,
 * t is the HOTP counter itself. Format with "%0*u" to keep leading zeros.
 */
uint32_t cg_totp_code(const uint8_t *key, size_t key_len, enum cg_totp_alg alg, int64_t t, int step,
                      int digits);

/*
 * Verifies code (exactly 6 ASCII digits) for time now (Unix seconds) against the
 * steps now/30 - window .. now/30 + window (window 0..CG_TOTP_WINDOW_MAX),
 * comparing in constant time and skipping no step, and refuses any step at or
 * before last_used_step (replay; pass 0 or -1 for none). On success returns 0
 * and *out_step = the matching step: store it as the next last_used_step.
 * CG_EINVAL for a malformed code or window, CG_EFORBIDDEN for a wrong or
 * replayed code.
 */
int cg_totp_verify(const uint8_t *key, size_t key_len, const char *code, int64_t now, int window,
                   int64_t last_used_step, int64_t *out_step, struct cg_error *err) CG_MUST_CHECK;

/* Fills out with CG_TOTP_SECRET_LEN random bytes (randombytes_buf). */
void cg_totp_new_secret(uint8_t out[20]);

/* Characters cg_totp_base32_encode() needs for len bytes, with the NUL. */
#define CG_TOTP_BASE32_SIZE(len) (((len)*8 + 4) / 5 + 1)

/*
 * RFC 4648 base32 of the len bytes at in, upper case, without padding, into out
 * (size >= CG_TOTP_BASE32_SIZE(len): a smaller buffer is a bug and aborts).
 */
void cg_totp_base32_encode(const uint8_t *in, size_t len, char *out, size_t size);

/*
 * Decodes base32 text into out (size bytes), accepting lower case, spaces and
 * '=' padding at the end. *out_len receives the byte count. Returns 0,
 * CG_EINVAL for other characters or an impossible length, CG_ETOOBIG when out
 * is too small.
 */
int cg_totp_base32_decode(const char *in, uint8_t *out, size_t size, size_t *out_len) CG_MUST_CHECK;

/*
 * The enrolment URI for authenticator apps (shown as a QR code):
 * "otpauth://totp/civgrid:<login>?secret=<base32>&issuer=civgrid&algorithm=SHA1
 * &digits=6&period=30" with login percent-encoded. Returns a new string owned
 * by the caller (free()); it holds the secret, so wipe it after use.
 */
char *cg_totp_uri(const char *login, const uint8_t *key, size_t key_len);

#endif
