/* test_fuzz_regressions: every saved fuzz input, through the same code as the libFuzzer targets
 * (tests/fuzz/fuzz_*.c, included here with their entry points renamed), so a machine without
 * clang still replays them under this build's ASan+UBSan: the crashes found once
 * (tests/fuzz/regressions/TARGET/) and the seed corpora (tests/fuzz/corpus/TARGET/). Run from
 * the repository's root (tests/run does); FUZZ_DATA names another tests/fuzz folder. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#define LLVMFuzzerTestOneInput fuzz_spec_one
#include "../fuzz/fuzz_spec.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_aws_xml_one
#include "../fuzz/fuzz_aws_xml.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_aws_json_one
#include "../fuzz/fuzz_aws_json.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_kube_json_one
#include "../fuzz/fuzz_kube_json.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_kubeconfig_one
#include "../fuzz/fuzz_kubeconfig.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_ini_one
#include "../fuzz/fuzz_ini.c"
#undef LLVMFuzzerTestOneInput

typedef int fuzz_fn(const uint8_t *data, size_t size);

static const char *data_dir(void)
{
    const char *d = getenv("FUZZ_DATA");
    return d && *d ? d : "tests/fuzz";
}

/* Feeds every file of DIR/kind/target to fn; returns how many. A missing folder fails. */
static int replay_dir(const char *kind, const char *target, fuzz_fn *fn)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/%s/%s", data_dir(), kind, target);
    DIR *d = opendir(dir);
    if (!d) fail_msg("%s: cannot open (run from the repository's root, or set FUZZ_DATA)", dir);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || strcmp(de->d_name, "README.md") == 0) continue;
        char path[8192];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        struct stat st;
        if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) { fclose(f); continue; }
        uint8_t *buf = malloc((size_t)st.st_size + 1);
        size_t got = fread(buf, 1, (size_t)st.st_size, f);
        fclose(f);
        fn(buf, got);  /* a crash, leak or UB report here is the regression */
        free(buf);
        n++;
    }
    closedir(d);
    return n;
}

static void replay(const char *target, fuzz_fn *fn)
{
    int reg = replay_dir("regressions", target, fn);
    int seeds = replay_dir("corpus", target, fn);
    print_message("%s: %d regression input(s), %d seed(s)\n", target, reg, seeds);
    assert_true(seeds > 0);
}

static void test_spec(void **state) { (void)state; replay("spec", fuzz_spec_one); }
static void test_aws_xml(void **state) { (void)state; replay("aws_xml", fuzz_aws_xml_one); }
static void test_aws_json(void **state) { (void)state; replay("aws_json", fuzz_aws_json_one); }
static void test_kube_json(void **state) { (void)state; replay("kube_json", fuzz_kube_json_one); }
static void test_kubeconfig(void **state) { (void)state; replay("kubeconfig", fuzz_kubeconfig_one); }
static void test_ini(void **state) { (void)state; replay("ini", fuzz_ini_one); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec),       cmocka_unit_test(test_aws_xml),    cmocka_unit_test(test_aws_json),
        cmocka_unit_test(test_kube_json),  cmocka_unit_test(test_kubeconfig), cmocka_unit_test(test_ini),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
