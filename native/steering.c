/*
 * Steering: which worker thread's socket / TUN queue the kernel hands each packet to, so the data plane of
 * different calls runs on different cores with no user-space forwarding (see src/io/workers/README.md).
 *
 * Two eBPF programs (BPF_PROG_TYPE_SOCKET_FILTER, assembled here and loaded with the raw bpf() syscall, no
 * libbpf) read one hash map each, which the control thread fills:
 *  - GRE filter, one per raw GRE socket (SO_ATTACH_BPF): keeps PPTP's enhanced GRE (protocol 0x880B, version 1;
 *    RFC 2637 §4.1) whose Call ID (the key's low 16 bits, the receiver's = our Call ID) maps to this socket's
 *    owner; owner 0 (the control thread) also keeps Call IDs the map does not hold.
 *  - TUN steering (TUNSETSTEERINGEBPF on a multi-queue TUN): the IPv4 destination address → queue index; the
 *    return value is the queue (the kernel takes it modulo the queue count). No entry, or not IPv4: queue 0.
 * Keys are the packet's bytes (network order): a 2-byte Call ID, a 4-byte IPv4 address; values are u32.
 * Map and program fds are plain numbers owned by the JS side (closeFd); the kernel keeps a program and its map
 * alive for as long as a socket or device holds the program.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <linux/if_tun.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "args.h"
#include "errors.h"
#include "steering.h"

#ifndef SO_ATTACH_BPF
#define SO_ATTACH_BPF 50
#endif
#ifndef TUNSETSTEERINGEBPF
#define TUNSETSTEERINGEBPF _IOR('T', 224, int)
#endif

/* ---------------------------------------------------------------------------------------------- assembler */

#define INSN(c, d, s, o, i) ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})
#define MOV64_REG(d, s) INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV64_IMM(d, i) INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define ADD64_IMM(d, i) INSN(BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, i)
#define AND64_IMM(d, i) INSN(BPF_ALU64 | BPF_AND | BPF_K, d, 0, 0, i)
#define RSH64_IMM(d, i) INSN(BPF_ALU64 | BPF_RSH | BPF_K, d, 0, 0, i)
#define LSH64_IMM(d, i) INSN(BPF_ALU64 | BPF_LSH | BPF_K, d, 0, 0, i)
#define LDX_MEM(sz, d, s, o) INSN(BPF_LDX | BPF_MEM | (sz), d, s, o, 0)
#define JNE_IMM(d, i, o) INSN(BPF_JMP | BPF_JNE | BPF_K, d, 0, o, i)
#define JEQ_IMM(d, i, o) INSN(BPF_JMP | BPF_JEQ | BPF_K, d, 0, o, i)
#define JA(o) INSN(BPF_JMP | BPF_JA, 0, 0, o, 0)
#define CALL(f) INSN(BPF_JMP | BPF_CALL, 0, 0, 0, f)
#define EXIT() INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
/* Two instructions: r<d> = the map whose fd is `fd` (the loader replaces the fd by the map's address). */
#define LD_MAP_FD(d, fd) INSN(BPF_LD | BPF_DW | BPF_IMM, d, BPF_PSEUDO_MAP_FD, 0, fd), INSN(0, 0, 0, 0, 0)

enum { R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10 };

static long sys_bpf(int cmd, union bpf_attr *attr) {
  return syscall(__NR_bpf, cmd, attr, sizeof *attr);
}

/* The verifier's log of a refused program, kept for the exception message. */
static __thread char verifier_log[8192];

static int load_program(const struct bpf_insn *insns, unsigned count) {
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  a.insns = (uint64_t)(uintptr_t)insns;
  a.insn_cnt = count;
  a.license = (uint64_t)(uintptr_t) "GPL";
  verifier_log[0] = 0;
  int fd = (int)sys_bpf(BPF_PROG_LOAD, &a);
  if (fd < 0 && (errno == EINVAL || errno == EACCES)) {
    /* Again with the verifier's log on (a log buffer without a log level is itself EINVAL), to explain it. */
    int e = errno;
    a.log_buf = (uint64_t)(uintptr_t)verifier_log;
    a.log_size = sizeof verifier_log;
    a.log_level = 1;
    fd = (int)sys_bpf(BPF_PROG_LOAD, &a);
    if (fd < 0) errno = e;
  }
  return fd;
}

/*
 * The GRE filter of owner `owner`. Runs on each datagram a raw IPPROTO_GRE socket receives, from its IPv4 header.
 * Stack: fp-64 the first IPv4 octet, fp-56..-49 the first 8 GRE octets (flags, protocol, length, Call ID).
 */
