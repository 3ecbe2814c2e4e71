/* modlater.c — the modules after the launch, on their own thread (see modlater.h): lower
 * priority, load-later then (when asked) load-demand, the bridge sysctls, one summary line. */
#include "modlater.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "sysctl.h"

/* One list; a failure is logged and the next list still runs. */
static int load_list(struct modlater *ml, const char *list, struct modules_result *res)
{
    struct evm_err e = {0};
    int r = modules_load_at(ml->dirfd, list, ml->load, ml->ctx, ml->workers, res, &e);
    if (r < 0) {
        log_warn("modules after the launch: %s", e.msg);
        if (ml->rc == 0) {
            ml->rc = r;
            ml->err = e;
        }
        return r;
    }
    if (!res->no_list)
        log_info("modules after the launch (%s): %u loaded, %u skipped in %llu ms", list,
                 res->loaded, res->skipped, (unsigned long long)res->ms);
    return 0;
}

static void *modlater_main(void *arg)
{
    struct modlater *ml = arg;
    /* Nice is per thread on Linux; the loading threads this one starts inherit it. */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), MODLATER_NICE) != 0)
        log_debug("setpriority: %s", strerror(errno));
    load_list(ml, "load-later", &ml->later);
    if (ml->demand)
        load_list(ml, "load-demand", &ml->demanded);
    sysctl_bridge_nf(ml->procsys);
    return NULL;
}

int modlater_start(struct modlater *ml, struct evm_err *err)
{
    ml->rc = 0;
    memset(&ml->err, 0, sizeof(ml->err));
    memset(&ml->later, 0, sizeof(ml->later));
    memset(&ml->demanded, 0, sizeof(ml->demanded));
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&ml->th, NULL, modlater_main, ml);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0)
        return evm_errf(err, e, "starting the module thread: %s", strerror(e));
    return 0;
}

int modlater_wait(struct modlater *ml)
{
    pthread_join(ml->th, NULL);
    return ml->rc;
}
