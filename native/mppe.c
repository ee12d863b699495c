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

/*
 * SHA-1 on the SHA extensions (Intel SHA-NI, also on AMD Zen): four rounds per sha1rnds4, the schedule in
 * sha1msg1/sha1msg2. Compiled for "sha,sse4.1" on this function only, so the rest of the addon stays baseline
 * x86-64; called only after cpuid said the CPU has them (sha1_pick). Same results as sha1_block, block by block.
 */
#if (defined(__x86_64__) || defined(__i386__)) && !defined(MPPE_NO_SHANI) /* MPPE_NO_SHANI: build as for other CPUs */
#include <cpuid.h>
#include <immintrin.h>

/* Rounds 4k..4k+3 for k >= 3 (the schedule's extra updates near the end are computed and not used). */
#define SHANI_R(k, Ea, Eb, M0, M1, M2, M3)      \
  Ea = _mm_sha1nexte_epu32(Ea, M0);              \
  Eb = abcd;                                     \
  M1 = _mm_sha1msg2_epu32(M1, M0);               \
  abcd = _mm_sha1rnds4_epu32(abcd, Ea, (k) / 5); \
  M3 = _mm_sha1msg1_epu32(M3, M0);               \
  M2 = _mm_xor_si128(M2, M0)

__attribute__((target("sha,sse4.1"))) static void sha1_blocks_shani(uint32_t h[5], const uint8_t *p, size_t blocks) {
  const __m128i bswap = _mm_set_epi64x(0x0001020304050607LL, 0x08090a0b0c0d0e0fLL);
  __m128i abcd = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)h), 0x1b);
  __m128i e0 = _mm_set_epi32((int)h[4], 0, 0, 0);
  for (; blocks > 0; blocks--, p += 64) {
    __m128i abcd0 = abcd, e00 = e0, e1, m0, m1, m2, m3;
    m0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)p), bswap);
    e0 = _mm_add_epi32(e0, m0);
    e1 = abcd;
    abcd = _mm_sha1rnds4_epu32(abcd, e0, 0);
    m1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16)), bswap);
    e1 = _mm_sha1nexte_epu32(e1, m1);
    e0 = abcd;
    abcd = _mm_sha1rnds4_epu32(abcd, e1, 0);
    m0 = _mm_sha1msg1_epu32(m0, m1);
    m2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 32)), bswap);
    e0 = _mm_sha1nexte_epu32(e0, m2);
    e1 = abcd;
    abcd = _mm_sha1rnds4_epu32(abcd, e0, 0);
    m1 = _mm_sha1msg1_epu32(m1, m2);
    m0 = _mm_xor_si128(m0, m2);
    m3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 48)), bswap);
    SHANI_R(3, e1, e0, m3, m0, m1, m2);
    SHANI_R(4, e0, e1, m0, m1, m2, m3);
    SHANI_R(5, e1, e0, m1, m2, m3, m0);
    SHANI_R(6, e0, e1, m2, m3, m0, m1);
    SHANI_R(7, e1, e0, m3, m0, m1, m2);
    SHANI_R(8, e0, e1, m0, m1, m2, m3);
    SHANI_R(9, e1, e0, m1, m2, m3, m0);
    SHANI_R(10, e0, e1, m2, m3, m0, m1);
    SHANI_R(11, e1, e0, m3, m0, m1, m2);
    SHANI_R(12, e0, e1, m0, m1, m2, m3);
    SHANI_R(13, e1, e0, m1, m2, m3, m0);
    SHANI_R(14, e0, e1, m2, m3, m0, m1);
    SHANI_R(15, e1, e0, m3, m0, m1, m2);
    SHANI_R(16, e0, e1, m0, m1, m2, m3);
    SHANI_R(17, e1, e0, m1, m2, m3, m0);
    SHANI_R(18, e0, e1, m2, m3, m0, m1);
    SHANI_R(19, e1, e0, m3, m0, m1, m2);
    e0 = _mm_sha1nexte_epu32(e0, e00);
    abcd = _mm_add_epi32(abcd, abcd0);
  }
  _mm_storeu_si128((__m128i *)h, _mm_shuffle_epi32(abcd, 0x1b));
  h[4] = (uint32_t)_mm_extract_epi32(e0, 3);
}
#undef SHANI_R

