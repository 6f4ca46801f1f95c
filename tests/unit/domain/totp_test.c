/*
 * Unit tests for src/domain/auth/totp: every test vector of RFC 6238
 * Appendix B and RFC 4226 Appendix D, base32 against RFC 4648 section 10,
 * verification windows and replay refusal, and the otpauth:// URI.
 */
#include "test.h"
#include "domain/auth/totp.h"

static const uint8_t seed20[] = "12345678901234567890";
static const uint8_t seed32[] = "12345678901234567890123456789012";
static const uint8_t seed64[] = "1234567890123456789012345678901234567890123456789012345678901234";

static void test_rfc6238_vectors(void **state)
{
    static const struct {
        int64_t t;
        uint32_t sha1, sha256, sha512;
    } v[] = {
        {59, 94287082, 46119246, 90693936},         {1111111109, 7081804, 68084774, 25091201},
        {1111111111, 14050471, 67062674, 99943326}, {1234567890, 89005924, 91819424, 93441116},
        {2000000000, 69279037, 90698825, 38618901}, {20000000000, 65353130, 77737706, 47863826},
    };

    (void)state;
    for (size_t i = 0; i < CG_ARRAY_LEN(v); i++) {
        assert_int_equal(cg_totp_code(seed20, 20, CG_TOTP_SHA1, v[i].t, 30, 8), v[i].sha1);
        assert_int_equal(cg_totp_code(seed32, 32, CG_TOTP_SHA256, v[i].t, 30, 8), v[i].sha256);
        assert_int_equal(cg_totp_code(seed64, 64, CG_TOTP_SHA512, v[i].t, 30, 8), v[i].sha512);
    }
}

static void test_rfc4226_hotp_vectors(void **state)
{
    static const uint32_t hotp[10] = {755224, 287082, 359152, 969429, 338314,
                                      254676, 287922, 162583, 399871, 520489};

    (void)state;
    for (int c = 0; c < 10; c++) {
        /* Counter c is any time within step c. */
        assert_int_equal(cg_totp_code(seed20, 20, CG_TOTP_SHA1, c * 30, 30, 6), hotp[c]);
        assert_int_equal(cg_totp_code(seed20, 20, CG_TOTP_SHA1, c * 30 + 29, 30, 6), hotp[c]);
        assert_int_equal(cg_totp_code(seed20, 20, CG_TOTP_SHA1, c, 1, 6), hotp[c]);
    }
}

static void code_at(int64_t t, char out[8])
{
    snprintf(out, 8, "%06u", cg_totp_code(seed20, 20, CG_TOTP_SHA1, t, 30, 6));
}

static void test_verify_window_and_replay(void **state)
{
    const int64_t now = 1234567890; /* step 41152263 */
    const int64_t step = now / 30;
    struct cg_error err = CG_ERROR_INIT;
    int64_t got = 0;
    char code[8];

    (void)state;
    code_at(now, code);
    assert_int_equal(cg_totp_verify(seed20, 20, code, now, 1, 0, &got, &err), 0);
    assert_int_equal(got, step);
    /* The same code again: a replay. */
    assert_int_equal(cg_totp_verify(seed20, 20, code, now, 1, got, &got, &err), CG_EFORBIDDEN);
    assert_non_null(strstr(err.message, "already used"));
    assert_string_equal(err.field, "code");

    /* The previous and the next step are inside a window of 1, two steps away is not. */
    code_at(now - 30, code);
    assert_int_equal(cg_totp_verify(seed20, 20, code, now, 1, -1, &got, &err), 0);
    assert_int_equal(got, step - 1);
    code_at(now + 30, code);
    assert_int_equal(cg_totp_verify(seed20, 20, code, now, 1, -1, &got, &err), 0);
    assert_int_equal(got, step + 1);
    code_at(now + 60, code);
    cg_error_clear(&err);
    assert_int_equal(cg_totp_verify(seed20, 20, code, now, 1, -1, &got, &err), CG_EFORBIDDEN);
    assert_non_null(strstr(err.message, "wrong"));
    assert_int_equal(cg_totp_verify(seed20, 20, code, now, 2, -1, &got, &err), 0);
    code_at(now, code);
    assert_int_equal(cg_totp_verify(seed20, 20, code, now, 0, -1, &got, &err), 0);

    /* After the next step's code was used, the current one is refused too. */
    code_at(now, code);
    assert_int_equal(cg_totp_verify(seed20, 20, code, now, 1, step + 1, &got, &err), CG_EFORBIDDEN);

    /* A wrong code (one digit off) and another key. */
    code_at(now, code);
    code[5] = code[5] == '9' ? '0' : (char)(code[5] + 1);
    assert_int_equal(cg_totp_verify(seed20, 20, code, now, 1, -1, &got, &err), CG_EFORBIDDEN);
    code_at(now, code);
    assert_int_equal(cg_totp_verify(seed32, 32, code, now, 1, -1, &got, &err), CG_EFORBIDDEN);
}