static int load_gre_filter(int map_fd, uint32_t owner) {
  /* The protocol field's two octets 0x88 0x0B read as a host-order u16. */
  const uint8_t ppp_be[2] = {0x88, 0x0b};
  uint16_t ppp;
  memcpy(&ppp, ppp_be, 2);
  struct bpf_insn p[] = {
      MOV64_REG(R6, R1),
      /* first IPv4 octet → header length */
      MOV64_REG(R1, R6), MOV64_IMM(R2, 0), MOV64_REG(R3, R10), ADD64_IMM(R3, -64), MOV64_IMM(R4, 1),
      CALL(BPF_FUNC_skb_load_bytes),
      JNE_IMM(R0, 0, 27), /* → drop */
      LDX_MEM(BPF_B, R7, R10, -64), AND64_IMM(R7, 0x0f), LSH64_IMM(R7, 2),
      /* GRE header */
      MOV64_REG(R1, R6), MOV64_REG(R2, R7), MOV64_REG(R3, R10), ADD64_IMM(R3, -56), MOV64_IMM(R4, 8),
      CALL(BPF_FUNC_skb_load_bytes),
      JNE_IMM(R0, 0, 17), /* → drop */
      LDX_MEM(BPF_H, R1, R10, -54), JNE_IMM(R1, ppp, 15), /* protocol 0x880B, else drop */
      LDX_MEM(BPF_B, R1, R10, -55), AND64_IMM(R1, 0x07), JNE_IMM(R1, 1, 12), /* version 1, else drop */
      /* owner of the Call ID (octets 6-7) */
      LD_MAP_FD(R1, map_fd), MOV64_REG(R2, R10), ADD64_IMM(R2, -50),
      CALL(BPF_FUNC_map_lookup_elem),
      JEQ_IMM(R0, 0, 2),
      LDX_MEM(BPF_W, R1, R0, 0), JA(1),
      MOV64_IMM(R1, 0), /* not in the map: the control thread's */
      JNE_IMM(R1, (int32_t)owner, 2),
      MOV64_IMM(R0, -1), EXIT(), /* keep (all of it) */
      MOV64_IMM(R0, 0), EXIT(), /* drop: not ours, or not PPTP's GRE (the jumps above land here) */
  };
  return load_program(p, sizeof p / sizeof p[0]);
}

/* The TUN steering program: the first 20 octets (an IPv4 header) at fp-24; the destination is fp-8..-5. */
static int load_tun_steering(int map_fd) {
  struct bpf_insn p[] = {
      MOV64_REG(R6, R1),
      MOV64_REG(R1, R6), MOV64_IMM(R2, 0), MOV64_REG(R3, R10), ADD64_IMM(R3, -24), MOV64_IMM(R4, 20),
      CALL(BPF_FUNC_skb_load_bytes),
      JNE_IMM(R0, 0, 11), /* shorter than an IPv4 header → queue 0 */
      LDX_MEM(BPF_B, R1, R10, -24), RSH64_IMM(R1, 4), JNE_IMM(R1, 4, 8), /* not IPv4 → queue 0 */
      LD_MAP_FD(R1, map_fd), MOV64_REG(R2, R10), ADD64_IMM(R2, -8),
      CALL(BPF_FUNC_map_lookup_elem),
      JEQ_IMM(R0, 0, 2),
      LDX_MEM(BPF_W, R0, R0, 0), EXIT(),
      MOV64_IMM(R0, 0), EXIT(),
  };
  return load_program(p, sizeof p / sizeof p[0]);
}

/* ---------------------------------------------------------------------------------------------- JS functions */

static napi_value number(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}

static int arg_fd(napi_env env, napi_value v, const char *name, int *out) {
  uint32_t u;
  if (io_arg_u32(env, v, name, &u) != 0) return -1;
  if (u > INT32_MAX) {
    io_throw_range(env, "file descriptor out of range");
    return -1;
  }
  *out = (int)u;
  return 0;
}

static int arg_key(napi_env env, napi_value size_v, napi_value key_v, uint8_t key[4], uint32_t *size) {
  uint32_t k;
  if (io_arg_u32(env, size_v, "keySize", size) != 0 || io_arg_u32(env, key_v, "key", &k) != 0) return -1;
  if (*size == 2) {
    if (k > 0xffff) {
      io_throw_range(env, "a 2-octet key must be in 0..65535");
      return -1;
    }
    key[0] = (uint8_t)(k >> 8);
    key[1] = (uint8_t)k;
  } else if (*size == 4) {
    key[0] = (uint8_t)(k >> 24);
    key[1] = (uint8_t)(k >> 16);
    key[2] = (uint8_t)(k >> 8);
    key[3] = (uint8_t)k;
  } else {
    io_throw_range(env, "keySize must be 2 or 4");
    return -1;
  }
  return 0;
}

