#!/bin/sh
# Runs hdrincl-probe.c (compiled to $1) over a veth into a second namespace, twice: with the receiver's veth
# receive inline (a veth transmit runs the peer's IP receive in the sender's softirq, charged to the sender) and
# in a threaded-NAPI kernel thread (TSO off on the sender, GRO + threaded on the receiver; see
# bench/throughput/napi.ts). The receiver holds an unread raw GRE socket, as a client has one. Root; deletes its
# namespaces h10p-s and h10p-g at the end.
set -e
probe=$1
ethtool_op() { # ns dev cmd value: SIOCETHTOOL with a struct ethtool_value (ethtool(8) may not be installed)
  ip netns exec "$1" python3 -c 'import ctypes,fcntl,socket,struct,sys
v=ctypes.create_string_buffer(struct.pack("II",int(sys.argv[2],0),int(sys.argv[3])))
fcntl.ioctl(socket.socket(socket.AF_INET,socket.SOCK_DGRAM),0x8946,struct.pack("16sP",sys.argv[1].encode(),ctypes.addressof(v)).ljust(40,b"\0"))' "$2" "$3" "$4"
}
for mode in inline threaded; do
  ip netns add h10p-s; ip netns add h10p-g
  ip -n h10p-s link add ps type veth peer name pg netns h10p-g
  ip -n h10p-s addr add 10.99.0.1/30 dev ps; ip -n h10p-g addr add 10.99.0.2/30 dev pg
  ip -n h10p-s link set dev ps up; ip -n h10p-g link set dev pg up
  if [ $mode = threaded ]; then
    ethtool_op h10p-s ps 0x1f 0          # ETHTOOL_STSO off
    ethtool_op h10p-g pg 0x2c 1          # ETHTOOL_SGRO on
    ip netns exec h10p-g sh -c 'echo 1 > /sys/class/net/pg/threaded'
  fi
  ip netns exec h10p-g python3 -c 'import socket,time; s=socket.socket(socket.AF_INET,socket.SOCK_RAW,47); time.sleep(3600)' &
  rcv=$!
  sleep 0.5
  for pmtu in 0 2; do
    echo "== receive $mode, IP_MTU_DISCOVER $pmtu"
    ip netns exec h10p-s "$probe" 10.99.0.1 10.99.0.2 10 500 $pmtu
  done
  kill $rcv; ip netns del h10p-s; ip netns del h10p-g
done
