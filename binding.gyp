{
  "targets": [
    {
      "target_name": "pptp_io",
      "sources": [
        "native/addon.c",
        "native/args.c",
        "native/errors.c",
        "native/endpoint.c",
        "native/raw_socket.c",
        "native/tun.c",
        "native/tun_config.c",
        "native/tun_offload.c",
        "native/steering.c",
        "native/rlimit.c",
        "native/mppe.c",
        "native/mppe_napi.c"
      ],
      "defines": ["_GNU_SOURCE", "NAPI_VERSION=8", "PPTP_IO_SOURCE_STAMP=\"<!(node native/source-stamp.cjs)\""],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fvisibility=hidden"],
      "conditions": [
        ["OS!='linux'", { "type": "none", "sources": [] }]
      ]
    }
  ]
}
