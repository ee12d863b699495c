/* MPPE data path in C: see mppe.h. Comments cite the RFC sections the TypeScript oracle (src/crypto) follows. */
#include "mppe.h"

#include <string.h>

/* ---------------------------------------------------------------------------------------------- RC4 */

static const uint8_t IDENTITY[256] = {
#define R16(b) b, b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8, b + 9, b + 10, b + 11, b + 12, b + 13, b + 14, b + 15
    R16(0), R16(16), R16(32), R16(48), R16(64), R16(80), R16(96), R16(112),
    R16(128), R16(144), R16(160), R16(176), R16(192), R16(208), R16(224), R16(240)
#undef R16
};

void mppe_rc4_setkey(mppe_rc4 *r, const uint8_t *key, size_t len) {
  uint8_t *s = r->s;
  memcpy(s, IDENTITY, 256);
  unsigned j = 0;
  if (len == 8 || len == 16) {
    /* MPPE's two key lengths: the key index is a mask (the schedule runs twice per stateless packet). */
    unsigned m = (unsigned)len - 1;
    for (unsigned n = 0; n < 256; n++) {
      uint8_t t = s[n];
      j = (j + t + key[n & m]) & 0xff;
      s[n] = s[j];
      s[j] = t;
    }
  } else {
    unsigned k = 0;
    for (unsigned n = 0; n < 256; n++) {
      uint8_t t = s[n];
      j = (j + t + key[k]) & 0xff;
      s[n] = s[j];
      s[j] = t;
      if (++k == len) k = 0;
    }
  }
  r->i = 0;
  r->j = 0;
}

void mppe_rc4_process(mppe_rc4 *r, const uint8_t *src, uint8_t *dst, size_t len) {
  uint8_t *s = r->s;
  unsigned i = r->i, j = r->j;
  size_t n = 0;
  /* Eight keystream bytes are made before any is stored, so the loads of the state do not wait for stores
   * through dst (a uint8_t pointer may alias the table), then XORed as one 64-bit word when that is possible. */
  for (; n + 8 <= len; n += 8) {
    uint64_t ks = 0;
    /* Written out (not a loop) so that -O2, which does not unroll, gets the straight-line code -O3 would. */
#define RC4_STEP(b)                                 \
  do {                                              \
    i = (i + 1) & 0xff;                             \
    uint8_t a = s[i];                               \
    j = (j + a) & 0xff;                             \
    uint8_t c = s[j];                               \
    s[i] = c;                                       \
    s[j] = a;                                       \
    ks |= (uint64_t)s[(uint8_t)(a + c)] << (8 * b); \
  } while (0)
    RC4_STEP(0); RC4_STEP(1); RC4_STEP(2); RC4_STEP(3); RC4_STEP(4); RC4_STEP(5); RC4_STEP(6); RC4_STEP(7);
#undef RC4_STEP
    uint64_t w;
    memcpy(&w, src + n, 8);
    w ^= ks; /* little-endian: byte b of ks is keystream byte n + b */
    memcpy(dst + n, &w, 8);
  }
  for (; n < len; n++) {
    i = (i + 1) & 0xff;
    uint8_t a = s[i];
    j = (j + a) & 0xff;
    uint8_t c = s[j];
    s[i] = c;
    s[j] = a;
    dst[n] = src[n] ^ s[(uint8_t)(a + c)];
  }
  r->i = (uint8_t)i;
  r->j = (uint8_t)j;
}

/* ---------------------------------------------------------------------------------------------- SHA-1 */

static inline uint32_t rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

/* One 64-byte block: the 80 rounds unrolled by macro over a 16-word rolling schedule. */
#define SHA_W(t) (w[(t) & 15] = rol(w[((t) + 13) & 15] ^ w[((t) + 8) & 15] ^ w[((t) + 2) & 15] ^ w[(t) & 15], 1))
#define SHA_F1(b, c, d) (((c ^ d) & b) ^ d)
#define SHA_F2(b, c, d) (b ^ c ^ d)
#define SHA_F3(b, c, d) (((b | c) & d) | (b & c))
#define SHA_R(a, b, c, d, e, f, k, x) \
  do { e += rol(a, 5) + f(b, c, d) + k + (x); b = rol(b, 30); } while (0)
