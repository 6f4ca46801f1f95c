/*
 * Unit tests for src/domain/pii: encryption round trips and tampering, key
 * files (permissions, malformed lines, rotation), blind indexes, the phone and
 * resident-ID rules and the display masks.
 */
#include "test.h"
#include "domain/pii/pii.h"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HEX_A "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define HEX_B "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"

struct fixture {
    char dir[64];
    char path[128];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    snprintf(f->dir, sizeof(f->dir), "/tmp/civgrid-piitest-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/pii.keys", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[160];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static struct cg_pii_keys *keys_from(const char *text)
{
    struct cg_pii_keys *ks = NULL;
    struct cg_error err = CG_ERROR_INIT;

    assert_int_equal(cg_pii_keys_parse(text, &ks, &err), 0);
    return ks;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    assert_int_equal(chmod(path, mode), 0);
}

/* Decrypts and compares with want. */
static void assert_decrypts(const struct cg_pii_keys *ks, const char *kind, const char *stored,
                            const char *want)
{
    struct cg_error err = CG_ERROR_INIT;
    char *plain = NULL;

    assert_int_equal(cg_pii_decrypt(ks, kind, stored, &plain, &err), 0);
    assert_string_equal(plain, want);
    cg_pii_free_plain(plain);
}

static void test_round_trip_chinese(void **state)
{
    const char *text = "张三 广东省东莞市南城街道 13800138000";
    struct cg_pii_keys *ks = keys_from("1:" HEX_A);
    struct cg_error err = CG_ERROR_INIT;
    char *a = NULL, *b = NULL, *empty = NULL;

    (void)state;
    assert_int_equal(cg_pii_keys_current(ks), 1);
    assert_int_equal(cg_pii_encrypt(ks, "address", text, strlen(text), &a, &err), 0);
    assert_int_equal(cg_pii_encrypt(ks, "address", text, strlen(text), &b, &err), 0);
    assert_int_equal(strncmp(a, "v1.1.", 5), 0);
    assert_null(strchr(a + 5, '='));   /* no padding */
    assert_null(strpbrk(a + 5, "+/")); /* URL-safe alphabet */
    assert_string_not_equal(a, b);     /* a fresh nonce each time */
    assert_null(strstr(a, "13800138000"));
    assert_decrypts(ks, "address", a, text);
    assert_decrypts(ks, "address", b, text);
    assert_int_equal(cg_pii_encrypt(ks, "note", "", 0, &empty, &err), 0);
    assert_decrypts(ks, "note", empty, "");
    free(a);
    free(b);
    free(empty);
    cg_pii_free_plain(NULL);
    cg_pii_keys_free(ks);
    cg_pii_keys_free(NULL);
}

static void test_encrypt_refusals(void **state)
{
    struct cg_pii_keys *ks = keys_from("1:" HEX_A);
    struct cg_error err = CG_ERROR_INIT;
    char *out = NULL;
    char *big = calloc(1, CG_PII_PLAIN_MAX + 2);

    (void)state;
    assert_int_equal(cg_pii_encrypt(ks, "Phone", "1", 1, &out, &err), CG_EINVAL);
    assert_int_equal(cg_pii_encrypt(ks, "", "1", 1, &out, &err), CG_EINVAL);
    assert_int_equal(cg_pii_encrypt(ks, "phone", "a\0b", 3, &out, &err), CG_EINVAL);
    memset(big, 'a', CG_PII_PLAIN_MAX + 1);
    assert_int_equal(cg_pii_encrypt(ks, "note", big, CG_PII_PLAIN_MAX + 1, &out, &err), CG_EINVAL);
    assert_null(out);
    free(big);
    cg_pii_keys_free(ks);
}

static void test_tamper_and_malformed(void **state)
{
    struct cg_pii_keys *ks = keys_from("1:" HEX_A);
    struct cg_error err = CG_ERROR_INIT;
    char *stored = NULL, *plain = NULL;
    const char *bad[] = {"",      "v2.1.AAAA", "v1..AAAA",  "v1.01.AAAA",    "v1.x.AAAA",
                         "v1.1.", "v1.1.AAAA", "v1.1.!!!!", "v1.65536.AAAA", "plain text"};
    size_t mid;
    char saved;

    (void)state;
    assert_int_equal(cg_pii_encrypt(ks, "phone", "13800138000", 11, &stored, &err), 0);
    /* One character changed in the middle of the payload. */
    mid = 5 + (strlen(stored) - 5) / 2;
    saved = stored[mid];
    stored[mid] = saved == 'A' ? 'B' : 'A';
    assert_int_equal(cg_pii_decrypt(ks, "phone", stored, &plain, &err), CG_EINVAL);
    assert_non_null(strstr(err.message, "does not authenticate"));
    assert_null(plain);
    /* The key id changed: a key the ring does not hold. */
    stored[mid] = saved;
    stored[3] = '7';
    cg_error_clear(&err);
    assert_int_equal(cg_pii_decrypt(ks, "phone", stored, &plain, &err), CG_EINVAL);
    assert_non_null(strstr(err.message, "unknown pii key 7"));
    stored[3] = '1';
    assert_decrypts(ks, "phone", stored, "13800138000");
    /* Cut short. */
    stored[strlen(stored) - 3] = '\0';
    assert_int_equal(cg_pii_decrypt(ks, "phone", stored, &plain, &err), CG_EINVAL);
    for (size_t i = 0; i < CG_ARRAY_LEN(bad); i++) {
        cg_error_clear(&err);
        assert_int_equal(cg_pii_decrypt(ks, "phone", bad[i], &plain, &err), CG_EINVAL);
        assert_true(err.message[0] != '\0');
        assert_false(cg_pii_needs_rekey(ks, bad[i])); /* malformed or key 1: nothing to do */
    }
    assert_null(plain);
    free(stored);
    cg_pii_keys_free(ks);
}

static void test_kind_mismatch(void **state)
{
    struct cg_pii_keys *ks = keys_from("1:" HEX_A);
    struct cg_error err = CG_ERROR_INIT;
    char *stored = NULL, *plain = NULL;

    (void)state;
    assert_int_equal(cg_pii_encrypt(ks, "phone", "13800138000", 11, &stored, &err), 0);
    assert_int_equal(cg_pii_decrypt(ks, "id_number", stored, &plain, &err), CG_EINVAL);
    assert_non_null(strstr(err.message, "'id_number'"));
    assert_null(plain);
    assert_decrypts(ks, "phone", stored, "13800138000");
    free(stored);
    cg_pii_keys_free(ks);
}

static void test_rotation_and_blind_index(void **state)
{
    struct fixture *f = *state;
    struct cg_pii_keys *k1 = NULL, *k2 = NULL;
    struct cg_error err = CG_ERROR_INIT;
    char *old = NULL, *fresh = NULL;
    char i1[65], i2[65], other_kind[65], other_value[65];
    int id = 0;

    assert_int_equal(cg_pii_keys_create(f->path, &err), 0);
    assert_int_equal(cg_pii_keys_load(f->path, &k1, &err), 0);
    assert_int_equal(cg_pii_keys_current(k1), 1);
    assert_int_equal(cg_pii_encrypt(k1, "id_number", "11010519491231002X", 18, &old, &err), 0);
    cg_pii_blind_index(k1, "id_number", "11010519491231002X", i1);

    assert_int_equal(cg_pii_keys_add(f->path, &id, &err), 0);
    assert_int_equal(id, 2);
    assert_int_equal(cg_pii_keys_load(f->path, &k2, &err), 0);
    assert_int_equal(cg_pii_keys_current(k2), 2);
    assert_int_equal(cg_pii_encrypt(k2, "id_number", "11010519491231002X", 18, &fresh, &err), 0);
    assert_int_equal(strncmp(fresh, "v1.2.", 5), 0);
    assert_decrypts(k2, "id_number", old, "11010519491231002X");
    assert_decrypts(k2, "id_number", fresh, "11010519491231002X");
    assert_true(cg_pii_needs_rekey(k2, old));
    assert_false(cg_pii_needs_rekey(k2, fresh));
    assert_false(cg_pii_needs_rekey(k1, old));

    /* Blind indexes: stable across the rotation, different per kind and per value. */
    cg_pii_blind_index(k2, "id_number", "11010519491231002X", i2);
    cg_pii_blind_index(k2, "phone", "11010519491231002X", other_kind);
    cg_pii_blind_index(k2, "id_number", "110105194912310029", other_value);
    assert_int_equal(strlen(i1), 64);
    assert_string_equal(i1, i2);
    assert_string_not_equal(i1, other_kind);
    assert_string_not_equal(i1, other_value);

    /* Creating again leaves the file alone; a third key is 3. */
    assert_int_equal(cg_pii_keys_create(f->path, &err), 0);
    assert_int_equal(cg_pii_keys_add(f->path, &id, &err), 0);
    assert_int_equal(id, 3);
    free(old);
    free(fresh);
    cg_pii_keys_free(k1);
    cg_pii_keys_free(k2);
}

static void test_blind_index_other_keyring(void **state)
{
    struct cg_pii_keys *a = keys_from("1:" HEX_A);
    struct cg_pii_keys *b = keys_from("1:" HEX_B);
    struct cg_pii_keys *a2 = keys_from(" 2:" HEX_B " , 1:" HEX_A " ");
    char ia[65], ib[65], ia2[65];

    (void)state;
    cg_pii_blind_index(a, "phone", "13800138000", ia);
    cg_pii_blind_index(b, "phone", "13800138000", ib);
    cg_pii_blind_index(a2, "phone", "13800138000", ia2);
    assert_string_not_equal(ia, ib);
    assert_string_equal(ia, ia2); /* key 1 decides, whatever the order and the newer keys */
    assert_int_equal(cg_pii_keys_current(a2), 2);
    cg_pii_keys_free(a);
    cg_pii_keys_free(b);
    cg_pii_keys_free(a2);
}

static void test_file_permissions(void **state)
{
    struct fixture *f = *state;
    struct cg_pii_keys *ks = NULL;
    struct cg_error err = CG_ERROR_INIT;
    struct stat sb;
    int id = 0;

    assert_int_equal(cg_pii_keys_load(f->path, &ks, &err), CG_ENOTFOUND);
    assert_int_equal(cg_pii_keys_create(f->path, &err), 0);
    assert_int_equal(stat(f->path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(chmod(f->path, 0640), 0);
    cg_error_clear(&err);
    assert_int_equal(cg_pii_keys_load(f->path, &ks, &err), CG_EINVAL);
    assert_non_null(strstr(err.message, "chmod 600"));
    assert_null(ks);
    cg_error_clear(&err);
    assert_int_equal(cg_pii_keys_add(f->path, &id, &err), CG_EINVAL);
    assert_non_null(strstr(err.message, "chmod 600"));
    assert_int_equal(chmod(f->path, 0604), 0);
    assert_int_equal(cg_pii_keys_load(f->path, &ks, &err), CG_EINVAL);
    assert_int_equal(chmod(f->path, 0600), 0);
    assert_int_equal(cg_pii_keys_load(f->path, &ks, &err), 0);
    cg_pii_keys_free(ks);
    cg_error_clear(&err);
    assert_int_equal(cg_pii_keys_load(f->dir, &ks, &err), CG_EINVAL); /* a directory */
}

static void test_malformed_keys(void **state)
{
    struct fixture *f = *state;
    static const char *const bad[] = {
        "",
        "   ,  ",
        "1",
        "1:",
        "1:" HEX_A "00",
        "1:" HEX_A "x",
        "1:zz" HEX_A,
        "0:" HEX_A,
        "01:" HEX_A,
        "65536:" HEX_A,
        "1234567:" HEX_A,
        "-1:" HEX_A,
        "1:" HEX_A ",1:" HEX_B,
        "2:" HEX_A,
        "1 :" HEX_A,
    };
    struct cg_pii_keys *ks = NULL;
    struct cg_error err = CG_ERROR_INIT;
    int id = 0;

    for (size_t i = 0; i < CG_ARRAY_LEN(bad); i++) {
        cg_error_clear(&err);
        if (cg_pii_keys_parse(bad[i], &ks, &err) != CG_EINVAL) {
            fail_msg("entry %zu '%s' was accepted", i, bad[i]);
        }
        assert_null(ks);
        assert_null(strstr(err.message, HEX_A)); /* never echo key material */
    }
    cg_error_clear(&err);
    assert_int_equal(cg_pii_keys_parse("1:" HEX_A ",2:" HEX_B ",2:" HEX_A, &ks, &err), CG_EINVAL);
    assert_non_null(strstr(err.message, "entry 3: key 2 appears twice"));
    cg_error_clear(&err);
    assert_int_equal(cg_pii_keys_parse("2:" HEX_B, &ks, &err), CG_EINVAL);
    assert_non_null(strstr(err.message, "key 1 is missing"));

    /* In a file, the message names the line; comments, blank lines and CRLF are fine. */
    write_file(f->path, "# keys\r\n\r\n1:" HEX_A "\r\n  # 2 comes later\n65535:" HEX_B "\n", 0600);
    assert_int_equal(cg_pii_keys_load(f->path, &ks, &err), 0);
    assert_int_equal(cg_pii_keys_current(ks), 65535);
    cg_pii_keys_free(ks);
    ks = NULL;
    cg_error_clear(&err);
    assert_int_equal(cg_pii_keys_add(f->path, &id, &err), CG_EINVAL); /* 65535 is the last id */
    write_file(f->path, "# keys\n\n1:" HEX_A "\n2:" HEX_B "0\n", 0600);
    cg_error_clear(&err);
    assert_int_equal(cg_pii_keys_load(f->path, &ks, &err), CG_EINVAL);
    assert_non_null(strstr(err.message, "line 4"));
    assert_null(ks);
    /* A file without a final newline gets one before the added key. */
    write_file(f->path, "1:" HEX_A, 0600);
    assert_int_equal(cg_pii_keys_add(f->path, &id, &err), 0);
    assert_int_equal(id, 2);
    assert_int_equal(cg_pii_keys_load(f->path, &ks, &err), 0);
    assert_int_equal(cg_pii_keys_current(ks), 2);
    cg_pii_keys_free(ks);
}

static void test_phone_rules(void **state)
{
    static const struct {
        const char *in, *want; /* want NULL: refused */
    } cases[] = {
        {"13800138000", "13800138000"},
        {"138 0013 8000", "13800138000"},
        {"138-0013-8000", "13800138000"},
        {"+86 138 0013 8000", "13800138000"},
        {"+8613800138000", "13800138000"},
        {"008613800138000", "13800138000"},
        {"19912345678", "19912345678"},
        {"0769-22001234", "076922001234"},
        {"010-12345678", "01012345678"},
        {"020 8765 4321", "02087654321"},
        {"0769-2200123", "07692200123"},
        {"+86 769 22001234", NULL}, /* no trunk 0 after +86: neither shape */
        {"12800138000", NULL},      /* 12x is not a mobile prefix */
        {"1380013800", NULL},       /* 10 digits */
        {"138001380001", NULL},     /* 12 digits */
        {"013800138000", NULL},     /* a mobile number with a leading 0 */
        {"0012025550100", NULL},    /* another country */
        {"+1 202 555 0100", NULL},
        {"138OO138000", NULL}, /* letters */
        {"(0769)22001234", NULL},
        {"", NULL},
        {"  -  ", NULL},
        {"0769-123", NULL},      /* too short */
        {"0769123456789", NULL}, /* too long */
        {"1380013800012345678901234567890123", NULL},
    };
    struct cg_error err = CG_ERROR_INIT;
    char out[CG_PII_NORM_MIN];

    (void)state;
    for (size_t i = 0; i < CG_ARRAY_LEN(cases); i++) {
        int rc;

        cg_error_clear(&err);
        rc = cg_pii_normalize_phone(cases[i].in, out, sizeof(out), &err);
        if (cases[i].want) {
            if (rc) {
                fail_msg("'%s' refused: %s", cases[i].in, err.message);
            }
            assert_string_equal(out, cases[i].want);
        } else {
            if (rc != CG_EINVAL) {
                fail_msg("'%s' accepted as '%s'", cases[i].in, out);
            }
            assert_non_null(strstr(err.message, "phone number"));
        }
    }
    assert_int_equal(cg_pii_normalize_phone(NULL, out, sizeof(out), &err), CG_EINVAL);
}

/* Appends the GB 11643 check character to 17 digits. */
static void make_id(const char *first17, char out[19])
{
    static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    int sum = 0;

    for (int i = 0; i < 17; i++) {
        sum += (first17[i] - '0') * w[i];
    }
    snprintf(out, 19, "%.17s%c", first17, "10X98765432"[sum % 11]);
}

static void test_id_rules(void **state)
{
    static const struct {
        const char *in, *want, *msg; /* want NULL: refused with msg in the message */
    } cases[] = {
        {"11010519491231002X", "11010519491231002X", NULL},
        {"11010519491231002x", "11010519491231002X", NULL},
        {" 440304199001011233 ", "440304199001011233", NULL},
        {"441900198506157717", "441900198506157717", NULL},
        {"110105200002290013", "110105200002290013", NULL}, /* 2000-02-29: a leap day */
        {"110105194912310021", NULL, "check character"},    /* wrong check digit */
        {"440304199001011234", NULL, "check character"},
        {"11010519491231002", NULL, "18 characters, not 17"},
        {"11010519491231002X1", NULL, "18 characters, not 19"},
        {"1101051949123100AX", NULL, "character 17"},
        {"A1010519491231002X", NULL, "character 1"},
        {"11010519491231002Y", NULL, "end in a digit or X"},
        {"", NULL, "not 0"},
    };
    struct cg_error err = CG_ERROR_INIT;
    char out[CG_PII_NORM_MIN], id[19], first17[32];
    time_t now = time(NULL);
    struct tm tm;

    (void)state;
    for (size_t i = 0; i < CG_ARRAY_LEN(cases); i++) {
        int rc;

        cg_error_clear(&err);
        rc = cg_pii_normalize_id(cases[i].in, out, sizeof(out), &err);
        if (cases[i].want) {
            if (rc) {
                fail_msg("'%s' refused: %s", cases[i].in, err.message);
            }
            assert_string_equal(out, cases[i].want);
        } else {
            if (rc != CG_EINVAL || !strstr(err.message, cases[i].msg)) {
                fail_msg("'%s': rc %d, message '%s'", cases[i].in, rc, err.message);
            }
        }
    }
    /* Dates with a correct check character: each refused for its date alone. */
    {
        static const char *const dates[] = {"19900230", "19000229", "18991231",
                                            "19901301", "19900100", "19900431"};
        static const char *const why[] = {"impossible", "impossible", "before 1900",
                                          "impossible", "impossible", "impossible"};

        for (size_t i = 0; i < CG_ARRAY_LEN(dates); i++) {
            snprintf(first17, sizeof(first17), "110105%s123", dates[i]);
            make_id(first17, id);
            cg_error_clear(&err);
            assert_int_equal(cg_pii_normalize_id(id, out, sizeof(out), &err), CG_EINVAL);
            assert_non_null(strstr(err.message, why[i]));
        }
    }
    /* Born next year: in the future. */
    gmtime_r(&now, &tm);
    snprintf(first17, sizeof(first17), "110105%04d0101123", (tm.tm_year + 1900 + 1) % 10000);
    make_id(first17, id);
    cg_error_clear(&err);
    assert_int_equal(cg_pii_normalize_id(id, out, sizeof(out), &err), CG_EINVAL);
    assert_non_null(strstr(err.message, "future"));
    /* Born 1900-01-01: the first day accepted. */
    make_id("11010519000101123", id);
    assert_int_equal(cg_pii_normalize_id(id, out, sizeof(out), &err), 0);
    assert_int_equal(cg_pii_normalize_id(NULL, out, sizeof(out), &err), CG_EINVAL);
}

static void test_masks(void **state)
{
    char out[CG_PII_NORM_MIN];
    char longer[64];

    (void)state;
    cg_pii_mask_id("442000199001011234", out, sizeof(out));
    assert_string_equal(out, "4420**********1234");
    cg_pii_mask_id("11010519491231002X", out, sizeof(out));
    assert_string_equal(out, "1101**********002X");
    cg_pii_mask_id("12345678", out, sizeof(out));
    assert_string_equal(out, "******78");
    cg_pii_mask_id("12", out, sizeof(out));
    assert_string_equal(out, "**");
    cg_pii_mask_id("", out, sizeof(out));
    assert_string_equal(out, "");
    cg_pii_mask_id(NULL, out, sizeof(out));
    assert_string_equal(out, "");
    cg_pii_mask_id("张三丰", out, sizeof(out));
    assert_null(strstr(out, "张"));
    cg_pii_mask_phone("13800005678", out, sizeof(out));
    assert_string_equal(out, "138****5678");
    cg_pii_mask_phone("076922001234", out, sizeof(out));
    assert_string_equal(out, "0769******34");
    cg_pii_mask_phone("01012345678", out, sizeof(out));
    assert_string_equal(out, "0101*****78");
    cg_pii_mask_phone("12345", out, sizeof(out));
    assert_string_equal(out, "***45");
    memset(longer, '1', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    cg_pii_mask_phone(longer, out, sizeof(out));
    assert_int_equal(strlen(out), sizeof(out) - 1);
    assert_null(strchr(out, '1'));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_chinese),
        cmocka_unit_test(test_encrypt_refusals),
        cmocka_unit_test(test_tamper_and_malformed),
        cmocka_unit_test(test_kind_mismatch),
        cmocka_unit_test_setup_teardown(test_rotation_and_blind_index, setup, teardown),
        cmocka_unit_test(test_blind_index_other_keyring),
        cmocka_unit_test_setup_teardown(test_file_permissions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_keys, setup, teardown),
        cmocka_unit_test(test_phone_rules),
        cmocka_unit_test(test_id_rules),
        cmocka_unit_test(test_masks),
    };

    return cmocka_run_group_tests_name("pii", tests, NULL, NULL);
}
