/* test_config_show_posix.c — `ephemerd-vmhost config show` as the operator and test/config's
 * differential runner use it (stdout and stderr captured): where each setting comes from (the
 * file with its line, a flag, the default), the JSON document's shape (every key, its type),
 * the exit codes (a refused file 1 with run's exact error, a missing or unusable file 0 with
 * its state, usage 2), the text form, and the kernel command line equal to the one
 * `run --dry-run` would boot with. */
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/commands.h"
#include "config/hostcfg.h"
#include "log.h"
#include "testutil.h"

#define ZERO_ID "00000000000000000000000000000000"

static int run_cmd(int argc, char **argv)
{
    return strcmp(argv[0], "run") == 0 ? cmd_run(argc, argv) : cmd_config(argc, argv);
}

/* Runs a subcommand (argv[0] "config" or "run") with stdout and stderr captured. */
static struct tu_out run(int argc, const char **argv)
{
    struct tu_out o = tu_capture(run_cmd, argc, argv);
    log_init(NULL, LOG_INFO); /* -v sets the process's level */
    assert_true(o.out && o.err);
    return o;
}

#define RUN(...)                                                                                   \
    run((int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)),                       \
        (const char *[]){__VA_ARGS__})

struct fx {
    char *dir, *cfg;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->dir = tu_tmpdir();
    f->cfg = tu_path(f->dir, "config.toml");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    tu_rmrf(f->dir);
    free(f->dir);
    free(f->cfg);
    free(f);
    return 0;
}

static void write_cfg(struct fx *f, const char *text)
{
    tu_write(f->cfg, text, strlen(text));
}

/* The parsed JSON document of a successful `config show --json` (cJSON_Delete it). */
static cJSON *show_json(struct tu_out *o)
{
    if (o->rc != EXIT_OK)
        fail_msg("exit %d: %s", o->rc, o->err);
    cJSON *doc = cJSON_Parse(o->out);
    if (!doc)
        fail_msg("not JSON: %s", o->out);
    return doc;
}

static const cJSON *setting(const cJSON *doc, const char *name)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(doc, "settings");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(s, name);
    if (!cJSON_IsObject(v))
        fail_msg("no setting %s", name);
    return v;
}

static const char *source_of(const cJSON *doc, const char *name)
{
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(setting(doc, name), "source");
    assert_true(cJSON_IsString(src));
    return src->valuestring;
}

static double num_of(const cJSON *doc, const char *name, const char *field)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(setting(doc, name), field);
    if (!cJSON_IsNumber(v))
        fail_msg("%s.%s is not a number", name, field);
    return v->valuedouble;
}