static void test_verify_malformed(void **state)
{
    static const char *const bad[] = {"",       "12345",  "1234567",     "12345a",
                                      " 12345", "12 345", "１２３４５６"};
    struct cg_error err = CG_ERROR_INIT;
    int64_t got = -5;

    (void)state;
    for (size_t i = 0; i < CG_ARRAY_LEN(bad); i++) {
        cg_error_clear(&err);
        assert_int_equal(cg_totp_verify(seed20, 20, bad[i], 59, 1, -1, &got, &err), CG_EINVAL);
        assert_string_equal(err.field, "code");
    }
    assert_int_equal(cg_totp_verify(seed20, 20, NULL, 59, 1, -1, &got, &err), CG_EINVAL);
    assert_int_equal(cg_totp_verify(seed20, 20, "287082", 59, -1, -1, &got, &err), CG_EINVAL);
    assert_int_equal(cg_totp_verify(seed20, 20, "287082", 59, 11, -1, &got, &err), CG_EINVAL);
    assert_int_equal(got, -5);
    /* RFC 4226 counter 1 is step 1: t = 59 with a window of 0. */
    assert_int_equal(cg_totp_verify(seed20, 20, "287082", 59, 0, -1, &got, &err), 0);
    assert_int_equal(got, 1);
}

static void test_base32_rfc4648(void **state)
{
    static const struct {
        const char *plain, *enc, *padded;
    } v[] = {
        {"", "", ""},
        {"f", "MY", "MY======"},
        {"fo", "MZXQ", "MZXQ===="},
        {"foo", "MZXW6", "MZXW6==="},
        {"foob", "MZXW6YQ", "MZXW6YQ="},
        {"fooba", "MZXW6YTB", "MZXW6YTB"},
        {"foobar", "MZXW6YTBOI", "MZXW6YTBOI======"},
    };
    char enc[64];
    uint8_t dec[64];
    size_t n = 99;

    (void)state;
    for (size_t i = 0; i < CG_ARRAY_LEN(v); i++) {
        size_t len = strlen(v[i].plain);

        cg_totp_base32_encode((const uint8_t *)v[i].plain, len, enc, sizeof(enc));
        assert_string_equal(enc, v[i].enc);
        assert_int_equal(cg_totp_base32_decode(v[i].enc, dec, sizeof(dec), &n), 0);
        assert_int_equal(n, len);
        assert_memory_equal(dec, v[i].plain, len);
        assert_int_equal(cg_totp_base32_decode(v[i].padded, dec, sizeof(dec), &n), 0);
        assert_int_equal(n, len);
        assert_memory_equal(dec, v[i].plain, len);
    }
    /* Lower case and spaces, as people copy secrets. */
    assert_int_equal(cg_totp_base32_decode("mzxw 6ytb oi", dec, sizeof(dec), &n), 0);
    assert_int_equal(n, 6);
    assert_memory_equal(dec, "foobar", 6);
    /* The RFC 6238 SHA1 seed, as authenticator apps show it. */
    cg_totp_base32_encode(seed20, 20, enc, sizeof(enc));
    assert_string_equal(enc, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    assert_int_equal(CG_TOTP_BASE32_SIZE(20), 33);
}

static void test_base32_refusals_and_round_trip(void **state)
{
    static const char *const bad[] = {"M",    "MZX",    "MZXW6Y", "MZ1",
                                      "MZ8Q", "MY==MY", "MZ-XQ",  "MZXQ\n"};
    uint8_t dec[64], secret[CG_TOTP_SECRET_LEN], back[CG_TOTP_SECRET_LEN], zero[20] = {0};
    char enc[CG_TOTP_BASE32_SIZE(CG_TOTP_SECRET_LEN)];
    size_t n = 0;

    (void)state;
    for (size_t i = 0; i < CG_ARRAY_LEN(bad); i++) {
        if (cg_totp_base32_decode(bad[i], dec, sizeof(dec), &n) != CG_EINVAL) {
            fail_msg("'%s' was decoded", bad[i]);
        }
    }
    assert_int_equal(cg_totp_base32_decode("MZXW6YTBOI", dec, 5, &n), CG_ETOOBIG);
    for (int round = 0; round < 50; round++) {
        cg_totp_new_secret(secret);
        cg_totp_base32_encode(secret, sizeof(secret), enc, sizeof(enc));
        assert_int_equal(strlen(enc), 32);
        assert_int_equal(cg_totp_base32_decode(enc, back, sizeof(back), &n), 0);
        assert_int_equal(n, sizeof(secret));
        assert_memory_equal(secret, back, sizeof(secret));
    }
    assert_memory_not_equal(secret, zero, sizeof(secret));
}

static void test_uri(void **state)
{
    char *uri;

    (void)state;
    uri = cg_totp_uri("wang.li", seed20, 20);
    assert_string_equal(uri,
                        "otpauth://totp/civgrid:wang.li?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
                        "&issuer=civgrid&algorithm=SHA1&digits=6&period=30");
    free(uri);
    uri = cg_totp_uri("李 雷&a/b?", seed20, 20);
    assert_non_null(strstr(uri, "civgrid:%E6%9D%8E%20%E9%9B%B7%26a%2Fb%3F?secret="));
    free(uri);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc6238_vectors),
        cmocka_unit_test(test_rfc4226_hotp_vectors),
        cmocka_unit_test(test_verify_window_and_replay),
        cmocka_unit_test(test_verify_malformed),
        cmocka_unit_test(test_base32_rfc4648),
        cmocka_unit_test(test_base32_refusals_and_round_trip),
        cmocka_unit_test(test_uri),
    };

    return cmocka_run_group_tests_name("totp", tests, NULL, NULL);
}
