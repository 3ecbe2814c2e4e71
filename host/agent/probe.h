/* probe.h — the agent's readiness probe: are the guest's ports accepting connections? It
 * connects to each endpoint in turn, on the agent's libuv loop, and retries until every
 * endpoint has answered. What counts as an answer comes from the backend's reachability
 * (vm.h): with hold_ms > 0 a connection must stay open that long or deliver data (a QEMU
 * forward accepts on the host before the guest does); with hold_ms == 0 an accepted
 * connection is the answer (the guest's own address). */
#ifndef EVM_PROBE_H
#define EVM_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#define PROBE_MAX 4

struct probe {
    uv_loop_t *loop;
    struct sockaddr_in targets[PROBE_MAX];
    unsigned n, next;
    unsigned hold_ms, retry_ms;
    void (*on_ready)(void *ctx); /* every target answered */
    void *ctx;
    uv_tcp_t tcp;
    uv_connect_t req;
    uv_timer_t timer;
    bool tcp_open, running, answered, closed;
    char sink[256]; /* bytes read and discarded: only whether they arrive matters */
};

/* Initialises the probe's timer on loop (probe_close releases it). */
void probe_init(struct probe *p, uv_loop_t *loop, unsigned retry_ms);

/* Starts probing targets[0..n) (n <= PROBE_MAX), restarting if already running. on_ready
 * runs once, on the loop, when all have answered. */
int probe_start(struct probe *p, const struct sockaddr_in *targets, unsigned n, unsigned hold_ms,
                void (*on_ready)(void *ctx), void *ctx);

/* Stops probing (no callback after this). */
void probe_stop(struct probe *p);

/* Stops and closes the probe's handles; the loop must run for their close callbacks. */
void probe_close(struct probe *p);

#endif