static const char *str_of(const cJSON *doc, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(setting(doc, name), "value");
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static const char *config_field(const cJSON *doc, const char *field)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(doc, "config");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, field);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A value from the file carries its line; the rest are defaults, or flags when given. */
static void test_provenance(void **state)
{
    struct fx *f = *state;
    write_cfg(f, "# host config\n"               /* 1 */
                 "[vm.linux]\n"                  /* 2 */
                 "cpus = 3\n"                    /* 3 */
                 "\n"                            /* 4 */
                 "[dind]\n"                      /* 5 */
                 "enabled = true\n"              /* 6 */
                 "[log]\n"                       /* 7 */
                 "level = 'warn'\n"              /* 8 */
                 "format = \"json\" # lines\n"); /* 9 */
    struct tu_out o = RUN("config", "show", "--config", f->cfg, "--json");
    cJSON *doc = show_json(&o);
    assert_string_equal(config_field(doc, "path"), f->cfg);
    assert_string_equal(config_field(doc, "state"), "ok");
    assert_null(config_field(doc, "reason"));
    assert_string_equal(source_of(doc, "vm.linux.cpus"), "file");
    assert_true(num_of(doc, "vm.linux.cpus", "value") == 3);
    assert_true(num_of(doc, "vm.linux.cpus", "line") == 3);
    assert_true(
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(setting(doc, "dind.enabled"), "value")));
    assert_true(num_of(doc, "dind.enabled", "line") == 6);
    assert_string_equal(str_of(doc, "log.level"), "warn");
    assert_true(num_of(doc, "log.level", "line") == 8);
    assert_string_equal(str_of(doc, "log.format"), "json");
    assert_true(num_of(doc, "log.format", "line") == 9);
    /* defaults: the key table's, with no line */
    assert_string_equal(source_of(doc, "vm.linux.memory_mb"), "default");
    assert_true(num_of(doc, "vm.linux.memory_mb", "value") == HOSTCFG_DEFAULT_MEMORY_MB);
    assert_null(cJSON_GetObjectItemCaseSensitive(setting(doc, "vm.linux.memory_mb"), "line"));
    assert_true(num_of(doc, "vm.linux.disk_size_gb", "value") == HOSTCFG_DEFAULT_DISK_GB);
    assert_true(num_of(doc, "vm.linux.swap_mb", "value") == 4096);
    assert_string_equal(source_of(doc, "dind.allow_privileged"), "default");
    assert_string_equal(source_of(doc, "guest.disk_timeout"), "default");
    assert_true(num_of(doc, "guest.disk_timeout", "value") == 60);
    const cJSON *cl = cJSON_GetObjectItemCaseSensitive(doc, "cmdline");
    assert_true(cJSON_IsString(cl));
    assert_non_null(strstr(cl->valuestring, " ephemerd.dind=1 "));
    assert_non_null(strstr(cl->valuestring, " ephemerd.boot_id=" ZERO_ID " "));
    assert_non_null(strstr(cl->valuestring, " ephemerd.root_disk=/dev/vda "));
    assert_non_null(strstr(cl->valuestring, " ephemerd.disk_timeout=60 "));
    cJSON_Delete(doc);
    tu_out_free(&o);

    /* flags: --disk-timeout, and -v over [log] level (as for run) */
    o = RUN("config", "show", "--config", f->cfg, "--json", "--disk-timeout", "90", "-v");
    doc = show_json(&o);
    assert_string_equal(source_of(doc, "guest.disk_timeout"), "flag");
    assert_true(num_of(doc, "guest.disk_timeout", "value") == 90);
    const cJSON *flag =
        cJSON_GetObjectItemCaseSensitive(setting(doc, "guest.disk_timeout"), "flag");
    assert_string_equal(flag->valuestring, "--disk-timeout");
    assert_string_equal(source_of(doc, "log.level"), "flag");
    assert_string_equal(str_of(doc, "log.level"), "debug");
    assert_null(cJSON_GetObjectItemCaseSensitive(setting(doc, "log.level"), "line"));
    assert_string_equal(source_of(doc, "log.format"), "file"); /* -v says nothing of it */
    cl = cJSON_GetObjectItemCaseSensitive(doc, "cmdline");
    assert_non_null(strstr(cl->valuestring, " ephemerd.disk_timeout=90 "));
    cJSON_Delete(doc);
    tu_out_free(&o);
}

/* Every key, always, with a value of its type; nothing else. */
static void test_json_shape(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *name;
        int type; /* cJSON_Number, cJSON_True|cJSON_False, cJSON_String */
    } keys[] = {
        {"vm.linux.cpus", cJSON_Number},
        {"vm.linux.memory_mb", cJSON_Number},
        {"vm.linux.disk_size_gb", cJSON_Number},
        {"vm.linux.swap_mb", cJSON_Number},
        {"dind.enabled", cJSON_True | cJSON_False},
        {"dind.allow_privileged", cJSON_True | cJSON_False},
        {"log.level", cJSON_String},
        {"log.format", cJSON_String},
        {"guest.disk_timeout", cJSON_Number},
    };
    write_cfg(f, "vm.linux.memory_mb = 4096\n");
    struct tu_out o = RUN("config", "show", "--data-dir", f->dir, "--json");
    cJSON *doc = show_json(&o);
    assert_int_equal(cJSON_GetArraySize(doc), 3); /* config, settings, cmdline */
    const cJSON *settings = cJSON_GetObjectItemCaseSensitive(doc, "settings");
    assert_int_equal(cJSON_GetArraySize(settings), sizeof(keys) / sizeof(keys[0]));
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const cJSON *s = setting(doc, keys[i].name);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(s, "value");
        if (!v || !(v->type & keys[i].type))
            fail_msg("%s: value of the wrong type", keys[i].name);
        const char *src = source_of(doc, keys[i].name);
        bool file = strcmp(src, "file") == 0;
        assert_true(file || strcmp(src, "default") == 0);
        assert_int_equal(cJSON_GetObjectItemCaseSensitive(s, "line") != NULL, file);
    }
    assert_true(num_of(doc, "vm.linux.memory_mb", "line") == 1);
    assert_string_equal(config_field(doc, "path"), f->cfg); /* DIR/config.toml */
    assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(doc, "cmdline")));
    cJSON_Delete(doc);
    tu_out_free(&o);
}