/* cpuid leaf 7 EBX bit 29 (SHA), leaf 1 ECX bits 9 (SSSE3, for pshufb) and 19 (SSE4.1). */
static int cpu_has_shani(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 9)) || !(c & (1u << 19))) return 0;
  if (__get_cpuid_max(0, NULL) < 7) return 0;
  __cpuid_count(7, 0, a, b, c, d);
  return (b >> 29) & 1;
}
#else
static int cpu_has_shani(void) { return 0; }
static void sha1_blocks_shani(uint32_t h[5], const uint8_t *p, size_t blocks) { (void)h, (void)p, (void)blocks; }
#endif

static void sha1_blocks_portable(uint32_t h[5], const uint8_t *p, size_t blocks) {
  for (; blocks > 0; blocks--, p += 64) sha1_block(h, p);
}

/*
 * Which SHA-1 runs: -1 until the first use asks cpuid (once per process; threads that race there all write the
 * same answer), then MPPE_SHA_PORTABLE or MPPE_SHA_NI. mppe_sha_select() lets the tests run the portable one on a
 * SHA-NI machine.
 */
static volatile int sha_impl = -1;

static int sha_pick(void) {
  int v = sha_impl;
  if (v < 0) sha_impl = v = cpu_has_shani() ? MPPE_SHA_NI : MPPE_SHA_PORTABLE;
  return v;
}

int mppe_sha_select(int want) {
  int have = cpu_has_shani();
  if (want == MPPE_SHA_NI && !have) return -1;
  if (want == MPPE_SHA_NI || want == MPPE_SHA_PORTABLE) sha_impl = want;
  else if (want == MPPE_SHA_DEFAULT) sha_impl = have ? MPPE_SHA_NI : MPPE_SHA_PORTABLE;
  return sha_pick();
}

static inline void sha1_blocks(uint32_t h[5], const uint8_t *p, size_t blocks) {
  if (sha_pick() == MPPE_SHA_NI) sha1_blocks_shani(h, p, blocks);
  else sha1_blocks_portable(h, p, blocks);
}

