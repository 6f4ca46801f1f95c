/*
 * pii.c: field encryption of personal data (XChaCha20-Poly1305), the key file
 * and its rotation, blind indexes, and the phone and resident-ID rules. See
 * pii.h for the formats. Key material lives only in the keyring and in
 * buffers that are wiped before they are freed.
 */
#include "base/cg.h"
#include "domain/pii/pii.h"
#include "base/mem.h"
#include "base/str.h"

#include <fcntl.h>
#include <libgen.h>
#include <sodium.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KEY_LEN 32
#define KEY_ID_MAX 65535
#define KEY_FILE_MAX (1 << 20)
#define KIND_MAX 32
#define NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_LEN crypto_aead_xchacha20poly1305_ietf_ABYTES
#define B64_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING

struct pii_key {
    int id;
    uint8_t key[KEY_LEN];
};

struct cg_pii_keys {
    size_t n, cap;
    struct pii_key *keys;   /* n used of cap, sorted by id; the last one encrypts */
    uint8_t blind[KEY_LEN]; /* blind-index key, derived from key 1 */
};

static void sodium_ready(void)
{
    if (sodium_init() < 0) {
        cg_panic(__FILE__, __LINE__, "libsodium cannot be initialised");
    }
}

/* ---- parsing keys ----------------------------------------------------------------------- */

static int cmp_key(const void *a, const void *b)
{
    const struct pii_key *x = a, *y = b;

    return (x->id > y->id) - (x->id < y->id);
}

/* Reads the digits at p (at most len bytes) into *out_id; their count (0: none), or -1 when the
 * number is not 1..65535 without leading zeros. */
static int parse_id(const char *p, size_t len, int *out_id)
{
    int n = 0;
    long id = 0;

    while ((size_t)n < len && n < 7 && p[n] >= '0' && p[n] <= '9') {
        id = id * 10 + (p[n++] - '0');
    }
    if (n > 0 && (p[0] == '0' || n > 5 || id > KEY_ID_MAX)) {
        return -1;
    }
    *out_id = (int)id;
    return n;
}

/* Parses one trimmed entry "N:<64 hex>" into k. */
static int parse_entry(const char *p, size_t len, struct pii_key *k, const char *unit, int no,
                       struct cg_error *err)
{
    size_t bin_len = 0;
    const char *end = NULL;
    int n = parse_id(p, len, &k->id);
    size_t i = n > 0 ? (size_t)n : 0;

    if (n < 0) {
        return cg_error_set(err, CG_EINVAL, "pii keys %s %d: key id must be 1..65535", unit, no);
    }
    if (n == 0 || i >= len || p[i] != ':') {
        return cg_error_set(err, CG_EINVAL, "pii keys %s %d: expected 'N:<64 hex digits>'", unit,
                            no);
    }
    i++;
    if (len - i != KEY_LEN * 2 ||
        sodium_hex2bin(k->key, KEY_LEN, p + i, len - i, NULL, &bin_len, &end) != 0 ||
        bin_len != KEY_LEN || end != p + len) {
        return cg_error_set(err, CG_EINVAL, "pii keys %s %d: key must be 64 hex digits", unit, no);
    }
    return 0;
}

/*
 * Parses entries separated by sep (blank entries and '#' comments skipped)
 * into a new keyring. unit names an entry in messages ("line", "entry").
 */
static int parse_keys(const char *text, size_t len, char sep, const char *unit,
                      struct cg_pii_keys **out_keys, struct cg_error *err)
{
    struct cg_pii_keys *ks = cg_calloc(1, sizeof(*ks));
    int rc = 0, no = 0;