/* Refused as run refuses it: exit 1, run's exact message on stderr, nothing on stdout. */
static void test_refused_file(void **state)
{
    struct fx *f = *state;
    write_cfg(f, "[vm.linux]\nmemory_mb = 100\n");
    struct tu_out o = RUN("config", "show", "--data-dir", f->dir, "--json");
    assert_int_equal(o.rc, EXIT_FAIL);
    assert_string_equal(o.out, "");
    char want[1024];
    snprintf(want, sizeof(want),
             "ephemerd-vmhost: error: %s:2: vm.linux.memory_mb: 100 is out of range (%u to "
             "16777216)\n",
             f->cfg, HOSTCFG_MIN_MEMORY_MB);
    assert_string_equal(o.err, want);
    struct tu_out r = RUN("run", "--data-dir", f->dir, "--dry-run");
    assert_int_equal(r.rc, EXIT_FAIL);
    assert_string_equal(r.err, o.err);
    tu_out_free(&r);
    tu_out_free(&o);

    /* text output too, and a TOML error in one of our keys */
    write_cfg(f, "[dind]\nenabled = maybe\n");
    o = RUN("config", "show", "--config", f->cfg);
    assert_int_equal(o.rc, EXIT_FAIL);
    assert_string_equal(o.out, "");
    snprintf(want, sizeof(want), "ephemerd-vmhost: error: %s:2: dind.enabled: ", f->cfg);
    assert_memory_equal(o.err, want, strlen(want));
    tu_out_free(&o);
}

/* A missing or unusable file is no error: state and reason say so, every key is the default. */
static void test_missing_and_unusable(void **state)
{
    struct fx *f = *state;
    struct tu_out o = RUN("config", "show", "--data-dir", f->dir, "--json");
    cJSON *doc = show_json(&o);
    assert_string_equal(config_field(doc, "state"), "missing");
    assert_true(strlen(config_field(doc, "reason")) > 0);
    const cJSON *settings = cJSON_GetObjectItemCaseSensitive(doc, "settings");
    const cJSON *s;
    cJSON_ArrayForEach(s, settings)
    {
        const cJSON *src = cJSON_GetObjectItemCaseSensitive(s, "source");
        assert_string_equal(src->valuestring, "default");
    }
    cJSON_Delete(doc);
    tu_out_free(&o);

    assert_int_equal(mkdir(f->cfg, 0700), 0); /* a directory where the file should be */
    o = RUN("config", "show", "--config", f->cfg, "--json");
    doc = show_json(&o);
    assert_string_equal(config_field(doc, "state"), "unusable");
    assert_true(strlen(config_field(doc, "reason")) > 0);
    assert_string_equal(source_of(doc, "vm.linux.cpus"), "default");
    cJSON_Delete(doc);
    tu_out_free(&o);
}

