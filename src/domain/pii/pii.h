/*
 * pii.h: sensitive personal data at rest (PIPL Art 28 and 51, 等保 2.0 level 3
 * "重要个人信息" confidentiality): field encryption, blind indexes for exact
 * lookup, and the validation, normalisation and masking of mainland phone
 * numbers and resident ID numbers.
 *
 * Keys. A keyring holds numbered 32-byte keys (ids 1..65535). The highest id
 * encrypts; every key decrypts, so rotation is: cg_pii_keys_add() (new key N+1),
 * restart, re-encrypt the rows cg_pii_needs_rekey() points at. Key 1 is special:
 * the blind indexes are derived from it, so it must never be removed (a keyring
 * without key 1 is refused). Keys come from a file (one "N:<64 hex>" a line,
 * '#' comments, mode 0600) or from the environment (CIVGRID_PII_KEYS="N:hex,N:hex").
 * Keep the key file out of the database's directory and out of its backups:
 * a stolen backup should be useless without it. Losing it loses every
 * encrypted field.
 *
 * Stored form: "v1.<keyid>.<base64url(nonce || ciphertext)>", XChaCha20-Poly1305
 * with the associated data "civgrid:<kind>", so a ciphertext moved into a
 * field of another kind does not decrypt.
 *
 * Error messages never contain the personal data or key material they refuse.
 */
#ifndef CG_PII_H
#define CG_PII_H

#include "base/cg.h"
#include "base/err.h"

struct cg_pii_keys; /* a keyring: numbered 32-byte keys; the highest number encrypts, all decrypt */

#define CG_PII_PLAIN_MAX 65536 /* longest plaintext cg_pii_encrypt() accepts, in bytes */

/* ---- keys ------------------------------------------------------------------------------- */

/*
 * Loads the key file at path into a new keyring owned by the caller (free with
 * cg_pii_keys_free()). Lines are "N:<64 hex chars>" with N in 1..65535, blank
 * lines and '#' comments are skipped; key 1 must be present and no id may
 * repeat. Returns 0; CG_ENOTFOUND when the file is missing; CG_EINVAL when it
 * is group/other accessible (the message says "chmod 600"), not a regular
 * file, or malformed (the message names the line); CG_EIO when unreadable.
 */
int cg_pii_keys_load(const char *path, struct cg_pii_keys **out_keys,
                     struct cg_error *err) CG_MUST_CHECK;

/*
 * Creates the key file at path (mode 0600, O_EXCL, synced) holding one random
 * key with id 1. Returns 0 when created and also when the file already exists
 * (it is left untouched); CG_EIO otherwise.
 */
int cg_pii_keys_create(const char *path, struct cg_error *err) CG_MUST_CHECK;

/*
 * Rotation step 1: appends a new random key with id N+1 (N = the highest id in
 * the file) under an exclusive lock and syncs the file. *out_new_id receives
 * N+1. The file must load cleanly first (same errors as cg_pii_keys_load());
 * CG_EINVAL when N is already 65535. A running server sees the new key after a
 * restart.
 */
int cg_pii_keys_add(const char *path, int *out_new_id, struct cg_error *err) CG_MUST_CHECK;

/*
 * Parses keys from an environment value "N:hex,N:hex" (CIVGRID_PII_KEYS; spaces
 * around entries are ignored) into a new keyring owned by the caller. Same
 * checks as cg_pii_keys_load(); CG_EINVAL naming the entry.
 */
int cg_pii_keys_parse(const char *text, struct cg_pii_keys **out_keys,
                      struct cg_error *err) CG_MUST_CHECK;

/* Wipes the keys (sodium_memzero) and frees the keyring. NULL-safe. */
void cg_pii_keys_free(struct cg_pii_keys *keys);

/* The id used for new encryptions: the highest id of the keyring. */
int cg_pii_keys_current(const struct cg_pii_keys *keys);

/* ---- encryption ------------------------------------------------------------------------- */

