/* support.c — helpers shared by the Criterion suites. */
#include "support.h"

#include <string.h>

void ts_keypair(tc_keypair *kp, uint64_t i)
{
    uint8_t master[TC_SEED_SIZE];
    uint8_t seed[TC_SEED_SIZE];
    memset(master, 0x5a, sizeof(master));
    tc_seed_derive(seed, master, "test", i);
    tc_keypair_from_seed(kp, seed);
}
