/* markers.h — console markers the guest prints and the host parses (design §4). */
#ifndef EVM_MARKERS_H
#define EVM_MARKERS_H

#define MARKER_IP "EPHEMERD_IP="
#define MARKER_STAGE "EPHEMERD_STAGE"
#define MARKER_FATAL "EPHEMERD_FATAL"
#define MARKER_EXIT "EPHEMERD_EXIT"

#define INIT_LOG_PREFIX "ephemerd-init: "
#define INIT_LOG_CONFIG_STAGED "host config staged at /etc/ephemerd/config.toml"

#endif
