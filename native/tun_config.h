/* Interface configuration by ioctl (what `ip link set mtu/up` and `ip addr add` do), no `ip` binary needed. */
#ifndef PPTP_IO_TUN_CONFIG_H
#define PPTP_IO_TUN_CONFIG_H
#include <stdint.h>

typedef struct tun_config {
  uint32_t mtu;        /* 0: leave as is */
  uint32_t tx_queue;   /* 0: leave as is */
  uint32_t address;    /* host-order IPv4, 0: none */
  uint32_t peer;       /* host-order IPv4 of the point-to-point peer, 0: none */
  uint32_t prefix;     /* 1..32, 0: none (a peer address alone means /32) */
  int up;
} tun_config;

/* Returns 0, or an errno with *failed naming the step that failed. */
int tun_apply_config(const char *ifname, const tun_config *cfg, const char **failed);
#endif
