/* support.h — helpers shared by the Criterion suites: deterministic keys, funded ledgers. */
#ifndef TC_TEST_SUPPORT_H
#define TC_TEST_SUPPORT_H

#include "base.h"
#include "crypto.h"

/* Deterministic key number i of a test (seed = H(tc/seed, "test" || i)). */
void ts_keypair(tc_keypair *kp, uint64_t i);

#endif