    ks->cap = 1;
    for (size_t i = 0; i < len; i++) {
        ks->cap += text[i] == sep;
    }
    ks->keys = cg_calloc(ks->cap, sizeof(*ks->keys));
    for (size_t pos = 0; pos <= len && !rc; no++) {
        const char *b = text + pos, *nl = memchr(b, sep, len - pos);
        const char *e = nl ? nl : text + len;

        pos = (size_t)(e - text) + 1;
        while (b < e && (*b == ' ' || *b == '\t')) {
            b++;
        }
        while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) {
            e--;
        }
        if (b == e || *b == '#') {
            continue;
        }
        CG_ASSERT(ks->n < ks->cap);
        rc = parse_entry(b, (size_t)(e - b), &ks->keys[ks->n], unit, no + 1, err);
        if (!rc) {
            for (size_t j = 0; j < ks->n; j++) {
                if (ks->keys[j].id == ks->keys[ks->n].id) {
                    rc = cg_error_set(err, CG_EINVAL, "pii keys %s %d: key %d appears twice", unit,
                                      no + 1, ks->keys[j].id);
                }
            }
            ks->n++;
        }
    }
    if (!rc && ks->n == 0) {
        rc = cg_error_set(err, CG_EINVAL, "pii keys: no key found");
    }
    if (!rc) {
        qsort(ks->keys, ks->n, sizeof(*ks->keys), cmp_key);
        if (ks->keys[0].id != 1) {
            rc = cg_error_set(err, CG_EINVAL,
                              "pii keys: key 1 is missing (it derives the blind indexes and "
                              "must never be removed)");
        }
    }
    if (!rc) {
        crypto_kdf_derive_from_key(ks->blind, sizeof(ks->blind), 1, "cgblind_", ks->keys[0].key);
        *out_keys = ks;
        return 0;
    }
    cg_pii_keys_free(ks);
    return rc;
}

/* ---- the key file ----------------------------------------------------------------------- */

/* Checks the type and mode of the key file behind fd, reads and parses it. */
static int load_fd(int fd, const char *path, struct cg_pii_keys **out_keys, bool *out_ends_nl,
                   struct cg_error *err)
{
    struct stat sb;
    char *buf;
    size_t len = 0, size;
    int rc = 0;

    if (fstat(fd, &sb) != 0) {
        return cg_error_set(err, CG_EIO, "cannot stat pii key file '%s': %s", path,
                            strerror(errno));
    }
    if (!S_ISREG(sb.st_mode) || sb.st_size > KEY_FILE_MAX) {
        return cg_error_set(err, CG_EINVAL,
                            "pii key file '%s' is not a regular file of 1 MiB at most", path);
    }
    if (sb.st_mode & 077) {
        return cg_error_set(err, CG_EINVAL,
                            "pii key file '%s' is readable by group or others: chmod 600 it", path);
    }
    size = (size_t)sb.st_size;
    buf = cg_malloc(size + 1);
    while (len < size && !rc) {
        ssize_t got = pread(fd, buf + len, size - len, (off_t)len);

        if (got <= 0 && !(got < 0 && errno == EINTR)) {
            rc = cg_error_set(err, CG_EIO, "cannot read pii key file '%s': %s", path,
                              got < 0 ? strerror(errno) : "file shrank");
        }
        len += got > 0 ? (size_t)got : 0;
    }
    rc = rc ? rc : parse_keys(buf, len, '\n', "line", out_keys, err);
    if (out_ends_nl) {
        *out_ends_nl = len == 0 || buf[len - 1] == '\n';
    }
    sodium_memzero(buf, size + 1);
    free(buf);
    return rc;
}

/*
 * Opens the key file with flags and loads it under a lock (exclusive when
 * opened for writing; it goes with the descriptor). On success *out_fd is open.
 */
static int open_and_load(const char *path, int flags, int *out_fd, struct cg_pii_keys **out_keys,
                         bool *out_ends_nl, struct cg_error *err)
{
    int fd = open(path, flags | O_CLOEXEC);
    int rc = 0;

    if (fd < 0) {
        return errno == ENOENT ? cg_error_set(err, CG_ENOTFOUND, "no pii key file at '%s'", path)
                               : cg_error_set(err, CG_EIO, "cannot open pii key file '%s': %s",
                                              path, strerror(errno));
    }
    if (flock(fd, (flags & O_RDWR) ? LOCK_EX : LOCK_SH) != 0) {
        rc = cg_error_set(err, CG_EIO, "cannot lock pii key file '%s': %s", path, strerror(errno));
    }
    rc = rc ? rc : load_fd(fd, path, out_keys, out_ends_nl, err);
    if (rc) {
        close(fd);
        return rc;
    }
    *out_fd = fd;
    return 0;
}