/*
 * Encrypts the len bytes at plain under the current key with associated data
 * "civgrid:" + kind. kind names the field ("phone", "id_number"): 1..32 of
 * [a-z0-9_]. *out_stored receives a new NUL-terminated string owned by the
 * caller (free()). CG_EINVAL for a bad kind, a plaintext with a NUL byte in it
 * or longer than CG_PII_PLAIN_MAX.
 */
int cg_pii_encrypt(const struct cg_pii_keys *keys, const char *kind, const char *plain, size_t len,
                   char **out_stored, struct cg_error *err) CG_MUST_CHECK;

/*
 * Decrypts stored (from cg_pii_encrypt()) with the key its text names.
 * *out_plain receives a new NUL-terminated string owned by the caller: free it
 * with cg_pii_free_plain(), which wipes it. CG_EINVAL for malformed text, an
 * unknown key id, or failed authentication (tampered, or another kind).
 */
int cg_pii_decrypt(const struct cg_pii_keys *keys, const char *kind, const char *stored,
                   char **out_plain, struct cg_error *err) CG_MUST_CHECK;

/* Wipes and frees a plaintext from cg_pii_decrypt(). NULL-safe. */
void cg_pii_free_plain(char *plain);

/*
 * True when stored names a key other than the current one (re-encrypt it after
 * a rotation). False for the current key and for text that is not a stored
 * value at all (cg_pii_decrypt() reports those).
 */
bool cg_pii_needs_rekey(const struct cg_pii_keys *keys, const char *stored);

/*
 * Keyed blind index for exact-match lookup of an encrypted field: lowercase hex
 * of a 32-byte BLAKE2b (crypto_generichash) over kind + "\0" + normalized,
 * keyed with a subkey derived from key 1 (crypto_kdf, context "cgblind_"), so
 * indexes stay the same across rotations and differ between kinds. Index the
 * normalised form (cg_pii_normalize_*), never the raw input. kind follows the
 * rules of cg_pii_encrypt(); a bad kind is a bug and aborts.
 */
void cg_pii_blind_index(const struct cg_pii_keys *keys, const char *kind, const char *normalized,
                        char out_hex[65]);

/* ---- validation, normalisation, masking ------------------------------------------------- */

#define CG_PII_NORM_MIN 32 /* size the normaliser and mask output buffers must have */

/*
 * Phone numbers. Spaces and '-' are removed, then a leading "+86" or "0086".
 * Accepted: an 11-digit mainland mobile number "1[3-9]XXXXXXXXX", or a
 * landline with its area code as 10-12 digits "0[1-9]..." (area code 010 or
 * 02X, or 0XXX; "01" followed by anything but 0 is refused, which catches a
 * mobile number dialled with a leading 0). Writes the digits to out (at least
 * CG_PII_NORM_MIN bytes). CG_EINVAL "phone number ..." otherwise.
 */
int cg_pii_normalize_phone(const char *in, char *out, size_t size,
                           struct cg_error *err) CG_MUST_CHECK;

/*
 * Resident ID numbers (GB 11643): surrounding spaces are ignored; 17 digits
 * and a check character (digit or X, x accepted and upper-cased), the ISO 7064
 * MOD 11-2 check verified, the birth date YYYYMMDD a real date from 1900-01-01
 * to today (China time). Writes the 18 characters to out (at least
 * CG_PII_NORM_MIN bytes). CG_EINVAL naming what is wrong otherwise.
 */
int cg_pii_normalize_id(const char *in, char *out, size_t size, struct cg_error *err) CG_MUST_CHECK;

/*
 * Masks for display. ID numbers of 18 or more characters keep the first 4 and
 * last 4 ("4420**********1234"), shorter ones all but the last 2. Mobile
 * numbers keep the first 3 and last 4 ("138****5678"), landlines the first 4
 * and last 2. Anything else (non-ASCII, too long for out) is masked entirely.
 * Never fails; out has at least CG_PII_NORM_MIN bytes.
 */
void cg_pii_mask_id(const char *normalized, char *out, size_t size);
void cg_pii_mask_phone(const char *normalized, char *out, size_t size);

#endif
