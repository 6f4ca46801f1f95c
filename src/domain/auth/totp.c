/*
 * totp.c: HOTP/TOTP codes (RFC 4226, RFC 6238), their verification with a
 * window and replay refusal, base32 (RFC 4648) and the otpauth:// URI. HMAC
 * comes from OpenSSL's libcrypto (the only use of it in civgrid), randomness
 * and constant-time comparison from libsodium.
 */
#include "base/cg.h"
#include "domain/auth/totp.h"
#include "base/mem.h"
#include "base/str.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

static const char b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

static const EVP_MD *alg_md(enum cg_totp_alg alg)
{
    switch (alg) {
    case CG_TOTP_SHA256:
        return EVP_sha256();
    case CG_TOTP_SHA512:
        return EVP_sha512();
    case CG_TOTP_SHA1:
        break;
    }
    return EVP_sha1();
}

/* floor(a / b) for b > 0, also for negative a. */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return (a % b != 0 && a < 0) ? q - 1 : q;
}

static uint32_t hotp(const uint8_t *key, size_t key_len, enum cg_totp_alg alg, uint64_t counter,
                     int digits)
{
    static const uint8_t no_key[1] = {0};
    uint8_t msg[8], md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    uint32_t bin, mod = 1;
    int off;

    CG_ASSERT(digits >= 1 && digits <= 9 && key_len <= INT32_MAX && (key || key_len == 0));
    for (int i = 7; i >= 0; i--) {
        msg[i] = (uint8_t)(counter & 0xff);
        counter >>= 8;
    }
    if (!HMAC(alg_md(alg), key_len ? key : no_key, (int)key_len, msg, sizeof(msg), md, &md_len)) {
        cg_panic(__FILE__, __LINE__, "HMAC failed in libcrypto");
    }
    off = md[md_len - 1] & 0x0f;
    bin = ((uint32_t)(md[off] & 0x7f) << 24) | ((uint32_t)md[off + 1] << 16) |
          ((uint32_t)md[off + 2] << 8) | md[off + 3];
    for (int i = 0; i < digits; i++) {
        mod *= 10;
    }
    sodium_memzero(md, sizeof(md));
    return bin % mod;
}

/* Writes v as exactly n decimal digits (leading zeros), in time independent of v. */
static void format_code(uint32_t v, int n, char *out)
{
    for (int i = n - 1; i >= 0; i--) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
    out[n] = '\0';
}

static int b32_value(char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a';
    }
    if (c >= '2' && c <= '7') {
        return c - '2' + 26;
    }
    return -1;
}

uint32_t cg_totp_code(const uint8_t *key, size_t key_len, enum cg_totp_alg alg, int64_t t, int step,
                      int digits)
{
    CG_ASSERT(step > 0);
    return hotp(key, key_len, alg, (uint64_t)floor_div(t, step), digits);
}

int cg_totp_verify(const uint8_t *key, size_t key_len, const char *code, int64_t now, int window,
                   int64_t last_used_step, int64_t *out_step, struct cg_error *err)
{
    char want[CG_TOTP_DIGITS + 1];
    int64_t cur, found = -1;
    bool replayed = false;

    CG_ASSERT(out_step);
    if (!code || strlen(code) != CG_TOTP_DIGITS) {
        return cg_error_field(err, CG_EINVAL, "code", "the code must have %d digits",
                              CG_TOTP_DIGITS);
    }
    for (int i = 0; i < CG_TOTP_DIGITS; i++) {
        if (code[i] < '0' || code[i] > '9') {
            return cg_error_field(err, CG_EINVAL, "code", "the code must have %d digits",
                                  CG_TOTP_DIGITS);
        }
    }
    if (window < 0 || window > CG_TOTP_WINDOW_MAX) {
        return cg_error_set(err, CG_EINVAL, "totp window must be 0..%d", CG_TOTP_WINDOW_MAX);
    }
    cur = floor_div(now, CG_TOTP_STEP);
    /* Every step of the window is computed and compared, matching or not. */
    for (int64_t s = cur - window; s <= cur + window; s++) {
        bool eq;

        format_code(hotp(key, key_len, CG_TOTP_SHA1, (uint64_t)s, CG_TOTP_DIGITS), CG_TOTP_DIGITS,
                    want);
        eq = sodium_memcmp(want, code, CG_TOTP_DIGITS) == 0;
        if (eq && s <= last_used_step) {
            replayed = true;
        } else if (eq && found < 0) {
            found = s;
        }
    }
    sodium_memzero(want, sizeof(want));
    if (found < 0) {
        return cg_error_field(err, CG_EFORBIDDEN, "code",
                              replayed ? "this code was already used: wait for the next one"
                                       : "the code is wrong");
    }
    *out_step = found;
    return 0;
}