/* Writes "<prefix>N:<hex of a new random key>\n" to fd in one write; 0 or -1 (errno set). */
static int write_new_key(int fd, const char *prefix, int id)
{
    uint8_t key[KEY_LEN];
    char hex[KEY_LEN * 2 + 1], line[256];
    ssize_t n;

    randombytes_buf(key, sizeof(key));
    sodium_bin2hex(hex, sizeof(hex), key, sizeof(key));
    snprintf(line, sizeof(line), "%s%d:%s\n", prefix, id, hex);
    n = write(fd, line, strlen(line)); /* a short write to a local file means the disk is full */
    if (n >= 0 && (size_t)n != strlen(line)) {
        errno = ENOSPC;
        n = -1;
    }
    sodium_memzero(key, sizeof(key));
    sodium_memzero(hex, sizeof(hex));
    sodium_memzero(line, sizeof(line));
    return n < 0 ? -1 : 0;
}

/* Makes a new directory entry durable (best effort: some file systems refuse). */
static void sync_parent_dir(const char *path)
{
    char *copy = cg_strdup(path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(copy);
}

/* ---- encryption helpers ----------------------------------------------------------------- */

static bool kind_ok(const char *kind)
{
    size_t n = kind ? strlen(kind) : 0;

    return n > 0 && n <= KIND_MAX && strspn(kind, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

static const struct pii_key *find_key(const struct cg_pii_keys *ks, int id)
{
    for (size_t i = 0; i < ks->n; i++) {
        if (ks->keys[i].id == id) {
            return &ks->keys[i];
        }
    }
    return NULL;
}

/* Parses "v1.<id>." at the start of stored; returns the payload after it, or NULL. */
static const char *parse_header(const char *stored, int *out_id)
{
    int n = stored && strncmp(stored, "v1.", 3) == 0 ? parse_id(stored + 3, 8, out_id) : 0;

    return n > 0 && stored[3 + n] == '.' ? stored + 3 + n + 1 : NULL;
}

/* ---- phone and ID rules ----------------------------------------------------------------- */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : days[m - 1];
}

/* Today's date in China (UTC+8) as YYYYMMDD. */
static int today_china(void)
{
    time_t t = time(NULL) + 8 * 3600;
    struct tm tm;

    gmtime_r(&t, &tm);
    return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

static int digits_value(const char *p, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/*
 * Writes s to out with all but its first head and last tail characters as '*'
 * (with tail 2 and no head when s is shorter than min). Text that is not ASCII
 * or does not fit is masked entirely.
 */
static void mask_keep(const char *s, size_t min, size_t head, size_t tail, char *out, size_t size)
{
    size_t len = s ? strlen(s) : 0;
    bool clear = len < size;

    CG_ASSERT(out && size >= CG_PII_NORM_MIN);
    for (size_t i = 0; i < len && clear; i++) {
        clear = (unsigned char)s[i] < 0x80;
    }
    if (len < min) {
        head = 0;
        tail = len > 2 ? 2 : 0;
    }
    len = len < size ? len : size - 1;
    for (size_t i = 0; i < len; i++) {
        out[i] = clear && (i < head || i >= len - tail) ? s[i] : '*';
    }
    out[len] = '\0';
}

/* ---- public: keys ----------------------------------------------------------------------- */

int cg_pii_keys_load(const char *path, struct cg_pii_keys **out_keys, struct cg_error *err)
{
    int fd = -1;
    int rc;

    CG_ASSERT(path && out_keys);
    sodium_ready();
    rc = open_and_load(path, O_RDONLY, &fd, out_keys, NULL, err);
    if (!rc) {
        close(fd);
    }
    return rc;
}

int cg_pii_keys_create(const char *path, struct cg_error *err)
{
    int fd, rc = 0;

    CG_ASSERT(path);
    sodium_ready();
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST) {
            return 0;
        }
        return cg_error_set(err, CG_EIO, "cannot create pii key file '%s': %s", path,
                            strerror(errno));
    }
    if (fchmod(fd, 0600) != 0 ||
        write_new_key(fd,
                      "# civgrid pii keys: 'N:<hex>' a line; the highest N encrypts, every key\n"
                      "# decrypts, key 1 also derives the blind indexes: never remove it.\n",
                      1) != 0 ||
        fsync(fd) != 0) {
        rc = cg_error_set(err, CG_EIO, "cannot write pii key file '%s': %s", path, strerror(errno));
    }
    close(fd);
    if (rc) {
        unlink(path);
        return rc;
    }
    sync_parent_dir(path);
    return 0;
}

int cg_pii_keys_add(const char *path, int *out_new_id, struct cg_error *err)
{
    struct cg_pii_keys *ks = NULL;
    bool ends_nl = true;
    int fd = -1, id;
    int rc;

    CG_ASSERT(path && out_new_id);
    sodium_ready();
    rc = open_and_load(path, O_RDWR | O_APPEND, &fd, &ks, &ends_nl, err);
    if (rc) {
        return rc;
    }
    id = cg_pii_keys_current(ks) + 1;
    if (id > KEY_ID_MAX) {
        rc = cg_error_set(err, CG_EINVAL, "pii key file '%s' already holds key 65535", path);
        goto out;
    }
    if (write_new_key(fd, ends_nl ? "" : "\n", id) != 0 || fsync(fd) != 0) {
        rc = cg_error_set(err, CG_EIO, "cannot write pii key file '%s': %s", path, strerror(errno));
        goto out;
    }
    *out_new_id = id;
out:
    cg_pii_keys_free(ks);
    close(fd); /* also releases the lock */
    return rc;
}

int cg_pii_keys_parse(const char *text, struct cg_pii_keys **out_keys, struct cg_error *err)
{
    CG_ASSERT(out_keys);
    sodium_ready();
    if (!text) {
        return cg_error_set(err, CG_EINVAL, "pii keys: no key found");
    }
    return parse_keys(text, strlen(text), ',', "entry", out_keys, err);
}

void cg_pii_keys_free(struct cg_pii_keys *keys)
{
    if (!keys) {
        return;
    }
    if (keys->keys) {
        sodium_memzero(keys->keys, keys->cap * sizeof(*keys->keys)); /* with failed entries */
        free(keys->keys);
    }
    sodium_memzero(keys, sizeof(*keys));
    free(keys);
}

int cg_pii_keys_current(const struct cg_pii_keys *keys)
{
    CG_ASSERT(keys && keys->n > 0);
    return keys->keys[keys->n - 1].id;
}

/* ---- public: encryption ----------------------------------------------------------------- */

int cg_pii_encrypt(const struct cg_pii_keys *keys, const char *kind, const char *plain, size_t len,
                   char **out_stored, struct cg_error *err)
{
    const struct pii_key *k;
    char ad[8 + KIND_MAX + 1];
    uint8_t *bin;
    size_t bin_len = NONCE_LEN + len + TAG_LEN, b64_len, head;
    unsigned long long clen = 0;
    char *out;

    CG_ASSERT(keys && keys->n > 0 && out_stored && (plain || len == 0));
    if (!kind_ok(kind)) {
        return cg_error_set(err, CG_EINVAL, "pii kind must be 1..32 of [a-z0-9_]");
    }
    if (len > CG_PII_PLAIN_MAX) {
        return cg_error_set(err, CG_EINVAL, "personal data to encrypt is longer than %d bytes",
                            CG_PII_PLAIN_MAX);
    }
    if (len > 0 && memchr(plain, '\0', len)) {
        return cg_error_set(err, CG_EINVAL, "personal data to encrypt contains a NUL byte");
    }
    sodium_ready();
    k = &keys->keys[keys->n - 1];
    snprintf(ad, sizeof(ad), "civgrid:%s", kind);
    bin = cg_malloc(bin_len);
    randombytes_buf(bin, NONCE_LEN);
    crypto_aead_xchacha20poly1305_ietf_encrypt(bin + NONCE_LEN, &clen, (const uint8_t *)plain, len,
                                               (const uint8_t *)ad, strlen(ad), NULL, bin, k->key);
    CG_ASSERT(clen == len + TAG_LEN);
    b64_len = sodium_base64_ENCODED_LEN(bin_len, B64_VARIANT);
    out = cg_malloc(16 + b64_len);
    head = (size_t)snprintf(out, 16, "v1.%d.", k->id);
    sodium_bin2base64(out + head, b64_len, bin, bin_len, B64_VARIANT);
    free(bin);
    *out_stored = out;
    return 0;
}

int cg_pii_decrypt(const struct cg_pii_keys *keys, const char *kind, const char *stored,
                   char **out_plain, struct cg_error *err)
{
    const struct pii_key *k;
    const char *payload, *end = NULL;
    char ad[8 + KIND_MAX + 1];
    uint8_t *bin;
    size_t plen, bin_len = 0;
    unsigned long long mlen = 0;
    char *plain;
    int id = 0;

    CG_ASSERT(keys && keys->n > 0 && out_plain);
    if (!kind_ok(kind)) {
        return cg_error_set(err, CG_EINVAL, "pii kind must be 1..32 of [a-z0-9_]");
    }
    payload = parse_header(stored, &id);
    if (!payload) {
        return cg_error_set(err, CG_EINVAL, "stored personal data is not in the 'v1.N.' format");
    }
    k = find_key(keys, id);
    if (!k) {
        return cg_error_set(err, CG_EINVAL, "stored personal data names unknown pii key %d", id);
    }
    plen = strlen(payload);
    if (plen > sodium_base64_ENCODED_LEN(CG_PII_PLAIN_MAX + NONCE_LEN + TAG_LEN, B64_VARIANT)) {
        return cg_error_set(err, CG_EINVAL, "stored personal data is too long");
    }
    sodium_ready();
    bin = cg_malloc(plen + 1);
    if (sodium_base642bin(bin, plen + 1, payload, plen, NULL, &bin_len, &end, B64_VARIANT) != 0 ||
        end != payload + plen || bin_len < NONCE_LEN + TAG_LEN) {
        free(bin);
        return cg_error_set(err, CG_EINVAL, "stored personal data is not valid base64url");
    }
    snprintf(ad, sizeof(ad), "civgrid:%s", kind);
    plain = cg_malloc(bin_len - NONCE_LEN - TAG_LEN + 1);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt((uint8_t *)plain, &mlen, NULL, bin + NONCE_LEN,
                                                   bin_len - NONCE_LEN, (const uint8_t *)ad,
                                                   strlen(ad), bin, k->key) != 0) {
        free(bin);
        sodium_memzero(plain, bin_len - NONCE_LEN - TAG_LEN + 1);
        free(plain);
        return cg_error_set(err, CG_EINVAL,
                            "stored personal data does not authenticate: tampered, or not a "
                            "'%s' value",
                            kind);
    }
    free(bin);
    plain[mlen] = '\0';
    *out_plain = plain;
    return 0;
}

void cg_pii_free_plain(char *plain)
{
    if (plain) {
        sodium_memzero(plain, strlen(plain));
        free(plain);
    }
}

bool cg_pii_needs_rekey(const struct cg_pii_keys *keys, const char *stored)
{
    int id = 0;

    CG_ASSERT(keys && keys->n > 0);
    return parse_header(stored, &id) && id != cg_pii_keys_current(keys);
}

void cg_pii_blind_index(const struct cg_pii_keys *keys, const char *kind, const char *normalized,
                        char out_hex[65])
{
    crypto_generichash_state st;
    uint8_t h[32];

    CG_ASSERT(keys && keys->n > 0 && kind_ok(kind) && normalized && out_hex);
    crypto_generichash_init(&st, keys->blind, sizeof(keys->blind), sizeof(h));
    crypto_generichash_update(&st, (const uint8_t *)kind, strlen(kind) + 1); /* with its NUL */
    crypto_generichash_update(&st, (const uint8_t *)normalized, strlen(normalized));
    crypto_generichash_final(&st, h, sizeof(h));
    sodium_bin2hex(out_hex, 65, h, sizeof(h));
    sodium_memzero(&st, sizeof(st));
}

/* ---- public: validation, normalisation, masking ----------------------------------------- */

int cg_pii_normalize_phone(const char *in, char *out, size_t size, struct cg_error *err)
{
    char s[32];
    const char *d = s, *why = NULL;
    size_t n = 0, len;

    CG_ASSERT(out && size >= CG_PII_NORM_MIN);
    for (const char *p = in ? in : ""; *p && !why; p++) {
        if (*p == ' ' || *p == '-') {
            continue;
        }
        if (!is_digit(*p) && !(*p == '+' && n == 0)) {
            why = "may contain only digits, spaces, '-' and a leading '+86'";
        } else if (n == sizeof(s) - 1) {
            why = "is too long";
        } else {
            s[n++] = *p;
        }
    }
    s[n] = '\0';
    if (strncmp(s, "+86", 3) == 0 || strncmp(s, "0086", 4) == 0) {
        d += s[0] == '+' ? 3 : 4;
    }
    len = strlen(d);
    if (why) {
        /* already refused */
    } else if (*d == '+') {
        why = "has a country code other than +86";
    } else if (len == 0) {
        why = "is empty";
    } else if (d[0] == '1' && len == 11) {
        why = d[1] < '3' ? "is not a mainland mobile number (13x to 19x)" : NULL;
    } else if (d[0] == '0' && len >= 10 && len <= 12) {
        why = d[1] == '0'                  ? "has an international prefix other than 0086"
              : d[1] == '1' && d[2] != '0' ? "has no valid area code"
                                           : NULL;
    } else {
        why = "must be an 11-digit mobile number or a landline number with its area code "
              "(10 to 12 digits)";
    }
    if (why) {
        return cg_error_set(err, CG_EINVAL, "phone number %s", why);
    }
    snprintf(out, size, "%s", d);
    return 0;
}

int cg_pii_normalize_id(const char *in, char *out, size_t size, struct cg_error *err)
{
    static const int weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    const char *b = in ? in : "", *e, *why = NULL;
    int sum = 0, y, m, d;
    char c;

    CG_ASSERT(out && size >= CG_PII_NORM_MIN);
    while (*b == ' ') {
        b++;
    }
    e = b + strlen(b);
    while (e > b && e[-1] == ' ') {
        e--;
    }
    if (e - b != 18) {
        return cg_error_set(err, CG_EINVAL, "resident id number must have 18 characters, not %td",
                            e - b);
    }
    for (int i = 0; i < 17; i++) {
        if (!is_digit(b[i])) {
            return cg_error_set(err, CG_EINVAL,
                                "resident id number must have digits in its first 17 "
                                "characters (character %d is not one)",
                                i + 1);
        }
        sum += (b[i] - '0') * weights[i];
    }
    c = b[17] == 'x' ? 'X' : b[17];
    y = digits_value(b + 6, 4);
    m = digits_value(b + 10, 2);
    d = digits_value(b + 12, 2);
    if (!is_digit(c) && c != 'X') {
        why = "must end in a digit or X";
    } else if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) {
        why = "has an impossible birth date";
    } else if (y < 1900) {
        why = "has a birth date before 1900";
    } else if (y * 10000 + m * 100 + d > today_china()) {
        why = "has a birth date in the future";
    } else if ("10X98765432"[sum % 11] != c) {
        why = "has a wrong check character (a typing error?)";
    }
    if (why) {
        return cg_error_set(err, CG_EINVAL, "resident id number %s", why);
    }
    snprintf(out, size, "%.17s%c", b, c);
    return 0;
}

void cg_pii_mask_id(const char *normalized, char *out, size_t size)
{
    mask_keep(normalized, 18, 4, 4, out, size);
}

void cg_pii_mask_phone(const char *normalized, char *out, size_t size)
{
    const char *s = normalized ? normalized : "";

    if (s[0] == '1' && strlen(s) == 11) {
        mask_keep(s, 11, 3, 4, out, size);
    } else if (s[0] == '0') {
        mask_keep(s, 7, 4, 2, out, size);
    } else {
        mask_keep(s, SIZE_MAX, 0, 0, out, size);
    }
}