/*
 * The map functions' first arguments (fd, keySize, key): checked, then a bpf_attr naming that map and key (`key` is
 * the caller's buffer, which must outlive the bpf() call). argc counts the caller's further arguments too.
 */
static int map_args(napi_env env, napi_callback_info info, size_t argc, napi_value *argv, uint8_t key[4], union bpf_attr *a) {
  int fd;
  uint32_t size;
  if (io_args(env, info, argc, argv, NULL) != 0 || arg_fd(env, argv[0], "fd", &fd) != 0 ||
      arg_key(env, argv[1], argv[2], key, &size) != 0)
    return -1;
  memset(a, 0, sizeof *a);
  a->map_fd = (uint32_t)fd;
  a->key = (uint64_t)(uintptr_t)key;
  return 0;
}

/* A function whose one argument is a file descriptor named `name`. */
static int one_fd(napi_env env, napi_callback_info info, const char *name, int *fd) {
  napi_value argv[1];
  if (io_args(env, info, 1, argv, NULL) != 0) return -1;
  return arg_fd(env, argv[0], name, fd);
}

static const char *BPF_HINT = "bpf() needs CAP_BPF (or CAP_SYS_ADMIN) and a kernel with eBPF socket filters";

/* createMap(keySize, maxEntries) → map fd: a hash map of keySize-octet keys to u32 values. */
static napi_value js_create_map(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint32_t key_size, max_entries;
  if (io_args(env, info, 2, argv, NULL) != 0 || io_arg_u32(env, argv[0], "keySize", &key_size) != 0 ||
      io_arg_u32(env, argv[1], "maxEntries", &max_entries) != 0)
    return NULL;
  if ((key_size != 2 && key_size != 4) || max_entries == 0) {
    io_throw_range(env, "keySize must be 2 or 4 and maxEntries at least 1");
    return NULL;
  }
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.map_type = BPF_MAP_TYPE_HASH;
  a.key_size = key_size;
  a.value_size = 4;
  a.max_entries = max_entries;
  int fd = (int)sys_bpf(BPF_MAP_CREATE, &a);
  if (fd < 0) {
    io_throw_errno(env, errno, "bpf(BPF_MAP_CREATE)", BPF_HINT);
    return NULL;
  }
  return number(env, fd);
}

/* mapUpdate(fd, keySize, key, value): key → value (insert or replace). */
static napi_value js_map_update(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  uint8_t key[4];
  uint32_t value;
  union bpf_attr a;
  if (map_args(env, info, 4, argv, key, &a) != 0 || io_arg_u32(env, argv[3], "value", &value) != 0) return NULL;
  a.value = (uint64_t)(uintptr_t)&value;
  a.flags = BPF_ANY;
  if (sys_bpf(BPF_MAP_UPDATE_ELEM, &a) != 0) {
    io_throw_errno(env, errno, "bpf(BPF_MAP_UPDATE_ELEM)", errno == E2BIG ? "the steering map is full" : NULL);
    return NULL;
  }
  return NULL;
}

/* mapDelete(fd, keySize, key) → true, or false when the key was not there. */
static napi_value js_map_delete(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  uint8_t key[4];
  union bpf_attr a;
  if (map_args(env, info, 3, argv, key, &a) != 0) return NULL;
  napi_value r;
  if (sys_bpf(BPF_MAP_DELETE_ELEM, &a) != 0) {
    if (errno != ENOENT) {
      io_throw_errno(env, errno, "bpf(BPF_MAP_DELETE_ELEM)", NULL);
      return NULL;
    }
    napi_get_boolean(env, false, &r);
    return r;
  }
  napi_get_boolean(env, true, &r);
  return r;
}

/* mapLookup(fd, keySize, key) → the value, or -1 when absent. */
static napi_value js_map_lookup(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  uint8_t key[4];
  uint32_t value = 0;
  union bpf_attr a;
  if (map_args(env, info, 3, argv, key, &a) != 0) return NULL;
  a.value = (uint64_t)(uintptr_t)&value;
  if (sys_bpf(BPF_MAP_LOOKUP_ELEM, &a) != 0) {
    if (errno == ENOENT) return number(env, -1);
    io_throw_errno(env, errno, "bpf(BPF_MAP_LOOKUP_ELEM)", NULL);
    return NULL;
  }
  return number(env, value);
}