#define SHA_5(t, f, k, x0, x1, x2, x3, x4) \
  SHA_R(a, b, c, d, e, f, k, x0); SHA_R(e, a, b, c, d, f, k, x1); SHA_R(d, e, a, b, c, f, k, x2); \
  SHA_R(c, d, e, a, b, f, k, x3); SHA_R(b, c, d, e, a, f, k, x4)

static void sha1_block(uint32_t h[5], const uint8_t *p) {
  uint32_t w[16];
  for (int t = 0; t < 16; t++) w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 | (uint32_t)p[4 * t + 2] << 8 | p[4 * t + 3];
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
  SHA_5(0, SHA_F1, 0x5a827999, w[0], w[1], w[2], w[3], w[4]);
  SHA_5(5, SHA_F1, 0x5a827999, w[5], w[6], w[7], w[8], w[9]);
  SHA_5(10, SHA_F1, 0x5a827999, w[10], w[11], w[12], w[13], w[14]);
  SHA_5(15, SHA_F1, 0x5a827999, w[15], SHA_W(16), SHA_W(17), SHA_W(18), SHA_W(19));
  SHA_5(20, SHA_F2, 0x6ed9eba1, SHA_W(20), SHA_W(21), SHA_W(22), SHA_W(23), SHA_W(24));
  SHA_5(25, SHA_F2, 0x6ed9eba1, SHA_W(25), SHA_W(26), SHA_W(27), SHA_W(28), SHA_W(29));
  SHA_5(30, SHA_F2, 0x6ed9eba1, SHA_W(30), SHA_W(31), SHA_W(32), SHA_W(33), SHA_W(34));
  SHA_5(35, SHA_F2, 0x6ed9eba1, SHA_W(35), SHA_W(36), SHA_W(37), SHA_W(38), SHA_W(39));
  SHA_5(40, SHA_F3, 0x8f1bbcdc, SHA_W(40), SHA_W(41), SHA_W(42), SHA_W(43), SHA_W(44));
  SHA_5(45, SHA_F3, 0x8f1bbcdc, SHA_W(45), SHA_W(46), SHA_W(47), SHA_W(48), SHA_W(49));
  SHA_5(50, SHA_F3, 0x8f1bbcdc, SHA_W(50), SHA_W(51), SHA_W(52), SHA_W(53), SHA_W(54));
  SHA_5(55, SHA_F3, 0x8f1bbcdc, SHA_W(55), SHA_W(56), SHA_W(57), SHA_W(58), SHA_W(59));
  SHA_5(60, SHA_F2, 0xca62c1d6, SHA_W(60), SHA_W(61), SHA_W(62), SHA_W(63), SHA_W(64));
  SHA_5(65, SHA_F2, 0xca62c1d6, SHA_W(65), SHA_W(66), SHA_W(67), SHA_W(68), SHA_W(69));
  SHA_5(70, SHA_F2, 0xca62c1d6, SHA_W(70), SHA_W(71), SHA_W(72), SHA_W(73), SHA_W(74));
  SHA_5(75, SHA_F2, 0xca62c1d6, SHA_W(75), SHA_W(76), SHA_W(77), SHA_W(78), SHA_W(79));
  h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
}

