/* cmd_config.c — `ephemerd-vmhost config show`: the settings a boot would use, each with where
 * it came from (the file and line, a flag, or the default), and the kernel command line they
 * produce, as text or one JSON object (docs/host-config.md, "config show"). The file is loaded
 * and checked as `run` loads it (hostcfg_load), the values are hostcfg's (its key table gives
 * the defaults), and the command line is built as `run` builds it. */
#include <cJSON.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/datadir.h"
#include "bootid.h"
#include "cli/cliargs.h"
#include "cli/commands.h"
#include "cmdline.h"
#include "config/bootparams.h"
#include "config/hostcfg.h"
#include "log.h"
#include "vm/vm.h"

/* Each boot has a fresh id; the line shown carries this one in its place. */
#define PLACEHOLDER_BOOT_ID "00000000000000000000000000000000"
#define DISK_TIMEOUT_FLAG "--disk-timeout"
#define VERBOSE_FLAG "-v"

static void usage(FILE *f)
{
    fputs("Usage: ephemerd-vmhost config show [--data-dir DIR | --config FILE] [--json]\n"
          "           [--disk-timeout S] [-v]\n"
          "\n"
          "Prints the settings the agent would boot with: every key it reads from config.toml\n"
          "and the agent's own settings, each with its value and where it comes from (the\n"
          "file and line, a flag, or the default), then the kernel command line they produce,\n"
          "built as 'run' builds it for this build's VM backend (ephemerd.boot_id is a\n"
          "placeholder of zeros: each boot has a fresh one). The file is checked as 'run'\n"
          "checks it. A missing or unusable file is not an error: every key is then its\n"
          "default, and the state says why.\n"
          "\n"
          "  --data-dir DIR     the agent's data directory: reads DIR/config.toml (default\n"
          "                     /var/lib/ephemerd-vm, on Windows %ProgramData%\\ephemerd)\n"
          "  --config FILE      reads FILE instead\n"
          "  --json             one JSON object on stdout (keys documented in\n"
          "                     docs/host-config.md)\n"
          "  --disk-timeout S   as for 'run': the guest's wait for its root disk\n"
          "  -v, --verbose      as for 'run': debug logging, whatever [log] level\n"
          "  -h, --help         this help\n"
          "\n"
          "Exit codes: 0 shown, 1 the file is refused (the reason on stderr, as 'run' gives\n"
          "it), 2 usage error.\n",
          f);
}

struct show_args {
    const char *data_dir, *config;
    bool json, verbose;
    unsigned disk_timeout; /* 0 = not given */
};

/* Fills a from the command line (argv[0] is "show"). -1 when it did, else the exit code. */
static int parse_show_args(int argc, char **argv, struct show_args *a)
{
    enum { OPT_JSON = 256, OPT_DISKTO };
    static const struct option opts[] = {
        {"data-dir", required_argument, NULL, 'd'},
        {"config", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, OPT_JSON},
        {"disk-timeout", required_argument, NULL, OPT_DISKTO},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof(*a));
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            a->data_dir = optarg;
            break;
        case 'c':
            a->config = optarg;
            break;
        case OPT_JSON:
            a->json = true;
            break;
        case OPT_DISKTO:
            if (cli_uint(DISK_TIMEOUT_FLAG, optarg, 3600, &a->disk_timeout) < 0)
                return EXIT_USAGE;
            if (a->disk_timeout == 0) {
                fprintf(stderr, "ephemerd-vmhost: %s 0: at least 1 second\n", DISK_TIMEOUT_FLAG);
                return EXIT_USAGE;
            }
            break;
        case 'v':
            a->verbose = true;
            log_set_cli_level(LOG_DEBUG);
            break;
        default: /* 'h' (--help) too */
            return cli_help_or_usage(c, usage);
        }
    }
    if (optind < argc || (a->data_dir && a->config)) {
        fprintf(stderr, "ephemerd-vmhost: config show takes one of --data-dir and --config%s\n",
                optind < argc ? " (and takes no other arguments)" : "");
        return EXIT_USAGE;
    }
    return -1;
}

