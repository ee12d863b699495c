/*
 * A probe, not part of the build (session 10, "Cost per byte, session 10" in bench/README.md): what one 1400-byte
 * GRE packet costs the sender in sendmmsg on a raw IPPROTO_GRE socket, the way native/raw_socket.c sends today
 * (the kernel builds the IPv4 header; an IP_PKTINFO control message names the source) against IP_HDRINCL (we
 * write the header; the kernel fills tot_len and the checksum always, id when 0 — raw(7)). Batches of 64 as the
 * GRE send queue gives them; the two sockets alternate, CLOCK_THREAD_CPUTIME_ID per batch run.
 *   cc -O2 -o /tmp/hdrincl-probe bench/probes/hdrincl-probe.c; bench/probes/hdrincl-probe.sh /tmp/hdrincl-probe
 *   usage: hdrincl-probe SRC DST ROUNDS CALLS_PER_ROUND [PMTUDISC: 0 = DONT (the server's default), 2 = DO]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <errno.h>
#define N 64
#define PAY 1400
static double cpu(void){struct timespec t;clock_gettime(CLOCK_THREAD_CPUTIME_ID,&t);return t.tv_sec+t.tv_nsec/1e9;}
int main(int argc,char**argv){
  uint32_t src=inet_addr(argv[1]), dst=inet_addr(argv[2]); int rounds=atoi(argv[3]); int per=atoi(argv[4]);
  int plain=socket(AF_INET,SOCK_RAW,47), inc=socket(AF_INET,SOCK_RAW,47);
  int one=1, pmtu=IP_PMTUDISC_DONT; // as today's socket? set below to the same as raw_socket.c
  if(argc>5) pmtu=atoi(argv[5]);
  setsockopt(plain,IPPROTO_IP,IP_MTU_DISCOVER,&pmtu,sizeof pmtu);
  setsockopt(inc,IPPROTO_IP,IP_MTU_DISCOVER,&pmtu,sizeof pmtu);
  if(setsockopt(inc,IPPROTO_IP,IP_HDRINCL,&one,sizeof one)){perror("hdrincl");return 1;}
  int sb=4<<20; setsockopt(plain,SOL_SOCKET,SO_SNDBUFFORCE,&sb,sizeof sb); setsockopt(inc,SOL_SOCKET,SO_SNDBUFFORCE,&sb,sizeof sb);
  static uint8_t buf[N][20+PAY]; static struct mmsghdr m[2][N]; static struct iovec iv[2][N]; static struct sockaddr_in sa[N];
  static union{struct cmsghdr a; char b[CMSG_SPACE(sizeof(struct in_pktinfo))];} ctl[N];
  for(int i=0;i<N;i++){
    memset(buf[i],0xab,sizeof buf[i]);
    struct iphdr*h=(struct iphdr*)buf[i]; memset(h,0,20); h->version=4;h->ihl=5;h->ttl=64;h->protocol=47;h->saddr=src;h->daddr=dst;
    h->frag_off=(pmtu==IP_PMTUDISC_DO)?htons(IP_DF):0;
    buf[i][20]=0x30;buf[i][21]=0x81;buf[i][22]=0x88;buf[i][23]=0x0b; // GRE v1 PPP
    sa[i]=(struct sockaddr_in){.sin_family=AF_INET,.sin_addr.s_addr=dst};
    iv[0][i]=(struct iovec){buf[i]+20,PAY}; iv[1][i]=(struct iovec){buf[i],20+PAY};
    for(int k=0;k<2;k++){memset(&m[k][i],0,sizeof m[k][i]); m[k][i].msg_hdr.msg_name=&sa[i];m[k][i].msg_hdr.msg_namelen=sizeof sa[i];m[k][i].msg_hdr.msg_iov=&iv[k][i];m[k][i].msg_hdr.msg_iovlen=1;}
    // plain: IP_PKTINFO with the source, as raw_socket.c's set_source does
    m[0][i].msg_hdr.msg_control=&ctl[i];m[0][i].msg_hdr.msg_controllen=sizeof ctl[i];
    struct cmsghdr*c=CMSG_FIRSTHDR(&m[0][i].msg_hdr);c->cmsg_level=IPPROTO_IP;c->cmsg_type=IP_PKTINFO;c->cmsg_len=CMSG_LEN(sizeof(struct in_pktinfo));
    struct in_pktinfo*p=(struct in_pktinfo*)CMSG_DATA(c);memset(p,0,sizeof*p);p->ipi_spec_dst.s_addr=src;
  }
  double tot[2]={0,0}; long pk[2]={0,0}, fail[2]={0,0};
  for(int r=0;r<rounds;r++) for(int k0=0;k0<2;k0++){ int k=(r&1)?1-k0:k0; int fd=k?inc:plain;
    double a=cpu();
    for(int j=0;j<per;j++){int n=sendmmsg(fd,m[k],N,0); if(n<0){fail[k]++; if(errno!=ENOBUFS&&errno!=EAGAIN){perror("sendmmsg");return 1;}} else pk[k]+=n;}
    tot[k]+=cpu()-a;
  }
  printf("plain  : %.3f us/packet (%ld packets, %ld failed calls)\n",1e6*tot[0]/pk[0],pk[0],fail[0]);
  printf("hdrincl: %.3f us/packet (%ld packets, %ld failed calls)\n",1e6*tot[1]/pk[1],pk[1],fail[1]);
  return 0;
}
