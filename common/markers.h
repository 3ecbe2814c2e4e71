/* markers.h — the console protocol (design §4): markers the guest prints and the host
 * parses, and the one request the host writes to the guest on the same serial console. */
#ifndef EVM_MARKERS_H
#define EVM_MARKERS_H

#define MARKER_IP "EPHEMERD_IP="
#define MARKER_STAGE "EPHEMERD_STAGE"
#define MARKER_FATAL "EPHEMERD_FATAL"
#define MARKER_EXIT "EPHEMERD_EXIT"

/* Host → guest: "EPHEMERD_STOP boot_id=<hex>\n" on the console asks the guest's init for its
 * orderly stop (SIGTERM to the daemon, grace, sync, unmount, power-off). The init acts only
 * on a request carrying the running boot's id; any other is ignored and logged. */
#define MARKER_STOP "EPHEMERD_STOP"

#define INIT_LOG_PREFIX "ephemerd-init: "
#define INIT_LOG_CONFIG_STAGED "host config staged at /etc/ephemerd/config.toml"

#endif
