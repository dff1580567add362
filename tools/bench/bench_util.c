/* bench_util.c — see bench_util.h. */
#include "bench_util.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"

double bench_now_s(void)
{
    struct timespec ts;
    int rc = clock_gettime(CLOCK_MONOTONIC, &ts);
    TC_ASSERT(rc == 0); /* CLOCK_MONOTONIC exists on every Linux we run on */
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

double bench_median(const double *v, size_t n)
{
    TC_ASSERT(v != NULL && n > 0);
    double *copy = malloc(n * sizeof(*copy));
    TC_ASSERT(copy != NULL); /* a handful of rounds: failing here is not worth a code path */
    memcpy(copy, v, n * sizeof(*copy));
    qsort(copy, n, sizeof(*copy), cmp_double);
    double m = n % 2 == 1 ? copy[n / 2] : (copy[n / 2 - 1] + copy[n / 2]) / 2;
    free(copy);
    return m;
}

double bench_max(const double *v, size_t n)
{
    TC_ASSERT(v != NULL && n > 0);
    double m = v[0];
    for (size_t i = 1; i < n; i++)
        if (v[i] > m)
            m = v[i];
    return m;
}

void bench_master_seed(uint8_t out[TC_SEED_SIZE], const char *label, uint64_t seed)
{
    TC_ASSERT(out != NULL && label != NULL);
    uint8_t buf[64];
    size_t n = strlen(label);
    TC_ASSERT(n + 8 <= sizeof(buf));
    memcpy(buf, label, n);
    for (int i = 0; i < 8; i++)
        buf[n + (size_t)i] = (uint8_t)(seed >> (8 * i));
    tc_hash h;
    tc_hash_tagged(&h, TC_TAG_SEED, buf, n + 8);
    memcpy(out, h.b, TC_SEED_SIZE);
}

int bench_make_transfer(tc_tx *tx, const tc_profile *p, const tc_outpoint *op, uint64_t amount,
                        const tc_keypair *kp, const tc_addr_hash *to, tc_hash *txid_out)
{
    TC_ASSERT(tx != NULL && p != NULL && op != NULL && kp != NULL && to != NULL);
    uint64_t fee = 0;
    int rc = tc_tx_min_fee(p, amount, &fee);
    /* The minimum fee of the input total bounds that of the smaller output total. */
    TC_ASSERT(rc == 0 && amount / 4 + fee + p->dust_limit < amount);
    rc = tc_tx_init_alloc(tx, TC_TX_TRANSFER, 1, 2);
    if (rc != 0)
        return rc;
    tx->inputs[0].prev = *op;
    tx->inputs[0].pub = kp->pub;
    tx->outputs[0].amount = amount / 4;
    tx->outputs[0].addr = *to;
    tx->outputs[1].amount = amount - amount / 4 - fee;
    tc_addr_from_pubkey(&kp->pub, &tx->outputs[1].addr);
    tc_tx_id(tx, txid_out);
    tc_tx_sign_input(tx, txid_out, 0, TC_SIG_ED25519, kp);
    return 0;
}

/* Reads the first "model name" line of /proc/cpuinfo into out (trimmed). */
static void cpu_model(char *out, size_t len)
{
    TC_ASSERT(out != NULL && len > 1);
    snprintf(out, len, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL)
        return;
    char line[512];
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "model name", 10) != 0)
            continue;
        const char *colon = strchr(line, ':');
        if (colon == NULL)
            break;
        colon++;
        while (*colon == ' ' || *colon == '\t')
            colon++;
        snprintf(out, len, "%s", colon);
        out[strcspn(out, "\n")] = 0;
        break;
    }
    fclose(f);
}

void bench_add_machine(json_t *obj)
{
    TC_ASSERT(obj != NULL);
    char cpu[256];
    cpu_model(cpu, sizeof(cpu));
    long nproc = sysconf(_SC_NPROCESSORS_ONLN);
    json_t *m = json_object();
    TC_ASSERT(m != NULL);
    json_object_set_new(m, "nproc", json_integer(nproc));
    json_object_set_new(m, "cpu", json_string(cpu));
    json_object_set_new(obj, "machine", m);
    json_object_set_new(obj, "libsodium", json_string(sodium_version_string()));
}

int bench_print_line(json_t *obj)
{
    TC_ASSERT(obj != NULL);
    char *s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    json_decref(obj);
    if (s == NULL)
        return 1;
    int ok = printf("%s\n", s) > 0 && fflush(stdout) == 0;
    free(s);
    return ok ? 0 : 1;
}