static napi_value program_result(napi_env env, int fd, const char *what) {
  if (fd < 0) {
    char hint[600];
    snprintf(hint, sizeof hint, "%s%s%.500s", BPF_HINT, verifier_log[0] ? "; verifier: " : "", verifier_log);
    io_throw_errno(env, errno, what, hint);
    return NULL;
  }
  return number(env, fd);
}

/* greFilter(mapFd, owner) → program fd (see load_gre_filter). */
static napi_value js_gre_filter(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int map_fd;
  uint32_t owner;
  if (io_args(env, info, 2, argv, NULL) != 0 || arg_fd(env, argv[0], "mapFd", &map_fd) != 0 ||
      io_arg_u32(env, argv[1], "owner", &owner) != 0)
    return NULL;
  if (owner > INT32_MAX) {
    io_throw_range(env, "owner out of range");
    return NULL;
  }
  return program_result(env, load_gre_filter(map_fd, owner), "bpf(BPF_PROG_LOAD, GRE filter)");
}

/* tunSteering(mapFd) → program fd (see load_tun_steering). */
static napi_value js_tun_steering(napi_env env, napi_callback_info info) {
  int map_fd;
  if (one_fd(env, info, "mapFd", &map_fd) != 0) return NULL;
  return program_result(env, load_tun_steering(map_fd), "bpf(BPF_PROG_LOAD, TUN steering)");
}

/* attachSocketFilter(socketFd, progFd): replaces whatever filter the socket had. */
static napi_value js_attach_socket(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int sock, prog;
  if (io_args(env, info, 2, argv, NULL) != 0 || arg_fd(env, argv[0], "socketFd", &sock) != 0 ||
      arg_fd(env, argv[1], "progFd", &prog) != 0)
    return NULL;
  /* SO_ATTACH_BPF does not replace a classic filter's slot atomically on every kernel: drop it first. */
  int dummy = 0;
  setsockopt(sock, SOL_SOCKET, SO_DETACH_FILTER, &dummy, sizeof dummy);
  if (setsockopt(sock, SOL_SOCKET, SO_ATTACH_BPF, &prog, sizeof prog) != 0) {
    io_throw_errno(env, errno, "setsockopt(SO_ATTACH_BPF)", NULL);
    return NULL;
  }
  return NULL;
}

/* attachTunSteering(tunFd, progFd): any queue's fd sets it for the device; progFd -1 (as 0xffffffff) detaches. */
static napi_value js_attach_tun(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int tun;
  uint32_t prog_u;
  if (io_args(env, info, 2, argv, NULL) != 0 || arg_fd(env, argv[0], "tunFd", &tun) != 0 ||
      io_arg_u32(env, argv[1], "progFd", &prog_u) != 0)
    return NULL;
  int prog = prog_u == 0xffffffffu ? -1 : (int)prog_u;
  if (ioctl(tun, TUNSETSTEERINGEBPF, &prog) != 0) {
    io_throw_errno(env, errno, "ioctl(TUNSETSTEERINGEBPF)", NULL);
    return NULL;
  }
  return NULL;
}

/* closeFd(fd): a map or program fd this module returned. */
static napi_value js_close_fd(napi_env env, napi_callback_info info) {
  int fd;
  if (one_fd(env, info, "fd", &fd) != 0) return NULL;
  close(fd);
  return NULL;
}

napi_value io_define_steering(napi_env env) {
  napi_value obj;
  if (napi_create_object(env, &obj) != napi_ok) return NULL;
  const napi_property_descriptor props[] = {
      {"createMap", NULL, js_create_map, NULL, NULL, NULL, napi_enumerable, NULL},
      {"mapUpdate", NULL, js_map_update, NULL, NULL, NULL, napi_enumerable, NULL},
      {"mapDelete", NULL, js_map_delete, NULL, NULL, NULL, napi_enumerable, NULL},
      {"mapLookup", NULL, js_map_lookup, NULL, NULL, NULL, napi_enumerable, NULL},
      {"greFilter", NULL, js_gre_filter, NULL, NULL, NULL, napi_enumerable, NULL},
      {"tunSteering", NULL, js_tun_steering, NULL, NULL, NULL, napi_enumerable, NULL},
      {"attachSocketFilter", NULL, js_attach_socket, NULL, NULL, NULL, napi_enumerable, NULL},
      {"attachTunSteering", NULL, js_attach_tun, NULL, NULL, NULL, napi_enumerable, NULL},
      {"closeFd", NULL, js_close_fd, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, obj, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return obj;
}