/* ---- what is shown ------------------------------------------------------------------- */

enum source { SRC_DEFAULT, SRC_FILE, SRC_FLAG };

struct setting {
    const char *name;
    enum hostcfg_kind kind; /* HOSTCFG_CHOICE: a string */
    long long num;          /* HOSTCFG_INT, HOSTCFG_BOOL (0/1) */
    const char *str;        /* HOSTCFG_CHOICE */
    enum source src;
    int line;         /* SRC_FILE */
    const char *flag; /* SRC_FLAG */
};

#define N_SETTINGS (HOSTCFG_NKEYS + 1) /* the config's keys and guest.disk_timeout */

struct shown {
    const char *path;
    const struct hostcfg *cfg;
    struct setting s[N_SETTINGS];
    char cmdline[CMDLINE_MAX];
};

static void config_setting(const struct hostcfg_settings *hs, enum hostcfg_key k, struct setting *o)
{
    const struct hostcfg_keydef *d = hostcfg_keydef(k);
    o->name = d->path;
    o->kind = d->kind;
    if (d->kind == HOSTCFG_INT)
        o->num = hostcfg_uint(hs, k);
    else if (d->kind == HOSTCFG_BOOL)
        o->num = hostcfg_bool(hs, k);
    else
        o->str = hostcfg_str(hs, k);
    o->line = hs->line[k];
    o->src = o->line ? SRC_FILE : SRC_DEFAULT;
}

/* The rows and the command line, as `run` would decide them. */
static int decide(const struct show_args *a, struct shown *sh, struct evm_err *err)
{
    const struct hostcfg_settings *hs = &sh->cfg->settings; /* all unset unless state OK */
    for (size_t k = 0; k < HOSTCFG_NKEYS; k++)
        config_setting(hs, (enum hostcfg_key)k, &sh->s[k]);
    if (a->verbose) { /* run's -v wins over [log] level */
        struct setting *lv = &sh->s[HOSTCFG_LOG_LEVEL];
        lv->str = "debug";
        lv->src = SRC_FLAG;
        lv->flag = VERBOSE_FLAG;
        lv->line = 0;
    }
    struct boot_params p;
    int r = bootparams_from_config(sh->cfg, vm_backend()->root_disk, PLACEHOLDER_BOOT_ID, &p, err);
    if (r < 0)
        return r;
    if (a->disk_timeout) /* as the agent's boot_cmdline */
        p.disk_timeout = a->disk_timeout;
    sh->s[HOSTCFG_NKEYS] = (struct setting){
        .name = "guest.disk_timeout",
        .kind = HOSTCFG_INT,
        .num = p.disk_timeout,
        .src = a->disk_timeout ? SRC_FLAG : SRC_DEFAULT,
        .flag = a->disk_timeout ? DISK_TIMEOUT_FLAG : NULL,
    };
    return cmdline_build(&p, NULL, 0, sh->cmdline, sizeof(sh->cmdline), err);
}

static const char *state_name(enum hostcfg_state s)
{
    switch (s) {
    case HOSTCFG_OK:
        return "ok";
    case HOSTCFG_UNUSABLE:
        return "unusable";
    case HOSTCFG_MISSING:
        break;
    }
    return "missing";
}

static const char *source_name(enum source s)
{
    return s == SRC_FILE ? "file" : s == SRC_FLAG ? "flag" : "default";
}

/* ---- text ---------------------------------------------------------------------------- */

static void print_text(const struct shown *sh)
{
    const struct hostcfg *cfg = sh->cfg;
    printf("config: %s (%s%s%s)\n", sh->path, state_name(cfg->state),
           cfg->state == HOSTCFG_OK ? "" : ": ", cfg->state == HOSTCFG_OK ? "" : cfg->reason);
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const struct setting *s = &sh->s[i];
        char value[32], from[64];
        if (s->kind == HOSTCFG_INT)
            snprintf(value, sizeof(value), "%lld", s->num);
        else if (s->kind == HOSTCFG_BOOL)
            snprintf(value, sizeof(value), "%s", s->num ? "true" : "false");
        else
            snprintf(value, sizeof(value), "%s", s->str);
        if (s->src == SRC_FILE)
            printf("%-24s %-10s %s:%d\n", s->name, value, sh->path, s->line);
        else {
            snprintf(from, sizeof(from), "%s%s%s", source_name(s->src), s->flag ? " " : "",
                     s->flag ? s->flag : "");
            printf("%-24s %-10s %s\n", s->name, value, from);
        }
    }
    printf("cmdline: %s\n", sh->cmdline);
}