void mppe_sha1(const uint8_t *msg, size_t len, uint8_t out[20]) {
  uint32_t h[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
  size_t n = 0;
  for (; n + 64 <= len; n += 64) sha1_block(h, msg + n);
  uint8_t last[128];
  size_t rest = len - n;
  memcpy(last, msg + n, rest);
  last[rest] = 0x80;
  size_t blocks = rest + 9 <= 64 ? 1 : 2;
  memset(last + rest + 1, 0, blocks * 64 - rest - 1);
  uint64_t bits = (uint64_t)len * 8;
  for (int b = 0; b < 8; b++) last[blocks * 64 - 1 - b] = (uint8_t)(bits >> (8 * b));
  for (size_t b = 0; b < blocks; b++) sha1_block(h, last + 64 * b);
  for (int t = 0; t < 5; t++) {
    out[4 * t] = (uint8_t)(h[t] >> 24);
    out[4 * t + 1] = (uint8_t)(h[t] >> 16);
    out[4 * t + 2] = (uint8_t)(h[t] >> 8);
    out[4 * t + 3] = (uint8_t)h[t];
  }
}

/* ---------------------------------------------------------------------------------------------- keys */

#define ST_START 0
#define ST_SESSION 16
#define ST_KEYLEN 32
#define ST_BITS 33
#define ST_COUNT 34
#define ST_NEXT 36
#define ST_NEXT_OK 52
#define COUNT_MASK 0xfff
#define HALF_COUNT_SPACE 2048

static inline unsigned st_count(const uint8_t *st) { return (st[ST_COUNT] | (unsigned)st[ST_COUNT + 1] << 8) & COUNT_MASK; }
static inline void st_set_count(uint8_t *st, unsigned c) {
  st[ST_COUNT] = (uint8_t)c;
  st[ST_COUNT + 1] = (uint8_t)(c >> 8);
}

int mppe_state_check(const uint8_t *st) {
  unsigned kl = st[ST_KEYLEN], bits = st[ST_BITS];
  if (bits == MPPE_BITS_128) return kl == 16 ? 0 : -1;
  if (bits == MPPE_BITS_40 || bits == MPPE_BITS_56) return kl == 8 ? 0 : -1;
  return -1;
}

/* 40/56-bit strength reduction (RFC 3079 §3.4/§3.5 via RFC 3078 §7.3): the salt 0xd1 26 9e / 0xd1. */
static void reduce_key(const uint8_t *st, uint8_t *k) {
  if (st[ST_BITS] == MPPE_BITS_128) return;
  k[0] = 0xd1;
  if (st[ST_BITS] == MPPE_BITS_40) {
    k[1] = 0x26;
    k[2] = 0x9e;
  }
}

static void reduce(uint8_t *st) { reduce_key(st, st + ST_SESSION); }

/* GetNewKeyFromSHA (RFC 3079 §3.3): SHA-1(Start | 40 x 00 | Session | 40 x F2), first keyLen octets into out. */
static void new_key_from_sha(const uint8_t *st, uint8_t digest[20]) {
  unsigned kl = st[ST_KEYLEN];
  uint8_t msg[112];
  memcpy(msg, st + ST_START, kl);
  memset(msg + kl, 0x00, 40);
  memcpy(msg + kl + 40, st + ST_SESSION, kl);
  memset(msg + 2 * kl + 40, 0xf2, 40);
  mppe_sha1(msg, 2 * kl + 80, digest);
}

int mppe_state_init(uint8_t *st, const uint8_t *master, int bits) {
  unsigned kl = bits == 128 ? 16 : 8;
  if (bits != 40 && bits != 56 && bits != 128) return -1;
  memset(st, 0, MPPE_STATE_LEN);
  memcpy(st + ST_START, master, kl);
  memcpy(st + ST_SESSION, master, kl);
  st[ST_KEYLEN] = (uint8_t)kl;
  st[ST_BITS] = bits == 128 ? MPPE_BITS_128 : bits == 56 ? MPPE_BITS_56 : MPPE_BITS_40;
  /* RFC 3079 §3.1-3.3: the first session key is GetNewKeyFromSHA(Start, Start), reduced, with no RC4 step. */
  uint8_t digest[20];
  new_key_from_sha(st, digest);
  memcpy(st + ST_SESSION, digest, kl);
  reduce(st);
  st_set_count(st, COUNT_MASK); /* the count "before" the first packet: the first one carries 0 */
  return 0;
}

void mppe_change_key(uint8_t *st) {
  unsigned kl = st[ST_KEYLEN];
  if (st[ST_NEXT_OK]) {
    /* Worked out ahead by the last packet (advance below). */
    memcpy(st + ST_SESSION, st + ST_NEXT, kl);
    st[ST_NEXT_OK] = 0;
    return;
  }
  uint8_t digest[20];
  mppe_rc4 r;
  /* RFC 3078 §7.3: interim = GetNewKeyFromSHA(Start, Session); Session = RC4(interim, interim); reduce. */
  new_key_from_sha(st, digest);
  mppe_rc4_setkey(&r, digest, kl);
  mppe_rc4_process(&r, digest, st + ST_SESSION, kl);
  reduce(st);
}

/*
 * Two key schedules at once, one loop: each is a chain of dependent steps, so the CPU runs the two side by side
 * for about the time of one (measured: 0.64 µs against 0.56 µs for one, here).
 */
static void rc4_setkey2(mppe_rc4 *a, const uint8_t *ka, mppe_rc4 *b, const uint8_t *kb, unsigned len) {
  uint8_t *s = a->s, *t = b->s;
  memcpy(s, IDENTITY, 256);
  memcpy(t, IDENTITY, 256);
  unsigned m = len - 1, j = 0, k = 0;
  for (unsigned n = 0; n < 256; n++) {
    uint8_t x = s[n];
    j = (j + x + ka[n & m]) & 0xff;
    s[n] = s[j];
    s[j] = x;
    uint8_t y = t[n];
    k = (k + y + kb[n & m]) & 0xff;
    t[n] = t[k];
    t[k] = y;
  }
  a->i = a->j = b->i = b->j = 0;
}

/*
 * The key change before a packet (RFC 3078 §7.3), and `r` keyed with the new session key. The next packet's key
 * change needs the current key only, so its RC4 key schedule runs here beside this packet's (rc4_setkey2) and the
 * result waits in the state (ST_NEXT): per stateless packet, one SHA-1 and one paired schedule on the critical
 * path instead of two schedules one after the other.
 */
static void advance(uint8_t *st, mppe_rc4 *r) {
  unsigned kl = st[ST_KEYLEN];
  mppe_change_key(st);
  uint8_t digest[20];
  mppe_rc4 q;
  new_key_from_sha(st, digest);
  rc4_setkey2(r, st + ST_SESSION, &q, digest, kl);
  mppe_rc4_process(&q, digest, st + ST_NEXT, kl);
  reduce_key(st, st + ST_NEXT);
  st[ST_NEXT_OK] = 1;
}

/* ---------------------------------------------------------------------------------------------- packets */

size_t mppe_encrypt_stateless(uint8_t *st, int protocol, const uint8_t *src, size_t len, uint8_t *dst) {
  unsigned count = (st_count(st) + 1) & COUNT_MASK;
  st_set_count(st, count);
  /* RFC 3078 §7.1: stateless, so a key change before every packet, and each is sent flushed (§3.1). */
  mppe_rc4 r;
  advance(st, &r);
  uint8_t *out = dst + MPPE_HDR_LEN;
  size_t hdr = 0;
  if (protocol >= 0) {
    uint8_t pf[2] = {(uint8_t)(protocol >> 8), (uint8_t)protocol};
    /* The field's two bytes may sit where the plaintext's first ones are (dst == src - 4 would not, src - 2
     * would): keep the payload apart first when that is so. */
    if (out + 2 > src && out < src + len) {
      memmove(out + 2, src, len);
      src = out + 2;
    }
    mppe_rc4_process(&r, pf, out, 2);
    hdr = 2;
  } else if (out > src && out < src + len) {
    memmove(out, src, len);
    src = out;
  }
  mppe_rc4_process(&r, src, out + hdr, len);
  /* Header last: in the in-place arrangements it may sit where plaintext was. */
  dst[0] = (uint8_t)((MPPE_FLUSHED | MPPE_ENCRYPTED) | (count >> 8));
  dst[1] = (uint8_t)count;
  return len + hdr + MPPE_HDR_LEN;
}

int mppe_decrypt_stateless(uint8_t *st, const uint8_t *src, size_t len, uint8_t *dst) {
  /* A header plus at least one byte of (possibly compressed, RFC 1661 §6.5) protocol field. */
  if (len < MPPE_HDR_LEN + 1) return MPPE_R_DROP;
  uint8_t b0 = src[0];
  unsigned count = (unsigned)(b0 & 0x0f) << 8 | src[1];
  /* RFC 3078 §3.1: D must be set (§9: never accept plaintext once MPPE runs), C (MPPC) never negotiated, and
   * stateless packets all carry A. */
  if (!(b0 & MPPE_ENCRYPTED) || (b0 & MPPE_COMPRESSED) || !(b0 & MPPE_FLUSHED)) return MPPE_R_DROP;
  unsigned gap = (count - st_count(st)) & COUNT_MASK;
  /* Duplicate (0) or older (beyond half the space): the key for it is gone (keys only chain forward). */
  if (gap == 0 || gap > HALF_COUNT_SPACE) return MPPE_R_DROP;
  /* RFC 3078 §8.1: one key change per count, the lost packets' included. */
  for (unsigned k = 1; k < gap; k++) mppe_change_key(st);
  st_set_count(st, count);
  mppe_rc4 r;
  advance(st, &r);
  size_t n = len - MPPE_HDR_LEN;
  const uint8_t *from = src + MPPE_HDR_LEN;
  if (dst > from && dst < from + n) {
    memmove(dst, from, n);
    from = dst;
  }
  mppe_rc4_process(&r, from, dst, n);
  return (int)n;
}
