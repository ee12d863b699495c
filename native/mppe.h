/*
 * MPPE data path in C (RFC 3078 with the keys of RFC 3079): RC4, the key change of RFC 3078 §7.3
 * (GetNewKeyFromSHA, RFC 3079 §3.3, then RC4 of the interim key with itself and the 40/56-bit salt) and the
 * stateless packet operations (§7.1: a key change before every packet). Pure functions on buffers: no N-API,
 * so the addon's bindings (mppe_napi.c) and the tests see the same code.
 *
 * Our own code, not OpenSSL's: the host node links OpenSSL statically and Node 20's OpenSSL 3 refuses RC4
 * without the legacy provider, so an addon cannot reach libcrypto's RC4 or SHA-1 (bench/README.md "session 8").
 *
 * One direction's key state is a small byte block that the JS side owns (a Uint8Array of MPPE_STATE_LEN bytes):
 * it moves between threads as bytes and holds no pointer, so a data worker can own it too.
 *   [0, 16)  start key (the direction's master key; 40/56-bit use the first 8)
 *   [16, 32) current session key
 *   [32]     key length, 8 or 16
 *   [33]     strength, as MPPE_BITS_* below
 *   [34, 36) coherency count of the last packet (little-endian, 12 bits)
 *   [36, 52) the session key after the current one, worked out ahead (mppe.c advance); valid when [52] is 1.
 *            Whoever writes [16, 36) from outside (a restored state) must clear [52].
 * A state may also be MPPE_STATE_AHEAD_LEN bytes: the block is then followed by the direction's own slot for the
 * next packet's key schedule worked out ahead (mppe.c "key work ahead"). The JS side grows a direction's state to
 * that length when it first carries a packet, so an idle session keeps 56 bytes and a busy one never shares a slot.
 */
#ifndef PPTP_IO_MPPE_H
#define PPTP_IO_MPPE_H
#include <stddef.h>
#include <stdint.h>

#define MPPE_STATE_LEN 56
/* MPPE_STATE_LEN + one ahead slot (mppe.c: a length byte, the key, the 256-byte S-box). */
#define MPPE_STATE_AHEAD_LEN (MPPE_STATE_LEN + 1 + 16 + 256)
#define MPPE_BITS_40 1
#define MPPE_BITS_56 2
#define MPPE_BITS_128 3

#define MPPE_HDR_LEN 2
#define MPPE_FLUSHED 0x80
#define MPPE_COMPRESSED 0x20
#define MPPE_ENCRYPTED 0x10
/* Result of a packet that is dropped (src/crypto/mppe.ts MPPE_DROP). */
#define MPPE_R_DROP (-2)

typedef struct mppe_rc4 {
  uint8_t s[256];
  uint8_t i, j;
} mppe_rc4;

void mppe_rc4_setkey(mppe_rc4 *r, const uint8_t *key, size_t len);
/* dst may equal src (in place); other overlaps are the caller's business. */
void mppe_rc4_process(mppe_rc4 *r, const uint8_t *src, uint8_t *dst, size_t len);

/* SHA-1 (FIPS 180-1) of msg[0, len): the digest into out[20]. SHA-NI when cpuid has it, else portable C. */
void mppe_sha1(const uint8_t *msg, size_t len, uint8_t out[20]);

#define MPPE_SHA_DEFAULT 0
#define MPPE_SHA_PORTABLE 1
#define MPPE_SHA_NI 2
/* Which SHA-1 runs (process-wide): MPPE_SHA_DEFAULT (what cpuid allows), _PORTABLE or _NI. Returns the one now in
 * use, or -1 when SHA-NI was asked for and the CPU lacks it. For the tests and the bench only. */
int mppe_sha_select(int want);

/* 1 (the default): the stateless packets run the next packet's key work beside their keystream (mppe.c "key work
 * ahead"); 0: the plain path. Process-wide; any other value only reads it. For the tests and the bench only. */
int mppe_ahead_select(int on);

/* 0 when the block is a well-formed state (key length and strength agree), -1 otherwise. */
int mppe_state_check(const uint8_t *st);
/* Fills a state from a 16-byte master key: the initial session key (RFC 3079 §3.1-3.3), count 4095. */
int mppe_state_init(uint8_t *st, const uint8_t *master, int bits);
/* One key change (RFC 3078 §7.3) of the session key in the state. */
void mppe_change_key(uint8_t *st);

/*
 * Stateless sender: count + 1, a key change, then the MPPE header at dst[0, 2) and the ciphertext of the 2-byte
 * protocol field (when protocol >= 0) followed by src[0, len) at dst[2..]. dst may be src - 2 or src - 4
 * (in place) or not overlap at all. Returns the bytes written.
 */
size_t mppe_encrypt_stateless(uint8_t *st, size_t st_len, int protocol, const uint8_t *src, size_t len, uint8_t *dst);

/*
 * Stateless receiver: src[0, len) is a whole MPPE datagram (header included). Checks the header, catches up over
 * lost counts (RFC 3078 §8.1), decrypts len - 2 bytes to dst. Returns that length or MPPE_R_DROP (malformed,
 * not encrypted, compressed, not flushed, duplicate or older). dst may be src or src + 2 (in place) or not
 * overlap.
 */
int mppe_decrypt_stateless(uint8_t *st, size_t st_len, const uint8_t *src, size_t len, uint8_t *dst);

#endif