void mppe_sha1(const uint8_t *msg, size_t len, uint8_t out[20]) {
  uint32_t h[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
  size_t n = 0;
  sha1_blocks(h, msg, len / 64);
  n = len / 64 * 64;
  uint8_t last[128];
  size_t rest = len - n;
  memcpy(last, msg + n, rest);
  last[rest] = 0x80;
  size_t blocks = rest + 9 <= 64 ? 1 : 2;
  memset(last + rest + 1, 0, blocks * 64 - rest - 1);
  uint64_t bits = (uint64_t)len * 8;
  for (int b = 0; b < 8; b++) last[blocks * 64 - 1 - b] = (uint8_t)(bits >> (8 * b));
  sha1_blocks(h, last, blocks);
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

/* ---------------------------------------------------------------------------------------------- key work ahead */

/*
 * RC4's keystream is one chain of dependent loads and stores, and so is a key schedule: a second chain run in the
 * same loop costs little beside the first. So while a packet's keystream is made, the key work of the next packet
 * runs beside it: the next key's interim schedule, its 8/16 bytes (the next session key, into the state's ST_NEXT
 * as advance() does), then that key's own 256-byte schedule, which waits here for the next packet. That packet
 * then starts its keystream at once, with one SHA-1 (for the packet after it) in front.
 *
 * Where the schedule waits: in the direction's own slot, after its 56-byte state, once the JS side has grown the
 * state to MPPE_STATE_AHEAD_LEN (it does at the direction's first packet); otherwise in a small per-thread table of
 * scheduled S-boxes indexed by a hash of their key. Either way the S-box is checked against the whole key (and its
 * length) before use. An S-box is a function of its key alone, so a hit is
 * always right, whatever happened to the state in between (a restored state, a count jump over lost packets
 * (RFC 3078 §8.1), 40/56-bit salts, another session with a colliding slot): anything that is not the key worked
 * out ahead misses and takes the plain path. An idle session holds its 56-byte state and no more (the own slot,
 * 273 bytes, comes with a direction's first packet); the table (AHEAD_SLOTS x 273 bytes) is per thread that runs
 * MPPE, made at that thread's first use (a dlopen'ed module's TLS), and serves states that were not grown.
 */
#define AHEAD_SLOTS 32
typedef struct ahead_slot {
  uint8_t len; /* 0: empty or being written */
  uint8_t key[16];
  uint8_t s[256];
} ahead_slot;
static __thread ahead_slot ahead_table[AHEAD_SLOTS];
/* The own slot sits in the state's bytes (byte-aligned members only), so its size is the layout's. */
_Static_assert(sizeof(ahead_slot) == MPPE_STATE_AHEAD_LEN - MPPE_STATE_LEN, "ahead_slot must fill the state's tail");
/* 1: the work ahead runs; 0: every packet takes the plain path (advance). For the tests and the bench only. */
static volatile int ahead_on = 1;

int mppe_ahead_select(int on) {
  if (on == 0 || on == 1) ahead_on = on;
  return ahead_on;
}

/* Bytes 3 and 7: random in every key (40-bit keys begin with the 3-byte salt). */
static inline ahead_slot *slot_of(const uint8_t *key) { return &ahead_table[(key[3] ^ key[7] * 7u) % AHEAD_SLOTS]; }

/* The direction's own slot when its state has one: the shared table thrashes once more directions than its slots
 * interleave (measured: with 64 and more the work ahead cost more than it saved). */
static inline ahead_slot *slot_for(uint8_t *st, size_t st_len, const uint8_t *key) {
  return st_len >= MPPE_STATE_AHEAD_LEN ? (ahead_slot *)(st + MPPE_STATE_LEN) : slot_of(key);
}

/* The chain of key work beside a keystream: phase 1 schedules q with the interim key, phase 2 schedules a slot
 * with the next session key, 0 when done. */
typedef struct ahead_task {
  int phase;
  uint8_t *st;
  size_t st_len;
  mppe_rc4 q;
  uint8_t interim[20];
  ahead_slot *slot;
  uint8_t *ts;        /* the S-box being scheduled */
  const uint8_t *tk;  /* its key */
  unsigned tn, tj, tm; /* schedule position, j, key mask */
} ahead_task;

static void task_phase2(ahead_task *t) {
  uint8_t *st = t->st;
  unsigned kl = st[ST_KEYLEN];
  ahead_slot *slot = slot_for(st, t->st_len, st + ST_NEXT);
  slot->len = 0;
  memcpy(slot->key, st + ST_NEXT, kl);
  memcpy(slot->s, IDENTITY, 256);
  t->slot = slot;
  t->ts = slot->s;
  t->tk = slot->key;
  t->tn = t->tj = 0;
  t->phase = 2;
}

/* A phase's schedule is complete: phase 1 yields the next session key (RFC 3078 §7.3: RC4 of the interim key
 * with itself, reduced), phase 2 publishes the slot. */
static __attribute__((noinline)) void task_next(ahead_task *t) {
  uint8_t *st = t->st;
  if (t->phase == 1) {
    t->q.i = t->q.j = 0;
    mppe_rc4_process(&t->q, t->interim, st + ST_NEXT, st[ST_KEYLEN]);
    reduce_key(st, st + ST_NEXT);
    st[ST_NEXT_OK] = 1;
    task_phase2(t);
  } else {
    t->slot->len = st[ST_KEYLEN];
    t->phase = 0;
  }
}

#define SCHED_STEP                        \
  do {                                    \
    uint8_t x_ = ts[tn];                  \
    tj = (tj + x_ + tk[tn & tm]) & 0xff;  \
    ts[tn] = ts[tj];                      \
    ts[tj] = x_;                          \
    tn++;                                 \
  } while (0)

static void task_finish(ahead_task *t) {
  while (t->phase != 0) {
    uint8_t *ts = t->ts;
    const uint8_t *tk = t->tk;
    unsigned tn = t->tn, tj = t->tj, tm = t->tm;
    while (tn < 256) SCHED_STEP;
    t->tn = tn;
    t->tj = tj;
    task_next(t);
  }
}

/*
 * The key change before a packet (RFC 3078 §7.3) and `r` keyed with the new session key, like advance(); when the
 * key's schedule waits in the table, only the SHA-1 of the next interim key runs here and the rest of the next
 * packet's key work goes into `t`, for rc4_process_ahead() and task_finish().
 */
static void advance_ahead(uint8_t *st, size_t st_len, mppe_rc4 *r, ahead_task *t) {
  unsigned kl = st[ST_KEYLEN];
  mppe_change_key(st);
  const uint8_t *key = st + ST_SESSION;
  ahead_slot *slot = slot_for(st, st_len, key);
  t->st = st;
  t->st_len = st_len;
  t->tm = kl - 1;
  new_key_from_sha(st, t->interim);
  if (slot->len == kl && memcmp(slot->key, key, kl) == 0) {
    memcpy(r->s, slot->s, 256);
    r->i = r->j = 0;
    memcpy(t->q.s, IDENTITY, 256);
    t->ts = t->q.s;
    t->tk = t->interim;
    t->tn = t->tj = 0;
    t->phase = 1;
    return;
  }
  /* Plain path (first packet, after a jump, a collision): as advance(), then the next key's schedule ahead. */
  rc4_setkey2(r, key, &t->q, t->interim, kl);
  mppe_rc4_process(&t->q, t->interim, st + ST_NEXT, kl);
  reduce_key(st, st + ST_NEXT);
  st[ST_NEXT_OK] = 1;
  task_phase2(t);
}

/* mppe_rc4_process with the task's schedule steps run in the same loop (4 per 8 keystream bytes), then the rest
 * of the task alone. */
static void rc4_process_ahead(mppe_rc4 *r, const uint8_t *src, uint8_t *dst, size_t len, ahead_task *t) {
  uint8_t *s = r->s;
  unsigned i = r->i, j = r->j;
  size_t n = 0;
  while (t->phase != 0 && n + 8 <= len) {
    uint8_t *ts = t->ts;
    const uint8_t *tk = t->tk;
    unsigned tn = t->tn, tj = t->tj, tm = t->tm;
    for (; n + 8 <= len && tn < 256; n += 8) {
      uint64_t ks = 0;
      /* RC4_STEP as in mppe_rc4_process above, a schedule step after every second keystream byte. */
      RC4_STEP(0); SCHED_STEP; RC4_STEP(1); RC4_STEP(2); SCHED_STEP; RC4_STEP(3);
      RC4_STEP(4); SCHED_STEP; RC4_STEP(5); RC4_STEP(6); SCHED_STEP; RC4_STEP(7);
#undef RC4_STEP
      uint64_t w;
      memcpy(&w, src + n, 8);
      w ^= ks;
      memcpy(dst + n, &w, 8);
    }
    t->tn = tn;
    t->tj = tj;
    if (tn == 256) task_next(t);
  }
  r->i = (uint8_t)i;
  r->j = (uint8_t)j;
  mppe_rc4_process(r, src + n, dst + n, len - n);
  task_finish(t);
}
#undef SCHED_STEP

/* ---------------------------------------------------------------------------------------------- packets */

size_t mppe_encrypt_stateless(uint8_t *st, size_t st_len, int protocol, const uint8_t *src, size_t len, uint8_t *dst) {
  unsigned count = (st_count(st) + 1) & COUNT_MASK;
  st_set_count(st, count);
  /* RFC 3078 §7.1: stateless, so a key change before every packet, and each is sent flushed (§3.1). */
  mppe_rc4 r;
  ahead_task t;
  if (ahead_on) advance_ahead(st, st_len, &r, &t);
  else advance(st, &r), t.phase = 0;
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
  rc4_process_ahead(&r, src, out + hdr, len, &t);
  /* Header last: in the in-place arrangements it may sit where plaintext was. */
  dst[0] = (uint8_t)((MPPE_FLUSHED | MPPE_ENCRYPTED) | (count >> 8));
  dst[1] = (uint8_t)count;
  return len + hdr + MPPE_HDR_LEN;
}

int mppe_decrypt_stateless(uint8_t *st, size_t st_len, const uint8_t *src, size_t len, uint8_t *dst) {
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
  ahead_task t;
  if (ahead_on) advance_ahead(st, st_len, &r, &t);
  else advance(st, &r), t.phase = 0;
  size_t n = len - MPPE_HDR_LEN;
  const uint8_t *from = src + MPPE_HDR_LEN;
  if (dst > from && dst < from + n) {
    memmove(dst, from, n);
    from = dst;
  }
  rc4_process_ahead(&r, from, dst, n, &t);
  return (int)n;
}
