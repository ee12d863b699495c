#include "tun_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static void set_sin(struct ifreq *ifr, uint32_t host_order_addr) {
  struct sockaddr_in *sin = (struct sockaddr_in *)&ifr->ifr_addr;
  memset(sin, 0, sizeof *sin);
  sin->sin_family = AF_INET;
  sin->sin_addr.s_addr = htonl(host_order_addr);
}

static int do_ioctl(int sock, unsigned long req, struct ifreq *ifr, const char *name, const char **failed) {
  if (ioctl(sock, req, ifr) == 0) return 0;
  *failed = name;
  return errno;
}

int tun_apply_config(const char *ifname, const tun_config *cfg, const char **failed) {
  /* Address ioctls go through any AF_INET socket of the current network namespace. */
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) {
    *failed = "socket(AF_INET, SOCK_DGRAM)";
    return errno;
  }
  struct ifreq ifr;
  int rc = 0;
#define IFR_RESET() (memset(&ifr, 0, sizeof ifr), strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1))

  if (cfg->mtu != 0) {
    IFR_RESET();
    ifr.ifr_mtu = (int)cfg->mtu;
    rc = do_ioctl(sock, SIOCSIFMTU, &ifr, "ioctl(SIOCSIFMTU)", failed);
  }
  if (rc == 0 && cfg->tx_queue != 0) {
    IFR_RESET();
    ifr.ifr_qlen = (int)cfg->tx_queue;
    rc = do_ioctl(sock, SIOCSIFTXQLEN, &ifr, "ioctl(SIOCSIFTXQLEN)", failed);
  }
  /* SIOCSIFADDR on a point-to-point device (TUN is one) gives a /32 local address; the peer and
   * the netmask then adjust that same address entry, and the kernel adds the matching route. */
  if (rc == 0 && cfg->address != 0) {
    IFR_RESET();
    set_sin(&ifr, cfg->address);
    rc = do_ioctl(sock, SIOCSIFADDR, &ifr, "ioctl(SIOCSIFADDR)", failed);
  }
  if (rc == 0 && cfg->peer != 0) {
    IFR_RESET();
    set_sin(&ifr, cfg->peer);
    rc = do_ioctl(sock, SIOCSIFDSTADDR, &ifr, "ioctl(SIOCSIFDSTADDR)", failed);
  }
  if (rc == 0 && cfg->prefix != 0) {
    IFR_RESET();
    uint32_t mask = cfg->prefix >= 32 ? 0xffffffffu : ~(0xffffffffu >> cfg->prefix);
    set_sin(&ifr, mask);
    rc = do_ioctl(sock, SIOCSIFNETMASK, &ifr, "ioctl(SIOCSIFNETMASK)", failed);
  }
  if (rc == 0 && cfg->up) {
    IFR_RESET();
    rc = do_ioctl(sock, SIOCGIFFLAGS, &ifr, "ioctl(SIOCGIFFLAGS)", failed);
    if (rc == 0) {
      ifr.ifr_flags |= IFF_UP;
      rc = do_ioctl(sock, SIOCSIFFLAGS, &ifr, "ioctl(SIOCSIFFLAGS)", failed);
    }
  }
#undef IFR_RESET
  close(sock);
  return rc;
}