static void test_usage(void **state)
{
    struct fx *f = *state;
    const char *const *const bad[] = {
        (const char *const[]){"config", NULL},
        (const char *const[]){"config", "frob", NULL},
        /* --data-dir is optional (the platform's default), but needs its value */
        (const char *const[]){"config", "show", "--data-dir", NULL},
        (const char *const[]){"config", "show", "--json", "extra", NULL},
        (const char *const[]){"config", "show", "--data-dir", ".", "--config", "x", NULL},
        (const char *const[]){"config", "show", "--data-dir", ".", "extra", NULL},
        (const char *const[]){"config", "show", "--data-dir", ".", "--disk-timeout", "0", NULL},
        (const char *const[]){"config", "show", "--data-dir", ".", "--disk-timeout", "x", NULL},
        (const char *const[]){"config", "show", "--data-dir", ".", "--frob", NULL},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int argc = 0;
        while (bad[i][argc])
            argc++;
        struct tu_out o = run(argc, (const char **)bad[i]);
        if (o.rc != EXIT_USAGE)
            fail_msg("case %zu: exit %d", i, o.rc);
        if (o.out[0] || !o.err[0])
            fail_msg("case %zu: stdout \"%s\", stderr \"%s\"", i, o.out, o.err);
        tu_out_free(&o);
    }
    struct tu_out o = RUN("config", "show", "--help");
    assert_int_equal(o.rc, EXIT_OK);
    assert_non_null(strstr(o.out, "Usage: ephemerd-vmhost config show"));
    tu_out_free(&o);
    o = RUN("config", "--help");
    assert_int_equal(o.rc, EXIT_OK);
    tu_out_free(&o);
    (void)f;
}

/* One line per setting (name, value, where from), then the command line. */
static void test_text(void **state)
{
    struct fx *f = *state;
    write_cfg(f, "[vm.linux]\ncpus = 3\n");
    struct tu_out o = RUN("config", "show", "--data-dir", f->dir, "--disk-timeout", "90");
    assert_int_equal(o.rc, EXIT_OK);
    char want[1024];
    snprintf(want, sizeof(want), "config: %s (ok)\n", f->cfg);
    assert_memory_equal(o.out, want, strlen(want));
    snprintf(want, sizeof(want), "\nvm.linux.cpus            3          %s:2\n", f->cfg);
    assert_non_null(strstr(o.out, want));
    assert_non_null(strstr(o.out, "\nvm.linux.memory_mb       2048       default\n"));
    assert_non_null(strstr(o.out, "\ndind.enabled             false      default\n"));
    assert_non_null(strstr(o.out, "\nlog.level                info       default\n"));
    assert_non_null(strstr(o.out, "\nguest.disk_timeout       90         flag --disk-timeout\n"));
    const char *cl = strstr(o.out, "\ncmdline: rdinit=/init ");
    assert_non_null(cl);
    assert_non_null(strchr(cl + 1, '\n'));
    assert_string_equal(strchr(cl + 1, '\n'), "\n"); /* the last line */
    tu_out_free(&o);
}

/* The command line is the one run builds: `run --dry-run`'s QEMU -append, but for the boot
 * id (a fresh one per boot there, a placeholder here). */
static void test_cmdline_is_runs(void **state)
{
    struct fx *f = *state;
    write_cfg(f, "[dind]\nenabled = true\nallow_privileged = true\n[vm.linux]\nswap_mb = 512\n");
    struct tu_out o = RUN("config", "show", "--data-dir", f->dir, "--json", "--disk-timeout", "7");
    cJSON *doc = show_json(&o);
    char *shown = strdup(cJSON_GetObjectItemCaseSensitive(doc, "cmdline")->valuestring);
    cJSON_Delete(doc);
    tu_out_free(&o);

    struct tu_out r = RUN("run", "--data-dir", f->dir, "--dry-run", "--disk-timeout", "7");
    if (r.rc != EXIT_OK)
        fail_msg("run --dry-run: %s", r.err);
    cJSON *plan = cJSON_Parse(r.out);
    assert_non_null(plan);
    const cJSON *argv = cJSON_GetObjectItemCaseSensitive(plan, "argv"), *a;
    const char *append = NULL;
    bool next = false;
    cJSON_ArrayForEach(a, argv)
    {
        if (next)
            append = a->valuestring;
        next = strcmp(a->valuestring, "-append") == 0;
    }
    assert_non_null(append);
    char *runs = strdup(append);
    char *id = strstr(runs, "ephemerd.boot_id=");
    assert_non_null(id);
    memcpy(id + strlen("ephemerd.boot_id="), ZERO_ID, strlen(ZERO_ID));
    assert_string_equal(shown, runs);
    free(runs);
    free(shown);
    cJSON_Delete(plan);
    tu_out_free(&r);
}

int main(void)
{
    log_init("ephemerd-vmhost", LOG_INFO);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_provenance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_and_unusable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_usage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cmdline_is_runs, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