void cg_totp_new_secret(uint8_t out[20])
{
    if (sodium_init() < 0) {
        cg_panic(__FILE__, __LINE__, "libsodium cannot be initialised");
    }
    randombytes_buf(out, CG_TOTP_SECRET_LEN);
}

void cg_totp_base32_encode(const uint8_t *in, size_t len, char *out, size_t size)
{
    uint32_t buf = 0;
    int bits = 0;
    size_t n = 0;

    CG_ASSERT(out && (in || len == 0) && size >= CG_TOTP_BASE32_SIZE(len));
    for (size_t i = 0; i < len; i++) {
        buf = (buf << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            out[n++] = b32_alphabet[(buf >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0) {
        out[n++] = b32_alphabet[(buf << (5 - bits)) & 31];
    }
    out[n] = '\0';
}

int cg_totp_base32_decode(const char *in, uint8_t *out, size_t size, size_t *out_len)
{
    uint32_t buf = 0;
    int bits = 0;
    size_t n = 0, chars = 0;
    bool padding = false;

    CG_ASSERT(in && out_len && (out || size == 0));
    for (const char *p = in; *p; p++) {
        int v;

        if (*p == ' ') {
            continue;
        }
        if (*p == '=') {
            padding = true;
            continue;
        }
        v = b32_value(*p);
        if (v < 0 || padding) {
            return CG_EINVAL;
        }
        chars++;
        buf = (buf << 5) | (uint32_t)v;
        bits += 5;
        if (bits >= 8) {
            if (n == size) {
                return CG_ETOOBIG;
            }
            out[n++] = (uint8_t)(buf >> (bits - 8));
            bits -= 8;
        }
    }
    /* 1, 3 or 6 characters of a last group of 8 cannot come from whole bytes. */
    if (chars % 8 == 1 || chars % 8 == 3 || chars % 8 == 6) {
        return CG_EINVAL;
    }
    *out_len = n;
    return 0;
}

char *cg_totp_uri(const char *login, const uint8_t *key, size_t key_len)
{
    struct cg_str sb = CG_STR_INIT;
    char *secret;

    CG_ASSERT(login && key);
    secret = cg_malloc(CG_TOTP_BASE32_SIZE(key_len));
    cg_totp_base32_encode(key, key_len, secret, CG_TOTP_BASE32_SIZE(key_len));
    cg_str_adds(&sb, "otpauth://totp/civgrid:");
    for (const unsigned char *p = (const unsigned char *)login; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            cg_str_addch(&sb, (char)*p);
        } else {
            cg_str_addf(&sb, "%%%02X", *p);
        }
    }
    cg_str_addf(&sb, "?secret=%s&issuer=civgrid&algorithm=SHA1&digits=%d&period=%d", secret,
                CG_TOTP_DIGITS, CG_TOTP_STEP);
    sodium_memzero(secret, strlen(secret));
    free(secret);
    CG_ASSERT(!cg_str_error(&sb));
    return cg_str_detach(&sb, NULL);
}