/* ---- JSON ---------------------------------------------------------------------------- */

static bool json_setting(cJSON *settings, const struct setting *s)
{
    cJSON *o = cJSON_AddObjectToObject(settings, s->name);
    if (!o)
        return false;
    bool ok;
    if (s->kind == HOSTCFG_INT)
        ok = cJSON_AddNumberToObject(o, "value", (double)s->num) != NULL;
    else if (s->kind == HOSTCFG_BOOL)
        ok = cJSON_AddBoolToObject(o, "value", s->num != 0) != NULL;
    else
        ok = cJSON_AddStringToObject(o, "value", s->str) != NULL;
    ok = ok && cJSON_AddStringToObject(o, "source", source_name(s->src));
    if (ok && s->src == SRC_FILE)
        ok = cJSON_AddNumberToObject(o, "line", s->line) != NULL;
    if (ok && s->src == SRC_FLAG)
        ok = cJSON_AddStringToObject(o, "flag", s->flag) != NULL;
    return ok;
}

static cJSON *json_doc(const struct shown *sh)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *c = root ? cJSON_AddObjectToObject(root, "config") : NULL;
    bool ok = c && cJSON_AddStringToObject(c, "path", sh->path) &&
              cJSON_AddStringToObject(c, "state", state_name(sh->cfg->state));
    if (ok && sh->cfg->state != HOSTCFG_OK)
        ok = cJSON_AddStringToObject(c, "reason", sh->cfg->reason) != NULL;
    cJSON *settings = ok ? cJSON_AddObjectToObject(root, "settings") : NULL;
    ok = settings != NULL;
    for (size_t i = 0; ok && i < N_SETTINGS; i++)
        ok = json_setting(settings, &sh->s[i]);
    ok = ok && cJSON_AddStringToObject(root, "cmdline", sh->cmdline);
    if (!ok) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

static int print_json(const struct shown *sh)
{
    cJSON *doc = json_doc(sh);
    char *text = doc ? cJSON_Print(doc) : NULL;
    cJSON_Delete(doc);
    if (!text) {
        log_error("out of memory");
        return EXIT_FAIL;
    }
    puts(text);
    free(text);
    return EXIT_OK;
}

/* ---- the command --------------------------------------------------------------------- */

static int show(const struct show_args *a)
{
    struct evm_err err = {0};
    char dir[DATADIR_PATH_MAX], path[DATADIR_PATH_MAX];
    if (!a->config && (cli_data_dir(a->data_dir, dir, sizeof(dir)) < 0 ||
                       cli_data_file(dir, "config.toml", path, sizeof(path)) < 0))
        return EXIT_FAIL;
    struct hostcfg cfg;
    struct shown sh = {.path = a->config ? a->config : path, .cfg = &cfg};
    int rc = EXIT_FAIL;
    int r = hostcfg_load(sh.path, &cfg, &err); /* as run: refused → its exact message */
    if (r == 0)
        r = decide(a, &sh, &err);
    if (r < 0)
        log_error("%s", err.msg);
    else if (a->json)
        rc = print_json(&sh);
    else {
        print_text(&sh);
        rc = EXIT_OK;
    }
    hostcfg_free(&cfg);
    return rc;
}

int cmd_config(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "show") != 0) {
        fprintf(stderr, "ephemerd-vmhost: config %s: unknown (see 'config --help')\n", argv[1]);
        return EXIT_USAGE;
    }
    struct show_args a;
    int rc = parse_show_args(argc - 1, argv + 1, &a);
    if (rc >= 0)
        return rc;
    return show(&a);
}
